/* berth cli: the build context as the tar stream the docker CLI sends: a
 * ustar header per entry (a pax header in front where ustar cannot say it:
 * long or non-ASCII names, sizes past 8 GiB), file bodies handed to the
 * transport whole (sendfile), the extra Dockerfile and .dockerignore, and
 * a tar read from stdin passed on as it is. */
#include "cli/cli-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 512

struct ustar
{
  char name[100];
  char mode[8];
  char uid[8];
  char gid[8];
  char size[12];
  char mtime[12];
  char chksum[8];
  char typeflag;
  char linkname[100];
  char magic[6];
  char version[2];
  char uname[32];
  char gname[32];
  char devmajor[8];
  char devminor[8];
  char prefix[155];
  char pad[12];
};
_Static_assert (sizeof (struct ustar) == BLOCK, "a tar header is one block");

static bool
is_ascii (const char *s)
{
  for (; *s; s++)
    if ((unsigned char) *s >= 0x80)
      return false;
  return true;
}

/* A numeric field: octal digits, zero-padded, NUL-terminated (as Go's
 * archive/tar writes them). False when the value does not fit. */
static bool
put_octal (char *field, size_t width, uint64_t v)
{
  if (width - 1 < 22 && v >> (3 * (width - 1)) != 0)
    return false;
  snprintf (field, width, "%0*llo", (int) (width - 1), (unsigned long long) v);
  return true;
}

/* Go's splitUSTARPath: a name over 100 bytes split at a '/' into prefix
 * (<= 155) and name (<= 100). */
static bool
split_ustar_path (const char *name, size_t *plen)
{
  size_t len = strlen (name);
  if (len <= 100 || !is_ascii (name))
    return false;
  size_t n = len;
  if (n > 155 + 1)
    n = 155 + 1;
  else if (name[n - 1] == '/')
    n--;
  ssize_t i = -1;
  for (size_t k = 0; k < n; k++)
    if (name[k] == '/')
      i = (ssize_t) k;
  if (i <= 0)
    return false;
  size_t nlen = len - (size_t) i - 1;
  if (nlen > 100 || nlen == 0 || (size_t) i > 155)
    return false;
  *plen = (size_t) i;
  return true;
}

static size_t
n_digits (size_t v)
{
  size_t n = 1;
  while (v >= 10)
    {
      v /= 10;
      n++;
    }
  return n;
}

/* One pax record, "<len> key=value\n" where len counts the record itself
 * (Go's formatPAXRecord). */
static void
pax_record (FILE *f, const char *key, const char *value)
{
  size_t base = strlen (key) + strlen (value) + 3; /* ' ', '=', '\n' */
  size_t size = base + n_digits (base);
  if (base + n_digits (size) != size)
    size = base + n_digits (size);
  fprintf (f, "%zu %s=%s\n", size, key, value);
}

static void
checksum (struct ustar *h)
{
  memset (h->chksum, ' ', sizeof h->chksum);
  unsigned sum = 0;
  for (size_t i = 0; i < BLOCK; i++)
    sum += ((unsigned char *) h)[i];
  snprintf (h->chksum, 7, "%06o", sum);
  h->chksum[7] = ' ';
}

/* A string field: as much as fits, NUL-padded, not necessarily terminated
 * (a tar field of full length has no NUL). */
static void
put_string (char *field, size_t width, const char *s)
{
  size_t n = strlen (s);
  memcpy (field, s, n < width ? n : width);
}

static void
fill_header (struct ustar *h, const char *name, mode_t perm, uint64_t size, int64_t mtime,
             char type, const char *link)
{
  memset (h, 0, sizeof *h);
  size_t plen = 0;
  if (split_ustar_path (name, &plen))
    {
      memcpy (h->prefix, name, plen);
      put_string (h->name, sizeof h->name, name + plen + 1);
    }
  else
    put_string (h->name, sizeof h->name, name); /* cut: the pax path says it all */
  put_octal (h->mode, sizeof h->mode, perm & 07777);
  put_octal (h->uid, sizeof h->uid, 0); /* docker's ChownOpts 0:0 */
  put_octal (h->gid, sizeof h->gid, 0);
  if (!put_octal (h->size, sizeof h->size, size))
    put_octal (h->size, sizeof h->size, 0);
  if (mtime < 0 || !put_octal (h->mtime, sizeof h->mtime, (uint64_t) mtime))
    put_octal (h->mtime, sizeof h->mtime, 0);
  h->typeflag = type;
  if (link)
    put_string (h->linkname, sizeof h->linkname, link);
  memcpy (h->magic, "ustar", 6);
  memcpy (h->version, "00", 2);
  checksum (h);
}

int
cli_tar_write_header (const struct cli_body_out *out, const char *name, mode_t perm,
                      uint64_t size, int64_t mtime, char type, const char *link,
                      struct berth_error **err)
{
  /* what ustar cannot carry goes into a pax header in front (Go's rules) */
  _cleanup_free_ char *pax = NULL;
  size_t pax_len = 0;
  FILE *f = open_memstream (&pax, &pax_len);
  if (f == NULL)
    abort ();
  size_t plen;
  if (!is_ascii (name) || (strlen (name) > 100 && !split_ustar_path (name, &plen)))
    pax_record (f, "path", name);
  if (link && (!is_ascii (link) || strlen (link) > 100))
    pax_record (f, "linkpath", link);
  if (size > 077777777777ULL)
    {
      char v[24];
      snprintf (v, sizeof v, "%llu", (unsigned long long) size);
      pax_record (f, "size", v);
    }
  if (mtime < 0 || (uint64_t) mtime > 077777777777ULL)
    {
      char v[24];
      snprintf (v, sizeof v, "%lld", (long long) mtime);
      pax_record (f, "mtime", v);
    }
  fclose (f);
  struct ustar h;
  if (pax_len)
    {
      /* the pax header's own name, as Go's: <dir>/PaxHeaders.0/<base> */
      const char *slash = strrchr (name, '/');
      _cleanup_free_ char *pname
          = slash && slash[1] ? xasprintf ("%.*s/PaxHeaders.0/%s", (int) (slash - name), name, slash + 1)
                              : xasprintf ("PaxHeaders.0/%s", name);
      if (!is_ascii (pname))
        {
          free (pname);
          pname = xstrdup ("PaxHeaders.0/entry");
        }
      fill_header (&h, pname, 0644, pax_len, mtime < 0 ? 0 : mtime, 'x', NULL);
      static const char zeros[BLOCK];
      int rc = out->write (out->ud, &h, sizeof h, err);
      if (rc == 0)
        rc = out->write (out->ud, pax, pax_len, err);
      if (rc == 0 && pax_len % BLOCK)
        rc = out->write (out->ud, zeros, BLOCK - pax_len % BLOCK, err);
      if (rc != 0)
        return rc;
    }
  fill_header (&h, name, perm, size, mtime, type, link);
  return out->write (out->ud, &h, sizeof h, err);
}

/* The zeros that fill a body of `size` bytes up to its last block. */
static int
pad_body (const struct cli_body_out *out, uint64_t size, struct berth_error **err)
{
  static const char zeros[BLOCK];
  if (size % BLOCK == 0)
    return 0;
  return out->write (out->ud, zeros, BLOCK - size % BLOCK, err);
}

static int
write_memory (const struct cli_body_out *out, const char *name, const char *data, size_t len,
              struct berth_error **err)
{
  int rc = cli_tar_write_header (out, name, 0600, len, time (NULL), '0', NULL, err);
  if (rc == 0 && len)
    rc = out->write (out->ud, data, len, err);
  if (rc == 0)
    rc = pad_body (out, len, err);
  return rc;
}

/* The first sent path of a file with several links (same device and
 * inode), or NULL: later ones are sent as hard links, as docker's tar does. */
static const char *
hardlink_target (const struct cli_build_context *ctx, const struct cli_build_entry *en)
{
  if (!S_ISREG (en->st.st_mode) || en->st.st_nlink < 2)
    return NULL;
  for (const struct cli_build_entry *p = ctx->entries; p < en; p++)
    if (S_ISREG (p->st.st_mode) && p->st.st_ino == en->st.st_ino && p->st.st_dev == en->st.st_dev)
      return p->path;
  return NULL;
}

static int
write_entry (const struct cli_build_tar *t, const struct cli_body_out *out,
             const struct cli_build_entry *en, struct berth_error **err)
{
  mode_t m = en->st.st_mode;
  int64_t mtime = en->st.st_mtime;
  const char *hl = hardlink_target (t->ctx, en);
  if (hl)
    return cli_tar_write_header (out, en->path, m, 0, mtime, '1', hl, err);
  if (S_ISDIR (m))
    {
      _cleanup_free_ char *name = xasprintf ("%s/", en->path);
      return cli_tar_write_header (out, name, m, 0, mtime, '5', NULL, err);
    }
  if (S_ISLNK (m))
    return cli_tar_write_header (out, en->path, m, 0, mtime, '2', en->link, err);
  if (S_ISFIFO (m))
    return cli_tar_write_header (out, en->path, m, 0, mtime, '6', NULL, err);
  _cleanup_close_ int fd = fs_open_in_root (t->rootfd, en->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC,
                                            0, err);
  if (fd < 0)
    return berth_error_prefix (err, "open %s", en->path);
  uint64_t size = (uint64_t) en->st.st_size;
  int rc = cli_tar_write_header (out, en->path, m, size, mtime, '0', NULL, err);
  /* the size the walk saw: a file that grew since is cut there, as a tar
   * header promises no more; one that shrank is an error */
  if (rc == 0 && size)
    {
      rc = out->send_file (out->ud, fd, size, err);
      if (rc < 0)
        return berth_error_prefix (err, "read %s", en->path);
    }
  if (rc == 0)
    rc = pad_body (out, size, err);
  return rc;
}

int
cli_build_tar_write (const struct cli_build_tar *t, const struct cli_body_out *out,
                     struct berth_error **err)
{
  for (size_t i = 0; i < t->ctx->n; i++)
    {
      const struct cli_build_entry *en = &t->ctx->entries[i];
      if (t->extra_name && !t->keep_ignore && strcmp (en->path, ".dockerignore") == 0)
        continue; /* rewritten below */
      int rc = write_entry (t, out, en, err);
      if (rc != 0)
        return rc;
    }
  int rc = 0;
  if (t->extra_name)
    rc = write_memory (out, t->extra_name, t->extra_data, t->extra_len, err);
  if (rc == 0 && t->extra_name && !t->keep_ignore)
    {
      _cleanup_free_ char *ign = xasprintf ("%.*s\n%s\n", (int) t->ignore_len,
                                            t->ignore_data ? t->ignore_data : "", t->extra_name);
      rc = write_memory (out, ".dockerignore", ign, strlen (ign), err);
    }
  /* the end: two zero blocks and nothing after, like Go's archive/tar */
  static const char end[2 * BLOCK];
  if (rc == 0)
    rc = out->write (out->ud, end, sizeof end, err);
  return rc;
}

ssize_t
cli_build_read_context (int in_fd, void *buf, size_t n, struct berth_error **err)
{
  for (;;)
    {
      ssize_t got = read (in_fd, buf, n);
      if (got >= 0)
        return got;
      if (errno != EINTR)
        return berth_error_set (err, errno, "read the build context from stdin");
    }
}

int
cli_build_tar_passthrough (const char *prefix, size_t prefix_len, int in_fd,
                           const struct cli_body_out *out, struct berth_error **err)
{
  int rc = prefix_len ? out->write (out->ud, prefix, prefix_len, err) : 0;
  char buf[65536];
  while (rc == 0)
    {
      ssize_t n = cli_build_read_context (in_fd, buf, sizeof buf, err);
      if (n <= 0)
        return (int) n;
      rc = out->write (out->ud, buf, (size_t) n, err);
    }
  return rc;
}
