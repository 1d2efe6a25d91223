/* Manifests, indexes and platforms: Docker v2 schema 2 manifests and
 * manifest lists, OCI image manifests and indexes, parsed into validated
 * structs (errors name the field), and platform selection as containerd's
 * platforms matcher does it. */
#include "image/image-internal.h"

#include <string.h>
#include <sys/utsname.h>

void
image_platform_clear (struct image_platform *p)
{
  free (p->os);
  free (p->architecture);
  free (p->variant);
  memset (p, 0, sizeof *p);
}

/* uname machine -> GOARCH (+ variant), as containerd's platforms package. */
void
image_platform_host (struct image_platform *out)
{
  struct utsname u;
  memset (out, 0, sizeof *out);
  out->os = xstrdup ("linux");
  const char *arch = "amd64", *variant = NULL;
  if (uname (&u) == 0)
    {
      const char *m = u.machine;
      if (strcmp (m, "x86_64") == 0)
        arch = "amd64";
      else if (strcmp (m, "aarch64") == 0 || strcmp (m, "arm64") == 0)
        arch = "arm64", variant = "v8";
      else if (str_has_prefix (m, "armv7"))
        arch = "arm", variant = "v7";
      else if (str_has_prefix (m, "armv6"))
        arch = "arm", variant = "v6";
      else if (str_has_prefix (m, "i") && str_has_suffix (m, "86"))
        arch = "386";
      else if (strcmp (m, "ppc64le") == 0 || strcmp (m, "s390x") == 0 || strcmp (m, "riscv64") == 0
               || strcmp (m, "mips64le") == 0)
        arch = m;
      else
        arch = m;
    }
  out->architecture = xstrdup (arch);
  out->variant = variant ? xstrdup (variant) : NULL;
}

/* containerd's normalization: aarch64 -> arm64, x86_64 -> amd64, arm64's
 * default variant v8, arm's default v7. */
static void
platform_normalize (struct image_platform *p)
{
  static const char *const aliases[][2] = {
    { "x86_64", "amd64" }, { "x86-64", "amd64" }, { "aarch64", "arm64" },
    { "armhf", "arm" },    { "armel", "arm" },    { "i386", "386" },
  };
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (p->architecture && strcmp (p->architecture, aliases[i][0]) == 0)
      {
        free (p->architecture);
        p->architecture = xstrdup (aliases[i][1]);
      }
  if (p->architecture && strcmp (p->architecture, "arm64") == 0
      && (p->variant == NULL || strcmp (p->variant, "8") == 0))
    {
      free (p->variant);
      p->variant = xstrdup ("v8");
    }
  if (p->architecture && strcmp (p->architecture, "arm") == 0 && p->variant == NULL)
    p->variant = xstrdup ("v7");
  if (p->variant && p->variant[0] >= '0' && p->variant[0] <= '9')
    {
      char *v = xasprintf ("v%s", p->variant);
      free (p->variant);
      p->variant = v;
    }
  if (p->os)
    for (char *c = p->os; *c; c++)
      if (*c >= 'A' && *c <= 'Z')
        *c = (char)(*c - 'A' + 'a');
}

int
image_platform_parse (const char *s, struct image_platform *out, struct berth_error **err)
{
  memset (out, 0, sizeof *out);
  _cleanup_strv_ char **parts = strv_split (s, '/');
  size_t n = strv_len (parts);
  for (size_t i = 0; i < n; i++)
    if (parts[i][0] == '\0')
      n = 0;
  if (n == 0 || n > 3)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "invalid platform `%s`: expected os/arch[/variant]", s);
  if (n == 1 && strcmp (parts[0], "linux") != 0)
    {
      out->os = xstrdup ("linux");
      out->architecture = xstrdup (parts[0]);
    }
  else if (n == 1)
    {
      struct image_platform host;
      image_platform_host (&host);
      out->os = xstrdup ("linux");
      out->architecture = steal_pointer (&host.architecture);
      out->variant = steal_pointer (&host.variant);
      image_platform_clear (&host);
    }
  else
    {
      out->os = xstrdup (parts[0]);
      out->architecture = xstrdup (parts[1]);
      out->variant = n == 3 ? xstrdup (parts[2]) : NULL;
    }
  if (strcmp (out->os, "linux") != 0 && strcasecmp (out->os, "linux") != 0)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "invalid platform `%s`: operating system `%s` is not supported", s,
                            out->os);
      image_platform_clear (out);
      return -1;
    }
  platform_normalize (out);
  return 0;
}

char *
image_platform_string (const struct image_platform *p)
{
  return xasprintf ("%s/%s%s%s", p->os ? p->os : "linux", p->architecture ? p->architecture : "",
                    p->variant ? "/" : "", p->variant ? p->variant : "");
}

/* ---------------------------------------------------------- documents -- */

static bool
is_manifest_type (const char *mt)
{
  return mt
         && (strcmp (mt, IMAGE_MT_DOCKER_MANIFEST) == 0 || strcmp (mt, IMAGE_MT_OCI_MANIFEST) == 0);
}

static bool
is_index_type (const char *mt)
{
  return mt
         && (strcmp (mt, IMAGE_MT_DOCKER_MANIFEST_LIST) == 0
             || strcmp (mt, IMAGE_MT_OCI_INDEX) == 0);
}

static enum image_manifest_kind
kind_of_media_type (const char *mt)
{
  if (mt == NULL)
    return IMAGE_KIND_UNKNOWN;
  if (strcmp (mt, IMAGE_MT_DOCKER_MANIFEST) == 0)
    return IMAGE_KIND_DOCKER_MANIFEST;
  if (strcmp (mt, IMAGE_MT_DOCKER_MANIFEST_LIST) == 0)
    return IMAGE_KIND_DOCKER_MANIFEST_LIST;
  if (strcmp (mt, IMAGE_MT_OCI_MANIFEST) == 0)
    return IMAGE_KIND_OCI_MANIFEST;
  if (strcmp (mt, IMAGE_MT_OCI_INDEX) == 0)
    return IMAGE_KIND_OCI_INDEX;
  return IMAGE_KIND_UNKNOWN;
}

bool
image_manifest_kind_is_index (enum image_manifest_kind kind)
{
  return kind == IMAGE_KIND_DOCKER_MANIFEST_LIST || kind == IMAGE_KIND_OCI_INDEX;
}

/* The document's own mediaType wins; without it (OCI made it optional),
 * the Content-Type; without either, the shape: "manifests" means an index. */
static enum image_manifest_kind
kind_of_json (json_t *doc, const char *content_type)
{
  const char *mt = json_string_value (json_object_get (doc, "mediaType"));
  enum image_manifest_kind k = kind_of_media_type (mt);
  if (k != IMAGE_KIND_UNKNOWN)
    return k;
  if (mt != NULL)
    return IMAGE_KIND_UNKNOWN;
  _cleanup_free_ char *ct
      = content_type ? strndup (content_type, strcspn (content_type, "; ")) : NULL;
  k = kind_of_media_type (ct);
  if (k != IMAGE_KIND_UNKNOWN)
    return k;
  if (json_is_array (json_object_get (doc, "manifests")))
    return IMAGE_KIND_OCI_INDEX;
  if (json_is_object (json_object_get (doc, "config"))
      && json_is_array (json_object_get (doc, "layers")))
    return IMAGE_KIND_OCI_MANIFEST;
  return IMAGE_KIND_UNKNOWN;
}

enum image_manifest_kind
image_manifest_kind_of (const char *data, size_t len, const char *content_type)
{
  _cleanup_json_ json_t *doc = json_loadb (data, len, 0, NULL);
  if (!json_is_object (doc))
    return IMAGE_KIND_UNKNOWN;
  return kind_of_json (doc, content_type);
}

const char *
image_layer_media_compression (const char *mt)
{
  if (mt == NULL)
    return NULL;
  if (strcmp (mt, IMAGE_MT_DOCKER_LAYER_GZIP) == 0 || strcmp (mt, IMAGE_MT_OCI_LAYER_GZIP) == 0
      || strcmp (mt, IMAGE_MT_DOCKER_LAYER_FOREIGN) == 0
      || strcmp (mt, "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip") == 0)
    return "gzip";
  if (strcmp (mt, IMAGE_MT_OCI_LAYER_ZSTD) == 0
      || strcmp (mt, "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd") == 0)
    return "zstd";
  if (strcmp (mt, IMAGE_MT_OCI_LAYER) == 0
      || strcmp (mt, "application/vnd.oci.image.layer.nondistributable.v1.tar") == 0
      || strcmp (mt, "application/vnd.docker.image.rootfs.diff.tar") == 0)
    return "";
  return NULL;
}

static void
descriptor_clear (struct image_descriptor *d)
{
  free (d->media_type);
  free (d->digest);
  image_platform_clear (&d->platform);
  strv_freep (&d->urls);
}

static int
field_error (struct berth_error **err, const char *field, const char *what)
{
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: %s", field, what);
}

static int
descriptor_parse (json_t *j, const char *field, bool want_platform, struct image_descriptor *d,
                  struct berth_error **err)
{
  char path[128];
  if (!json_is_object (j))
    return field_error (err, field, "not an object");
  json_t *mt = json_object_get (j, "mediaType");
  json_t *dg = json_object_get (j, "digest");
  json_t *sz = json_object_get (j, "size");
  snprintf (path, sizeof path, "%s.mediaType", field);
  if (mt && !json_is_string (mt))
    return field_error (err, path, "not a string");
  snprintf (path, sizeof path, "%s.digest", field);
  if (!json_is_string (dg))
    return field_error (err, path, "missing");
  if (!digest_is_valid (json_string_value (dg)))
    return field_error (err, path, "not a sha256 digest");
  snprintf (path, sizeof path, "%s.size", field);
  if (!json_is_integer (sz) || json_integer_value (sz) < 0)
    return field_error (err, path, "missing or negative");
  d->media_type = mt ? xstrdup (json_string_value (mt)) : NULL;
  d->digest = xstrdup (json_string_value (dg));
  d->size = json_integer_value (sz);
  json_t *urls = json_object_get (j, "urls");
  size_t i;
  json_t *u;
  json_array_foreach (urls, i, u) if (json_is_string (u))
      strv_append (&d->urls, json_string_value (u));
  json_t *plat = json_object_get (j, "platform");
  if (want_platform && json_is_object (plat))
    {
      const char *os = json_string_value (json_object_get (plat, "os"));
      const char *arch = json_string_value (json_object_get (plat, "architecture"));
      const char *var = json_string_value (json_object_get (plat, "variant"));
      snprintf (path, sizeof path, "%s.platform", field);
      if (os == NULL || arch == NULL)
        return field_error (err, path, "needs os and architecture");
      d->has_platform = true;
      d->platform.os = xstrdup (os);
      d->platform.architecture = xstrdup (arch);
      d->platform.variant = var && *var ? xstrdup (var) : NULL;
      platform_normalize (&d->platform);
    }
  return 0;
}

void
image_manifest_free (struct image_manifest *m)
{
  if (m == NULL)
    return;
  free (m->media_type);
  descriptor_clear (&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    descriptor_clear (&m->layers[i]);
  free (m->layers);
  for (size_t i = 0; i < m->n_manifests; i++)
    descriptor_clear (&m->manifests[i]);
  free (m->manifests);
  free (m);
}

static int
manifest_parse_single (json_t *doc, struct image_manifest *m, struct berth_error **err)
{
  if (descriptor_parse (json_object_get (doc, "config"), "config", false, &m->config, err) < 0)
    return -1;
  const char *cmt = m->config.media_type;
  if (m->kind == IMAGE_KIND_DOCKER_MANIFEST
      && (cmt == NULL || strcmp (cmt, IMAGE_MT_DOCKER_CONFIG) != 0))
    return field_error (err, "config.mediaType", "not " IMAGE_MT_DOCKER_CONFIG);
  if (m->kind == IMAGE_KIND_OCI_MANIFEST && cmt && strcmp (cmt, IMAGE_MT_OCI_CONFIG) != 0
      && strcmp (cmt, IMAGE_MT_DOCKER_CONFIG) != 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "config.mediaType: `%s` is not a container image config "
                                 "(an OCI artifact cannot be run)",
                                 cmt);
  json_t *layers = json_object_get (doc, "layers");
  if (!json_is_array (layers))
    return field_error (err, "layers", "missing or not an array");
  m->n_layers = json_array_size (layers);
  m->layers = calloc (m->n_layers ? m->n_layers : 1, sizeof *m->layers);
  if (m->layers == NULL)
    abort ();
  for (size_t i = 0; i < m->n_layers; i++)
    {
      char field[32];
      snprintf (field, sizeof field, "layers[%zu]", i);
      struct image_descriptor *d = &m->layers[i];
      if (descriptor_parse (json_array_get (layers, i), field, false, d, err) < 0)
        return -1;
      if (image_layer_media_compression (d->media_type) == NULL)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "%s.mediaType: unsupported layer media type `%s`", field,
                                     d->media_type ? d->media_type : "(none)");
    }
  return 0;
}

static int
manifest_parse_index (json_t *doc, struct image_manifest *m, struct berth_error **err)
{
  json_t *list = json_object_get (doc, "manifests");
  if (!json_is_array (list))
    return field_error (err, "manifests", "missing or not an array");
  m->n_manifests = json_array_size (list);
  m->manifests = calloc (m->n_manifests ? m->n_manifests : 1, sizeof *m->manifests);
  if (m->manifests == NULL)
    abort ();
  for (size_t i = 0; i < m->n_manifests; i++)
    {
      char field[32];
      snprintf (field, sizeof field, "manifests[%zu]", i);
      if (descriptor_parse (json_array_get (list, i), field, true, &m->manifests[i], err) < 0)
        return -1;
    }
  return 0;
}

int
image_manifest_parse (const char *data, size_t len, const char *content_type,
                      struct image_manifest **out, struct berth_error **err)
{
  json_error_t jerr;
  _cleanup_json_ json_t *doc = json_loadb (data, len, 0, &jerr);
  if (doc == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "manifest: line %d column %d: %s",
                                 jerr.line, jerr.column, jerr.text);
  if (!json_is_object (doc))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "manifest: not a JSON object");
  json_t *sv = json_object_get (doc, "schemaVersion");
  if (json_is_integer (sv) && json_integer_value (sv) == 1)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "manifest: Docker Image Format v1 and Docker Image manifest "
                                 "version 2, schema 1 are not supported");
  if (!json_is_integer (sv) || json_integer_value (sv) != 2)
    return field_error (err, "manifest: schemaVersion", "must be 2");
  enum image_manifest_kind kind = kind_of_json (doc, content_type);
  if (kind == IMAGE_KIND_UNKNOWN)
    {
      const char *mt = json_string_value (json_object_get (doc, "mediaType"));
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "manifest: unsupported media type `%s`",
                                   mt             ? mt
                                   : content_type ? content_type
                                                  : "(none)");
    }
  struct image_manifest *m = calloc (1, sizeof *m);
  if (m == NULL)
    abort ();
  _cleanup_image_manifest_ struct image_manifest *guard = m;
  m->kind = kind;
  const char *mt = json_string_value (json_object_get (doc, "mediaType"));
  m->media_type = xstrdup (mt                                        ? mt
                           : kind == IMAGE_KIND_OCI_INDEX            ? IMAGE_MT_OCI_INDEX
                           : kind == IMAGE_KIND_OCI_MANIFEST         ? IMAGE_MT_OCI_MANIFEST
                           : kind == IMAGE_KIND_DOCKER_MANIFEST_LIST ? IMAGE_MT_DOCKER_MANIFEST_LIST
                                                                     : IMAGE_MT_DOCKER_MANIFEST);
  int r = image_manifest_kind_is_index (kind) ? manifest_parse_index (doc, m, err)
                                              : manifest_parse_single (doc, m, err);
  if (r < 0)
    return berth_error_prefix (err, "manifest");
  *out = steal_pointer (&guard);
  return 0;
}

/* ---------------------------------------------------------- selection -- */

/* How well a candidate variant serves want (lower is better, -1: not at
 * all). containerd: arm v8 runs v7/v6/v5 binaries, v7 runs v6/v5, ... */
static int
variant_rank (const char *arch, const char *want, const char *have)
{
  if ((want == NULL || *want == '\0') && (have == NULL || *have == '\0'))
    return 0;
  if (want && have && strcmp (want, have) == 0)
    return 0;
  if (strcmp (arch, "arm64") == 0)
    {
      bool w8 = want == NULL || strcmp (want, "v8") == 0;
      bool h8 = have == NULL || strcmp (have, "v8") == 0;
      return w8 && h8 ? 0 : -1;
    }
  if (strcmp (arch, "arm") == 0 && want && have && want[0] == 'v' && have[0] == 'v')
    {
      int w = atoi (want + 1), h = atoi (have + 1);
      return h <= w && h >= 5 ? w - h : -1;
    }
  if (have == NULL || *have == '\0')
    return 1; /* an entry without variant serves any variant of its arch */
  return -1;
}

ssize_t
image_manifest_select (const struct image_manifest *index, const struct image_platform *want,
                       struct berth_error **err)
{
  struct image_platform host = { 0 };
  if (want == NULL)
    {
      image_platform_host (&host);
      want = &host;
    }
  ssize_t best = -1;
  int best_rank = 1 << 30;
  for (size_t i = 0; i < index->n_manifests; i++)
    {
      const struct image_descriptor *d = &index->manifests[i];
      if (!is_manifest_type (d->media_type) && d->media_type != NULL)
        continue;
      if (!d->has_platform)
        continue;
      if (strcmp (d->platform.os, want->os ? want->os : "linux") != 0
          || strcmp (d->platform.architecture, want->architecture) != 0)
        continue;
      int rank = variant_rank (want->architecture, want->variant, d->platform.variant);
      if (rank >= 0 && rank < best_rank)
        best = (ssize_t)i, best_rank = rank;
    }
  if (best < 0)
    {
      _cleanup_free_ char *p = image_platform_string (want);
      berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0,
                            "no matching manifest for %s in the manifest list entries", p);
    }
  image_platform_clear (&host);
  (void)is_index_type;
  return best;
}
