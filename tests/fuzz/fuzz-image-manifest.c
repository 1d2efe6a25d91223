/* Manifests, manifest lists, OCI manifests and indexes as a registry or an
 * archive hands them over (image_manifest_kind_of, image_manifest_parse),
 * then platform selection over what parsed. The first line of the input
 * is the Content-Type header (empty: none). */
#include "fuzz-common.h"
#include "image/image.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *nl = memchr (data, '\n', size);
  _cleanup_free_ char *content_type = NULL;
  const uint8_t *doc = data;
  size_t doc_len = size;
  if (nl)
    {
      content_type = fuzz_strndup (data, (size_t) (nl - data));
      doc = nl + 1;
      doc_len = size - (size_t) (nl - data) - 1;
    }
  /* A private copy so reads past doc_len are caught by ASan. */
  _cleanup_free_ char *text = malloc (doc_len ? doc_len : 1);
  memcpy (text, doc, doc_len);

  const char *ct = content_type && content_type[0] ? content_type : NULL;
  enum image_manifest_kind kind = image_manifest_kind_of (text, doc_len, ct);
  (void) image_manifest_kind_is_index (kind);

  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_image_manifest_ struct image_manifest *m = NULL;
  if (image_manifest_parse (text, doc_len, ct, &m, &err) < 0)
    {
      FUZZ_ASSERT (err && err->msg);
      return 0;
    }
  for (size_t i = 0; i < m->n_layers; i++)
    (void) image_layer_media_compression (m->layers[i].media_type);
  if (image_manifest_kind_is_index (m->kind))
    {
      static const char *const wants[] = { "linux/amd64", "linux/arm64/v8", "linux/arm/v6",
                                           "linux/s390x" };
      for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++)
        {
          struct image_platform want = { 0 };
          _cleanup_error_ struct berth_error *e1 = NULL, *e2 = NULL;
          FUZZ_ASSERT (image_platform_parse (wants[i], &want, &e1) == 0);
          ssize_t k = image_manifest_select (m, &want, &e2);
          FUZZ_ASSERT (k < 0 || (size_t) k < m->n_manifests);
          image_platform_clear (&want);
        }
    }
  return 0;
}
