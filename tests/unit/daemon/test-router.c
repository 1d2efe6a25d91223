/* The Engine API router: patterns with {param} and greedy {param*}, which
 * route wins, HEAD served by GET routes, the /vX.YY prefix and docker's
 * boolean query values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "daemon/api-internal.h"

static void h_a (struct api_request *r) { (void) r; }
static void h_b (struct api_request *r) { (void) r; }
static void h_c (struct api_request *r) { (void) r; }
static void h_d (struct api_request *r) { (void) r; }
static void h_e (struct api_request *r) { (void) r; }
static void h_f (struct api_request *r) { (void) r; }
static void h_g (struct api_request *r) { (void) r; }

static struct api_router *
make_router (void)
{
  struct api_router *r = api_router_new ();
  api_route_add (r, "GET", "/images/json", h_a, 0);
  api_route_add (r, "GET", "/images/{name*}/json", h_b, 0);
  api_route_add (r, "DELETE", "/images/{name*}", h_c, 0);
  api_route_add (r, "POST", "/images/{name*}/tag", h_d, 0);
  api_route_add (r, "GET", "/containers/{id}/json", h_e, 0);
  api_route_add (r, "POST", "/containers/{id}/attach", h_f, API_ROUTE_RAW_BODY);
  api_route_add (r, "GET", "/_ping", h_g, 0);
  return r;
}

static const char *
param (char **params, const char *name)
{
  for (char **p = params; p && p[0]; p += 2)
    if (strcmp (p[0], name) == 0)
      return p[1];
  return NULL;
}

static void
test_match_table (void **state)
{
  struct api_router *r = make_router ();
  static const struct
  {
    const char *method, *path;
    api_handler_fn want;
    const char *pname, *pvalue;
    bool other_method;
  } cases[] = {
    /* a literal route beats a parameter: "images/json" is the list */
    { "GET", "/images/json", h_a, NULL, NULL, false },
    { "GET", "/images/busybox/json", h_b, "name", "busybox", false },
    /* image names carry slashes and ports (trace 17) */
    { "GET", "/images/127.0.0.1:5055/team/app/json", h_b, "name", "127.0.0.1:5055/team/app", false },
    { "DELETE", "/images/127.0.0.1:5055/team/app:1", h_c, "name", "127.0.0.1:5055/team/app:1", false },
    { "POST", "/images/tr-img/tag", h_d, "name", "tr-img", false },
    { "GET", "/containers/tr-x/json", h_e, "id", "tr-x", false },
    /* trailing and doubled slashes do not matter */
    { "GET", "/containers/tr-x/json/", h_e, "id", "tr-x", false },
    { "GET", "//containers//abc/json", h_e, "id", "abc", false },
    /* HEAD is served by the GET route */
    { "HEAD", "/containers/abc/json", h_e, "id", "abc", false },
    { "HEAD", "/_ping", h_g, NULL, NULL, false },
    /* {id} is one segment only */
    { "GET", "/containers/a/b/json", NULL, NULL, NULL, false },
    { "GET", "/nope", NULL, NULL, NULL, false },
    /* the path exists for another method: 405 rather than 404 */
    { "GET", "/containers/abc/attach", NULL, NULL, NULL, true },
    /* a greedy parameter takes at least one segment */
    { "DELETE", "/images", NULL, NULL, NULL, false },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char **params = NULL;
      bool other = false;
      const struct api_route *rt
          = api_router_match (r, cases[i].method, cases[i].path, &params, &other);
      if (cases[i].want == NULL)
        {
          assert_null (rt);
          assert_int_equal (other, cases[i].other_method);
        }
      else
        {
          assert_non_null (rt);
          assert_ptr_equal (rt->fn, cases[i].want);
          if (cases[i].pname)
            assert_string_equal (param (params, cases[i].pname), cases[i].pvalue);
        }
      strv_freep (&params);
    }
  api_router_free (r);
}

static void
test_version_prefix (void **state)
{
  static const struct
  {
    const char *url;
    int ok;
    unsigned version;
    const char *rest;
    const char *msg;
  } cases[] = {
    { "/v1.41/containers/json", 1, 141, "/containers/json", NULL },
    { "/v1.47/_ping", 1, 147, "/_ping", NULL },
    { "/v1.24/info", 1, 124, "/info", NULL },
    { "/v1.41", 1, 141, "/", NULL },
    { "/_ping", 1, API_VERSION_MAX_NUM, "/_ping", NULL },
    /* not a version: treated as a path (then 404) */
    { "/vfoo/info", 1, API_VERSION_MAX_NUM, "/vfoo/info", NULL },
    { "/volumes", 1, API_VERSION_MAX_NUM, "/volumes", NULL },
    /* docker's messages for versions outside the range */
    { "/v1.48/info", 0, 0, NULL, "client version 1.48 is too new. Maximum supported API version is 1.47" },
    { "/v1.12/info", 0, 0, NULL, "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version" },
    { "/v2.0/info", 0, 0, NULL, "client version 2.0 is too new. Maximum supported API version is 1.47" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      unsigned v = 0;
      const char *rest = NULL;
      int r = api_path_split_version (cases[i].url, &v, &rest, &err);
      if (cases[i].ok)
        {
          assert_int_equal (r, 0);
          assert_int_equal (v, cases[i].version);
          assert_string_equal (rest, cases[i].rest);
        }
      else
        {
          assert_int_equal (r, -1);
          assert_int_equal (berth_error_http_status (err), 400);
          assert_string_equal (err->msg, cases[i].msg);
        }
    }
}

static void
test_query_bool (void **state)
{
  /* docker's httputils.BoolValue: only these spell false */
  static const char *const falsy[] = { "", "0", "no", "false", "none", "False", "FALSE", " 0 ", "NO" };
  static const char *const truthy[] = { "1", "true", "True", "yes", "on", "2", "x" };
  assert_false (api_query_bool_value (NULL));
  for (size_t i = 0; i < sizeof falsy / sizeof falsy[0]; i++)
    assert_false (api_query_bool_value (falsy[i]));
  for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++)
    assert_true (api_query_bool_value (truthy[i]));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_match_table),
    cmocka_unit_test (test_version_prefix),
    cmocka_unit_test (test_query_bool),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
