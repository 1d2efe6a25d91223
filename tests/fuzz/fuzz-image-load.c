/* docker load (image_load): a docker-archive's manifest.json, configs and
 * layer tars, or an OCI layout's index.json and blobs, from one tar stream
 * (optionally compressed) into a store in this process's temp dir. Nothing
 * may appear beside the store, and the store's tmp/ must be empty again
 * after every input, loaded or refused. */
#define _GNU_SOURCE
#include <dirent.h>
#include <sys/mman.h>

#include "fuzz-common.h"
#include "image/image.h"

static struct image_store *store;
static int tmp_fd = -1;

static size_t
count_entries (int dirfd, const char *name)
{
  int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FUZZ_ASSERT (fd >= 0);
  DIR *d = fdopendir (fd);
  FUZZ_ASSERT (d != NULL);
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      n++;
  closedir (d);
  return n;
}

static void
close_store (void)
{
  image_store_close (store);
  store = NULL;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (store == NULL)
    {
      tmp_fd = open (fuzz_tmpdir (), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      FUZZ_ASSERT (tmp_fd >= 0);
      _cleanup_free_ char *root = NULL;
      FUZZ_ASSERT (asprintf (&root, "%s/store", fuzz_tmpdir ()) > 0);
      struct image_store_options opts = { .root = root };
      _cleanup_error_ struct berth_error *err = NULL;
      store = image_store_open (&opts, &err);
      if (store == NULL)
        fprintf (stderr, "open store: %s\n", err->msg);
      FUZZ_ASSERT (store != NULL);
      /* Before fuzz_tmpdir's handler (atexit runs in reverse order). */
      atexit (close_store);
    }

  _cleanup_close_ int fd = memfd_create ("fuzz-load", MFD_CLOEXEC);
  FUZZ_ASSERT (fd >= 0);
  FUZZ_ASSERT (size == 0 || write (fd, data, size) == (ssize_t) size);
  FUZZ_ASSERT (lseek (fd, 0, SEEK_SET) == 0);

  _cleanup_error_ struct berth_error *err = NULL;
  char **loaded = NULL;
  int r = image_load (store, fd, &loaded, &err);
  FUZZ_ASSERT (r == 0 || (err && err->msg));
  for (char **l = loaded; l && *l; l++)
    free (*l);
  free (loaded);

  FUZZ_ASSERT (count_entries (tmp_fd, ".") == 1); /* only store/ */
  _cleanup_free_ char *store_tmp = NULL;
  FUZZ_ASSERT (asprintf (&store_tmp, "store/tmp") > 0);
  FUZZ_ASSERT (count_entries (tmp_fd, store_tmp) == 0);
  return 0;
}
