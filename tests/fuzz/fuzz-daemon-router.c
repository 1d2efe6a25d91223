/* berthd's request routing: the /vX.YY prefix (api_path_split_version),
 * the real route table every module registers (api_router_match, with
 * {id} and greedy {name*} parameters) and docker's boolean query values.
 * Input: the method on the first line, the URL path on the second. */
#include "daemon/api-internal.h"
#include "fuzz-common.h"

extern const struct berthd_module *const __start_berthd_modules[];
extern const struct berthd_module *const __stop_berthd_modules[];

static struct api_router *router;

static void
router_free (void)
{
  api_router_free (router);
}

static void
router_build (void)
{
  router = api_router_new ();
  /* Registration only records handlers; it never touches the daemon. */
  for (const struct berthd_module *const *m = __start_berthd_modules; m < __stop_berthd_modules;
       m++)
    if ((*m)->register_routes)
      (*m)->register_routes (NULL, router);
  FUZZ_ASSERT (router->n_routes > 20);
  atexit (router_free);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (router == NULL)
    router_build ();
  size_t n = 0;
  char **lines = fuzz_split_lines (data, size, &n);
  const char *method = n >= 2 ? lines[0] : "GET";
  const char *url = n >= 2 ? lines[1] : lines[0];

  (void) api_query_bool_value (url);
  unsigned version = 0;
  const char *rest = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  if (api_path_split_version (url, &version, &rest, &err) == 0)
    {
      FUZZ_ASSERT (rest != NULL);
      char **params = NULL;
      bool other = false;
      const struct api_route *rt = api_router_match (router, method, rest, &params, &other);
      if (rt)
        {
          FUZZ_ASSERT (rt->fn != NULL);
          /* name, value pairs, every value non-empty */
          for (char **p = params; p && p[0]; p += 2)
            {
              FUZZ_ASSERT (p[1] != NULL && p[1][0] != '\0');
              free (p[0]);
              free (p[1]);
            }
        }
      else
        FUZZ_ASSERT (params == NULL || params[0] == NULL);
      free (params);
    }
  else
    FUZZ_ASSERT (err && err->msg);
  fuzz_strv_free (lines);
  return 0;
}
