/* Extract tar entries into a layer root without ever leaving it: parents
 * are resolved with openat2(RESOLVE_IN_ROOT) (a planted symlink leads where
 * it would inside the container, never outside), final components are
 * created with O_EXCL/O_NOFOLLOW or *at() on the parent fd (never followed,
 * never written through), hardlink targets are resolved in the root too.
 * Whiteouts become overlay whiteouts (0/0 char devices) and opaque
 * directories the trusted.overlay.opaque xattr, as containerd's overlay
 * snapshotter stores them, so the layer dir is a ready overlay lowerdir. */
#include "image/tar-internal.h"

#include <fcntl.h>
#include <isa-l/crc64.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

struct dir_time
{
  char *path;
  struct timespec mtime;
  size_t seq; /* stream order */
};

static int
dir_time_cmp_path (const void *a, const void *b)
{
  return strcmp (((const struct dir_time *)a)->path, ((const struct dir_time *)b)->path);
}

struct crc_slot
{
  ino_t ino;
  uint64_t crc;
  bool used;
};

/* Directories entries were recently put into (and just made), by path: a
 * sorted tar comes back to a parent after each subdirectory, and the first
 * entries of a new directory follow it, so most entries find their parent
 * here instead of resolving it again with openat2. */
#define PARENT_SLOTS 16
struct parent_slot
{
  char *path; /* NULL: free */
  int fd;
  uint64_t last_use;
};

struct extractor
{
  int rootfd;
  bool is_root;
  struct parent_slot parents[PARENT_SLOTS];
  uint64_t parent_tick;
  /* regular file being written */
  int filefd;
  char *file_path;
  struct tar_entry cur; /* metadata of the current entry (strings owned) */
  uint64_t crc;
  int64_t bytes;
  struct dir_time *dirs;
  size_t n_dirs, cap_dirs;
  struct crc_slot *crcs;
  size_t cap_crcs, n_crcs;
  bool is_finished; /* dirs sorted and unique by path */
};

struct extractor *
extractor_new (int rootfd, struct berth_error **err)
{
  struct extractor *x = calloc (1, sizeof *x);
  if (x == NULL)
    abort ();
  x->rootfd = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
  if (x->rootfd < 0)
    {
      free (x);
      berth_error_set (err, errno, "dup layer root");
      return NULL;
    }
  x->filefd = -1;
  for (size_t i = 0; i < PARENT_SLOTS; i++)
    x->parents[i].fd = -1;
  x->is_root = geteuid () == 0;
  return x;
}

static void
entry_clear (struct tar_entry *e)
{
  free (e->path);
  free (e->linkname);
  for (size_t i = 0; i < e->n_xattrs; i++)
    {
      free (e->xattrs[i].name);
      free (e->xattrs[i].value);
    }
  free (e->xattrs);
  memset (e, 0, sizeof *e);
}

void
extractor_free (struct extractor *x)
{
  if (x == NULL)
    return;
  closep (&x->rootfd);
  for (size_t i = 0; i < PARENT_SLOTS; i++)
    {
      closep (&x->parents[i].fd);
      free (x->parents[i].path);
    }
  closep (&x->filefd);
  free (x->file_path);
  entry_clear (&x->cur);
  for (size_t i = 0; i < x->n_dirs; i++)
    free (x->dirs[i].path);
  free (x->dirs);
  free (x->crcs);
  free (x);
}

int64_t
extractor_bytes (const struct extractor *x)
{
  return x->bytes;
}

/* ------------------------------------------------------ crc by inode -- */

/* Inode numbers come in runs; a multiplicative hash spreads them so linear
 * probing does not walk long clusters. */
static size_t
ino_slot (ino_t ino, size_t cap)
{
  return (size_t)(((uint64_t)ino * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1);
}

static void
crc_put (struct extractor *x, ino_t ino, uint64_t crc)
{
  if (x->n_crcs * 2 >= x->cap_crcs)
    {
      size_t ncap = x->cap_crcs ? x->cap_crcs * 2 : 1024;
      struct crc_slot *n = calloc (ncap, sizeof *n);
      if (n == NULL)
        abort ();
      for (size_t i = 0; i < x->cap_crcs; i++)
        if (x->crcs[i].used)
          {
            size_t j = ino_slot (x->crcs[i].ino, ncap);
            while (n[j].used)
              j = (j + 1) & (ncap - 1);
            n[j] = x->crcs[i];
          }
      free (x->crcs);
      x->crcs = n;
      x->cap_crcs = ncap;
    }
  size_t j = ino_slot (ino, x->cap_crcs);
  while (x->crcs[j].used && x->crcs[j].ino != ino)
    j = (j + 1) & (x->cap_crcs - 1);
  if (!x->crcs[j].used)
    x->n_crcs++;
  x->crcs[j] = (struct crc_slot){ .ino = ino, .crc = crc, .used = true };
}

bool
extractor_crc_lookup (void *data, ino_t ino, uint64_t *crc)
{
  struct extractor *x = data;
  if (x->cap_crcs == 0)
    return false;
  size_t j = ino_slot (ino, x->cap_crcs);
  while (x->crcs[j].used)
    {
      if (x->crcs[j].ino == ino)
        {
          *crc = x->crcs[j].crc;
          return true;
        }
      j = (j + 1) & (x->cap_crcs - 1);
    }
  return false;
}

/* ------------------------------------------------------------ helpers -- */

/* Split a cleaned path into parent ("" = root) and base name. */
static void
path_split (const char *path, char **parent, const char **base)
{
  const char *slash = strrchr (path, '/');
  if (slash == NULL)
    {
      *parent = xstrdup ("");
      *base = path;
      return;
    }
  *parent = strndup (path, (size_t)(slash - path));
  if (*parent == NULL)
    abort ();
  *base = slash + 1;
}

static void
parent_slot_clear (struct parent_slot *slot)
{
  closep (&slot->fd);
  free (slot->path);
  slot->path = NULL;
}

/* An entry at path replaces what was there: cached parents at or below it
 * may now be gone or be a symlink, so they are resolved afresh next time. */
static void
parent_cache_invalidate (struct extractor *x, const char *path)
{
  size_t n = strlen (path);
  for (size_t i = 0; i < PARENT_SLOTS; i++)
    {
      const char *p = x->parents[i].path;
      if (p && (n == 0 || (strncmp (p, path, n) == 0 && (p[n] == '\0' || p[n] == '/'))))
        parent_slot_clear (&x->parents[i]);
    }
}

/* Keep fd (a directory resolved inside the root) as path's; takes it. The
 * least recently used slot goes, never the one of the current entry's
 * parent (it was just used). */
static int
parent_cache_put (struct extractor *x, const char *path, int fd)
{
  struct parent_slot *victim = NULL;
  for (size_t i = 0; i < PARENT_SLOTS && victim == NULL; i++)
    if (x->parents[i].path && strcmp (x->parents[i].path, path) == 0)
      victim = &x->parents[i];
  for (size_t i = 0; i < PARENT_SLOTS && victim == NULL; i++)
    if (x->parents[i].path == NULL)
      victim = &x->parents[i];
  if (victim == NULL)
    {
      victim = &x->parents[0];
      for (size_t i = 1; i < PARENT_SLOTS; i++)
        if (x->parents[i].last_use < victim->last_use)
          victim = &x->parents[i];
    }
  parent_slot_clear (victim);
  victim->path = xstrdup (path);
  victim->fd = fd;
  victim->last_use = ++x->parent_tick;
  return fd;
}

/* The directory an entry goes into, resolved inside the root (missing
 * parents are created 0755, as docker's applyLayer does). */
static int
parent_open (struct extractor *x, const char *parent, struct berth_error **err)
{
  for (size_t i = 0; i < PARENT_SLOTS; i++)
    if (x->parents[i].path && strcmp (x->parents[i].path, parent) == 0)
      {
        x->parents[i].last_use = ++x->parent_tick;
        return x->parents[i].fd;
      }
  _cleanup_error_ struct berth_error *local = NULL;
  int fd = fs_open_in_root (x->rootfd, *parent ? parent : "/", O_PATH | O_DIRECTORY, 0, &local);
  if (fd < 0 && local->errnum == ENOENT)
    fd = fs_mkdir_p_in_root (x->rootfd, parent, 0755, err);
  else if (fd < 0)
    berth_error_set (err, local->errnum, "%s", local->msg);
  if (fd < 0)
    return -1;
  return parent_cache_put (x, parent, fd);
}

/* Make room for a new entry named base in dirfd: whatever is there goes,
 * except a directory when a directory comes (its metadata is updated). */
static int
slot_clear (int dirfd, const char *base, bool keep_dir, struct berth_error **err)
{
  struct stat st;
  if (fstatat (dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : berth_error_set (err, errno, "stat `%s`", base);
  if (keep_dir && S_ISDIR (st.st_mode))
    return 1;
  return fs_rm_rf_at (dirfd, base, err);
}

static int
xattrs_apply (int fd, const struct tar_entry *e, struct berth_error **err)
{
  for (size_t i = 0; i < e->n_xattrs; i++)
    {
      const struct tar_xattr *xa = &e->xattrs[i];
      /* An image must not smuggle overlay's own control xattrs (redirect,
       * metacopy, opaque) into a lowerdir: only whiteouts make those. */
      if (str_has_prefix (xa->name, "trusted.overlay."))
        continue;
      if (fsetxattr (fd, xa->name, xa->value, xa->len, 0) < 0)
        {
          if (errno == ENOTSUP || errno == EPERM)
            {
              berth_log (BERTH_LOG_DEBUG, "%s: xattr %s not kept: %s", e->path, xa->name,
                         strerror (errno));
              continue;
            }
          return berth_error_set (err, errno, "set xattr %s on `%s`", xa->name, e->path);
        }
    }
  return 0;
}

/* Ownership, then mode (chown clears setuid/setgid, so the recorded bits
 * are applied last and exactly as recorded), then xattrs. */
static int
meta_apply_fd (struct extractor *x, int fd, const struct tar_entry *e, struct berth_error **err)
{
  if (x->is_root && fchown (fd, e->uid, e->gid) < 0)
    return berth_error_set (err, errno, "chown `%s`", e->path);
  if (fchmod (fd, e->mode) < 0)
    return berth_error_set (err, errno, "chmod `%s`", e->path);
  return xattrs_apply (fd, e, err);
}

/* ------------------------------------------------------------ entries -- */

static int
whiteout_apply (struct extractor *x, int dirfd, const char *parent, enum whiteout_kind kind,
                const char *target, const struct tar_entry *e, struct berth_error **err)
{
  if (kind == WHITEOUT_OPAQUE_DIR)
    {
      _cleanup_close_ int fd = *parent
                                   ? openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                   : openat (x->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        return berth_error_set (err, errno, "open `%s` for opaque marker", parent);
      if (fsetxattr (fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
        return berth_error_set (err, errno, "mark `%s` opaque", parent);
      return 0;
    }
  _cleanup_free_ char *victim = *parent ? xasprintf ("%s/%s", parent, target) : xstrdup (target);
  parent_cache_invalidate (x, victim);
  if (slot_clear (dirfd, target, false, err) < 0)
    return -1;
  if (mknodat (dirfd, target, S_IFCHR | 0, makedev (0, 0)) < 0)
    return berth_error_set (err, errno, "whiteout `%s`", victim);
  if (x->is_root)
    fchownat (dirfd, target, e->uid, e->gid, AT_SYMLINK_NOFOLLOW);
  return 0;
}

static int
dir_time_defer (struct extractor *x, const char *path, struct timespec mtime)
{
  if (x->n_dirs == x->cap_dirs)
    {
      x->cap_dirs = x->cap_dirs ? x->cap_dirs * 2 : 64;
      x->dirs = realloc (x->dirs, x->cap_dirs * sizeof *x->dirs);
      if (x->dirs == NULL)
        abort ();
    }
  x->dirs[x->n_dirs++] = (struct dir_time){ .path = xstrdup (path), .mtime = mtime };
  return 0;
}

static int
entry_dir (struct extractor *x, int dirfd, const char *base, const char *path,
           const struct tar_entry *e, struct berth_error **err)
{
  if (*path == '\0')
    {
      /* "./" itself: the layer root's own metadata */
      _cleanup_close_ int fd = openat (x->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0 || meta_apply_fd (x, fd, e, err) < 0)
        return fd < 0 ? berth_error_set (err, errno, "open layer root") : -1;
      return dir_time_defer (x, "", e->mtime);
    }
  /* made first, looked at only when something is there (most entries are
   * new: one syscall instead of two) */
  if (mkdirat (dirfd, base, 0700) < 0)
    {
      if (errno != EEXIST)
        return berth_error_set (err, errno, "mkdir `%s`", path);
      int kept = slot_clear (dirfd, base, true, err);
      if (kept < 0)
        return -1;
      if (kept == 0 && mkdirat (dirfd, base, 0700) < 0)
        return berth_error_set (err, errno, "mkdir `%s`", path);
    }
  _cleanup_close_ int fd = openat (dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "open directory `%s`", path);
  if (meta_apply_fd (x, fd, e, err) < 0)
    return -1;
  /* its entries come next: opened here (beneath a parent resolved in the
   * root, O_NOFOLLOW), so they need no openat2 */
  parent_cache_put (x, path, steal_fd (&fd));
  return dir_time_defer (x, path, e->mtime);
}

static int
entry_times (int dirfd, const char *base, const struct tar_entry *e)
{
  struct timespec ts[2] = { e->mtime, e->mtime };
  return utimensat (dirfd, base, ts, AT_SYMLINK_NOFOLLOW);
}

static int
entry_symlink (struct extractor *x, int dirfd, const char *base, const char *path,
               const struct tar_entry *e, struct berth_error **err)
{
  /* The target is stored verbatim: it is only ever resolved later, inside
   * the container's root or with RESOLVE_IN_ROOT. Whatever is in the way
   * is removed only when the first try finds it. */
  int r = symlinkat (e->linkname, dirfd, base);
  if (r < 0 && errno == EEXIST)
    {
      if (slot_clear (dirfd, base, false, err) < 0)
        return -1;
      r = symlinkat (e->linkname, dirfd, base);
    }
  if (r < 0)
    return berth_error_set (err, errno, "symlink `%s`", path);
  /* A layer's size is what docker's DiffSize counts: the lstat size of
   * every non-directory, and a symlink's size is its target's length. */
  x->bytes += (int64_t)strlen (e->linkname);
  if (x->is_root && fchownat (dirfd, base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_set (err, errno, "chown `%s`", path);
  entry_times (dirfd, base, e);
  return 0;
}

static int
entry_hardlink (struct extractor *x, int dirfd, const char *base, const char *path,
                const struct tar_entry *e, struct berth_error **err)
{
  _cleanup_free_ char *target = tar_path_clean (e->linkname, err);
  if (target == NULL)
    return berth_error_prefix (err, "hardlink `%s`", path);
  if (*target == '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "hardlink `%s` to the layer root", path);
  /* Resolved in the root: a hardlink can only ever name a file of this
   * layer, never the host's /etc/passwd. */
  _cleanup_close_ int src = fs_open_in_root (x->rootfd, target, O_PATH | O_NOFOLLOW, 0, err);
  if (src < 0)
    return berth_error_prefix (err, "hardlink `%s` to `%s`", path, e->linkname);
  struct stat st, cur;
  if (fstat (src, &st) < 0)
    return berth_error_set (err, errno, "stat `%s`", target);
  if (S_ISDIR (st.st_mode))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "hardlink `%s` to directory `%s`", path,
                                 target);
  if (fstatat (dirfd, base, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_ino == st.st_ino
      && cur.st_dev == st.st_dev)
    return 0;
  if (slot_clear (dirfd, base, false, err) < 0)
    return -1;
  if (linkat (src, "", dirfd, base, AT_EMPTY_PATH) < 0)
    return berth_error_set (err, errno, "hardlink `%s` to `%s`", path, target);
  return 0;
}

static int
entry_node (struct extractor *x, int dirfd, const char *base, const char *path,
            const struct tar_entry *e, struct berth_error **err)
{
  mode_t type = e->type == TAR_CHR ? S_IFCHR : e->type == TAR_BLK ? S_IFBLK : S_IFIFO;
  if (type != S_IFIFO && !x->is_root)
    {
      berth_log (BERTH_LOG_WARNING, "layer entry `%s`: device node skipped (not root)", path);
      return 0;
    }
  if (slot_clear (dirfd, base, false, err) < 0)
    return -1;
  /* Created as recorded; the extractor never opens a node it made, so a
   * device in a layer is never written through. */
  if (mknodat (dirfd, base, type | 0600, makedev (e->devmajor, e->devminor)) < 0)
    return berth_error_set (err, errno, "mknod `%s`", path);
  if (x->is_root && fchownat (dirfd, base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_set (err, errno, "chown `%s`", path);
  if (fchmodat (dirfd, base, e->mode, 0) < 0)
    return berth_error_set (err, errno, "chmod `%s`", path);
  entry_times (dirfd, base, e);
  return 0;
}

static int
entry_file_open (struct extractor *x, int dirfd, const char *base, const char *path,
                 struct berth_error **err)
{
  /* Created with its permission bits (never setuid/setgid/sticky: those
   * come after the chown), so entry_end usually has nothing to chmod. The
   * fd is writable whatever the mode: O_CREAT of a new file grants it. */
  mode_t mode = x->cur.mode & 0777;
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = openat (dirfd, base, flags, mode);
  if (fd < 0 && errno == EEXIST)
    {
      if (slot_clear (dirfd, base, false, err) < 0)
        return -1;
      fd = openat (dirfd, base, flags, mode);
    }
  if (fd < 0)
    return berth_error_set (err, errno, "create `%s`", path);
  x->filefd = fd;
  x->crc = 0;
  return 0;
}

static int
extractor_entry_begin (void *data, const struct tar_entry *e, struct berth_error **err)
{
  struct extractor *x = data;
  _cleanup_free_ char *path = tar_path_clean (e->path, err);
  if (path == NULL)
    return -1;
  entry_clear (&x->cur);
  x->cur = *e;
  x->cur.path = xstrdup (path);
  x->cur.linkname = xstrdup (e->linkname ? e->linkname : "");
  x->cur.xattrs = NULL;
  x->cur.n_xattrs = 0;
  if (e->n_xattrs)
    {
      x->cur.xattrs = calloc (e->n_xattrs, sizeof *x->cur.xattrs);
      if (x->cur.xattrs == NULL)
        abort ();
      for (size_t i = 0; i < e->n_xattrs; i++)
        {
          x->cur.xattrs[i].name = xstrdup (e->xattrs[i].name);
          x->cur.xattrs[i].value = malloc (e->xattrs[i].len + 1);
          if (x->cur.xattrs[i].value == NULL)
            abort ();
          memcpy (x->cur.xattrs[i].value, e->xattrs[i].value, e->xattrs[i].len + 1);
          x->cur.xattrs[i].len = e->xattrs[i].len;
        }
      x->cur.n_xattrs = e->n_xattrs;
    }
  const struct tar_entry *ce = &x->cur;

  if (*path == '\0')
    {
      if (e->type != TAR_DIR)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "tar entry `%s` would replace the layer root", e->path);
      return entry_dir (x, -1, "", "", ce, err);
    }

  _cleanup_free_ char *parent = NULL;
  const char *base;
  path_split (path, &parent, &base);
  enum whiteout_kind wk;
  const char *target;
  if (whiteout_classify (base, &wk, &target, err) < 0)
    return berth_error_prefix (err, "tar entry `%s`", e->path);
  if (wk == WHITEOUT_META)
    return 0;
  int dirfd = parent_open (x, parent, err);
  if (dirfd < 0)
    return berth_error_prefix (err, "tar entry `%s`", e->path);
  if (wk != WHITEOUT_NONE)
    return whiteout_apply (x, dirfd, parent, wk, target, ce, err);

  parent_cache_invalidate (x, path);
  int r;
  switch (e->type)
    {
    case TAR_DIR:
      r = entry_dir (x, dirfd, base, path, ce, err);
      break;
    case TAR_SYMLINK:
      r = entry_symlink (x, dirfd, base, path, ce, err);
      break;
    case TAR_LINK:
      r = entry_hardlink (x, dirfd, base, path, ce, err);
      break;
    case TAR_CHR:
    case TAR_BLK:
    case TAR_FIFO:
      r = entry_node (x, dirfd, base, path, ce, err);
      break;
    default:
      r = entry_file_open (x, dirfd, base, path, err);
      break;
    }
  return r;
}

static int
extractor_entry_data (void *data, const void *buf, size_t len, struct berth_error **err)
{
  struct extractor *x = data;
  if (x->filefd < 0)
    return 0; /* data of an entry we do not keep (never happens for kept types) */
  if (fs_write_all (x->filefd, buf, len) < 0)
    return berth_error_set (err, errno, "write `%s`", x->cur.path);
  x->crc = crc64_ecma_refl (x->crc, buf, len);
  x->bytes += (int64_t)len;
  return 0;
}

static int
extractor_entry_end (void *data, struct berth_error **err)
{
  struct extractor *x = data;
  if (x->filefd < 0)
    return 0;
  _cleanup_close_ int fd = steal_fd (&x->filefd);
  const struct tar_entry *e = &x->cur;
  /* One fstat (needed for the inode anyway) saves the chown and chmod of
   * most files: a root-made file is already 0:<gid> with its mode. */
  struct stat st;
  if (fstat (fd, &st) < 0)
    return berth_error_set (err, errno, "stat `%s`", e->path);
  if (x->is_root && (st.st_uid != e->uid || st.st_gid != e->gid))
    {
      if (fchown (fd, e->uid, e->gid) < 0)
        return berth_error_set (err, errno, "chown `%s`", e->path);
    }
  /* chown may clear setuid/setgid; the file was made without them, so the
   * recorded bits are applied here, last and exactly as recorded. */
  if ((st.st_mode & 07777) != (e->mode & 07777) && fchmod (fd, e->mode) < 0)
    return berth_error_set (err, errno, "chmod `%s`", e->path);
  if (xattrs_apply (fd, e, err) < 0)
    return -1;
  struct timespec ts[2] = { e->mtime, e->mtime };
  if (futimens (fd, ts) < 0)
    return berth_error_set (err, errno, "set times of `%s`", e->path);
  crc_put (x, st.st_ino, x->crc);
  return 0;
}

const struct tar_callbacks extractor_callbacks = {
  .entry_begin = extractor_entry_begin,
  .entry_data = extractor_entry_data,
  .entry_end = extractor_entry_end,
};

static int
dir_time_cmp (const void *a, const void *b)
{
  const struct dir_time *x = a, *y = b;
  int r = strcmp (x->path, y->path);
  /* equal paths keep their stream order: the last record wins below */
  return r ? r : (x->seq > y->seq) - (x->seq < y->seq);
}

int
extractor_finish (struct extractor *x, struct berth_error **err)
{
  (void)err;
  /* Sorted by path for extractor_dir_done's lookups; a directory recorded
   * twice gets its last record, as docker's applyLayer does. */
  for (size_t i = 0; i < x->n_dirs; i++)
    x->dirs[i].seq = i;
  if (x->n_dirs > 1)
    qsort (x->dirs, x->n_dirs, sizeof *x->dirs, dir_time_cmp);
  size_t n = 0;
  for (size_t i = 0; i < x->n_dirs; i++)
    {
      if (n > 0 && strcmp (x->dirs[n - 1].path, x->dirs[i].path) == 0)
        {
          free (x->dirs[n - 1].path);
          x->dirs[n - 1] = x->dirs[i];
          continue;
        }
      x->dirs[n++] = x->dirs[i];
    }
  x->n_dirs = n;
  x->is_finished = true;
  return 0;
}

int
extractor_dir_done (void *data, int fd, const char *path, struct berth_error **err)
{
  struct extractor *x = data;
  if (!x->is_finished || x->n_dirs == 0)
    return 0;
  struct dir_time key = { .path = (char *)path };
  const struct dir_time *d
      = bsearch (&key, x->dirs, x->n_dirs, sizeof *x->dirs, dir_time_cmp_path);
  if (d == NULL)
    return 0; /* made as a missing parent: its time is whatever it got */
  struct timespec ts[2] = { d->mtime, d->mtime };
  if (futimens (fd, ts) < 0)
    return berth_error_set (err, errno, "set times of `%s`", *path ? path : "/");
  return 0;
}
