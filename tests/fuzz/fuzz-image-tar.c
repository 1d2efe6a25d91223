/* The push-driven tar reader (tar_parser_*) feeding the layer extractor, as
 * a pulled or loaded layer is unpacked, into a fresh root for every input.
 * The root sits in fence directories next to a sentinel file; after each
 * input nothing may have appeared beside the root, and the sentinel must
 * be untouched (no hard link to it, no write through a link). */
#include <dirent.h>
#include <sys/stat.h>

#include "fuzz-common.h"
#include "image/tar-internal.h"

#define SENTINEL_TEXT "outside the root\n"

static int fence_fd = -1; /* <tmp>/fence: holds only root/ and sentinel */
static int tmp_fd = -1;   /* <tmp>: holds only fence/ */

static void
setup (void)
{
  if (fence_fd >= 0)
    return;
  tmp_fd = open (fuzz_tmpdir (), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FUZZ_ASSERT (tmp_fd >= 0);
  FUZZ_ASSERT (mkdirat (tmp_fd, "fence", 0755) == 0);
  fence_fd = openat (tmp_fd, "fence", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FUZZ_ASSERT (fence_fd >= 0);
  int fd = openat (fence_fd, "sentinel", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  FUZZ_ASSERT (fd >= 0);
  FUZZ_ASSERT (write (fd, SENTINEL_TEXT, strlen (SENTINEL_TEXT)) == (ssize_t) strlen (SENTINEL_TEXT));
  close (fd);
}

/* The names in dirfd must be exactly `want` (NULL-terminated). */
static void
assert_only (int dirfd, const char *const *want)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FUZZ_ASSERT (fd >= 0);
  DIR *d = fdopendir (fd);
  FUZZ_ASSERT (d != NULL);
  size_t n_seen = 0, n_want = 0;
  for (const char *const *w = want; *w; w++)
    n_want++;
  struct dirent *de;
  while ((de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      bool known = false;
      for (const char *const *w = want; *w; w++)
        known |= strcmp (*w, de->d_name) == 0;
      if (!known)
        fprintf (stderr, "escaped the layer root: %s\n", de->d_name);
      FUZZ_ASSERT (known);
      n_seen++;
    }
  closedir (d);
  FUZZ_ASSERT (n_seen == n_want);
}

static void
assert_nothing_escaped (void)
{
  static const char *const in_tmp[] = { "fence", NULL };
  static const char *const in_fence[] = { "root", "sentinel", NULL };
  assert_only (tmp_fd, in_tmp);
  assert_only (fence_fd, in_fence);
  struct stat st;
  FUZZ_ASSERT (fstatat (fence_fd, "sentinel", &st, AT_SYMLINK_NOFOLLOW) == 0);
  FUZZ_ASSERT (S_ISREG (st.st_mode) && st.st_nlink == 1 && (st.st_mode & 07777) == 0644);
  FUZZ_ASSERT (st.st_size == (off_t) strlen (SENTINEL_TEXT) && st.st_uid == getuid ());
  char buf[64] = { 0 };
  int fd = openat (fence_fd, "sentinel", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  FUZZ_ASSERT (fd >= 0);
  FUZZ_ASSERT (read (fd, buf, sizeof buf - 1) == (ssize_t) strlen (SENTINEL_TEXT));
  close (fd);
  FUZZ_ASSERT (strcmp (buf, SENTINEL_TEXT) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  setup ();
  FUZZ_ASSERT (mkdirat (fence_fd, "root", 0755) == 0);
  _cleanup_close_ int rootfd = openat (fence_fd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FUZZ_ASSERT (rootfd >= 0);

  _cleanup_error_ struct berth_error *err = NULL;
  struct extractor *x = extractor_new (rootfd, &err);
  FUZZ_ASSERT (x != NULL);
  struct tar_parser *p = tar_parser_new (&extractor_callbacks, x);
  FUZZ_ASSERT (p != NULL);
  /* Odd-sized pieces, as bytes come off a decompressor: headers and data
   * straddle every boundary. */
  int r = 0;
  for (size_t off = 0; r == 0 && off < size; off += 509)
    r = tar_parser_feed (p, data + off, size - off < 509 ? size - off : 509, &err);
  if (r == 0)
    r = tar_parser_finish (p, &err);
  if (r == 0)
    r = extractor_finish (x, &err);
  if (r == 0)
    {
      /* the listing's walk, which also gives directories their times */
      struct tree_hooks hooks = { .crc_lookup = extractor_crc_lookup,
                                  .dir_done = extractor_dir_done,
                                  .data = x };
      char *listing = NULL;
      r = tree_listing (rootfd, &hooks, &listing, NULL, &err);
      free (listing);
    }
  FUZZ_ASSERT (r == 0 || (err && err->msg));
  tar_parser_free (p);
  extractor_free (x);

  assert_nothing_escaped ();
  FUZZ_ASSERT (fs_rm_rf_at (fence_fd, "root", NULL) == 0);
  return 0;
}
