/* The config-only instructions (ENV LABEL ARG EXPOSE VOLUME USER CMD
 * ENTRYPOINT SHELL STOPSIGNAL HEALTHCHECK ONBUILD MAINTAINER): the stage's
 * config changes and an empty_layer image is committed with docker's
 * "#(nop)" created_by string (Go's %q / %v formatting where docker uses it). */
#include "build/build-internal.h"
#include "runtime/runtime.h"

#include <ctype.h>
#include <string.h>

static int
strcmp_ptr (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Go's %q of a string. */
static void
go_quote (char **acc, const char *s)
{
  size_t n = strlen (*acc);
  size_t cap = n + strlen (s) * 4 + 3;
  *acc = realloc (*acc, cap);
  if (*acc == NULL)
    abort ();
  char *o = *acc + n;
  *o++ = '"';
  for (; *s; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '"' || c == '\\')
        {
          *o++ = '\\';
          *o++ = (char) c;
        }
      else if (c == '\n')
        {
          *o++ = '\\';
          *o++ = 'n';
        }
      else if (c == '\t')
        {
          *o++ = '\\';
          *o++ = 't';
        }
      else if (c < 0x20)
        o += sprintf (o, "\\x%02x", c);
      else
        *o++ = (char) c;
    }
  *o++ = '"';
  *o = '\0';
}

/* Go's %q of a []string: ["a" "b"]. */
static char *
go_quote_list (json_t *arr)
{
  char *s = xstrdup ("[");
  size_t i;
  json_t *v;
  json_array_foreach (arr, i, v)
    {
      if (i)
        {
          char *n = xasprintf ("%s ", s);
          free (s);
          s = n;
        }
      go_quote (&s, json_string_value (v) ? json_string_value (v) : "");
    }
  char *n = xasprintf ("%s]", s);
  free (s);
  return n;
}

/* Go's %v of a []string: [a b]. */
static char *
go_list (json_t *arr)
{
  _cleanup_strv_ char **v = calloc (1, sizeof (char *));
  size_t i;
  json_t *e;
  json_array_foreach (arr, i, e)
    strv_append (&v, json_string_value (e));
  _cleanup_free_ char *j = strv_join (v, " ");
  return xasprintf ("[%s]", j);
}

static int
commit_nop (struct builder *b, struct build_stage *st, const char *what, bool one_word,
            struct berth_error **err)
{
  _cleanup_json_ json_t *cmd = step_shell (st);
  if (one_word)
    json_array_append_new (cmd, json_sprintf ("#(nop) %s", what));
  else
    {
      json_array_append_new (cmd, json_string ("#(nop) "));
      json_array_append_new (cmd, json_string (what));
    }
  _cleanup_free_ char *created_by = step_json_join (cmd, " ");
  _cleanup_free_ char *key = build_cache_key (st->image_id, created_by, NULL, NULL);
  /* the config itself is part of the key: ONBUILD/ENV values are in
   * created_by, but a trigger run may change more */
  _cleanup_free_ char *cfgtext = json_dumps (stage_config (st), JSON_COMPACT | JSON_SORT_KEYS);
  _cleanup_free_ char *key2 = build_cache_key (key, cfgtext, NULL, NULL);
  if (builder_cache_try (b, st, key2, created_by))
    goto done;
  if (builder_commit (b, st, created_by, NULL, cmd, err) < 0)
    return -1;
  builder_cache_put (b, key2, st->image_id);
done:
  builder_emit (b, " ---> %.12s\n", st->image_id ? st->image_id + 7 : "");
  return 0;
}

static void
env_set (json_t *cfg, const char *k, const char *v)
{
  json_t *env = json_object_get (cfg, "Env");
  if (!json_is_array (env))
    {
      env = json_array ();
      json_object_set_new (cfg, "Env", env);
    }
  size_t n = strlen (k);
  size_t i;
  json_t *e;
  _cleanup_free_ char *kv = xasprintf ("%s=%s", k, v);
  json_array_foreach (env, i, e)
    {
      const char *s = json_string_value (e);
      if (s && strncmp (s, k, n) == 0 && s[n] == '=')
        {
          json_array_set_new (env, i, json_string (kv));
          return;
        }
    }
  json_array_append_new (env, json_string (kv));
}

/* ------------------------------------------------------ config steps -- */

int
step_env_label (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
                struct berth_error **err)
{
  json_t *cfg = stage_config (st);
  bool is_env = inst->kind == DF_ENV;
  /* every value is expanded with the variables from before the
   * instruction (ENV a=1 b=$a sees the old a) */
  _cleanup_strv_ char **kv = calloc (1, sizeof (char *));
  for (char **p = inst->args; p[0] && p[1]; p += 2)
    {
      _cleanup_free_ char *k = NULL, *v = NULL;
      if (step_expand (b, st, p[0], &k, err) < 0 || step_expand (b, st, p[1], &v, err) < 0)
        return -1;
      if (k[0] == '\0')
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s names can not be blank", inst->name);
      strv_append (&kv, k);
      strv_append (&kv, v);
    }
  _cleanup_free_ char *what = xstrdup (inst->name);
  for (char **p = kv; p[0] && p[1]; p += 2)
    {
      if (is_env)
        env_set (cfg, p[0], p[1]);
      else
        {
          json_t *labels = json_object_get (cfg, "Labels");
          if (!json_is_object (labels))
            {
              labels = json_object ();
              json_object_set_new (cfg, "Labels", labels);
            }
          json_object_set_new (labels, p[0], json_string (p[1]));
        }
      char *n = is_env ? xasprintf ("%s %s=%s", what, p[0], p[1])
                       : xasprintf ("%s %s=%s", what, p[0], p[1]);
      free (what);
      what = n;
    }
  return commit_nop (b, st, what, false, err);
}

static int
parse_port (const char *spec, json_t *ports, struct berth_error **err)
{
  _cleanup_free_ char *s = xstrdup (spec);
  char *proto = strchr (s, '/');
  if (proto)
    *proto++ = '\0';
  if (proto == NULL || *proto == '\0')
    proto = (char *) "tcp";
  else
    for (char *p = proto; *p; p++)
      *p = (char) tolower ((unsigned char) *p);
  if (strcmp (proto, "tcp") && strcmp (proto, "udp") && strcmp (proto, "sctp"))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid proto: %s", proto);
  char *dash = strchr (s, '-');
  char *end = NULL;
  unsigned long lo = strtoul (s, &end, 10);
  if (end == s || (end && *end && *end != '-') || lo > 65535)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid containerPort: %s", s);
  unsigned long hi = lo;
  if (dash)
    {
      hi = strtoul (dash + 1, &end, 10);
      if (end == dash + 1 || *end || hi > 65535 || hi < lo)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid containerPort: %s", s);
    }
  for (unsigned long p = lo; p <= hi; p++)
    {
      _cleanup_free_ char *k = xasprintf ("%lu/%s", p, proto);
      json_object_set_new (ports, k, json_object ());
    }
  return 0;
}

static int
parse_duration_ns (const char *s, int64_t *out)
{
  /* Go's time.ParseDuration for the units docker users write */
  double total = 0;
  const char *p = s;
  if (*p == '\0')
    return -1;
  while (*p)
    {
      char *end;
      double v = strtod (p, &end);
      if (end == p)
        return -1;
      p = end;
      double mult;
      if (strncmp (p, "ns", 2) == 0)
        mult = 1, p += 2;
      else if (strncmp (p, "us", 2) == 0 || strncmp (p, "µs", 3) == 0)
        mult = 1e3, p += p[0] == 'u' ? 2 : 3;
      else if (strncmp (p, "ms", 2) == 0)
        mult = 1e6, p += 2;
      else if (*p == 's')
        mult = 1e9, p++;
      else if (*p == 'm')
        mult = 60e9, p++;
      else if (*p == 'h')
        mult = 3600e9, p++;
      else if (v == 0 && *p == '\0')
        mult = 0;
      else
        return -1;
      total += v * mult;
    }
  *out = (int64_t) total;
  return 0;
}

static char *
go_duration (int64_t ns)
{
  if (ns == 0)
    return xstrdup ("0s");
  if (ns % 1000000000 == 0)
    {
      int64_t sec = ns / 1000000000;
      if (sec >= 3600)
        return xasprintf ("%lldh%lldm%llds", (long long) (sec / 3600), (long long) (sec % 3600 / 60), (long long) (sec % 60));
      if (sec >= 60)
        return xasprintf ("%lldm%llds", (long long) (sec / 60), (long long) (sec % 60));
      return xasprintf ("%llds", (long long) sec);
    }
  if (ns % 1000000 == 0)
    return xasprintf ("%lldms", (long long) (ns / 1000000));
  return xasprintf ("%lldns", (long long) ns);
}

int
step_healthcheck (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
                  struct berth_error **err)
{
  json_t *cfg = stage_config (st);
  json_t *hc = json_object ();
  json_t *test = json_array ();
  json_object_set_new (hc, "Test", test);
  if (strcmp (inst->args[0], "NONE") == 0)
    json_array_append_new (test, json_string ("NONE"));
  else if (inst->is_json)
    {
      json_array_append_new (test, json_string ("CMD"));
      for (char **a = inst->args + 1; *a; a++)
        json_array_append_new (test, json_string (*a));
    }
  else
    {
      json_array_append_new (test, json_string ("CMD-SHELL"));
      json_array_append_new (test, json_string (inst->args[1]));
    }
  static const struct
  {
    const char *flag, *field;
  } durations[] = { { "interval", "Interval" }, { "timeout", "Timeout" }, { "start-period", "StartPeriod" },
                    { "start-interval", "StartInterval" } };
  int64_t vals[4] = { 0 };
  for (size_t i = 0; i < 4; i++)
    {
      const char *v = df_instruction_flag (inst, durations[i].flag, NULL);
      if (v == NULL)
        continue;
      if (parse_duration_ns (v, &vals[i]) < 0)
        {
          json_decref (hc);
          return berth_error_set_kind (err, BERTH_E_INVALID, 0, "time: invalid duration \"%s\"", v);
        }
      if (vals[i] != 0 && vals[i] < 1000000)
        {
          json_decref (hc);
          return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s cannot be less than 1ms", durations[i].flag);
        }
      if (vals[i])
        json_object_set_new (hc, durations[i].field, json_integer (vals[i]));
    }
  long retries = 0;
  const char *rv = df_instruction_flag (inst, "retries", NULL);
  if (rv)
    {
      char *end;
      retries = strtol (rv, &end, 10);
      if (*end || end == rv || retries < 0)
        {
          json_decref (hc);
          return berth_error_set_kind (err, BERTH_E_INVALID, 0, "--retries cannot be negative (%s)", rv);
        }
      if (retries)
        json_object_set_new (hc, "Retries", json_integer (retries));
    }
  json_object_set_new (cfg, "Healthcheck", hc);
  /* docker: fmt.Sprintf("HEALTHCHECK %q", runConfig.Healthcheck) */
  _cleanup_free_ char *tq = go_quote_list (test);
  _cleanup_free_ char *d0 = go_duration (vals[0]), *d1 = go_duration (vals[1]), *d2 = go_duration (vals[2]);
  _cleanup_free_ char *what = xasprintf ("HEALTHCHECK &{%s \"%s\" \"%s\" \"%s\" '\\x%02lx'}", tq, d0, d1, d2, retries);
  return commit_nop (b, st, what, false, err);
}

int
step_arg (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
          struct berth_error **err)
{
  _cleanup_free_ char *what = xstrdup ("ARG");
  for (char **w = inst->args; *w; w++)
    {
      _cleanup_free_ char *word = NULL;
      if (step_expand (b, st, *w, &word, err) < 0)
        return -1;
      char *eq = strchr (word, '=');
      if (eq)
        *eq = '\0';
      json_t *given = json_object_get (b->o->build_args, word);
      char *value = NULL;
      if (json_is_string (given))
        value = xstrdup (json_string_value (given));
      else if (eq)
        value = xstrdup (eq + 1);
      else
        {
          /* ARG NAME in a stage takes the global ARG's value */
          for (size_t i = b->n_meta; i-- > 0;)
            if (strcmp (b->meta[i].name, word) == 0)
              {
                value = b->meta[i].value ? xstrdup (b->meta[i].value) : NULL;
                break;
              }
        }
      st->args = realloc (st->args, (st->n_args + 1) * sizeof *st->args);
      if (st->args == NULL)
        abort ();
      st->args[st->n_args].name = xstrdup (word);
      st->args[st->n_args].value = value;
      st->n_args++;
      builder_consume (b, word);
      char *n = eq ? xasprintf ("%s %s=%s", what, word, eq + 1) : xasprintf ("%s %s", what, word);
      free (what);
      what = n;
    }
  return commit_nop (b, st, what, false, err);
}

int
step_simple (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
             struct berth_error **err)
{
  json_t *cfg = stage_config (st);
  _cleanup_free_ char *v = NULL;
  switch (inst->kind)
    {
    case DF_USER:
      if (step_expand (b, st, inst->args[0], &v, err) < 0)
        return -1;
      json_object_set_new (cfg, "User", json_string (v));
      {
        _cleanup_free_ char *what = xasprintf ("USER %s", v);
        return commit_nop (b, st, what, false, err);
      }
    case DF_STOPSIGNAL:
      {
        if (step_expand (b, st, inst->args[0], &v, err) < 0)
          return -1;
        int signo;
        if (runtime_signal_parse (v, &signo) < 0)
          return berth_error_set_kind (err, BERTH_E_INVALID, 0, "Invalid signal: %s", v);
        json_object_set_new (cfg, "StopSignal", json_string (v));
        _cleanup_free_ char *what = xasprintf ("STOPSIGNAL %s", v);
        return commit_nop (b, st, what, false, err);
      }
    case DF_MAINTAINER:
      json_object_set_new (st->img, "author", json_string (inst->args[0]));
      {
        _cleanup_free_ char *what = xasprintf ("MAINTAINER %s", inst->args[0]);
        return commit_nop (b, st, what, false, err);
      }
    case DF_EXPOSE:
      {
        _cleanup_strv_ char **words = calloc (1, sizeof (char *));
        for (char **a = inst->args; *a; a++)
          {
            _cleanup_free_ char *w = NULL;
            if (step_expand (b, st, *a, &w, err) < 0)
              return -1;
            strv_append (&words, w);
          }
        json_t *ports = json_object_get (cfg, "ExposedPorts");
        if (!json_is_object (ports))
          {
            ports = json_object ();
            json_object_set_new (cfg, "ExposedPorts", ports);
          }
        for (char **w = words; *w; w++)
          if (parse_port (*w, ports, err) < 0)
            return -1;
        /* docker's commit string lists the ports sorted */
        qsort (words, strv_len (words), sizeof (char *), strcmp_ptr);
        _cleanup_free_ char *j = strv_join (words, " ");
        _cleanup_free_ char *what = xasprintf ("EXPOSE %s", j);
        return commit_nop (b, st, what, false, err);
      }
    case DF_VOLUME:
      {
        json_t *vols = json_object_get (cfg, "Volumes");
        if (!json_is_object (vols))
          {
            vols = json_object ();
            json_object_set_new (cfg, "Volumes", vols);
          }
        _cleanup_json_ json_t *list = json_array ();
        for (char **a = inst->args; *a; a++)
          {
            _cleanup_free_ char *w = NULL;
            if (step_expand (b, st, *a, &w, err) < 0)
              return -1;
            if (w[0] == '\0')
              return berth_error_set_kind (err, BERTH_E_INVALID, 0, "VOLUME specified can not be an empty string");
            json_object_set_new (vols, w, json_object ());
            json_array_append_new (list, json_string (w));
          }
        _cleanup_free_ char *l = go_list (list);
        _cleanup_free_ char *what = xasprintf ("VOLUME %s", l);
        return commit_nop (b, st, what, false, err);
      }
    case DF_CMD:
    case DF_ENTRYPOINT:
      {
        json_t *cmd;
        if (inst->is_json)
          cmd = step_strv_json (inst->args);
        else
          {
            cmd = step_shell (st);
            json_array_append_new (cmd, json_string (inst->args[0]));
          }
        bool is_cmd = inst->kind == DF_CMD;
        json_object_set_new (cfg, is_cmd ? "Cmd" : "Entrypoint", cmd);
        if (is_cmd)
          st->cmd_set = true;
        else if (!st->cmd_set)
          json_object_set_new (cfg, "Cmd", json_null ()); /* docker: ENTRYPOINT resets an inherited CMD */
        _cleanup_free_ char *q = go_quote_list (cmd);
        _cleanup_free_ char *what = xasprintf ("%s %s", inst->name, q);
        return commit_nop (b, st, what, false, err);
      }
    case DF_SHELL:
      {
        json_t *sh = step_strv_json (inst->args);
        json_object_set_new (cfg, "Shell", sh);
        _cleanup_free_ char *l = go_list (sh);
        _cleanup_free_ char *what = xasprintf ("SHELL %s", l);
        return commit_nop (b, st, what, false, err);
      }
    case DF_ONBUILD:
      {
        json_t *ob = json_object_get (cfg, "OnBuild");
        if (!json_is_array (ob))
          {
            ob = json_array ();
            json_object_set_new (cfg, "OnBuild", ob);
          }
        json_array_append_new (ob, json_string (inst->args[0]));
        _cleanup_free_ char *what = xasprintf ("ONBUILD %s", inst->args[0]);
        return commit_nop (b, st, what, false, err);
      }
    default:
      return berth_error_set_kind (err, BERTH_E_INTERNAL, 0, "%s: not a config instruction", inst->name);
    }
}
