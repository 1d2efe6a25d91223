/* Manifests, indexes and platform selection: the documents registries
 * send (Docker v2 schema 2, manifest lists, OCI manifests and indexes),
 * validation errors that name the field, and containerd's platform
 * matching rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "image/image.h"

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static const char docker_manifest[]
    = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
      "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":1469,"
      "\"digest\":\"" DA "\"},\"layers\":[{\"mediaType\":"
      "\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":2591575,\"digest\":\"" DB
      "\"}]}";

static const char oci_manifest_no_mt[]
    = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
      "\"size\":10,\"digest\":\"" DA "\"},\"layers\":[{\"mediaType\":"
      "\"application/vnd.oci.image.layer.v1.tar+zstd\",\"size\":5,\"digest\":\"" DB "\"},"
      "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"size\":5,\"digest\":\"" DC
      "\"}]}";

static const char oci_index[]
    = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
      "\"manifests\":["
      "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,\"digest\":\"" DA
      "\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
      "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,\"digest\":\"" DB
      "\",\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
      "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,\"digest\":\"" DC
      "\",\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"}},"
      "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,\"digest\":\"" DC
      "\",\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}}]}";

static void
test_manifest_docker_schema2 (void **state)
{
  struct image_manifest *m = NULL;
  struct berth_error *err = NULL;
  assert_int_equal (
      image_manifest_parse (docker_manifest, strlen (docker_manifest), NULL, &m, &err), 0);
  assert_int_equal (m->kind, IMAGE_KIND_DOCKER_MANIFEST);
  assert_string_equal (m->config.digest, DA);
  assert_int_equal (m->config.size, 1469);
  assert_int_equal (m->n_layers, 1);
  assert_string_equal (image_layer_media_compression (m->layers[0].media_type), "gzip");
  image_manifest_free (m);
}

static void
test_manifest_oci_without_media_type (void **state)
{
  /* OCI made mediaType optional: the shape (config + layers) decides. */
  struct image_manifest *m = NULL;
  struct berth_error *err = NULL;
  assert_int_equal (image_manifest_kind_of (oci_manifest_no_mt, strlen (oci_manifest_no_mt), NULL),
                    IMAGE_KIND_OCI_MANIFEST);
  assert_int_equal (
      image_manifest_parse (oci_manifest_no_mt, strlen (oci_manifest_no_mt), NULL, &m, &err), 0);
  assert_string_equal (m->media_type, IMAGE_MT_OCI_MANIFEST);
  assert_string_equal (image_layer_media_compression (m->layers[0].media_type), "zstd");
  assert_string_equal (image_layer_media_compression (m->layers[1].media_type), "");
  image_manifest_free (m);
}

struct bad
{
  const char *doc;
  const char *msg;
};

static const struct bad bad_docs[] = {
  { "not json", "manifest: line 1" },
  { "[]", "not a JSON object" },
  { "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}", "schema 1 are not supported" },
  { "{\"schemaVersion\":3}", "schemaVersion: must be 2" },
  { "{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}", "unsupported media type `text/plain`" },
  { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
    "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":1,"
    "\"digest\":\"sha256:xyz\"},\"layers\":[]}",
    "config.digest: not a sha256 digest" },
  { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
    "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":1,"
    "\"digest\":\"" DA "\"},\"layers\":[{\"mediaType\":\"application/x-foo\",\"size\":1,"
    "\"digest\":\"" DB "\"}]}",
    "layers[0].mediaType: unsupported layer media type `application/x-foo`" },
  { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
    "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":1,"
    "\"digest\":\"" DA "\"},\"layers\":[{\"mediaType\":"
    "\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":-1,\"digest\":\"" DB "\"}]}",
    "layers[0].size: missing or negative" },
  { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\",\"size\":1,"
    "\"digest\":\"" DA "\"},\"layers\":[]}",
    "is not a container image config" },
  { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
    "\"manifests\":{}}",
    "manifests: missing or not an array" },
  { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
    "\"manifests\":[{\"digest\":\"" DA "\",\"size\":1,\"platform\":{\"os\":\"linux\"}}]}",
    "manifests[0].platform: needs os and architecture" },
};

static void
test_manifest_invalid (void **state)
{
  for (size_t i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++)
    {
      struct image_manifest *m = NULL;
      struct berth_error *err = NULL;
      if (image_manifest_parse (bad_docs[i].doc, strlen (bad_docs[i].doc), NULL, &m, &err) == 0)
        fail_msg ("case %zu parsed", i);
      assert_null (m);
      assert_int_equal (err->kind, BERTH_E_INVALID);
      if (strstr (err->msg, bad_docs[i].msg) == NULL)
        fail_msg ("case %zu: `%s` lacks `%s`", i, err->msg, bad_docs[i].msg);
      berth_error_free (err);
    }
}

static const char *
select_for (const struct image_manifest *idx, const char *platform)
{
  struct image_platform p;
  struct berth_error *err = NULL;
  if (image_platform_parse (platform, &p, &err) < 0)
    fail_msg ("%s: %s", platform, err->msg);
  ssize_t i = image_manifest_select (idx, &p, &err);
  image_platform_clear (&p);
  if (i < 0)
    {
      berth_error_free (err);
      return NULL;
    }
  return idx->manifests[i].digest;
}

static void
test_index_platform_selection (void **state)
{
  struct image_manifest *m = NULL;
  struct berth_error *err = NULL;
  assert_int_equal (image_manifest_parse (oci_index, strlen (oci_index), NULL, &m, &err), 0);
  assert_true (image_manifest_kind_is_index (m->kind));
  assert_int_equal (m->n_manifests, 4);
  assert_string_equal (select_for (m, "linux/amd64"), DA);
  assert_string_equal (select_for (m, "amd64"), DA);
  assert_string_equal (select_for (m, "linux/x86_64"), DA); /* alias */
  assert_string_equal (select_for (m, "linux/arm64"), DB);  /* v8 is arm64's default */
  assert_string_equal (select_for (m, "linux/aarch64/v8"), DB);
  assert_string_equal (select_for (m, "linux/arm/v7"), DC); /* v7 runs v6 */
  assert_null (select_for (m, "linux/arm/v5"));             /* v5 cannot run v6 */
  assert_null (select_for (m, "linux/s390x"));
  /* the host's platform by default */
  ssize_t host = image_manifest_select (m, NULL, &err);
  struct image_platform hp;
  image_platform_host (&hp);
  if (strcmp (hp.architecture, "amd64") == 0)
    assert_int_equal (host, 0);
  image_platform_clear (&hp);
  if (host < 0)
    berth_error_free (err);
  err = NULL;
  struct image_platform p;
  assert_int_equal (image_platform_parse ("linux/s390x", &p, &err), 0);
  assert_int_equal (image_manifest_select (m, &p, &err), -1);
  assert_non_null (strstr (err->msg, "no matching manifest for linux/s390x"));
  assert_int_equal (err->kind, BERTH_E_NOT_FOUND);
  berth_error_free (err);
  image_platform_clear (&p);
  image_manifest_free (m);
}

static void
test_platform_parse (void **state)
{
  struct image_platform p;
  struct berth_error *err = NULL;
  assert_int_equal (image_platform_parse ("linux/arm/7", &p, &err), 0);
  char *s = image_platform_string (&p);
  assert_string_equal (s, "linux/arm/v7");
  free (s);
  image_platform_clear (&p);
  assert_int_equal (image_platform_parse ("windows/amd64", &p, &err), -1);
  assert_non_null (strstr (err->msg, "not supported"));
  berth_error_free (err);
  err = NULL;
  assert_int_equal (image_platform_parse ("linux//", &p, &err), -1);
  berth_error_free (err);
}

static void
test_chain_id (void **state)
{
  /* OCI image spec: ChainID(A|B) = sha256(ChainID(A) + " " + DiffID(B)) */
  char *ids[] = { (char *)DA, (char *)DB, NULL };
  char *one = image_chain_id (ids, 1);
  assert_string_equal (one, DA);
  char *two = image_chain_id (ids, 2);
  char *expect = sha256_digest (DA " " DB, strlen (DA " " DB));
  assert_string_equal (two, expect);
  free (one);
  free (two);
  free (expect);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_manifest_docker_schema2),
    cmocka_unit_test (test_manifest_oci_without_media_type),
    cmocka_unit_test (test_manifest_invalid),
    cmocka_unit_test (test_index_platform_selection),
    cmocka_unit_test (test_platform_parse),
    cmocka_unit_test (test_chain_id),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
