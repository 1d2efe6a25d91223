/* The Engine API router: route patterns with {param} and greedy {param*}
 * segments, the /vX.YY version prefix, and docker's boolean query values.
 * Pure functions (no sockets), unit-tested in tests/unit/daemon. */
#include "daemon/api-internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct api_router *
api_router_new (void)
{
  struct api_router *r = calloc (1, sizeof *r);
  if (r == NULL)
    abort ();
  return r;
}

void
api_router_free (struct api_router *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n_routes; i++)
    {
      free (r->routes[i].method);
      free (r->routes[i].pattern);
      strv_freep (&r->routes[i].segs);
    }
  free (r->routes);
  free (r);
}

static bool
seg_is_param (const char *seg)
{
  size_t n = strlen (seg);
  return n >= 3 && seg[0] == '{' && seg[n - 1] == '}';
}

static bool
seg_is_greedy (const char *seg)
{
  size_t n = strlen (seg);
  return seg_is_param (seg) && n >= 4 && seg[n - 2] == '*';
}

/* The parameter's name without braces and star, newly allocated. */
static char *
seg_param_name (const char *seg)
{
  size_t n = strlen (seg) - 2;
  if (seg_is_greedy (seg))
    n--;
  return strndup (seg + 1, n);
}

/* Path segments, empty ones dropped ("/a//b/" is a, b). */
static char **
split_path (const char *path)
{
  char **parts = strv_split (path, '/');
  char **out = calloc (strv_len (parts) + 1, sizeof *out);
  if (out == NULL)
    abort ();
  size_t n = 0;
  for (char **p = parts; *p; p++)
    {
      if (**p == '\0')
        free (*p);
      else
        out[n++] = *p;
    }
  free (parts);
  return out;
}

void
api_route_add (struct api_router *r, const char *method, const char *pattern, api_handler_fn fn,
               unsigned flags)
{
  if (pattern[0] != '/')
    {
      fprintf (stderr, "berthd: route pattern `%s` must start with /\n", pattern);
      abort ();
    }
  char **segs = split_path (pattern);
  unsigned n_literal = 0, n_greedy = 0;
  for (char **s = segs; *s; s++)
    {
      if (seg_is_greedy (*s))
        n_greedy++;
      else if (!seg_is_param (*s))
        {
          if (strchr (*s, '{') || strchr (*s, '}'))
            {
              fprintf (stderr, "berthd: route pattern `%s`: bad segment `%s`\n", pattern, *s);
              abort ();
            }
          n_literal++;
        }
    }
  if (n_greedy > 1)
    {
      fprintf (stderr, "berthd: route pattern `%s` has more than one {x*}\n", pattern);
      abort ();
    }
  struct api_route *routes = realloc (r->routes, (r->n_routes + 1) * sizeof *routes);
  if (routes == NULL)
    abort ();
  r->routes = routes;
  r->routes[r->n_routes++] = (struct api_route){
    .method = xstrdup (method),
    .pattern = xstrdup (pattern),
    .segs = segs,
    .n_literal = n_literal,
    .has_greedy = n_greedy > 0,
    .fn = fn,
    .flags = flags,
  };
}

static void
params_add (char ***params, const char *seg, const char *value)
{
  _cleanup_free_ char *name = seg_param_name (seg);
  strv_append (params, name);
  strv_append (params, value);
}

/* Match path segments against a route's; fills params on success. */
static bool
route_match_path (const struct api_route *route, char **parts, char ***params)
{
  size_t n_parts = strv_len (parts), n_segs = strv_len (route->segs);
  _cleanup_strv_ char **found = NULL;
  found = calloc (1, sizeof *found);
  if (!route->has_greedy)
    {
      if (n_parts != n_segs)
        return false;
      for (size_t i = 0; i < n_segs; i++)
        {
          if (seg_is_param (route->segs[i]))
            params_add (&found, route->segs[i], parts[i]);
          else if (strcmp (route->segs[i], parts[i]) != 0)
            return false;
        }
      *params = steal_pointer (&found);
      return true;
    }

  /* One greedy parameter: the segments before it match from the start,
   * those after it from the end, it takes at least one in between. */
  if (n_parts < n_segs)
    return false;
  size_t g = 0;
  while (!seg_is_greedy (route->segs[g]))
    g++;
  size_t n_after = n_segs - g - 1;
  for (size_t i = 0; i < g; i++)
    {
      if (seg_is_param (route->segs[i]))
        params_add (&found, route->segs[i], parts[i]);
      else if (strcmp (route->segs[i], parts[i]) != 0)
        return false;
    }
  for (size_t k = 0; k < n_after; k++)
    {
      const char *seg = route->segs[g + 1 + k];
      const char *part = parts[n_parts - n_after + k];
      if (seg_is_param (seg))
        params_add (&found, seg, part);
      else if (strcmp (seg, part) != 0)
        return false;
    }
  size_t n_mid = n_parts - n_after - g;
  _cleanup_free_ char *mid = NULL;
  {
    char **slice = calloc (n_mid + 1, sizeof *slice);
    if (slice == NULL)
      abort ();
    for (size_t i = 0; i < n_mid; i++)
      slice[i] = parts[g + i];
    mid = strv_join (slice, "/");
    free (slice);
  }
  params_add (&found, route->segs[g], mid);
  *params = steal_pointer (&found);
  return true;
}

/* Better match first: more literal segments, then no greedy parameter. */
static bool
route_beats (const struct api_route *a, const struct api_route *b)
{
  if (b == NULL)
    return true;
  if (a->n_literal != b->n_literal)
    return a->n_literal > b->n_literal;
  return !a->has_greedy && b->has_greedy;
}

const struct api_route *
api_router_match (const struct api_router *r, const char *method, const char *path,
                  char ***params, bool *other_method)
{
  _cleanup_strv_ char **parts = split_path (path);
  const struct api_route *best = NULL, *best_get = NULL;
  char **best_params = NULL, **best_get_params = NULL;
  bool head = strcmp (method, "HEAD") == 0;
  *other_method = false;
  *params = NULL;

  for (size_t i = 0; i < r->n_routes; i++)
    {
      const struct api_route *route = &r->routes[i];
      bool same = strcmp (route->method, method) == 0;
      bool as_get = head && strcmp (route->method, "GET") == 0;
      char **p = NULL;
      if (!route_match_path (route, parts, &p))
        continue;
      if (same && route_beats (route, best))
        {
          strv_freep (&best_params);
          best = route;
          best_params = p;
        }
      else if (as_get && route_beats (route, best_get))
        {
          strv_freep (&best_get_params);
          best_get = route;
          best_get_params = p;
        }
      else
        {
          if (!same && !as_get)
            *other_method = true;
          strv_freep (&p);
        }
    }
  if (best == NULL && best_get != NULL)
    {
      best = best_get;
      best_params = steal_pointer (&best_get_params);
    }
  strv_freep (&best_get_params);
  if (best)
    {
      *params = best_params;
      *other_method = false;
    }
  return best;
}

/* --------------------------------------------------------------- version -- */

int
api_path_split_version (const char *url, unsigned *version, const char **rest,
                        struct berth_error **err)
{
  *version = API_VERSION_MAX_NUM;
  *rest = url;
  if (url[0] != '/' || url[1] != 'v' || !isdigit ((unsigned char) url[2]))
    return 0;
  const char *p = url + 2;
  char *end;
  unsigned long major = strtoul (p, &end, 10);
  if (*end != '.' || !isdigit ((unsigned char) end[1]))
    return 0;
  unsigned long minor = strtoul (end + 1, &end, 10);
  if (*end != '/' && *end != '\0')
    return 0;
  _cleanup_free_ char *given = strndup (url + 2, (size_t) (end - (url + 2)));
  if (major > 99 || minor > 99)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "client version %s is too new. Maximum supported API version is %s",
                                 given, API_VERSION_MAX);
  unsigned v = (unsigned) (major * 100 + minor);
  if (v > API_VERSION_MAX_NUM)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "client version %s is too new. Maximum supported API version is %s",
                                 given, API_VERSION_MAX);
  if (v < API_VERSION_MIN_NUM)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "client version %s is too old. Minimum supported API version is "
                                 "%s, please upgrade your client to a newer version",
                                 given, API_VERSION_MIN);
  *version = v;
  *rest = *end == '\0' ? "/" : end;
  return 0;
}

bool
api_query_bool_value (const char *value)
{
  if (value == NULL)
    return false;
  while (isspace ((unsigned char) *value))
    value++;
  size_t n = strlen (value);
  while (n > 0 && isspace ((unsigned char) value[n - 1]))
    n--;
  static const char *const falsy[] = { "", "0", "no", "false", "none" };
  for (size_t i = 0; i < sizeof falsy / sizeof falsy[0]; i++)
    if (strlen (falsy[i]) == n && strncasecmp (value, falsy[i], n) == 0)
      return false;
  return true;
}
