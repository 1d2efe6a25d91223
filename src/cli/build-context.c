/* berth cli: the build context on the client side: which files of a
 * directory `berth build` sends (an fd-relative walk that never follows a
 * symlink, .dockerignore through build_ignore_* of src/build/build.h), where
 * a -f Dockerfile lies in it, and whether stdin is an archive. */
#include "cli/cli-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build.h"
#include "common/cleanup.h"

/* ---------------------------------------------------------- context -- */

void
cli_build_context_clear (struct cli_build_context *ctx)
{
  for (size_t i = 0; i < ctx->n; i++)
    {
      free (ctx->entries[i].path);
      free (ctx->entries[i].link);
    }
  free (ctx->entries);
  memset (ctx, 0, sizeof *ctx);
}

static void
context_add (struct cli_build_context *ctx, const char *path, const struct stat *st,
             const char *link)
{
  if (ctx->n == ctx->cap)
    {
      ctx->cap = ctx->cap ? ctx->cap * 2 : 64;
      ctx->entries = realloc (ctx->entries, ctx->cap * sizeof *ctx->entries);
      if (ctx->entries == NULL)
        abort ();
    }
  ctx->entries[ctx->n++] = (struct cli_build_entry){ .path = xstrdup (path), .st = *st,
                                                     .link = link ? xstrdup (link) : NULL };
}

static int
name_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

struct walk
{
  struct cli_build_context *ctx;
  const struct build_ignore *ig;
  const char *dockerfile; /* relative, always kept */
};

static bool
walk_keep (const struct walk *w, const char *rel)
{
  if (strcmp (rel, ".dockerignore") == 0 || (w->dockerfile && strcmp (rel, w->dockerfile) == 0))
    return true;
  return w->ig == NULL || !build_ignore_match (w->ig, rel);
}

/* Walk the directory `dfd` (whose context-relative name is `prefix`, "" at
 * the root) in lexical order, as docker's tar does. Every open is relative
 * to the parent fd with O_NOFOLLOW: a symlink is recorded, never entered. */
static int
walk_dir (struct walk *w, int dfd, const char *prefix, struct berth_error **err)
{
  int dup_fd = fcntl (dfd, F_DUPFD_CLOEXEC, 3);
  if (dup_fd < 0)
    return berth_error_set (err, errno, "dup");
  DIR *d = fdopendir (dup_fd);
  if (d == NULL)
    {
      close (dup_fd);
      return berth_error_set (err, errno, "read directory %s", *prefix ? prefix : ".");
    }
  rewinddir (d); /* the dup shares the offset of a directory read before */
  _cleanup_strv_ char **names = NULL;
  struct dirent *de;
  errno = 0;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      strv_append (&names, de->d_name);
  int rd_errno = errno;
  closedir (d);
  if (rd_errno)
    return berth_error_set (err, rd_errno, "read directory %s", *prefix ? prefix : ".");
  size_t n = strv_len (names);
  if (n)
    qsort (names, n, sizeof *names, name_cmp);
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_free_ char *rel = *prefix ? xasprintf ("%s/%s", prefix, names[i]) : xstrdup (names[i]);
      struct stat st;
      if (fstatat (dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            continue; /* removed while walking */
          return berth_error_set (err, errno, "stat %s", rel);
        }
      bool keep = walk_keep (w, rel);
      if (S_ISDIR (st.st_mode))
        {
          /* an excluded directory is entered only when something below it
           * may still be sent: an exception, or the Dockerfile itself */
          size_t rl = strlen (rel);
          bool holds_dockerfile = w->dockerfile && strncmp (w->dockerfile, rel, rl) == 0
                                  && w->dockerfile[rl] == '/';
          if (!keep && !holds_dockerfile && !build_ignore_has_exceptions (w->ig))
            continue;
          if (keep)
            context_add (w->ctx, rel, &st, NULL);
          _cleanup_close_ int sub
              = openat (dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            return berth_error_set (err, errno, "open directory %s", rel);
          if (walk_dir (w, sub, rel, err) < 0)
            return -1;
          continue;
        }
      if (!keep)
        continue;
      if (S_ISLNK (st.st_mode))
        {
          char target[PATH_MAX];
          ssize_t len = readlinkat (dfd, names[i], target, sizeof target - 1);
          if (len < 0)
            return berth_error_set (err, errno, "readlink %s", rel);
          target[len] = '\0';
          context_add (w->ctx, rel, &st, target);
        }
      else if (S_ISREG (st.st_mode) || S_ISFIFO (st.st_mode))
        context_add (w->ctx, rel, &st, NULL);
      /* sockets and device nodes are not sent (docker's tar skips sockets;
       * a build context has no use for devices) */
    }
  return 0;
}

int
cli_build_context_select (int rootfd, const char *dockerignore, size_t ignore_len,
                          const char *dockerfile, struct cli_build_context *out,
                          struct berth_error **err)
{
  memset (out, 0, sizeof *out);
  struct build_ignore *ig = NULL;
  if (dockerignore && build_ignore_parse (dockerignore, ignore_len, &ig, err) < 0)
    return berth_error_prefix (err, "parse .dockerignore");
  struct walk w = { .ctx = out, .ig = ig, .dockerfile = dockerfile };
  int rc = walk_dir (&w, rootfd, "", err);
  if (ig)
    build_ignore_free (ig);
  if (rc < 0)
    cli_build_context_clear (out);
  return rc;
}

char *
cli_build_path_below (const char *root, const char *abs)
{
  size_t rl = strlen (root);
  while (rl > 1 && root[rl - 1] == '/')
    rl--;
  if (strncmp (abs, root, rl) != 0 || (abs[rl] != '/' && !(rl == 1 && root[0] == '/')))
    return NULL;
  const char *rest = abs + rl;
  while (*rest == '/')
    rest++;
  return *rest ? xstrdup (rest) : NULL;
}

/* docker's archive detection (pkg/archive.IsArchive): a compressed stream
 * or a tar header ("ustar" magic at 257). */
bool
cli_build_is_archive (const unsigned char *b, size_t n)
{
  static const unsigned char gz[] = { 0x1f, 0x8b }, bz[] = { 'B', 'Z', 'h' },
                             xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 },
                             zst[] = { 0x28, 0xb5, 0x2f, 0xfd };
  if ((n >= sizeof gz && memcmp (b, gz, sizeof gz) == 0)
      || (n >= sizeof bz && memcmp (b, bz, sizeof bz) == 0)
      || (n >= sizeof xz && memcmp (b, xz, sizeof xz) == 0)
      || (n >= sizeof zst && memcmp (b, zst, sizeof zst) == 0))
    return true;
  return n >= 262 && memcmp (b + 257, "ustar", 5) == 0;
}
