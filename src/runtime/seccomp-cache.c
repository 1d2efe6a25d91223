/* A content-addressed cache of compiled seccomp programs. libseccomp takes
 * milliseconds of CPU (tens under load) to compile Docker's default profile
 * and every container of an engine uses the same one. An entry is keyed by
 * its material: the profile's canonical JSON (sorted keys, compact), the
 * native architecture, the libseccomp version and this file's format. The
 * file is named by a 64-bit FNV-1a of the material and holds the material
 * itself, compared byte for byte on read, so a name collision is only a
 * miss: no cryptographic hash is needed (and none is linked: libcrypto's
 * load alone would cost every monitor exec about 0.8 ms). Entries are
 * written crash-safely once and validated on every read (magic, sizes,
 * instruction count <= BPF_MAXINSNS, material, checksum of the program,
 * owner and mode); anything else is ignored and recompiled over. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/seccomp-filter-internal.h"
#include "runtime/seccomp-libseccomp.h"
#include "runtime/seccomp.h"

#define CACHE_MAGIC "BSECBPF2"
#define CACHE_MAX_MATERIAL (4u << 20)

struct cache_header
{
  char magic[8];
  uint32_t flags;
  uint32_t wants_listener;
  uint32_t n_insns;
  uint32_t material_len;
  uint64_t insns_fnv; /* FNV-1a 64 of the program that follows the material */
};

static uint64_t
fnv1a64 (const void *data, size_t len)
{
  const unsigned char *p = data;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

/* Everything that changes what libseccomp makes of the profile: its
 * text (canonical JSON), the format, the arch, libseccomp's version. */
static char *
cache_material_of_text (const char *canon)
{
  const struct scmp_version *v = seccomp_version ();
  return xasprintf ("%s\nformat=%s arch=%u libseccomp=%u.%u.%u\n", canon, CACHE_MAGIC,
                    seccomp_arch_native (), v ? v->major : 0, v ? v->minor : 0,
                    v ? v->micro : 0);
}

static char *
cache_material (const json_t *profile)
{
  _cleanup_free_ char *canon = json_dumps (profile, JSON_SORT_KEYS | JSON_COMPACT);
  if (canon == NULL)
    return NULL;
  return cache_material_of_text (canon);
}

/* NULL on any mismatch: the caller recompiles. */
static struct seccomp_filter *
cache_read (int dirfd, const char *name, const char *material)
{
  _cleanup_close_ int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  size_t mlen = strlen (material);
  struct stat st;
  const off_t max = (off_t)sizeof (struct cache_header) + (off_t)CACHE_MAX_MATERIAL
                    + (off_t)BPF_MAXINSNS * (off_t)sizeof (struct sock_filter);
  /* Only a file we wrote: regular, ours, not writable by anyone else. */
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_uid != geteuid ()
      || (st.st_mode & 022) || st.st_size <= (off_t)(sizeof (struct cache_header) + mlen)
      || st.st_size > max)
    return NULL;
  _cleanup_free_ char *buf = malloc ((size_t)st.st_size);
  if (buf == NULL || fs_read_all (fd, buf, (size_t)st.st_size) != st.st_size)
    return NULL;
  struct cache_header h;
  memcpy (&h, buf, sizeof h);
  size_t body = (size_t)st.st_size - sizeof h - mlen;
  if (memcmp (h.magic, CACHE_MAGIC, sizeof h.magic) != 0 || h.material_len != mlen
      || memcmp (buf + sizeof h, material, mlen) != 0 || h.n_insns == 0
      || h.n_insns > BPF_MAXINSNS || body != h.n_insns * sizeof (struct sock_filter)
      || h.wants_listener > 1)
    return NULL;
  const char *insns = buf + sizeof h + mlen;
  if (fnv1a64 (insns, body) != h.insns_fnv)
    return NULL;
  struct seccomp_filter *f = calloc (1, sizeof *f);
  if (f == NULL || (f->insns = malloc (body)) == NULL)
    abort ();
  memcpy (f->insns, insns, body);
  f->n_insns = (unsigned short)h.n_insns;
  f->flags = h.flags;
  f->wants_listener = h.wants_listener;
  return f;
}

static int
cache_write (int dirfd, const char *name, const char *material, const struct seccomp_filter *f,
             struct berth_error **err)
{
  size_t mlen = strlen (material);
  if (mlen > CACHE_MAX_MATERIAL)
    return berth_error_set (err, E2BIG, "profile too large to cache");
  size_t body = (size_t)f->n_insns * sizeof (struct sock_filter);
  size_t total = sizeof (struct cache_header) + mlen + body;
  _cleanup_free_ char *buf = malloc (total);
  if (buf == NULL)
    abort ();
  struct cache_header h = { .flags = f->flags,
                            .wants_listener = f->wants_listener,
                            .n_insns = f->n_insns,
                            .material_len = (uint32_t)mlen,
                            .insns_fnv = fnv1a64 (f->insns, body) };
  memcpy (h.magic, CACHE_MAGIC, sizeof h.magic);
  memcpy (buf, &h, sizeof h);
  memcpy (buf + sizeof h, material, mlen);
  memcpy (buf + sizeof h + mlen, f->insns, body);
  return fs_write_file_atomic (dirfd, name, buf, total, 0600, err);
}

/* The cache dir (made when missing), or -1 when there is none to use. */
static int
cache_dir_open (const char *cache_dir)
{
  if (cache_dir == NULL || cache_dir[0] == '\0')
    return -1;
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
  return steal_fd (&dirfd);
}

static void
cache_key (const char *material, char key[17])
{
  snprintf (key, 17, "%016llx", (unsigned long long)fnv1a64 (material, strlen (material)));
}

struct seccomp_filter *
seccomp_filter_compile_cached_file (const char *path, const char *cache_dir, json_t **profile_out,
                                    struct berth_error **err)
{
  *profile_out = NULL;
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (fs_read_file (AT_FDCWD, path, &text, &len, err) < 0)
    return NULL;
  _cleanup_free_ char *material = cache_material_of_text (text);
  char key[17];
  cache_key (material, key);
  _cleanup_close_ int dirfd = cache_dir_open (cache_dir);
  struct seccomp_filter *f = dirfd >= 0 ? cache_read (dirfd, key, material) : NULL;
  if (f && !f->wants_listener)
    return f;
  json_error_t jerr;
  json_t *profile = json_loadb (text, len, 0, &jerr);
  if (profile == NULL)
    {
      if (f)
        seccomp_filter_free (f);
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: line %d column %d: %s", path, jerr.line,
                            jerr.column, jerr.text);
      return NULL;
    }
  if (f == NULL)
    {
      f = seccomp_filter_compile (profile, err);
      if (f == NULL)
        {
          json_decref (profile);
          return NULL;
        }
      _cleanup_error_ struct berth_error *werr = NULL;
      if (dirfd >= 0 && cache_write (dirfd, key, material, f, &werr) < 0)
        berth_log (BERTH_LOG_WARNING, "seccomp cache %s: %s", cache_dir, werr->msg);
    }
  *profile_out = profile;
  return f;
}

struct seccomp_filter *
seccomp_filter_compile_cached (const json_t *seccomp, const char *cache_dir, bool *hit,
                               struct berth_error **err)
{
  if (hit)
    *hit = false;
  _cleanup_free_ char *material = NULL;
  if (cache_dir == NULL || cache_dir[0] == '\0' || !json_is_object (seccomp)
      || (material = cache_material (seccomp)) == NULL)
    return seccomp_filter_compile (seccomp, err);
  char key[17];
  cache_key (material, key);
  _cleanup_close_ int dirfd = cache_dir_open (cache_dir);
  if (dirfd < 0)
    return seccomp_filter_compile (seccomp, err);
  struct seccomp_filter *f = cache_read (dirfd, key, material);
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
  if (cache_write (dirfd, key, material, f, &werr) < 0)
    berth_log (BERTH_LOG_WARNING, "seccomp cache %s: %s", cache_dir, werr->msg);
  return f;
}
