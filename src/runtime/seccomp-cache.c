/* A content-addressed cache of compiled seccomp programs. libseccomp takes
 * tens of milliseconds to compile Docker's default profile and every
 * container of an engine uses the same one: the program is keyed by the
 * sha256 of the profile's canonical JSON, the native architecture, the
 * libseccomp version and this file's format, written crash-safely once and
 * read back (validated: header, size, instruction count, sha256 of the
 * program) by every later create/exec. Anything that does not validate is
 * ignored and recompiled over. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/seccomp-filter-internal.h"
#include "runtime/seccomp-libseccomp.h"
#include "runtime/seccomp.h"

#define CACHE_MAGIC "BSECBPF1"

struct cache_header
{
  char magic[8];
  uint32_t flags;
  uint32_t wants_listener;
  uint32_t n_insns;
  uint32_t reserved;
  char insns_sha256[SHA256_HEX_LEN]; /* of the program that follows */
};

/* Canonical JSON (sorted keys, compact) + everything that changes what
 * libseccomp makes of it. */
static int
cache_key (const json_t *profile, char key[SHA256_HEX_LEN + 1])
{
  _cleanup_free_ char *canon = json_dumps (profile, JSON_SORT_KEYS | JSON_COMPACT);
  if (canon == NULL)
    return -1;
  const struct scmp_version *v = seccomp_version ();
  _cleanup_free_ char *material
      = xasprintf ("%s\nformat=%s arch=%u libseccomp=%u.%u.%u\n", canon, CACHE_MAGIC,
                   seccomp_arch_native (), v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0);
  sha256_hex (material, strlen (material), key);
  return 0;
}

/* NULL on any mismatch: the caller recompiles. */
static struct seccomp_filter *
cache_read (int dirfd, const char *key)
{
  _cleanup_close_ int fd = openat (dirfd, key, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  struct stat st;
  const off_t max = (off_t)sizeof (struct cache_header)
                    + (off_t)BPF_MAXINSNS * (off_t)sizeof (struct sock_filter);
  /* Only a file we wrote: regular, ours, not writable by anyone else. */
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_uid != geteuid ()
      || (st.st_mode & 022) || st.st_size <= (off_t)sizeof (struct cache_header)
      || st.st_size > max)
    return NULL;
  _cleanup_free_ char *buf = malloc ((size_t)st.st_size);
  if (buf == NULL || fs_read_all (fd, buf, (size_t)st.st_size) != st.st_size)
    return NULL;
  struct cache_header h;
  memcpy (&h, buf, sizeof h);
  size_t body = (size_t)st.st_size - sizeof h;
  if (memcmp (h.magic, CACHE_MAGIC, sizeof h.magic) != 0 || h.n_insns == 0
      || h.n_insns > BPF_MAXINSNS || body != h.n_insns * sizeof (struct sock_filter)
      || h.wants_listener > 1)
    return NULL;
  char sum[SHA256_HEX_LEN + 1];
  sha256_hex (buf + sizeof h, body, sum);
  if (memcmp (sum, h.insns_sha256, SHA256_HEX_LEN) != 0)
    return NULL;
  struct seccomp_filter *f = calloc (1, sizeof *f);
  if (f == NULL || (f->insns = malloc (body)) == NULL)
    abort ();
  memcpy (f->insns, buf + sizeof h, body);
  f->n_insns = (unsigned short)h.n_insns;
  f->flags = h.flags;
  f->wants_listener = h.wants_listener;
  return f;
}

static int
cache_write (int dirfd, const char *key, const struct seccomp_filter *f,
             struct berth_error **err)
{
  size_t body = (size_t)f->n_insns * sizeof (struct sock_filter);
  _cleanup_free_ char *buf = malloc (sizeof (struct cache_header) + body);
  if (buf == NULL)
    abort ();
  struct cache_header h = { .flags = f->flags,
                            .wants_listener = f->wants_listener,
                            .n_insns = f->n_insns };
  memcpy (h.magic, CACHE_MAGIC, sizeof h.magic);
  char sum[SHA256_HEX_LEN + 1];
  sha256_hex (f->insns, body, sum);
  memcpy (h.insns_sha256, sum, SHA256_HEX_LEN);
  memcpy (buf, &h, sizeof h);
  memcpy (buf + sizeof h, f->insns, body);
  return fs_write_file_atomic (dirfd, key, buf, sizeof h + body, 0600, err);
}

struct seccomp_filter *
seccomp_filter_compile_cached (const json_t *seccomp, const char *cache_dir, bool *hit,
                               struct berth_error **err)
{
  if (hit)
    *hit = false;
  char key[SHA256_HEX_LEN + 1];
  if (cache_dir == NULL || cache_dir[0] == '\0' || !json_is_object (seccomp)
      || cache_key (seccomp, key) < 0)
    return seccomp_filter_compile (seccomp, err);
  _cleanup_close_ int dirfd = open (cache_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0 && errno == ENOENT && fs_mkdir_p (cache_dir, 0700, NULL) == 0)
    dirfd = open (cache_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  /* A directory someone else can write to could hand us a filter. */
  if (dirfd >= 0
      && (fstat (dirfd, &st) < 0 || st.st_uid != geteuid () || (st.st_mode & 022)))
    {
      berth_log (BERTH_LOG_WARNING, "seccomp cache %s: not owned by us or writable by others; unused",
                 cache_dir);
      closep (&dirfd);
    }
  if (dirfd < 0)
    return seccomp_filter_compile (seccomp, err);
  struct seccomp_filter *f = cache_read (dirfd, key);
  if (f)
    {
      if (hit)
        *hit = true;
      return f;
    }
  f = seccomp_filter_compile (seccomp, err);
  if (f == NULL)
    return NULL;
  _cleanup_error_ struct berth_error *werr = NULL;
  /* The cache is only an optimisation: a full disk costs time, not the container. */
  if (cache_write (dirfd, key, f, &werr) < 0)
    berth_log (BERTH_LOG_WARNING, "seccomp cache %s: %s", cache_dir, werr->msg);
  return f;
}
