/* An image config as a registry or an archive delivers it: stored as a blob
 * and recorded (image_store_add validates rootfs.diff_ids, history,
 * platform, created), then everything the API derives from it (image_get,
 * image_inspect, image_history, the generated manifest) and removal, in a
 * store in this process's temp dir. The input is the config JSON; its
 * diff_ids can only name layers that exist, so the seeds use none. */
#include "fuzz-common.h"
#include "image/image.h"

static struct image_store *store;

static void
close_store (void)
{
  image_store_close (store);
  store = NULL;
}

static void
open_store (void)
{
  _cleanup_free_ char *root = NULL;
  FUZZ_ASSERT (asprintf (&root, "%s/store", fuzz_tmpdir ()) > 0);
  struct image_store_options opts = { .root = root };
  _cleanup_error_ struct berth_error *err = NULL;
  store = image_store_open (&opts, &err);
  FUZZ_ASSERT (store != NULL);
  atexit (close_store);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (store == NULL)
    open_store ();
  _cleanup_free_ char *digest = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  FUZZ_ASSERT (image_blob_put (store, data, size, NULL, &digest, &err) == 0);

  _cleanup_free_ char *id = NULL;
  struct image_add_options add = { .config_digest = digest };
  _cleanup_error_ struct berth_error *aerr = NULL;
  if (image_store_add (store, &add, &id, &aerr) == 0)
    {
      FUZZ_ASSERT (id != NULL && strcmp (id, digest) == 0);
      struct image_info *info = NULL;
      _cleanup_error_ struct berth_error *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL,
                                         *e5 = NULL, *e6 = NULL;
      FUZZ_ASSERT (image_get (store, id, &info, &e1) == 0);
      image_info_free (info);
      _cleanup_json_ json_t *inspect = NULL, *history = NULL, *report = NULL;
      FUZZ_ASSERT (image_inspect (store, id, &inspect, &e2) == 0);
      FUZZ_ASSERT (image_history (store, id, &history, &e3) == 0);
      _cleanup_free_ char *manifest = NULL, *media_type = NULL;
      size_t len = 0;
      FUZZ_ASSERT (image_manifest_get (store, id, &manifest, &len, &media_type, &e4) == 0);
      /* The manifest berth generated is one berth accepts. */
      _cleanup_image_manifest_ struct image_manifest *m = NULL;
      if (image_manifest_parse (manifest, len, media_type, &m, &e5) < 0)
        fprintf (stderr, "generated manifest refused: %s\n", e5->msg);
      FUZZ_ASSERT (m != NULL);
      FUZZ_ASSERT (image_remove (store, id, true, &report, &e6) == 0);
    }
  else
    {
      FUZZ_ASSERT (aerr && aerr->msg);
      _cleanup_error_ struct berth_error *derr = NULL;
      (void) image_blob_delete (store, digest, &derr);
    }
  return 0;
}
