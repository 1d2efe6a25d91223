/* One Dockerfile instruction of a stage, as docker's classic builder
 * dispatches it: RUN in a container over a snapshot, COPY/ADD into a
 * snapshot, WORKDIR creating its directory, and the config-only
 * instructions committed as empty_layer history entries with docker's
 * "#(nop)" created_by strings. Each step consults the cache first. */
#include "build/build-internal.h"
#include "runtime/runtime.h"

#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ helpers -- */

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

static json_t *
strv_to_json (char *const *v)
{
  json_t *a = json_array ();
  for (; v && *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

static json_t *
stage_shell (struct build_stage *st)
{
  json_t *sh = json_object_get (stage_config (st), "Shell");
  if (json_is_array (sh) && json_array_size (sh) > 0)
    return json_deep_copy (sh);
  return json_pack ("[s,s]", "/bin/sh", "-c");
}

static char *
json_join (json_t *arr, const char *sep)
{
  _cleanup_strv_ char **v = calloc (1, sizeof (char *));
  size_t i;
  json_t *e;
  json_array_foreach (arr, i, e)
    strv_append (&v, json_string_value (e));
  return strv_join (v, sep);
}

/* A config-only step: cache, else commit with "#(nop) " + what (docker's
 * withCmdComment: two separate Cmd words, hence two spaces in created_by). */
static int
commit_nop (struct builder *b, struct build_stage *st, const char *what, bool one_word,
            struct berth_error **err)
{
  _cleanup_json_ json_t *cmd = stage_shell (st);
  if (one_word)
    json_array_append_new (cmd, json_sprintf ("#(nop) %s", what));
  else
    {
      json_array_append_new (cmd, json_string ("#(nop) "));
      json_array_append_new (cmd, json_string (what));
    }
  _cleanup_free_ char *created_by = json_join (cmd, " ");
  _cleanup_free_ char *key = build_cache_key (st->image_id, created_by, NULL, NULL);
  /* the config itself is part of the key: ONBUILD/ENV values are in
   * created_by, but a trigger run may change more */
  _cleanup_free_ char *cfgtext = json_dumps (stage_config (st), JSON_COMPACT | JSON_SORT_KEYS);
  _cleanup_free_ char *key2 = build_cache_key (key, cfgtext, NULL, NULL);
  if (builder_cache_try (b, st, key2))
    goto done;
  if (builder_commit (b, st, created_by, NULL, cmd, err) < 0)
    return -1;
  builder_cache_put (b, key2, st->image_id);
done:
  builder_emit (b, " ---> %.12s\n", st->image_id ? st->image_id + 7 : "");
  return 0;
}

static int
expand (struct builder *b, struct build_stage *st, const char *w, char **out, struct berth_error **err)
{
  return df_word_expand (w, b->df->escape, stage_lookup, st, out, err);
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

static int
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
      if (expand (b, st, p[0], &k, err) < 0 || expand (b, st, p[1], &v, err) < 0)
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

static int
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

static int
step_arg (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
          struct berth_error **err)
{
  _cleanup_free_ char *what = xstrdup ("ARG");
  for (char **w = inst->args; *w; w++)
    {
      _cleanup_free_ char *word = NULL;
      if (expand (b, st, *w, &word, err) < 0)
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
      if (!strv_contains (b->consumed, word))
        strv_append (&b->consumed, word);
      char *n = eq ? xasprintf ("%s %s=%s", what, word, eq + 1) : xasprintf ("%s %s", what, word);
      free (what);
      what = n;
    }
  return commit_nop (b, st, what, false, err);
}

static int
step_simple (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
             struct berth_error **err)
{
  json_t *cfg = stage_config (st);
  _cleanup_free_ char *v = NULL;
  switch (inst->kind)
    {
    case DF_USER:
      if (expand (b, st, inst->args[0], &v, err) < 0)
        return -1;
      json_object_set_new (cfg, "User", json_string (v));
      {
        _cleanup_free_ char *what = xasprintf ("USER %s", v);
        return commit_nop (b, st, what, false, err);
      }
    case DF_STOPSIGNAL:
      {
        if (expand (b, st, inst->args[0], &v, err) < 0)
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
            if (expand (b, st, *a, &w, err) < 0)
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
            if (expand (b, st, *a, &w, err) < 0)
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
          cmd = strv_to_json (inst->args);
        else
          {
            cmd = stage_shell (st);
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
        json_t *sh = strv_to_json (inst->args);
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

/* --------------------------------------------------------------- paths -- */

/* path.Join(base, p) when p is relative, then cleaned. */
static char *
path_join_clean (const char *base, const char *p)
{
  _cleanup_free_ char *joined = p[0] == '/' ? xstrdup (p) : xasprintf ("%s/%s", base && base[0] ? base : "/", p);
  _cleanup_strv_ char **parts = strv_split (joined, '/');
  _cleanup_strv_ char **out = calloc (1, sizeof (char *));
  for (char **s = parts; *s; s++)
    {
      if ((*s)[0] == '\0' || strcmp (*s, ".") == 0)
        continue;
      if (strcmp (*s, "..") == 0)
        {
          size_t n = strv_len (out);
          if (n)
            {
              free (out[n - 1]);
              out[n - 1] = NULL;
            }
          continue;
        }
      strv_append (&out, *s);
    }
  _cleanup_free_ char *j = strv_join (out, "/");
  return xasprintf ("/%s", j);
}

static int
step_workdir (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
              struct berth_error **err)
{
  _cleanup_free_ char *v = NULL;
  if (expand (b, st, inst->args[0], &v, err) < 0)
    return -1;
  json_t *cfg = stage_config (st);
  const char *cur = json_string_value (json_object_get (cfg, "WorkingDir"));
  _cleanup_free_ char *dir = path_join_clean (cur, v);
  json_object_set_new (cfg, "WorkingDir", json_string (dir));
  /* docker's classic builder creates the directory in a container and
   * commits it as a layer (WORKDIR is not an empty_layer step) */
  _cleanup_json_ json_t *cmd = stage_shell (st);
  json_array_append_new (cmd, json_sprintf ("#(nop) WORKDIR %s", dir));
  _cleanup_free_ char *created_by = json_join (cmd, " ");
  _cleanup_free_ char *cfgtext = json_dumps (cfg, JSON_COMPACT | JSON_SORT_KEYS);
  _cleanup_free_ char *key = build_cache_key (st->image_id, created_by, NULL, cfgtext);
  if (builder_cache_try (b, st, key))
    goto done;
  {
    _cleanup_free_ char *sid = NULL, *diff = NULL;
    _cleanup_close_ int rootfd = -1;
    if (builder_snapshot_open (b, st, &sid, NULL, &rootfd, err) < 0)
      return -1;
    _cleanup_close_ int d = fs_mkdir_p_in_root (rootfd, dir, 0755, err);
    int r = d < 0 ? -1 : builder_snapshot_commit (b, sid, &diff, err);
    builder_snapshot_drop (b, sid);
    if (r < 0 || builder_commit (b, st, created_by, diff, cmd, err) < 0)
      return -1;
    builder_cache_put (b, key, st->image_id);
  }
done:
  builder_emit (b, " ---> %.12s\n", st->image_id + 7);
  return 0;
}

/* ----------------------------------------------------------------- RUN -- */

static int
step_run (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
          struct berth_error **err)
{
  json_t *cfg = stage_config (st);
  _cleanup_json_ json_t *cmd = NULL;
  if (inst->is_json)
    cmd = strv_to_json (inst->args);
  else
    {
      cmd = stage_shell (st);
      const char *line = inst->args[0];
      _cleanup_free_ char *script = NULL;
      if (inst->n_heredocs == 1 && strncmp (line, "<<", 2) == 0 && strchr (line, ' ') == NULL)
        script = xstrdup (inst->heredocs[0].content); /* RUN <<EOF: the body is the script */
      else if (inst->n_heredocs > 0)
        {
          /* RUN cmd <<EOF: hand the shell its own heredocs */
          script = xasprintf ("%s\n", line);
          for (size_t i = 0; i < inst->n_heredocs; i++)
            {
              char *n = xasprintf ("%s%s%s\n", script, inst->heredocs[i].content, inst->heredocs[i].name);
              free (script);
              script = n;
            }
        }
      json_array_append_new (cmd, json_string (script ? script : line));
    }
  _cleanup_strv_ char **args = stage_run_args (b, st);
  /* docker's created_by: "|N K=V … " before the command when build args apply */
  _cleanup_json_ json_t *full = json_array ();
  if (args[0])
    {
      json_array_append_new (full, json_sprintf ("|%zu", strv_len (args)));
      for (char **a = args; *a; a++)
        json_array_append_new (full, json_string (*a));
    }
  json_array_extend (full, cmd);
  _cleanup_free_ char *created_by = json_join (full, " ");
  _cleanup_free_ char *cmdline = json_join (cmd, " ");
  const char *net = df_instruction_flag (inst, "network", NULL);
  if (net == NULL)
    net = b->o->network_mode;
  if (net && strcmp (net, "none") && strcmp (net, "host") && strcmp (net, "default") && strcmp (net, "bridge") && net[0])
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "RUN --network=%s: only default, host and none are supported", net);
  _cleanup_strv_ char **mounts = calloc (1, sizeof (char *));
  for (size_t i = 0; i < inst->n_flags; i++)
    if (strcmp (inst->flags[i].name, "mount") == 0 && inst->flags[i].value)
      strv_append (&mounts, inst->flags[i].value);
  _cleanup_free_ char *mounts_text = strv_join (mounts, "\n");
  _cleanup_free_ char *extra = xasprintf ("net=%s\nmounts=%s", net ? net : "", mounts_text);
  _cleanup_free_ char *key = build_cache_key (st->image_id, created_by, args, extra);
  if (builder_cache_try (b, st, key))
    goto done;
  {
    _cleanup_free_ char *sid = NULL, *path = NULL, *diff = NULL;
    _cleanup_close_ int rootfd = -1;
    if (builder_snapshot_open (b, st, &sid, &path, &rootfd, err) < 0)
      return -1;
    builder_emit (b, " ---> Running in %.12s\n", sid + 6);
    /* the process sees ENV plus the build args (ENV wins) */
    _cleanup_strv_ char **env = calloc (1, sizeof (char *));
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get (cfg, "Env"), i, e)
      strv_append (&env, json_string_value (e));
    for (char **a = args; *a; a++)
      strv_append (&env, *a);
    _cleanup_strv_ char **argv = calloc (1, sizeof (char *));
    json_array_foreach (cmd, i, e)
      strv_append (&argv, json_string_value (e));
    _cleanup_free_ char *cache_root = xasprintf ("%s/build/mounts", image_store_root (b->store));
    struct run_request rq = {
      .store = b->store,
      .snapshot_id = sid,
      .rootfs = path,
      .args = argv,
      .env = env,
      .cwd = json_string_value (json_object_get (cfg, "WorkingDir")),
      .user = json_string_value (json_object_get (cfg, "User")),
      .network = net,
      .runtime_path = b->o->runtime_path,
      .run_root = b->o->run_root,
      .cancelled = b->o->cancelled,
      .progress = b->o->progress,
      .progress_data = b->o->progress_data,
      .quiet = b->o->quiet,
      .mounts = mounts,
      .context_fd = b->ctxfd,
      .context_path = b->ctx_path,
      .cache_root = cache_root,
    };
    int code = 0;
    int r = run_container (&rq, &code, err);
    if (r == 0 && code != 0)
      {
        if (b->o->run_exit_code)
          *b->o->run_exit_code = code;
        r = berth_error_set_kind (err, BERTH_E_INVALID, 0, "The command '%s' returned a non-zero code: %d", cmdline, code);
      }
    if (r == 0)
      r = builder_snapshot_commit (b, sid, &diff, err);
    builder_snapshot_drop (b, sid);
    if (r < 0)
      return -1;
    builder_emit (b, "Removing intermediate container %.12s\n", sid + 6);
    if (builder_commit (b, st, created_by, diff, full, err) < 0)
      return -1;
    builder_cache_put (b, key, st->image_id);
  }
done:
  builder_emit (b, " ---> %.12s\n", st->image_id + 7);
  return 0;
}

/* ------------------------------------------------------------ COPY/ADD -- */

static int
step_copy (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
           struct berth_error **err)
{
  bool is_add = inst->kind == DF_ADD;
  _cleanup_strv_ char **words = calloc (1, sizeof (char *));
  _cleanup_strv_ char **inline_names = calloc (1, sizeof (char *));
  _cleanup_strv_ char **inline_contents = calloc (1, sizeof (char *));
  size_t n_args = strv_len (inst->args);
  for (size_t i = 0; i < n_args; i++)
    {
      const char *a = inst->args[i];
      /* a heredoc source "<<EOF" is a file named EOF with the body */
      if (i + 1 < n_args && !inst->is_json && strncmp (a, "<<", 2) == 0)
        {
          const char *nm = a + 2;
          if (*nm == '-')
            nm++;
          for (size_t h = 0; h < inst->n_heredocs; h++)
            {
              size_t nl = strlen (inst->heredocs[h].name);
              const char *q = nm;
              if (*q == '\'' || *q == '"')
                q++;
              if (strncmp (q, inst->heredocs[h].name, nl) == 0)
                {
                  _cleanup_free_ char *content = NULL;
                  if (inst->heredocs[h].expand)
                    {
                      if (expand (b, st, inst->heredocs[h].content, &content, err) < 0)
                        return -1;
                    }
                  else
                    content = xstrdup (inst->heredocs[h].content);
                  strv_append (&inline_names, inst->heredocs[h].name);
                  strv_append (&inline_contents, content);
                  strv_append (&words, inst->heredocs[h].name);
                  break;
                }
            }
          continue;
        }
      _cleanup_free_ char *w = NULL;
      if (expand (b, st, a, &w, err) < 0)
        return -1;
      strv_append (&words, w);
    }
  size_t n = strv_len (words);
  if (n < 2)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s requires at least two arguments", inst->name);
  _cleanup_free_ char *dest_raw = xstrdup (words[n - 1]);
  json_t *cfg = stage_config (st);
  const char *wd = json_string_value (json_object_get (cfg, "WorkingDir"));
  _cleanup_free_ char *dest = path_join_clean (wd, dest_raw);
  size_t dl = strlen (dest_raw);
  bool dest_is_dir = (dl > 0 && dest_raw[dl - 1] == '/') || strcmp (dest_raw, ".") == 0
                     || (dl >= 2 && strcmp (dest_raw + dl - 2, "/.") == 0);
  free (words[n - 1]);
  words[n - 1] = NULL;

  const char *from = df_instruction_flag (inst, "from", NULL);
  const char *chown = df_instruction_flag (inst, "chown", NULL);
  const char *chmod = df_instruction_flag (inst, "chmod", NULL);
  _cleanup_free_ char *from_x = NULL, *chown_x = NULL;
  if (from && expand (b, st, from, &from_x, err) < 0)
    return -1;
  if (chown && expand (b, st, chown, &chown_x, err) < 0)
    return -1;
  if (is_add && from)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "ADD does not support the --from flag");
  struct copy_request req = {
    .sources = words,
    .dest = dest,
    .dest_is_dir = dest_is_dir,
    .is_add = is_add,
    .inline_names = inline_names,
    .inline_contents = inline_contents,
    .what = inst->name,
    .src_rootfd = b->ctxfd,
  };
  if (chmod)
    {
      char *end;
      unsigned long m = strtoul (chmod, &end, 8);
      if (*end || end == chmod || m > 07777)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid chmod parameter: %s", chmod);
      req.has_chmod = true;
      req.chmod = (mode_t) m;
    }
  _cleanup_free_ char *src_snap = NULL, *src_image = NULL;
  _cleanup_close_ int src_rootfd = -1;
  int r = -1;
  _cleanup_strv_ char **paths = NULL;
  _cleanup_free_ char *sum = NULL;
  if (from_x)
    {
      if (builder_source_open (b, from_x, &src_snap, &src_rootfd, &src_image, err) < 0)
        return -1;
      req.src_rootfd = src_rootfd;
      /* the snapshot is read only in practice; it must not count as
       * the step's live snapshot */
      free (b->live_snapshot);
      b->live_snapshot = NULL;
    }
  if (copy_sources_resolve (&req, &paths, err) < 0)
    goto out;
  sum = copy_sources_checksum (req.src_rootfd, paths, &req, err);
  if (sum == NULL)
    goto out;
  {
    /* docker: "COPY file:<sum> in <dest> " (dir: for one directory, multi:) */
    const char *kind = "multi";
    if (strv_len (paths) + strv_len (inline_names) == 1)
      {
        kind = "file";
        if (paths[0])
          {
            struct berth_error *e = NULL;
            _cleanup_close_ int fd = fs_open_in_root (req.src_rootfd, paths[0], O_PATH, 0, &e);
            struct stat sb;
            if (fd >= 0 && fstat (fd, &sb) == 0 && S_ISDIR (sb.st_mode))
              kind = "dir";
            berth_error_free (e);
          }
      }
    _cleanup_free_ char *what = xasprintf ("#(nop) %s %s:%s in %s ", inst->name, kind, sum + 7, dest_raw[0] == '/' ? dest : dest_raw);
    _cleanup_json_ json_t *cmd = stage_shell (st);
    json_array_append_new (cmd, json_string (what));
    _cleanup_free_ char *created_by = json_join (cmd, " ");
    _cleanup_free_ char *flags = xasprintf ("from=%s chown=%s chmod=%s src=%s dest=%s", src_image ? src_image : "",
                                            chown_x ? chown_x : "", chmod ? chmod : "", from_x ? from_x : "", dest);
    _cleanup_free_ char *key = build_cache_key (st->image_id, created_by, NULL, flags);
    berth_log (BERTH_LOG_DEBUG, "build cache: %s key %s parent %s: %s | %s", inst->name, key,
               st->image_id ? st->image_id : "-", created_by, flags);
    if (builder_cache_try (b, st, key))
      {
        r = 0;
        goto out;
      }
    _cleanup_free_ char *sid = NULL, *diff = NULL;
    _cleanup_close_ int rootfd = -1;
    if (builder_snapshot_open (b, st, &sid, NULL, &rootfd, err) < 0)
      goto out;
    int cr = 0;
    if (chown_x)
      {
        req.has_chown = true;
        cr = user_resolve_chown (rootfd, chown_x, &req.uid, &req.gid, err);
      }
    if (cr == 0)
      cr = copy_run (rootfd, paths, &req, err);
    if (cr == 0)
      cr = builder_snapshot_commit (b, sid, &diff, err);
    builder_snapshot_drop (b, sid);
    if (cr < 0 || builder_commit (b, st, created_by, diff, cmd, err) < 0)
      goto out;
    builder_cache_put (b, key, st->image_id);
    r = 0;
  }
out:
  if (src_snap)
    {
      close (src_rootfd);
      src_rootfd = -1;
      builder_snapshot_drop (b, src_snap);
    }
  if (r == 0)
    builder_emit (b, " ---> %.12s\n", st->image_id + 7);
  return r;
}

/* ------------------------------------------------------------ dispatch -- */

int
step_dispatch (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
               struct berth_error **err)
{
  switch (inst->kind)
    {
    case DF_RUN:
      return step_run (b, st, inst, err);
    case DF_COPY:
    case DF_ADD:
      return step_copy (b, st, inst, err);
    case DF_WORKDIR:
      return step_workdir (b, st, inst, err);
    case DF_ENV:
    case DF_LABEL:
      return step_env_label (b, st, inst, err);
    case DF_ARG:
      return step_arg (b, st, inst, err);
    case DF_HEALTHCHECK:
      return step_healthcheck (b, st, inst, err);
    case DF_FROM:
      return berth_error_set_kind (err, BERTH_E_INTERNAL, 0, "FROM inside a stage");
    default:
      return step_simple (b, st, inst, err);
    }
}
