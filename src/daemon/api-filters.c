/* docker's `filters` query argument: a JSON object of key → {value: true}
 * (or the older key → [values]), validated against the keys an endpoint
 * knows, and the matching rules clients rely on (labels, booleans). */
#include "daemon/api-internal.h"

#include <stdlib.h>
#include <string.h>

struct api_filter_key
{
  char *key;
  char **values;
};

struct api_filters
{
  struct api_filter_key *keys;
  size_t n_keys;
};

static char *const empty_values[] = { NULL };

void
api_filters_free (struct api_filters *f)
{
  if (f == NULL)
    return;
  for (size_t i = 0; i < f->n_keys; i++)
    {
      free (f->keys[i].key);
      strv_freep (&f->keys[i].values);
    }
  free (f->keys);
  free (f);
}

static struct api_filter_key *
filters_key (const struct api_filters *f, const char *key)
{
  for (size_t i = 0; i < f->n_keys; i++)
    if (strcmp (f->keys[i].key, key) == 0)
      return &f->keys[i];
  return NULL;
}

static struct api_filter_key *
filters_key_add (struct api_filters *f, const char *key)
{
  struct api_filter_key *k = filters_key (f, key);
  if (k)
    return k;
  struct api_filter_key *keys = realloc (f->keys, (f->n_keys + 1) * sizeof *keys);
  if (keys == NULL)
    abort ();
  f->keys = keys;
  k = &f->keys[f->n_keys++];
  k->key = xstrdup (key);
  k->values = calloc (1, sizeof *k->values);
  if (k->values == NULL)
    abort ();
  return k;
}

int
api_filters_parse (const char *json_text, const char *const *allowed, struct api_filters **out,
                   struct berth_error **err)
{
  struct api_filters *f = calloc (1, sizeof *f);
  if (f == NULL)
    abort ();
  _cleanup_ (api_filters_freep) struct api_filters *guard = f;
  if (json_text && *json_text)
    {
      json_error_t jerr;
      _cleanup_json_ json_t *j = json_loads (json_text, 0, &jerr);
      if (j == NULL)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "invalid filters: %s (line %d, column %d)", jerr.text,
                                     jerr.line, jerr.column);
      if (!json_is_object (j))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "invalid filters: expected a JSON object");
      const char *key;
      json_t *v;
      json_object_foreach (j, key, v)
        {
          if (allowed && !strv_contains ((char *const *) allowed, key))
            return berth_error_set_kind (err, BERTH_E_INVALID, 0, "Invalid filter '%s'", key);
          struct api_filter_key *k = filters_key_add (f, key);
          if (json_is_object (v))
            {
              const char *value;
              json_t *flag;
              json_object_foreach (v, value, flag)
                {
                  if (!json_is_boolean (flag))
                    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                                 "invalid filters: %s.%s: expected true", key,
                                                 value);
                  if (json_is_true (flag))
                    strv_append (&k->values, value);
                }
            }
          else if (json_is_array (v))
            {
              size_t i;
              json_t *item;
              json_array_foreach (v, i, item)
                {
                  if (!json_is_string (item))
                    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                                 "invalid filters: %s[%zu]: expected a string",
                                                 key, i);
                  strv_append (&k->values, json_string_value (item));
                }
            }
          else
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "invalid filters: %s: expected an object or an array",
                                         key);
        }
    }
  *out = steal_pointer (&guard);
  return 0;
}

bool
api_filters_has (const struct api_filters *f, const char *key)
{
  const struct api_filter_key *k = f ? filters_key (f, key) : NULL;
  return k != NULL && k->values[0] != NULL;
}

char *const *
api_filters_values (const struct api_filters *f, const char *key)
{
  const struct api_filter_key *k = f ? filters_key (f, key) : NULL;
  return k ? k->values : empty_values;
}

bool
api_filters_match (const struct api_filters *f, const char *key, const char *value)
{
  if (!api_filters_has (f, key))
    return true;
  return value != NULL && strv_contains (api_filters_values (f, key), value);
}

/* One label condition: "k" (present) or "k=v" (present with that value). */
static bool
label_present (const char *cond, const json_t *labels)
{
  const char *eq = strchr (cond, '=');
  if (eq == NULL)
    return labels && json_object_get (labels, cond) != NULL;
  _cleanup_free_ char *k = strndup (cond, (size_t) (eq - cond));
  json_t *v = labels ? json_object_get (labels, k) : NULL;
  return json_is_string (v) && strcmp (json_string_value (v), eq + 1) == 0;
}

bool
api_filters_match_labels (const struct api_filters *f, const char *key, const json_t *labels)
{
  bool negate = str_has_suffix (key, "!");
  for (char *const *c = api_filters_values (f, key); *c; c++)
    {
      bool present = label_present (*c, labels);
      if (negate ? present : !present)
        return false;
    }
  return true;
}

int
api_filters_bool (const struct api_filters *f, const char *key, struct berth_error **err)
{
  char *const *v = api_filters_values (f, key);
  if (v[0] == NULL)
    return -1;
  int result = -1;
  for (; *v; v++)
    {
      int b;
      if (strcasecmp (*v, "true") == 0 || strcmp (*v, "1") == 0)
        b = 1;
      else if (strcasecmp (*v, "false") == 0 || strcmp (*v, "0") == 0)
        b = 0;
      else
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "Invalid filter '%s=[%s]'", key, *v);
          return -2;
        }
      if (result >= 0 && result != b)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0, "conflicting filters for '%s'", key);
          return -2;
        }
      result = b;
    }
  return result;
}
