/* COPY and ADD as docker's classic builder does them: sources resolved in
 * the context (or another stage's root) with filepath.Match globs, a
 * directory's contents copied (not the directory), a trailing "/" making
 * the destination a directory, --chown/--chmod, ADD extracting local tars.
 * Every destination path is resolved inside the container root. */
#include "build/build-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------ sources -- */

static char *
clean_rel (const char *p)
{
  _cleanup_strv_ char **parts = strv_split (p, '/');
  _cleanup_strv_ char **out = calloc (1, sizeof (char *));
  if (out == NULL)
    abort ();
  for (char **s = parts; *s; s++)
    {
      if ((*s)[0] == '\0' || strcmp (*s, ".") == 0)
        continue;
      if (strcmp (*s, "..") == 0)
        {
          size_t n = strv_len (out);
          if (n == 0)
            return NULL; /* above the context root */
          free (out[n - 1]);
          out[n - 1] = NULL;
          continue;
        }
      strv_append (&out, *s);
    }
  _cleanup_free_ char *j = strv_join (out, "/");
  return xstrdup (j[0] ? j : ".");
}

static bool
has_wildcards (const char *s)
{
  for (; *s; s++)
    {
      if (*s == '\\' && s[1])
        {
          s++;
          continue;
        }
      if (*s == '*' || *s == '?' || *s == '[')
        return true;
    }
  return false;
}

static int
glob_walk (int dirfd, const char *prefix, const char *pattern, char ***out, struct berth_error **err)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "walk %s", prefix);
  _cleanup_closedir_ DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return berth_error_set (err, errno, "walk");
    }
  struct dirent *de;
  _cleanup_strv_ char **names = calloc (1, sizeof (char *));
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      strv_append (&names, de->d_name);
  for (char **n = names; *n; n++)
    {
      _cleanup_free_ char *rel = prefix[0] ? xasprintf ("%s/%s", prefix, *n) : xstrdup (*n);
      if (fnmatch (pattern, rel, FNM_PATHNAME) == 0)
        {
          strv_append (out, rel);
          continue; /* a matched directory is copied whole */
        }
      struct stat st;
      if (fstatat (dirfd, *n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode))
        {
          _cleanup_close_ int sub = openat (dirfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0 && glob_walk (sub, rel, pattern, out, err) < 0)
            return -1;
        }
    }
  return 0;
}

static bool
is_inline (const struct copy_request *req, const char *s)
{
  return strv_contains (req->inline_names, s);
}

int
copy_sources_resolve (const struct copy_request *req, char ***out, struct berth_error **err)
{
  _cleanup_strv_ char **paths = calloc (1, sizeof (char *));
  if (paths == NULL)
    abort ();
  for (char **s = req->sources; s && *s; s++)
    {
      if (is_inline (req, *s))
        continue;
      bool is_url = str_has_prefix (*s, "http://") || str_has_prefix (*s, "https://");
      if (is_url && !req->is_add)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s failed: source can't be a URL for COPY", req->what);
      if (is_url)
        {
          _cleanup_free_ char *dir = NULL, *rel = NULL;
          if (url_fetch (*s, req->src_rootfd, &dir, &rel, err) < 0)
            return -1;
          if (req->fetched_dirs)
            strv_append (req->fetched_dirs, dir);
          strv_append (&paths, rel);
          continue;
        }
      if (req->is_add && str_has_prefix (*s, "git@"))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s %s: git sources are not supported", req->what, *s);
      _cleanup_free_ char *clean = clean_rel (*s);
      if (clean == NULL)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s failed: forbidden path outside the build context: %s ()", req->what, *s);
      if (has_wildcards (clean))
        {
          size_t before = strv_len (paths);
          if (glob_walk (req->src_rootfd, "", clean, &paths, err) < 0)
            return -1;
          if (strv_len (paths) == before)
            return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s failed: no source files were specified", req->what);
          continue;
        }
      struct berth_error *e2 = NULL;
      _cleanup_close_ int fd = fs_open_in_root (req->src_rootfd, clean, O_PATH, 0, &e2);
      if (fd < 0)
        {
          berth_error_free (e2);
          return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                       "%s failed: file not found in build context or excluded by .dockerignore: stat %s: file does not exist",
                                       req->what, clean);
        }
      strv_append (&paths, clean);
    }
  *out = steal_pointer (&paths);
  return 0;
}

/* ----------------------------------------------------------- checksum -- */

static int
strcmp_ptr (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* openat, where an empty name reopens dirfd itself (an O_PATH fd). */
static int
reopen_at (int dirfd, const char *name, int flags)
{
  if (name[0])
    return openat (dirfd, name, flags | O_CLOEXEC);
  char p[64];
  snprintf (p, sizeof p, "/proc/self/fd/%d", dirfd);
  return open (p, flags | O_CLOEXEC);
}

static int
hash_fd (EVP_MD_CTX *ctx, int fd)
{
  char buf[65536];
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        return 0;
      EVP_DigestUpdate (ctx, buf, (size_t) n);
    }
}

static int
hash_tree (EVP_MD_CTX *ctx, int dirfd, const char *name, const char *rel, bool follow,
           const struct context_index *sums, struct berth_error **err)
{
  struct stat st;
  if (fstatat (dirfd, name, &st, (follow ? 0 : AT_SYMLINK_NOFOLLOW) | (name[0] ? 0 : AT_EMPTY_PATH)) < 0)
    return berth_error_set (err, errno, "stat %s", rel);
  char head[256];
  int hl = snprintf (head, sizeof head, "\n%zu:", strlen (rel));
  EVP_DigestUpdate (ctx, head, (size_t) hl);
  EVP_DigestUpdate (ctx, rel, strlen (rel));
  /* like docker's tarsum v1: mode and size count, mtime and owner do not
   * (the client sets owners to 0 and a touch must not bust the cache) */
  hl = snprintf (head, sizeof head, ":%o:%lld", st.st_mode, (long long) st.st_size);
  EVP_DigestUpdate (ctx, head, (size_t) hl);
  if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (dirfd, name, target, sizeof target);
      if (n > 0)
        EVP_DigestUpdate (ctx, target, (size_t) n);
      return 0;
    }
  const char *known = context_index_sum (sums, &st);
  if (known)
    {
      /* hashed as the context streamed in */
      EVP_DigestUpdate (ctx, known, strlen (known));
      return 0;
    }
  if (S_ISREG (st.st_mode))
    {
      _cleanup_close_ int fd = reopen_at (dirfd, name, O_RDONLY | (follow ? 0 : O_NOFOLLOW));
      if (fd < 0 || hash_fd (ctx, fd) < 0)
        return berth_error_set (err, errno, "read %s", rel);
      return 0;
    }
  if (!S_ISDIR (st.st_mode))
    return 0;
  _cleanup_close_ int sub = reopen_at (dirfd, name, O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW));
  if (sub < 0)
    return berth_error_set (err, errno, "open %s", rel);
  int fd = dup (sub);
  _cleanup_closedir_ DIR *d = fdopendir (fd);
  if (d == NULL)
    return berth_error_set (err, errno, "open %s", rel);
  _cleanup_strv_ char **names = calloc (1, sizeof (char *));
  struct dirent *de;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      strv_append (&names, de->d_name);
  /* sorted, so the checksum does not depend on directory order */
  qsort (names, strv_len (names), sizeof (char *), strcmp_ptr);
  for (char **n = names; *n; n++)
    {
      _cleanup_free_ char *r = strcmp (rel, ".") == 0 ? xstrdup (*n) : xasprintf ("%s/%s", rel, *n);
      if (hash_tree (ctx, sub, *n, r, false, sums, err) < 0)
        return -1;
    }
  return 0;
}

char *
copy_sources_checksum (int src_rootfd, char *const *paths, const struct copy_request *req,
                       struct berth_error **err)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  if (ctx == NULL)
    abort ();
  EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL);
  int r = 0;
  for (char *const *p = paths; r == 0 && p && *p; p++)
    {
      struct berth_error *e2 = NULL;
      _cleanup_close_ int fd = fs_open_in_root (src_rootfd, *p, O_PATH, 0, &e2);
      if (fd < 0)
        {
          r = berth_error_set (err, 0, "%s", e2->msg);
          berth_error_free (e2);
          break;
        }
      r = hash_tree (ctx, fd, "", *p, true, req->ctx, err);
    }
  for (size_t i = 0; r == 0 && req->inline_names && req->inline_names[i]; i++)
    {
      EVP_DigestUpdate (ctx, "\ninline:", 8);
      EVP_DigestUpdate (ctx, req->inline_names[i], strlen (req->inline_names[i]));
      EVP_DigestUpdate (ctx, "\n", 1);
      EVP_DigestUpdate (ctx, req->inline_contents[i], strlen (req->inline_contents[i]));
    }
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex (ctx, md, &len);
  EVP_MD_CTX_free (ctx);
  if (r < 0)
    return NULL;
  char *out = malloc (7 + SHA256_HEX_LEN + 1);
  if (out == NULL)
    abort ();
  strcpy (out, "sha256:");
  for (unsigned i = 0; i < 32; i++)
    sprintf (out + 7 + 2 * i, "%02x", md[i]);
  return out;
}

/* --------------------------------------------------------------- copy -- */

struct owner
{
  struct context_index *ctx; /* the sources are the context's */
  bool chown;
  uid_t uid;
  gid_t gid;
  bool chmod;
  mode_t mode;
};

static void
apply_meta (int fd, const struct stat *st, const struct owner *o, bool is_dir)
{
  uid_t uid = o->chown ? o->uid : 0;
  gid_t gid = o->chown ? o->gid : 0;
  fchown (fd, uid, gid);
  mode_t mode = o->chmod ? o->mode : (st->st_mode & 07777);
  fchmod (fd, mode);
  if (!is_dir)
    {
      struct timespec ts[2] = { st->st_atim, st->st_mtim };
      ts[0] = st->st_mtim;
      futimens (fd, ts);
    }
}

static int
copy_file_data (int in, int out)
{
  for (;;)
    {
      ssize_t n = copy_file_range (in, NULL, out, NULL, 1 << 30, 0);
      if (n == 0)
        return 0;
      if (n > 0)
        continue;
      if (errno == EINTR)
        continue;
      if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
        return -1;
      /* fall back to read/write */
      char buf[131072];
      for (;;)
        {
          ssize_t r = read (in, buf, sizeof buf);
          if (r < 0 && errno == EINTR)
            continue;
          if (r < 0)
            return -1;
          if (r == 0)
            return 0;
          if (fs_write_all (out, buf, (size_t) r) < 0)
            return -1;
        }
    }
}

/* Make room for a new entry called name in dirfd: a directory stays only
 * when the new entry is a directory too. */
static int
clear_slot (int dirfd, const char *name, bool want_dir, struct berth_error **err)
{
  struct stat st;
  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  if (S_ISDIR (st.st_mode))
    {
      if (want_dir)
        return 0;
      return fs_rm_rf_at (dirfd, name, err);
    }
  if (unlinkat (dirfd, name, 0) < 0)
    return berth_error_set (err, errno, "replace %s", name);
  return 0;
}

static int copy_tree_into (int src_dirfd, int dst_dirfd, const char *rel, const struct owner *o,
                           struct berth_error **err);

/* Copy one entry (src_dirfd/name) to dst_dirfd/dst_name. */
static int
copy_entry (int src_dirfd, const char *name, int dst_dirfd, const char *dst_name, const char *rel,
            bool follow, const struct owner *o, struct berth_error **err)
{
  struct stat st;
  if (fstatat (src_dirfd, name, &st, (follow ? 0 : AT_SYMLINK_NOFOLLOW) | (name[0] ? 0 : AT_EMPTY_PATH)) < 0)
    return berth_error_set (err, errno, "stat %s", rel);
  if (S_ISDIR (st.st_mode))
    {
      if (clear_slot (dst_dirfd, dst_name, true, err) < 0)
        return -1;
      if (mkdirat (dst_dirfd, dst_name, 0755) < 0 && errno != EEXIST)
        return berth_error_set (err, errno, "mkdir %s", rel);
      _cleanup_close_ int dd = openat (dst_dirfd, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dd < 0)
        return berth_error_set (err, errno, "open %s", rel);
      _cleanup_close_ int sd = reopen_at (src_dirfd, name, O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW));
      if (sd < 0)
        return berth_error_set (err, errno, "open %s", rel);
      if (copy_tree_into (sd, dd, rel, o, err) < 0)
        return -1;
      apply_meta (dd, &st, o, true);
      return 0;
    }
  if (clear_slot (dst_dirfd, dst_name, false, err) < 0)
    return -1;
  if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (src_dirfd, name, target, sizeof target - 1);
      if (n < 0)
        return berth_error_set (err, errno, "readlink %s", rel);
      target[n] = '\0';
      if (symlinkat (target, dst_dirfd, dst_name) < 0)
        return berth_error_set (err, errno, "symlink %s", rel);
      fchownat (dst_dirfd, dst_name, o->chown ? o->uid : 0, o->chown ? o->gid : 0, AT_SYMLINK_NOFOLLOW);
      return 0;
    }
  if (!S_ISREG (st.st_mode))
    return 0;
  _cleanup_close_ int in = reopen_at (src_dirfd, name, O_RDONLY | (follow ? 0 : O_NOFOLLOW));
  if (in < 0)
    return berth_error_set (err, errno, "open %s", rel);
  _cleanup_close_ int out = openat (dst_dirfd, dst_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    return berth_error_set (err, errno, "create %s", rel);
  bool done = false;
  if (o->ctx && context_index_copy (o->ctx, &st, out, &done, err) < 0)
    return berth_error_prefix (err, "copy %s", rel);
  if (!done && copy_file_data (in, out) < 0)
    return berth_error_set (err, errno, "copy %s", rel);
  apply_meta (out, &st, o, false);
  return 0;
}

static int
copy_tree_into (int src_dirfd, int dst_dirfd, const char *rel, const struct owner *o,
                struct berth_error **err)
{
  int fd = dup (src_dirfd);
  _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL)
    return berth_error_set (err, errno, "read dir %s", rel);
  rewinddir (d);
  struct dirent *de;
  _cleanup_strv_ char **names = calloc (1, sizeof (char *));
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      strv_append (&names, de->d_name);
  for (char **n = names; *n; n++)
    {
      _cleanup_free_ char *r = xasprintf ("%s/%s", rel, *n);
      if (copy_entry (src_dirfd, *n, dst_dirfd, *n, r, false, o, err) < 0)
        return -1;
    }
  return 0;
}

static bool
is_local_archive (int fd)
{
  struct archive *a = archive_read_new ();
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_bzip2 (a);
  archive_read_support_filter_xz (a);
  archive_read_support_filter_none (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  bool ok = false;
  int dfd = dup (fd);
  if (dfd >= 0 && archive_read_open_fd (a, dfd, 16384) == ARCHIVE_OK)
    {
      struct archive_entry *e;
      ok = archive_read_next_header (a, &e) == ARCHIVE_OK;
    }
  archive_read_free (a);
  if (dfd >= 0)
    close (dfd);
  lseek (fd, 0, SEEK_SET);
  return ok;
}

static const char *
base_name (const char *p)
{
  const char *s = strrchr (p, '/');
  return s ? s + 1 : p;
}

int
copy_run (int dst_rootfd, char *const *paths, const struct copy_request *req,
          struct berth_error **err)
{
  struct owner o = { req->ctx, req->has_chown, req->uid, req->gid, req->has_chmod, req->chmod };
  size_t n_src = strv_len (paths) + strv_len (req->inline_names);
  bool any_glob = false;
  for (char **s = req->sources; s && *s; s++)
    any_glob |= has_wildcards (*s);
  bool dest_dir = req->dest_is_dir;
  if ((n_src > 1 || (any_glob && n_src > 1)) && !dest_dir)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "When using %s with more than one source file, the destination must be a directory and end with a /", req->what);
  /* an existing directory at dest is a directory destination too */
  {
    struct berth_error *e2 = NULL;
    _cleanup_close_ int fd = fs_open_in_root (dst_rootfd, req->dest, O_PATH, 0, &e2);
    struct stat st;
    if (fd >= 0 && fstat (fd, &st) == 0 && S_ISDIR (st.st_mode))
      dest_dir = true;
    berth_error_free (e2);
  }
  for (char *const *p = paths; p && *p; p++)
    {
      struct berth_error *e2 = NULL;
      _cleanup_close_ int src = fs_open_in_root (req->src_rootfd, *p, O_PATH, 0, &e2);
      if (src < 0)
        {
          berth_error_set (err, 0, "%s failed: %s", req->what, e2->msg);
          berth_error_free (e2);
          return -1;
        }
      struct stat st;
      if (fstat (src, &st) < 0)
        return berth_error_set (err, errno, "stat %s", *p);
      if (S_ISDIR (st.st_mode))
        {
          /* the directory's contents, not the directory itself */
          _cleanup_close_ int dd = fs_mkdir_p_in_root (dst_rootfd, req->dest, 0755, err);
          if (dd < 0)
            return berth_error_prefix (err, "%s %s", req->what, req->dest);
          _cleanup_close_ int ddr = openat (dd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          _cleanup_close_ int sd = reopen_at (src, "", O_RDONLY | O_DIRECTORY);
          if (ddr < 0 || sd < 0)
            return berth_error_set (err, errno, "%s %s", req->what, *p);
          if (copy_tree_into (sd, ddr, *p, &o, err) < 0)
            return berth_error_prefix (err, "%s", req->what);
          continue;
        }
      /* ADD extracts local archives, never fetched files */
      if (req->is_add && S_ISREG (st.st_mode) && !str_has_prefix (*p, ".berth-url-"))
        {
          _cleanup_close_ int in = reopen_at (src, "", O_RDONLY);
          if (in >= 0 && context_index_fill (req->ctx, in, err) < 0)
            return berth_error_prefix (err, "ADD %s", *p);
          if (in >= 0 && is_local_archive (in))
            {
              _cleanup_close_ int dd = fs_mkdir_p_in_root (dst_rootfd, req->dest, 0755, err);
              if (dd < 0)
                return berth_error_prefix (err, "ADD %s", req->dest);
              _cleanup_close_ int ddr = openat (dd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
              if (ddr < 0)
                return berth_error_set (err, errno, "ADD %s", req->dest);
              if (context_extract (in, ddr, true, err) < 0)
                return berth_error_prefix (err, "ADD %s", *p);
              continue;
            }
        }
      _cleanup_free_ char *target = dest_dir ? xasprintf ("%s/%s", req->dest, base_name (*p)) : xstrdup (req->dest);
      _cleanup_free_ char *parent = xstrdup (target);
      char *slash = strrchr (parent, '/');
      const char *bn = slash ? slash + 1 : parent;
      if (slash)
        *slash = '\0';
      _cleanup_close_ int pd = fs_mkdir_p_in_root (dst_rootfd, parent[0] ? parent : "/", 0755, err);
      if (pd < 0)
        return berth_error_prefix (err, "%s %s", req->what, target);
      _cleanup_close_ int pdr = openat (pd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (pdr < 0)
        return berth_error_set (err, errno, "%s %s", req->what, target);
      if (copy_entry (src, "", pdr, bn, *p, true, &o, err) < 0)
        return berth_error_prefix (err, "%s", req->what);
    }
  for (size_t i = 0; req->inline_names && req->inline_names[i]; i++)
    {
      _cleanup_free_ char *target = dest_dir ? xasprintf ("%s/%s", req->dest, req->inline_names[i]) : xstrdup (req->dest);
      _cleanup_free_ char *parent = xstrdup (target);
      char *slash = strrchr (parent, '/');
      const char *bn = slash ? slash + 1 : parent;
      if (slash)
        *slash = '\0';
      _cleanup_close_ int pd = fs_mkdir_p_in_root (dst_rootfd, parent[0] ? parent : "/", 0755, err);
      if (pd < 0)
        return berth_error_prefix (err, "%s %s", req->what, target);
      _cleanup_close_ int pdr = openat (pd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (pdr < 0 || clear_slot (pdr, bn, false, err) < 0)
        return berth_error_set (err, errno, "%s %s", req->what, target);
      _cleanup_close_ int out = openat (pdr, bn, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (out < 0 || fs_write_all (out, req->inline_contents[i], strlen (req->inline_contents[i])) < 0)
        return berth_error_set (err, errno, "%s %s", req->what, target);
      fchown (out, o.chown ? o.uid : 0, o.chown ? o.gid : 0);
      fchmod (out, o.chmod ? o.mode : 0644);
    }
  return 0;
}
