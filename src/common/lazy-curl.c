/* berth common: libcurl bound on first use (lazylib.h). Registry pulls and
 * pushes, ADD <url> in builds and the CLI's HTTP client use it; libcurl
 * brings ~25 shared objects (OpenSSL, Kerberos, LDAP, SSH, HTTP/2, ...). */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <stdarg.h>

#include "common/lazylib.h"

static struct lazylib curl_lib
    = { (const char *const[]){ "libcurl.so.4", "libcurl-gnutls.so.4", NULL }, NULL };

#define CURL_FN(ret, name, params, args) LAZYLIB_FN (curl_lib, ret, name, params, args)
#define CURL_VOID(name, params, args) LAZYLIB_VOID (curl_lib, name, params, args)

CURL_VOID (curl_easy_cleanup, (CURL * a0), (a0))
CURL_FN (char *, curl_easy_escape, (CURL * a0, const char *a1, int a2), (a0, a1, a2))
CURL_FN (CURLHcode, curl_easy_header,
         (CURL * a0, const char *a1, size_t a2, unsigned int a3, int a4, struct curl_header **a5),
         (a0, a1, a2, a3, a4, a5))
CURL_FN (CURL *, curl_easy_init, (void), ())
CURL_FN (CURLcode, curl_easy_pause, (CURL * a0, int a1), (a0, a1))
CURL_FN (CURLcode, curl_easy_perform, (CURL * a0), (a0))
CURL_FN (CURLcode, curl_easy_recv, (CURL * a0, void *a1, size_t a2, size_t *a3), (a0, a1, a2, a3))
CURL_VOID (curl_easy_reset, (CURL * a0), (a0))
CURL_FN (CURLcode, curl_easy_send, (CURL * a0, const void *a1, size_t a2, size_t *a3),
         (a0, a1, a2, a3))
CURL_FN (const char *, curl_easy_strerror, (CURLcode a0), (a0))
CURL_VOID (curl_free, (void *a0), (a0))
CURL_FN (CURLcode, curl_global_init, (long a0), (a0))
CURL_FN (CURLMcode, curl_multi_add_handle, (CURLM * a0, CURL *a1), (a0, a1))
CURL_FN (CURLMcode, curl_multi_cleanup, (CURLM * a0), (a0))
CURL_FN (CURLMsg *, curl_multi_info_read, (CURLM * a0, int *a1), (a0, a1))
CURL_FN (CURLM *, curl_multi_init, (void), ())
CURL_FN (CURLMcode, curl_multi_perform, (CURLM * a0, int *a1), (a0, a1))
CURL_FN (CURLMcode, curl_multi_poll,
         (CURLM * a0, struct curl_waitfd *a1, unsigned int a2, int a3, int *a4),
         (a0, a1, a2, a3, a4))
CURL_FN (CURLMcode, curl_multi_remove_handle, (CURLM * a0, CURL *a1), (a0, a1))
CURL_FN (CURLMcode, curl_multi_wakeup, (CURLM * a0), (a0))
CURL_FN (CURLSHcode, curl_share_cleanup, (CURLSH * a0), (a0))
CURL_FN (CURLSH *, curl_share_init, (void), ())
CURL_FN (struct curl_slist *, curl_slist_append, (struct curl_slist * a0, const char *a1), (a0, a1))
CURL_VOID (curl_slist_free_all, (struct curl_slist * a0), (a0))
CURL_FN (CURLU *, curl_url, (void), ())
CURL_VOID (curl_url_cleanup, (CURLU * a0), (a0))
CURL_FN (CURLUcode, curl_url_get, (CURLU * a0, CURLUPart a1, char **a2, unsigned int a3),
         (a0, a1, a2, a3))
CURL_FN (CURLUcode, curl_url_set, (CURLU * a0, CURLUPart a1, const char *a2, unsigned int a3),
         (a0, a1, a2, a3))

/* The variadic ones. curl's option numbers encode the argument's type
 * (CURLOPTTYPE_*), so it is read back with the type the caller passed. */
static CURLcode
curl_setopt_forward (CURLcode (*fn) (void *, int, ...), void *h, int option, va_list ap)
{
  if (option < CURLOPTTYPE_OBJECTPOINT)
    return fn (h, option, va_arg (ap, long));
  if (option < CURLOPTTYPE_FUNCTIONPOINT)
    return fn (h, option, va_arg (ap, void *));
  if (option < CURLOPTTYPE_OFF_T)
    return fn (h, option, va_arg (ap, void (*) (void)));
  if (option < CURLOPTTYPE_BLOB)
    return fn (h, option, va_arg (ap, curl_off_t));
  return fn (h, option, va_arg (ap, void *));
}

#define CURL_SETOPT(ret, name, handle_type, option_type)                                           \
  ret name (handle_type *h, option_type option, ...)                                               \
  {                                                                                                \
    va_list ap;                                                                                    \
    va_start (ap, option);                                                                         \
    ret rc = (ret)curl_setopt_forward (                                                            \
        LAZYLIB_RESOLVE (curl_lib, CURLcode (*) (void *, int, ...), name), h, (int)option, ap);    \
    va_end (ap);                                                                                   \
    return rc;                                                                                     \
  }
CURL_SETOPT (CURLcode, curl_easy_setopt, CURL, CURLoption)
CURL_SETOPT (CURLMcode, curl_multi_setopt, CURLM, CURLMoption)

/* CURLSHoption numbers carry no type: SHARE/UNSHARE take an int
 * (curl_lock_data), USERDATA a pointer, LOCKFUNC/UNLOCKFUNC functions. */
CURLSHcode
curl_share_setopt (CURLSH *s, CURLSHoption option, ...)
{
  CURLSHcode (*fn) (CURLSH *, CURLSHoption, ...)
      = LAZYLIB_RESOLVE (curl_lib, CURLSHcode (*) (CURLSH *, CURLSHoption, ...), curl_share_setopt);
  va_list ap;
  va_start (ap, option);
  CURLSHcode rc;
  if (option == CURLSHOPT_SHARE || option == CURLSHOPT_UNSHARE)
    rc = fn (s, option, va_arg (ap, int));
  else if (option == CURLSHOPT_LOCKFUNC || option == CURLSHOPT_UNLOCKFUNC)
    rc = fn (s, option, va_arg (ap, void (*) (void)));
  else
    rc = fn (s, option, va_arg (ap, void *));
  va_end (ap);
  return rc;
}

/* Every CURLINFO takes one pointer to where the answer goes. */
CURLcode
curl_easy_getinfo (CURL *h, CURLINFO info, ...)
{
  va_list ap;
  va_start (ap, info);
  void *out = va_arg (ap, void *);
  va_end (ap);
  return LAZYLIB_RESOLVE (curl_lib, CURLcode (*) (CURL *, CURLINFO, ...),
                          curl_easy_getinfo) (h, info, out);
}
