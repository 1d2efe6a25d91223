/* Image references parsed and normalized exactly as docker's
 * distribution/reference package does (ParseNormalizedNamed, TagNameOnly,
 * FamiliarName, FamiliarString), with the same error messages. */
#include "image/image.h"

#include <ctype.h>
#include <string.h>

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_REPO_PREFIX "library/"
#define NAME_TOTAL_LENGTH_MAX 255

#define ref_invalid(err, ...) berth_error_set_kind ((err), BERTH_E_INVALID, 0, __VA_ARGS__)

static bool
is_alnum_lower (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum (char c)
{
  return isascii ((unsigned char)c) && isalnum ((unsigned char)c);
}

/* domain-component: [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool
domain_component_valid (const char *s, size_t n)
{
  if (n == 0 || !is_alnum (s[0]) || !is_alnum (s[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!is_alnum (s[i]) && s[i] != '-')
      return false;
  return true;
}

/* domain: host (component ('.' component)* | '[' ipv6 ']') (':' [0-9]+)? */
static bool
domain_valid (const char *s, size_t n)
{
  size_t host_end = n;
  if (n > 0 && s[0] == '[')
    {
      const char *close = memchr (s, ']', n);
      if (close == NULL || close == s + 1)
        return false;
      for (const char *p = s + 1; p < close; p++)
        if (!isxdigit ((unsigned char)*p) && *p != ':')
          return false;
      host_end = (size_t)(close - s) + 1;
      if (host_end != n && s[host_end] != ':')
        return false;
    }
  else
    {
      const char *colon = memchr (s, ':', n);
      if (colon)
        host_end = (size_t)(colon - s);
      size_t start = 0;
      for (size_t i = 0; i <= host_end; i++)
        if (i == host_end || s[i] == '.')
          {
            if (!domain_component_valid (s + start, i - start))
              return false;
            start = i + 1;
          }
    }
  if (host_end < n)
    {
      size_t digits = n - host_end - 1;
      if (digits == 0)
        return false;
      for (size_t i = host_end + 1; i < n; i++)
        if (!isdigit ((unsigned char)s[i]))
          return false;
    }
  return true;
}

/* path-component: [a-z0-9]+ (separator [a-z0-9]+)*, separator: [._] | __ | -+ */
static bool
path_component_valid (const char *s, size_t n)
{
  size_t i = 0;
  if (n == 0 || !is_alnum_lower (s[0]))
    return false;
  while (i < n)
    {
      while (i < n && is_alnum_lower (s[i]))
        i++;
      if (i == n)
        return true;
      size_t sep = i;
      if (s[i] == '.')
        i++;
      else if (s[i] == '_')
        i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
      else if (s[i] == '-')
        while (i < n && s[i] == '-')
          i++;
      if (i == sep || i == n || !is_alnum_lower (s[i]))
        return false;
    }
  return true;
}

static bool
path_valid (const char *s, size_t n)
{
  size_t start = 0;
  for (size_t i = 0; i <= n; i++)
    if (i == n || s[i] == '/')
      {
        if (!path_component_valid (s + start, i - start))
          return false;
        start = i + 1;
      }
  return true;
}

/* tag: [\w][\w.-]{0,127} */
static bool
tag_valid (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > 128)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      char c = s[i];
      bool word = is_alnum (c) || c == '_';
      if (!word && (i == 0 || (c != '.' && c != '-')))
        return false;
    }
  return true;
}

/* digest: algorithm ':' hex{32,}; only sha256 is a known algorithm here (as
 * go-digest would refuse anything it has no hash for). */
static int
digest_check (const char *d, struct berth_error **err)
{
  const char *colon = strchr (d, ':');
  if (colon == NULL || colon == d)
    return ref_invalid (err, "invalid reference format%s", "");
  for (const char *p = d; p < colon; p++)
    if (!is_alnum (*p) && !strchr ("-_+.", *p))
      return ref_invalid (err, "invalid reference format%s", "");
  size_t hexlen = strlen (colon + 1);
  for (const char *p = colon + 1; *p; p++)
    if (!isxdigit ((unsigned char)*p))
      return ref_invalid (err, "invalid reference format%s", "");
  if (hexlen < 32)
    return ref_invalid (err, "invalid reference format%s", "");
  if (strncmp (d, "sha256:", 7) != 0)
    return ref_invalid (err, "invalid reference format: unsupported digest algorithm in `%s`", d);
  if (!digest_is_valid (d))
    return ref_invalid (err, "invalid reference format: invalid checksum digest format in `%s`", d);
  return 0;
}

static bool
is_64_hex (const char *s)
{
  if (strlen (s) != 64)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

/* docker's splitDockerDomain: the first component is a domain only when it
 * contains '.' or ':', is "localhost", or has an upper-case letter. */
static void
split_docker_domain (const char *s, char **domain, char **remainder)
{
  const char *slash = strchr (s, '/');
  bool has_domain = false;
  if (slash)
    {
      size_t n = (size_t)(slash - s);
      bool upper = false;
      for (size_t i = 0; i < n; i++)
        upper |= (s[i] >= 'A' && s[i] <= 'Z');
      has_domain = memchr (s, '.', n) || memchr (s, ':', n)
                   || (n == 9 && strncmp (s, "localhost", 9) == 0) || upper;
    }
  if (has_domain)
    {
      *domain = strndup (s, (size_t)(slash - s));
      *remainder = xstrdup (slash + 1);
    }
  else
    {
      *domain = xstrdup (DEFAULT_DOMAIN);
      *remainder = xstrdup (s);
    }
  if (*domain == NULL)
    abort ();
  if (strcmp (*domain, LEGACY_DEFAULT_DOMAIN) == 0)
    {
      free (*domain);
      *domain = xstrdup (DEFAULT_DOMAIN);
    }
  if (strcmp (*domain, DEFAULT_DOMAIN) == 0 && strchr (*remainder, '/') == NULL)
    {
      char *r = xasprintf (OFFICIAL_REPO_PREFIX "%s", *remainder);
      free (*remainder);
      *remainder = r;
    }
}

static bool
has_upper (const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] >= 'A' && s[i] <= 'Z')
      return true;
  return false;
}

int
image_ref_parse (const char *s, unsigned flags, struct image_ref **out, struct berth_error **err)
{
  if (s == NULL || *s == '\0')
    return ref_invalid (err,
                        "invalid reference format: repository name must have at least "
                        "one component%s",
                        "");
  if (is_64_hex (s))
    return ref_invalid (
        err, "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);
  _cleanup_free_ char *domain = NULL;
  _cleanup_free_ char *rest = NULL;
  split_docker_domain (s, &domain, &rest);

  /* The remote name is the remainder up to the tag (or digest) separator;
   * docker checks its case first to give a precise message. */
  size_t name_len = strcspn (rest, ":@");
  if (has_upper (rest, name_len))
    {
      _cleanup_free_ char *name = strndup (rest, name_len);
      return ref_invalid (err, "invalid reference format: repository name (%s) must be lowercase",
                          name);
    }

  _cleanup_free_ char *tag = NULL;
  _cleanup_free_ char *digest = NULL;
  char *at = strchr (rest + name_len, '@');
  if (at)
    {
      digest = xstrdup (at + 1);
      *at = '\0';
    }
  if (rest[name_len] == ':')
    tag = xstrdup (rest + name_len + 1);
  else if (rest[name_len] != '\0')
    return ref_invalid (err, "invalid reference format%s", "");
  rest[name_len] = '\0';

  if (!domain_valid (domain, strlen (domain)) || !path_valid (rest, strlen (rest)))
    return ref_invalid (err, "invalid reference format%s", "");
  if (tag && !tag_valid (tag))
    return ref_invalid (err, "invalid reference format%s", "");
  if (digest && digest_check (digest, err) < 0)
    return -1;
  if (strlen (domain) + 1 + strlen (rest) > NAME_TOTAL_LENGTH_MAX)
    return ref_invalid (err,
                        "invalid reference format: repository name must not be more than "
                        "255 characters%s",
                        "");
  if ((flags & IMAGE_REF_NAME_ONLY) && (tag || digest))
    return ref_invalid (err,
                        "invalid reference format: `%s` must be a repository name without "
                        "tag or digest",
                        s);
  if ((flags & IMAGE_REF_DEFAULT_TAG) && tag == NULL && digest == NULL)
    tag = xstrdup ("latest");

  struct image_ref *ref = calloc (1, sizeof *ref);
  if (ref == NULL)
    abort ();
  ref->domain = steal_pointer (&domain);
  ref->path = xstrdup (rest);
  ref->tag = steal_pointer (&tag);
  ref->digest = steal_pointer (&digest);
  *out = ref;
  return 0;
}

void
image_ref_free (struct image_ref *ref)
{
  if (ref == NULL)
    return;
  free (ref->domain);
  free (ref->path);
  free (ref->tag);
  free (ref->digest);
  free (ref);
}

char *
image_ref_name (const struct image_ref *ref)
{
  return xasprintf ("%s/%s", ref->domain, ref->path);
}

char *
image_ref_familiar_name (const struct image_ref *ref)
{
  if (strcmp (ref->domain, DEFAULT_DOMAIN) != 0)
    return image_ref_name (ref);
  const char *p = ref->path;
  if (str_has_prefix (p, OFFICIAL_REPO_PREFIX) && !strchr (p + strlen (OFFICIAL_REPO_PREFIX), '/'))
    p += strlen (OFFICIAL_REPO_PREFIX);
  return xstrdup (p);
}

static char *
ref_with_suffix (char *name, const struct image_ref *ref)
{
  _cleanup_free_ char *n = name;
  return xasprintf ("%s%s%s%s%s", n, ref->tag ? ":" : "", ref->tag ? ref->tag : "",
                    ref->digest ? "@" : "", ref->digest ? ref->digest : "");
}

char *
image_ref_string (const struct image_ref *ref)
{
  return ref_with_suffix (image_ref_name (ref), ref);
}

char *
image_ref_familiar (const struct image_ref *ref)
{
  return ref_with_suffix (image_ref_familiar_name (ref), ref);
}

char *
image_ref_familiarize (const char *s)
{
  _cleanup_image_ref_ struct image_ref *ref = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  if (image_ref_parse (s, 0, &ref, &err) < 0)
    return xstrdup (s);
  return image_ref_familiar (ref);
}
