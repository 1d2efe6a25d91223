/* Image references: every row is a behaviour of docker's
 * distribution/reference (ParseNormalizedNamed + TagNameOnly +
 * FamiliarString), cases taken from its normalize_test.go and
 * reference_test.go and from what `docker pull` answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "image/image.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct ok_case
{
  const char *in;
  const char *full;     /* image_ref_string with IMAGE_REF_DEFAULT_TAG */
  const char *familiar; /* image_ref_familiar */
  const char *domain;
};

static const struct ok_case ok_cases[] = {
  /* Official images live under docker.io/library/. */
  { "busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io" },
  { "docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io" },
  { "index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest",
    "docker.io" },
  { "library/busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", "docker.io" },
  { "docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36",
    "docker.io" },
  /* A user's repository keeps its namespace, no library/. */
  { "foo/bar", "docker.io/foo/bar:latest", "foo/bar:latest", "docker.io" },
  { "a/b/c/d:x", "docker.io/a/b/c/d:x", "a/b/c/d:x", "docker.io" },
  /* Deep library paths are not official images. */
  { "docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest", "docker.io" },
  /* "localhost", a '.' or a ':' make the first component a domain. */
  { "localhost/foo", "localhost/foo:latest", "localhost/foo:latest", "localhost" },
  { "localhost:5000/foo/bar:tag", "localhost:5000/foo/bar:tag", "localhost:5000/foo/bar:tag",
    "localhost:5000" },
  { "127.0.0.1:5000/team/app:1.2", "127.0.0.1:5000/team/app:1.2", "127.0.0.1:5000/team/app:1.2",
    "127.0.0.1:5000" },
  { "example.com/foo", "example.com/foo:latest", "example.com/foo:latest", "example.com" },
  { "[::1]:5000/foo", "[::1]:5000/foo:latest", "[::1]:5000/foo:latest", "[::1]:5000" },
  /* An upper-case first component is a domain too (docker's splitDockerDomain). */
  { "Example.COM/foo", "Example.COM/foo:latest", "Example.COM/foo:latest", "Example.COM" },
  /* Digests: no default tag is added when a digest is given. */
  { "busybox@sha256:" H64, "docker.io/library/busybox@sha256:" H64, "busybox@sha256:" H64,
    "docker.io" },
  { "example.com:5000/x/y:v1@sha256:" H64, "example.com:5000/x/y:v1@sha256:" H64,
    "example.com:5000/x/y:v1@sha256:" H64, "example.com:5000" },
  /* Separators inside path components: '.', '_', '__', any number of '-'. */
  { "foo.bar_baz__qux---quux", "docker.io/library/foo.bar_baz__qux---quux:latest",
    "foo.bar_baz__qux---quux:latest", "docker.io" },
  /* Tags: word characters then [\w.-], up to 128. */
  { "busybox:1.36.1-glibc_X", "docker.io/library/busybox:1.36.1-glibc_X", "busybox:1.36.1-glibc_X",
    "docker.io" },
  { "busybox:_x", "docker.io/library/busybox:_x", "busybox:_x", "docker.io" },
};

static void
test_reference_valid (void **state)
{
  for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++)
    {
      const struct ok_case *c = &ok_cases[i];
      struct image_ref *ref = NULL;
      struct berth_error *err = NULL;
      if (image_ref_parse (c->in, IMAGE_REF_DEFAULT_TAG, &ref, &err) < 0)
        fail_msg ("%s: unexpected error %s", c->in, err->msg);
      char *full = image_ref_string (ref);
      char *fam = image_ref_familiar (ref);
      if (strcmp (full, c->full) != 0 || strcmp (fam, c->familiar) != 0
          || strcmp (ref->domain, c->domain) != 0)
        fail_msg ("%s: got %s / %s / %s", c->in, full, fam, ref->domain);
      free (full);
      free (fam);
      image_ref_free (ref);
    }
}

struct bad_case
{
  const char *in;
  const char *msg; /* substring of the error, docker's wording */
};

static const struct bad_case bad_cases[] = {
  { "", "repository name must have at least one component" },
  { "Busybox", "repository name (library/Busybox) must be lowercase" },
  { "foo/Bar:tag", "repository name (foo/Bar) must be lowercase" },
  { "localhost:5000/Foo", "repository name (Foo) must be lowercase" },
  { H64, "cannot specify 64-byte hexadecimal strings" },
  { "busybox:", "invalid reference format" },
  { "busybox:-tag", "invalid reference format" },
  { "busybox:.tag", "invalid reference format" },
  { "busybox:a/b", "invalid reference format" },
  { "busybox@sha256:abc", "invalid reference format" },
  { "busybox@sha512:" H64 H64, "unsupported digest algorithm" },
  { "busybox@sha256:" H64 "00", "invalid checksum digest format" },
  { "busybox@", "invalid reference format" },
  { ":tag", "invalid reference format" },
  { "foo//bar", "invalid reference format" },
  { "foo/", "invalid reference format" },
  { "/foo", "invalid reference format" },
  { "-foo", "invalid reference format" },
  { "foo-", "invalid reference format" },
  { "foo_", "invalid reference format" },
  { "foo___bar", "invalid reference format" },
  { "foo..bar", "invalid reference format" },
  { "foo bar", "invalid reference format" },
  { "localhost:/foo", "invalid reference format" },
  { "local_host.com/foo", "invalid reference format" },
  { "-example.com/foo", "invalid reference format" },
  { "[::1/foo", "invalid reference format" },
  { "foo:bar:baz", "invalid reference format" },
};

static void
test_reference_invalid (void **state)
{
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
    {
      const struct bad_case *c = &bad_cases[i];
      struct image_ref *ref = NULL;
      struct berth_error *err = NULL;
      if (image_ref_parse (c->in, IMAGE_REF_DEFAULT_TAG, &ref, &err) == 0)
        fail_msg ("`%s` parsed but must not", c->in);
      assert_null (ref);
      assert_int_equal (err->kind, BERTH_E_INVALID);
      if (strstr (err->msg, c->msg) == NULL)
        fail_msg ("`%s`: error `%s` lacks `%s`", c->in, err->msg, c->msg);
      berth_error_free (err);
    }
}

static void
test_reference_lengths (void **state)
{
  /* docker: NameTotalLengthMax = 255, counting "docker.io/library/". */
  char name[300];
  struct image_ref *ref = NULL;
  struct berth_error *err = NULL;
  memset (name, 'a', 237);
  name[237] = '\0'; /* docker.io/library/ (18) + 237 = 255: fits */
  assert_int_equal (image_ref_parse (name, 0, &ref, &err), 0);
  image_ref_free (ref);
  ref = NULL;
  name[237] = 'a';
  name[238] = '\0';
  assert_int_equal (image_ref_parse (name, 0, &ref, &err), -1);
  assert_non_null (strstr (err->msg, "must not be more than 255 characters"));
  berth_error_free (err);
  err = NULL;
  /* Tags: at most 128 characters. */
  char tagged[200] = "busybox:";
  memset (tagged + 8, 't', 128);
  tagged[136] = '\0';
  assert_int_equal (image_ref_parse (tagged, 0, &ref, &err), 0);
  image_ref_free (ref);
  ref = NULL;
  tagged[136] = 't';
  tagged[137] = '\0';
  assert_int_equal (image_ref_parse (tagged, 0, &ref, &err), -1);
  berth_error_free (err);
}

static void
test_reference_flags_and_helpers (void **state)
{
  struct image_ref *ref = NULL;
  struct berth_error *err = NULL;
  /* Without IMAGE_REF_DEFAULT_TAG nothing is added (ParseNormalizedNamed). */
  assert_int_equal (image_ref_parse ("busybox", 0, &ref, &err), 0);
  assert_null (ref->tag);
  char *name = image_ref_name (ref);
  assert_string_equal (name, "docker.io/library/busybox");
  free (name);
  char *fname = image_ref_familiar_name (ref);
  assert_string_equal (fname, "busybox");
  free (fname);
  image_ref_free (ref);
  ref = NULL;
  /* docker tag's target repository: no digest allowed. */
  assert_int_equal (image_ref_parse ("busybox@sha256:" H64, IMAGE_REF_NAME_ONLY, &ref, &err), -1);
  berth_error_free (err);
  char *f = image_ref_familiarize ("docker.io/library/busybox:latest");
  assert_string_equal (f, "busybox:latest");
  free (f);
  f = image_ref_familiarize ("127.0.0.1:5000/a:b");
  assert_string_equal (f, "127.0.0.1:5000/a:b");
  free (f);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_reference_valid),
    cmocka_unit_test (test_reference_invalid),
    cmocka_unit_test (test_reference_lengths),
    cmocka_unit_test (test_reference_flags_and_helpers),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
