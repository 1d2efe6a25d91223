/* `docker import --change` / `docker commit --change`: a few Dockerfile
 * instructions applied to an image config ("Cmd", "Env", …), as docker's
 * dockerfile.BuildFromConfig does for these. */
#include "daemon/api-images.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Words split at blanks; double or single quotes group and are removed. */
static char **
split_words (const char *s)
{
  char **out = calloc (1, sizeof *out);
  if (out == NULL)
    abort ();
  size_t n = strlen (s);
  _cleanup_free_ char *word = malloc (n + 1);
  if (word == NULL)
    abort ();
  size_t k = 0;
  bool in_word = false;
  char quote = 0;
  for (const char *p = s;; p++)
    {
      char c = *p;
      if (c == '\0' || (!quote && isspace ((unsigned char) c)))
        {
          if (in_word)
            {
              word[k] = '\0';
              strv_append (&out, word);
              k = 0;
              in_word = false;
            }
          if (c == '\0')
            break;
          continue;
        }
      in_word = true;
      if (quote && c == quote)
        quote = 0;
      else if (!quote && (c == '"' || c == '\''))
        quote = c;
      else if (c == '\\' && p[1] && quote != '\'')
        word[k++] = *++p;
      else
        word[k++] = c;
    }
  return out;
}

/* JSON array form (["a","b"]) or NULL when args is not one. */
static json_t *
json_string_array (const char *args)
{
  if (args[0] != '[')
    return NULL;
  json_t *j = json_loads (args, 0, NULL);
  if (!json_is_array (j))
    {
      json_decref (j);
      return NULL;
    }
  size_t i;
  json_t *v;
  json_array_foreach (j, i, v)
    if (!json_is_string (v))
      {
        json_decref (j);
        return NULL;
      }
  return j;
}

static json_t *
command_value (const char *args)
{
  json_t *a = json_string_array (args);
  if (a)
    return a;
  return json_pack ("[s,s,s]", "/bin/sh", "-c", args);
}

static void
env_set (json_t *config, const char *key, const char *value)
{
  json_t *env = json_object_get (config, "Env");
  if (!json_is_array (env))
    {
      env = json_array ();
      json_object_set_new (config, "Env", env);
    }
  _cleanup_free_ char *entry = xasprintf ("%s=%s", key, value);
  size_t klen = strlen (key);
  size_t i;
  json_t *v;
  json_array_foreach (env, i, v)
    {
      const char *s = json_string_value (v);
      if (s && strncmp (s, key, klen) == 0 && s[klen] == '=')
        {
          json_array_set_new (env, i, json_string (entry));
          return;
        }
    }
  json_array_append_new (env, json_string (entry));
}

static json_t *
object_member (json_t *config, const char *key)
{
  json_t *o = json_object_get (config, key);
  if (!json_is_object (o))
    {
      o = json_object ();
      json_object_set_new (config, key, o);
    }
  return o;
}

/* "k=v k2=v2" pairs (ENV, LABEL); the legacy "k v" form when there is no
 * '=' in the first word. */
static int
apply_pairs (json_t *config, const char *instr, const char *args, bool is_env,
             struct berth_error **err)
{
  _cleanup_strv_ char **words = split_words (args);
  if (words[0] == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s requires at least one argument",
                                 instr);
  if (strchr (words[0], '=') == NULL)
    {
      /* ENV key value with spaces */
      const char *rest = args + strspn (args, " \t");
      rest += strcspn (rest, " \t");
      rest += strspn (rest, " \t");
      if (*rest == '\0')
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s %s: missing a value", instr,
                                     words[0]);
      if (is_env)
        env_set (config, words[0], rest);
      else
        json_object_set_new (object_member (config, "Labels"), words[0], json_string (rest));
      return 0;
    }
  for (char **w = words; *w; w++)
    {
      char *eq = strchr (*w, '=');
      if (eq == NULL || eq == *w)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: `%s` is not key=value", instr,
                                     *w);
      *eq = '\0';
      if (is_env)
        env_set (config, *w, eq + 1);
      else
        json_object_set_new (object_member (config, "Labels"), *w, json_string (eq + 1));
    }
  return 0;
}

static int
apply_one (json_t *config, const char *change, struct berth_error **err)
{
  while (isspace ((unsigned char) *change))
    change++;
  size_t n = strcspn (change, " \t");
  _cleanup_free_ char *instr = strndup (change, n);
  for (char *c = instr; *c; c++)
    *c = (char) toupper ((unsigned char) *c);
  const char *args = change + n;
  while (isspace ((unsigned char) *args))
    args++;

  if (strcmp (instr, "CMD") == 0 || strcmp (instr, "ENTRYPOINT") == 0)
    {
      json_object_set_new (config, strcmp (instr, "CMD") == 0 ? "Cmd" : "Entrypoint",
                           command_value (args));
      return 0;
    }
  if (strcmp (instr, "ENV") == 0)
    return apply_pairs (config, "ENV", args, true, err);
  if (strcmp (instr, "LABEL") == 0)
    return apply_pairs (config, "LABEL", args, false, err);
  if (strcmp (instr, "EXPOSE") == 0)
    {
      _cleanup_strv_ char **ports = split_words (args);
      if (ports[0] == NULL)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "EXPOSE requires at least one port");
      json_t *exposed = object_member (config, "ExposedPorts");
      for (char **p = ports; *p; p++)
        {
          char *end;
          long port = strtol (*p, &end, 10);
          if (end == *p || port < 1 || port > 65535
              || (*end && strcmp (end, "/tcp") && strcmp (end, "/udp") && strcmp (end, "/sctp")))
            return berth_error_set_kind (err, BERTH_E_INVALID, 0, "EXPOSE: invalid port `%s`", *p);
          _cleanup_free_ char *key = *end ? xstrdup (*p) : xasprintf ("%ld/tcp", port);
          json_object_set_new (exposed, key, json_object ());
        }
      return 0;
    }
  if (strcmp (instr, "VOLUME") == 0)
    {
      json_t *vols = object_member (config, "Volumes");
      _cleanup_json_ json_t *arr = json_string_array (args);
      _cleanup_strv_ char **words = arr ? NULL : split_words (args);
      size_t count = arr ? json_array_size (arr) : strv_len (words);
      if (count == 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "VOLUME requires at least one path");
      for (size_t i = 0; i < count; i++)
        json_object_set_new (vols, arr ? json_string_value (json_array_get (arr, i)) : words[i],
                             json_object ());
      return 0;
    }
  static const struct
  {
    const char *instr, *key;
  } strings[] = { { "USER", "User" }, { "WORKDIR", "WorkingDir" }, { "STOPSIGNAL", "StopSignal" } };
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
    if (strcmp (instr, strings[i].instr) == 0)
      {
        if (*args == '\0')
          return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s requires an argument", instr);
        json_object_set_new (config, strings[i].key, json_string (args));
        return 0;
      }
  if (strcmp (instr, "ONBUILD") == 0)
    {
      json_t *ob = json_object_get (config, "OnBuild");
      if (!json_is_array (ob))
        {
          ob = json_array ();
          json_object_set_new (config, "OnBuild", ob);
        }
      json_array_append_new (ob, json_string (args));
      return 0;
    }
  return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                               "%s is not a valid change command (CMD, ENTRYPOINT, ENV, EXPOSE, "
                               "LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)",
                               *instr ? instr : "an empty line");
}

int
image_changes_apply (json_t *config, char *const *changes, struct berth_error **err)
{
  for (char *const *c = changes; c && *c; c++)
    {
      /* the CLI may send several instructions in one value, one per line */
      _cleanup_strv_ char **lines = strv_split (*c, '\n');
      for (char **l = lines; *l; l++)
        {
          const char *p = *l;
          while (isspace ((unsigned char) *p))
            p++;
          if (*p == '\0')
            continue;
          if (apply_one (config, p, err) < 0)
            return berth_error_prefix (err, "invalid change `%s`", p);
        }
    }
  return 0;
}
