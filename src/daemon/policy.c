/* The request policy: ordered allow/deny rules on method, path pattern and
 * peer uid, checked before any handler runs (DESIGN.md: "every API action
 * checked by the policy"). No policy file means allow everything, as
 * dockerd without an authorization plugin. */
#include "daemon/daemon-internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

struct policy_rule
{
  bool allow;
  char **methods; /* NULL: any */
  char **paths;   /* NULL: any */
  long long *uids; /* NULL: any; -1 stands for TCP peers */
  size_t n_uids;
  char *comment;
};

struct policy
{
  struct policy_rule *rules;
  size_t n_rules;
  bool default_allow;
};

void
policy_free (struct policy *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->n_rules; i++)
    {
      strv_freep (&p->rules[i].methods);
      strv_freep (&p->rules[i].paths);
      free (p->rules[i].uids);
      free (p->rules[i].comment);
    }
  free (p->rules);
  free (p);
}

static int
string_list (const json_t *v, const char *where, char ***out, bool upper,
             struct berth_error **err)
{
  if (v == NULL)
    return 0;
  if (!json_is_array (v))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: expected an array of strings",
                                 where);
  char **list = calloc (1, sizeof *list);
  size_t i;
  json_t *item;
  json_array_foreach (v, i, item)
    {
      if (!json_is_string (item))
        {
          strv_freep (&list);
          return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s[%zu]: expected a string",
                                       where, i);
        }
      _cleanup_free_ char *s = xstrdup (json_string_value (item));
      if (upper)
        for (char *c = s; *c; c++)
          *c = (char) (*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
      strv_append (&list, s);
    }
  *out = list;
  return 0;
}

int
policy_parse (const json_t *j, struct policy **out, struct berth_error **err)
{
  if (!json_is_object (j))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "policy: expected a JSON object");
  struct policy *p = calloc (1, sizeof *p);
  if (p == NULL)
    abort ();
  p->default_allow = true;
  const json_t *def = json_object_get (j, "default");
  if (def)
    {
      const char *d = json_string_value (def);
      if (d && strcmp (d, "allow") == 0)
        p->default_allow = true;
      else if (d && strcmp (d, "deny") == 0)
        p->default_allow = false;
      else
        {
          policy_free (p);
          return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                       "policy.default: expected \"allow\" or \"deny\"");
        }
    }
  const json_t *rules = json_object_get (j, "rules");
  if (rules && !json_is_array (rules))
    {
      policy_free (p);
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "policy.rules: expected an array");
    }
  size_t n = rules ? json_array_size (rules) : 0;
  p->rules = calloc (n + 1, sizeof *p->rules);
  if (p->rules == NULL)
    abort ();
  for (size_t i = 0; i < n; i++)
    {
      const json_t *r = json_array_get (rules, i);
      struct policy_rule *rule = &p->rules[p->n_rules++];
      _cleanup_free_ char *where = xasprintf ("policy.rules[%zu]", i);
      if (!json_is_object (r))
        {
          policy_free (p);
          return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: expected an object", where);
        }
      const char *action = json_string_value (json_object_get (r, "action"));
      if (action == NULL || (strcmp (action, "allow") != 0 && strcmp (action, "deny") != 0))
        {
          policy_free (p);
          return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                       "%s.action: expected \"allow\" or \"deny\"", where);
        }
      rule->allow = strcmp (action, "allow") == 0;
      _cleanup_free_ char *wm = xasprintf ("%s.methods", where);
      _cleanup_free_ char *wp = xasprintf ("%s.paths", where);
      if (string_list (json_object_get (r, "methods"), wm, &rule->methods, true, err) < 0
          || string_list (json_object_get (r, "paths"), wp, &rule->paths, false, err) < 0)
        {
          policy_free (p);
          return -1;
        }
      for (char **path = rule->paths; path && *path; path++)
        if ((*path)[0] != '/')
          {
            berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: `%s` must start with /", wp,
                                  *path);
            policy_free (p);
            return -1;
          }
      const json_t *uids = json_object_get (r, "uids");
      if (uids)
        {
          if (!json_is_array (uids))
            {
              policy_free (p);
              return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                           "%s.uids: expected an array of integers", where);
            }
          rule->n_uids = json_array_size (uids);
          rule->uids = calloc (rule->n_uids + 1, sizeof *rule->uids);
          for (size_t k = 0; k < rule->n_uids; k++)
            {
              const json_t *u = json_array_get (uids, k);
              if (!json_is_integer (u))
                {
                  policy_free (p);
                  return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                               "%s.uids[%zu]: expected an integer", where, k);
                }
              rule->uids[k] = json_integer_value (u);
            }
        }
      const char *comment = json_string_value (json_object_get (r, "comment"));
      if (comment)
        rule->comment = xstrdup (comment);
    }
  *out = p;
  return 0;
}

int
policy_load (const char *path, struct policy **out, struct berth_error **err)
{
  _cleanup_json_ json_t *j = json_load_path (AT_FDCWD, path, err);
  if (j == NULL)
    return berth_error_prefix (err, "policy");
  if (policy_parse (j, out, err) < 0)
    return berth_error_prefix (err, "%s", path);
  return 0;
}

/* Path pattern: segments compared one by one; "*" and "{x}" match one
 * segment, "**" the rest (zero or more). */
static bool
path_match (const char *pattern, const char *path)
{
  while (*pattern == '/')
    pattern++;
  while (*path == '/')
    path++;
  if (strcmp (pattern, "**") == 0)
    return true;
  if (*pattern == '\0')
    return *path == '\0';
  if (*path == '\0')
    return strncmp (pattern, "**", 2) == 0 && (pattern[2] == '\0' || pattern[2] == '/');
  size_t plen = strcspn (pattern, "/"), slen = strcspn (path, "/");
  bool any = (plen == 1 && pattern[0] == '*') || (plen >= 2 && pattern[0] == '{' && pattern[plen - 1] == '}');
  if (plen == 2 && pattern[0] == '*' && pattern[1] == '*')
    {
      /* "**" in the middle: try every split */
      for (const char *p = path;; )
        {
          if (path_match (pattern + plen, p))
            return true;
          const char *slash = strchr (p, '/');
          if (slash == NULL)
            return path_match (pattern + plen, "");
          p = slash + 1;
        }
    }
  if (!any && (plen != slen || strncmp (pattern, path, plen) != 0))
    return false;
  return path_match (pattern + plen, path + slen);
}

static bool
rule_matches (const struct policy_rule *r, uid_t uid, const char *method, const char *path)
{
  if (r->methods && !strv_contains (r->methods, method))
    return false;
  if (r->paths)
    {
      bool hit = false;
      for (char **p = r->paths; *p && !hit; p++)
        hit = path_match (*p, path);
      if (!hit)
        return false;
    }
  if (r->uids)
    {
      long long u = uid == (uid_t) -1 ? -1 : (long long) uid;
      bool hit = false;
      for (size_t i = 0; i < r->n_uids && !hit; i++)
        hit = r->uids[i] == u;
      if (!hit)
        return false;
    }
  return true;
}

char *
policy_check (const struct policy *p, uid_t uid, const char *method, const char *path)
{
  if (p == NULL)
    return NULL;
  for (size_t i = 0; i < p->n_rules; i++)
    {
      const struct policy_rule *r = &p->rules[i];
      if (!rule_matches (r, uid, method, path))
        continue;
      if (r->allow)
        return NULL;
      return r->comment ? xstrdup (r->comment) : xasprintf ("denied by rule %zu", i);
    }
  if (p->default_allow)
    return NULL;
  return xstrdup ("denied by the default rule");
}
