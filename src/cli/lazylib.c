/* berth cli: libcurl and libarchive are bound on first use (dlopen), not
 * at process start. Together they pull ~40 shared objects (libarchive
 * alone brings libxml2 and ICU): loading them eagerly cost berth more than
 * its whole request. `berth --version`, --help, contexts never load them;
 * only cp loads libarchive. Each function here has the library's exact
 * prototype and forwards to the real symbol. */
#define CURL_DISABLE_TYPECHECK 1
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void *
lib_open (const char *const *names)
{
  for (size_t i = 0; names[i]; i++)
    {
      void *h = dlopen (names[i], RTLD_LAZY | RTLD_LOCAL);
      if (h)
        return h;
    }
  fprintf (stderr, "berth: cannot load %s: %s\n", names[0], dlerror ());
  exit (125);
}

static void *
sym (void **handle, const char *const *names, const char *name)
{
  if (*handle == NULL)
    *handle = lib_open (names);
  void *f = dlsym (*handle, name);
  if (f == NULL)
    {
      fprintf (stderr, "berth: %s has no %s\n", names[0], name);
      exit (125);
    }
  return f;
}

static void *curl_handle, *archive_handle;
static const char *const curl_names[] = { "libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so", NULL };
static const char *const archive_names[] = { "libarchive.so.13", "libarchive.so", NULL };

#define CURL_FN(ret, name, params, args)                                                          \
  ret name params                                                                                \
  {                                                                                              \
    static ret (*fn) params;                                                                     \
    if (fn == NULL)                                                                              \
      fn = (ret (*) params) sym (&curl_handle, curl_names, #name);                               \
    return fn args;                                                                              \
  }
#define CURL_VOID(name, params, args)                                                             \
  void name params                                                                               \
  {                                                                                              \
    static void (*fn) params;                                                                    \
    if (fn == NULL)                                                                              \
      fn = (void (*) params) sym (&curl_handle, curl_names, #name);                              \
    fn args;                                                                                     \
  }
#define ARCHIVE_FN(ret, name, params, args)                                                       \
  ret name params                                                                                \
  {                                                                                              \
    static ret (*fn) params;                                                                     \
    if (fn == NULL)                                                                              \
      fn = (ret (*) params) sym (&archive_handle, archive_names, #name);                         \
    return fn args;                                                                              \
  }
#define ARCHIVE_VOID(name, params, args)                                                          \
  void name params                                                                               \
  {                                                                                              \
    static void (*fn) params;                                                                    \
    if (fn == NULL)                                                                              \
      fn = (void (*) params) sym (&archive_handle, archive_names, #name);                        \
    fn args;                                                                                     \
  }

/* ---------------------------------------------------------------- curl -- */

CURL_FN (CURLcode, curl_global_init, (long flags), (flags))
CURL_FN (CURL *, curl_easy_init, (void), ())
CURL_VOID (curl_easy_cleanup, (CURL * h), (h))
CURL_VOID (curl_easy_reset, (CURL * h), (h))
CURL_FN (CURLcode, curl_easy_perform, (CURL * h), (h))
CURL_FN (const char *, curl_easy_strerror, (CURLcode c), (c))
CURL_FN (CURLcode, curl_easy_send, (CURL * h, const void *b, size_t n, size_t *sent), (h, b, n, sent))
CURL_FN (CURLcode, curl_easy_recv, (CURL * h, void *b, size_t n, size_t *got), (h, b, n, got))
CURL_FN (struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s), (l, s))
CURL_VOID (curl_slist_free_all, (struct curl_slist * l), (l))
CURL_FN (CURLM *, curl_multi_init, (void), ())
CURL_FN (CURLMcode, curl_multi_add_handle, (CURLM * m, CURL *h), (m, h))
CURL_FN (CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL *h), (m, h))
CURL_FN (CURLMcode, curl_multi_cleanup, (CURLM * m), (m))
CURL_FN (CURLMcode, curl_multi_perform, (CURLM * m, int *running), (m, running))
CURL_FN (CURLMcode, curl_multi_poll,
         (CURLM * m, struct curl_waitfd extra[], unsigned n, int timeout_ms, int *numfds),
         (m, extra, n, timeout_ms, numfds))
CURL_FN (CURLMsg *, curl_multi_info_read, (CURLM * m, int *left), (m, left))

/* The variadic ones: curl's option and info numbers encode the argument's
 * type (CURLOPTTYPE_* / CURLINFO_TYPEMASK), so it is read back with the
 * type the caller passed. */
CURLcode
curl_easy_setopt (CURL *h, CURLoption option, ...)
{
  static CURLcode (*fn) (CURL *, CURLoption, ...);
  if (fn == NULL)
    fn = (CURLcode (*) (CURL *, CURLoption, ...)) sym (&curl_handle, curl_names, "curl_easy_setopt");
  va_list ap;
  va_start (ap, option);
  CURLcode rc;
  if (option < CURLOPTTYPE_OBJECTPOINT)
    rc = fn (h, option, va_arg (ap, long));
  else if (option < CURLOPTTYPE_FUNCTIONPOINT)
    rc = fn (h, option, va_arg (ap, void *));
  else if (option < CURLOPTTYPE_OFF_T)
    rc = fn (h, option, va_arg (ap, void (*) (void)));
  else if (option < CURLOPTTYPE_BLOB)
    rc = fn (h, option, va_arg (ap, curl_off_t));
  else
    rc = fn (h, option, va_arg (ap, void *));
  va_end (ap);
  return rc;
}

CURLcode
curl_easy_getinfo (CURL *h, CURLINFO info, ...)
{
  static CURLcode (*fn) (CURL *, CURLINFO, ...);
  if (fn == NULL)
    fn = (CURLcode (*) (CURL *, CURLINFO, ...)) sym (&curl_handle, curl_names, "curl_easy_getinfo");
  va_list ap;
  va_start (ap, info);
  void *out = va_arg (ap, void *); /* every CURLINFO takes a pointer */
  va_end (ap);
  return fn (h, info, out);
}

/* ------------------------------------------------------------- archive -- */

ARCHIVE_FN (struct archive *, archive_read_new, (void), ())
ARCHIVE_FN (struct archive *, archive_write_new, (void), ())
ARCHIVE_FN (struct archive *, archive_write_disk_new, (void), ())
ARCHIVE_FN (struct archive *, archive_read_disk_new, (void), ())
ARCHIVE_FN (int, archive_read_free, (struct archive * a), (a))
ARCHIVE_FN (int, archive_write_free, (struct archive * a), (a))
ARCHIVE_FN (int, archive_write_close, (struct archive * a), (a))
ARCHIVE_FN (const char *, archive_error_string, (struct archive * a), (a))
ARCHIVE_FN (int, archive_write_set_format_pax_restricted, (struct archive * a), (a))
ARCHIVE_FN (int, archive_write_set_bytes_in_last_block, (struct archive * a, int n), (a, n))
ARCHIVE_FN (int, archive_write_open_fd, (struct archive * a, int fd), (a, fd))
ARCHIVE_FN (int, archive_read_disk_set_standard_lookup, (struct archive * a), (a))
ARCHIVE_FN (int, archive_read_disk_set_symlink_physical, (struct archive * a), (a))
ARCHIVE_FN (int, archive_read_disk_set_symlink_hybrid, (struct archive * a), (a))
ARCHIVE_FN (int, archive_read_disk_open, (struct archive * a, const char *p), (a, p))
ARCHIVE_FN (int, archive_read_disk_descend, (struct archive * a), (a))
ARCHIVE_FN (int, archive_read_next_header2, (struct archive * a, struct archive_entry *e), (a, e))
ARCHIVE_FN (int, archive_read_next_header, (struct archive * a, struct archive_entry **e), (a, e))
ARCHIVE_FN (int, archive_write_header, (struct archive * a, struct archive_entry *e), (a, e))
ARCHIVE_FN (la_ssize_t, archive_write_data, (struct archive * a, const void *b, size_t n), (a, b, n))
ARCHIVE_FN (int, archive_read_support_format_tar, (struct archive * a), (a))
ARCHIVE_FN (int, archive_write_disk_set_options, (struct archive * a, int flags), (a, flags))
ARCHIVE_FN (int, archive_read_open_fd, (struct archive * a, int fd, size_t block), (a, fd, block))
ARCHIVE_FN (int, archive_read_data_block,
            (struct archive * a, const void **b, size_t *n, la_int64_t *off), (a, b, n, off))
ARCHIVE_FN (la_ssize_t, archive_write_data_block,
            (struct archive * a, const void *b, size_t n, la_int64_t off), (a, b, n, off))
ARCHIVE_FN (int, archive_write_finish_entry, (struct archive * a), (a))
ARCHIVE_FN (struct archive_entry *, archive_entry_new, (void), ())
ARCHIVE_VOID (archive_entry_free, (struct archive_entry * e), (e))
ARCHIVE_FN (const char *, archive_entry_pathname, (struct archive_entry * e), (e))
ARCHIVE_VOID (archive_entry_set_pathname, (struct archive_entry * e, const char *p), (e, p))
ARCHIVE_VOID (archive_entry_set_symlink, (struct archive_entry * e, const char *p), (e, p))
ARCHIVE_VOID (archive_entry_set_filetype, (struct archive_entry * e, unsigned int t), (e, t))
ARCHIVE_VOID (archive_entry_set_perm, (struct archive_entry * e, __LA_MODE_T m), (e, m))
ARCHIVE_VOID (archive_entry_set_size, (struct archive_entry * e, la_int64_t n), (e, n))
ARCHIVE_VOID (archive_entry_set_uid, (struct archive_entry * e, la_int64_t n), (e, n))
ARCHIVE_VOID (archive_entry_set_gid, (struct archive_entry * e, la_int64_t n), (e, n))
ARCHIVE_VOID (archive_entry_set_mtime, (struct archive_entry * e, time_t t, long ns), (e, t, ns))
ARCHIVE_FN (const char *, archive_entry_hardlink, (struct archive_entry * e), (e))
ARCHIVE_VOID (archive_entry_set_hardlink, (struct archive_entry * e, const char *p), (e, p))
ARCHIVE_FN (const char *, archive_entry_sourcepath, (struct archive_entry * e), (e))
ARCHIVE_FN (__LA_MODE_T, archive_entry_filetype, (struct archive_entry * e), (e))
ARCHIVE_FN (la_int64_t, archive_entry_size, (struct archive_entry * e), (e))
