/* The manifest of an unpacked layer: one line per entry, sorted, with type,
 * mode, owner, size and a crc64 of each file's content (or a symlink's
 * target, a node's device number). Recorded at unpack, recomputed by
 * `check` to prove a layer's files are still what the image said. */
#include "image/tar-internal.h"

#include <fcntl.h>
#include <isa-l/crc64.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

struct listing
{
  char **lines;
  size_t n, cap;
  const struct tree_hooks *hooks;
};

static void
listing_add (struct listing *l, char *line)
{
  if (l->n == l->cap)
    {
      l->cap = l->cap ? l->cap * 2 : 256;
      l->lines = realloc (l->lines, l->cap * sizeof *l->lines);
      if (l->lines == NULL)
        abort ();
    }
  l->lines[l->n++] = line;
}

static int
file_crc (int dirfd, const char *name, uint64_t *crc, struct berth_error **err)
{
  _cleanup_close_ int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "open `%s`", name);
  /* heap, not TLS: a __thread buffer costs every thread its size */
  const size_t buf_size = 1 << 17;
  _cleanup_free_ unsigned char *buf = malloc (buf_size);
  if (buf == NULL)
    return berth_error_set (err, ENOMEM, "read buffer");
  uint64_t c = 0;
  for (;;)
    {
      ssize_t n = read (fd, buf, buf_size);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berth_error_set (err, errno, "read `%s`", name);
      if (n == 0)
        break;
      c = crc64_ecma_refl (c, buf, (size_t)n);
    }
  *crc = c;
  return 0;
}

static int
walk (struct listing *l, int dirfd, const char *prefix, struct berth_error **err)
{
  _cleanup_closedir_ DIR *d = fdopendir (openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d == NULL)
    return berth_error_set (err, errno, "read directory `%s`", *prefix ? prefix : "/");
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      _cleanup_free_ char *path = xasprintf ("%s/%s", prefix, de->d_name);
      struct stat st;
      if (fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return berth_error_set (err, errno, "stat `%s`", path);
      char type = S_ISDIR (st.st_mode)    ? 'd'
                  : S_ISREG (st.st_mode)  ? 'f'
                  : S_ISLNK (st.st_mode)  ? 'l'
                  : S_ISCHR (st.st_mode)  ? 'c'
                  : S_ISBLK (st.st_mode)  ? 'b'
                  : S_ISFIFO (st.st_mode) ? 'p'
                                          : 's';
      _cleanup_free_ char *extra = NULL;
      int64_t size = 0;
      bool opaque = false;
      if (S_ISREG (st.st_mode))
        {
          uint64_t crc;
          if (!(l->hooks && l->hooks->crc_lookup
                && l->hooks->crc_lookup (l->hooks->data, st.st_ino, &crc))
              && file_crc (dirfd, de->d_name, &crc, err) < 0)
            return -1;
          size = st.st_size;
          extra = xasprintf ("%016llx", (unsigned long long)crc);
        }
      else if (S_ISLNK (st.st_mode))
        {
          char target[4096];
          ssize_t n = readlinkat (dirfd, de->d_name, target, sizeof target - 1);
          if (n < 0)
            return berth_error_set (err, errno, "readlink `%s`", path);
          target[n] = '\0';
          extra = xstrdup (target);
        }
      else if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode))
        extra = xasprintf ("%u,%u", major (st.st_rdev), minor (st.st_rdev));
      else
        extra = xstrdup ("-");
      _cleanup_close_ int sub = -1;
      if (S_ISDIR (st.st_mode))
        {
          sub = openat (dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            return berth_error_set (err, errno, "open `%s`", path);
          char v[4];
          opaque = fgetxattr (sub, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
        }
      listing_add (l, xasprintf ("%s\t%c%04o\t%u:%u\t%lld\t%s\t%s", path, type,
                                 (unsigned)(st.st_mode & 07777), st.st_uid, st.st_gid,
                                 (long long)size, extra, opaque ? "opaque" : "-"));
      if (sub >= 0 && walk (l, sub, path, err) < 0)
        return -1;
      if (sub >= 0 && l->hooks && l->hooks->dir_done
          && l->hooks->dir_done (l->hooks->data, sub, path + 1, err) < 0)
        return -1;
    }
  return 0;
}

static int
line_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

int
tree_listing (int dirfd, const struct tree_hooks *hooks, char **out, size_t *len,
              struct berth_error **err)
{
  struct listing l = { .hooks = hooks };
  int r = walk (&l, dirfd, "", err);
  if (r == 0 && hooks && hooks->dir_done)
    {
      _cleanup_close_ int root = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      r = root < 0 ? berth_error_set (err, errno, "open the tree's root")
                   : hooks->dir_done (hooks->data, root, "", err);
    }
  char *text = NULL;
  if (r == 0)
    {
      if (l.n > 1)
        qsort (l.lines, l.n, sizeof *l.lines, line_cmp);
      size_t total = 1;
      for (size_t i = 0; i < l.n; i++)
        total += strlen (l.lines[i]) + 1;
      text = malloc (total);
      if (text == NULL)
        abort ();
      size_t off = 0;
      for (size_t i = 0; i < l.n; i++)
        {
          size_t n = strlen (l.lines[i]);
          memcpy (text + off, l.lines[i], n);
          text[off + n] = '\n';
          off += n + 1;
        }
      text[off] = '\0';
      *out = text;
      if (len)
        *len = off;
    }
  for (size_t i = 0; i < l.n; i++)
    free (l.lines[i]);
  free (l.lines);
  return r;
}
