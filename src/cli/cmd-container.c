/* berth cli: container management commands that are one request per
 * container: stop, restart, kill, rm, pause, unpause, wait, rename,
 * update, port, diff, top, logs, inspect, stats, commit, export, prune. */
#include "cli/cli-internal.h"
#include "cli/rows.h"

#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const struct cli_opt cli_stop_opts[] = {
  { "signal", 's', CLI_OPT_STRING, "Signal to send to the container", NULL },
  { "timeout", 't', CLI_OPT_STRING, "Seconds to wait before killing the container", NULL },
  { "time", 0, CLI_OPT_STRING, "Seconds to wait before killing the container (deprecated)", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_restart_opts[] = {
  { "signal", 's', CLI_OPT_STRING, "Signal to send to the container", NULL },
  { "timeout", 't', CLI_OPT_STRING, "Seconds to wait before killing the container", NULL },
  { "time", 0, CLI_OPT_STRING, "Seconds to wait before killing the container (deprecated)", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_kill_opts[] = {
  { "signal", 's', CLI_OPT_STRING, "Signal to send to the container", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_rm_opts[] = {
  { "force", 'f', CLI_OPT_BOOL, "Force the removal of a running container (uses SIGKILL)", NULL },
  { "link", 'l', CLI_OPT_BOOL, "Remove the specified link", NULL },
  { "volumes", 'v', CLI_OPT_BOOL, "Remove anonymous volumes associated with the container", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_logs_opts[] = {
  { "details", 0, CLI_OPT_BOOL, "Show extra details provided to logs", NULL },
  { "follow", 'f', CLI_OPT_BOOL, "Follow log output", NULL },
  { "since", 0, CLI_OPT_STRING, "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)", NULL },
  { "tail", 'n', CLI_OPT_STRING, "Number of lines to show from the end of the logs", "all" },
  { "timestamps", 't', CLI_OPT_BOOL, "Show timestamps", NULL },
  { "until", 0, CLI_OPT_STRING, "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_inspect_opts[] = {
  { "format", 'f', CLI_OPT_STRING, "Format output using a custom template", NULL },
  { "size", 's', CLI_OPT_BOOL, "Display total file sizes if the type is container", NULL },
  { "type", 0, CLI_OPT_STRING, "Return JSON for specified type", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_format_opts[] = {
  { "format", 'f', CLI_OPT_STRING, "Format output using a custom template", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_top_opts[] = { { NULL, 0, 0, NULL, NULL } };
const struct cli_opt cli_stats_opts[] = {
  { "all", 'a', CLI_OPT_BOOL, "Show all containers (default shows just running)", NULL },
  { "format", 0, CLI_OPT_STRING, "Format output using a custom template", NULL },
  { "no-stream", 0, CLI_OPT_BOOL, "Disable streaming stats and only pull the first result", NULL },
  { "no-trunc", 0, CLI_OPT_BOOL, "Do not truncate output", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_update_opts[] = {
  { "blkio-weight", 0, CLI_OPT_STRING, "Block IO (relative weight), between 10 and 1000, or 0 to disable", NULL },
  { "cpu-period", 0, CLI_OPT_STRING, "Limit CPU CFS (Completely Fair Scheduler) period", NULL },
  { "cpu-quota", 0, CLI_OPT_STRING, "Limit CPU CFS (Completely Fair Scheduler) quota", NULL },
  { "cpu-shares", 'c', CLI_OPT_STRING, "CPU shares (relative weight)", NULL },
  { "cpus", 0, CLI_OPT_STRING, "Number of CPUs", NULL },
  { "cpuset-cpus", 0, CLI_OPT_STRING, "CPUs in which to allow execution (0-3, 0,1)", NULL },
  { "cpuset-mems", 0, CLI_OPT_STRING, "MEMs in which to allow execution (0-3, 0,1)", NULL },
  { "memory", 'm', CLI_OPT_STRING, "Memory limit", NULL },
  { "memory-reservation", 0, CLI_OPT_STRING, "Memory soft limit", NULL },
  { "memory-swap", 0, CLI_OPT_STRING, "Swap limit equal to memory plus swap: -1 to enable unlimited swap", NULL },
  { "pids-limit", 0, CLI_OPT_STRING, "Tune container pids limit (set -1 for unlimited)", NULL },
  { "restart", 0, CLI_OPT_STRING, "Restart policy to apply when a container exits", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_commit_opts[] = {
  { "author", 'a', CLI_OPT_STRING, "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")", NULL },
  { "change", 'c', CLI_OPT_LIST, "Apply Dockerfile instruction to the created image", NULL },
  { "message", 'm', CLI_OPT_STRING, "Commit message", NULL },
  { "pause", 'p', CLI_OPT_BOOL, "Pause container during commit", "true" },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_export_opts[] = {
  { "output", 'o', CLI_OPT_STRING, "Write to a file, instead of STDOUT", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_prune_opts[] = {
  { "filter", 0, CLI_OPT_LIST, "Provide filter values (e.g. \"until=<timestamp>\")", NULL },
  { "force", 'f', CLI_OPT_BOOL, "Do not prompt for confirmation", NULL },
  { "all", 'a', CLI_OPT_BOOL, "Remove all unused volumes, not just anonymous ones", NULL },
  { NULL, 0, 0, NULL, NULL },
};

/* POST/DELETE one request per container, printing the name as docker does
 * and "Error response from daemon: …" for each failure (exit 1). */
static int
per_container (struct cli_ctx *ctx, struct cli_args *a, const char *method, const char *suffix,
               const char *query)
{
  _cleanup_error_ struct berth_error *err = NULL;
  CLI_CLIENT ();
  int rc = 0;
  for (size_t i = 0; i < a->n_pos; i++)
    {
      _cleanup_free_ char *e = url_escape (a->pos[i]);
      _cleanup_free_ char *path = xasprintf ("/containers/%s%s", e, suffix);
      struct cli_request req = { .method = method, .path = path, .query = query };
      struct cli_response resp;
      _cleanup_error_ struct berth_error *e2 = NULL;
      if (cli_call (c, &req, &resp, &e2) < 0)
        {
          fprintf (stderr, "%s\n", e2->msg);
          rc = 1;
        }
      else
        printf ("%s\n", a->pos[i]);
      cli_response_clear (&resp);
    }
  return rc;
}

static char *
stop_query (struct cli_args *a, struct berth_error **err, int *rc)
{
  *rc = 0;
  const char *sig = cli_args_str (a, "signal");
  const char *t = cli_args_str (a, "timeout");
  if (t == NULL)
    t = cli_args_str (a, "time");
  if (t)
    {
      char *e = NULL;
      strtol (t, &e, 10);
      if (*e || e == t)
        {
          *rc = berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                      "invalid argument \"%s\" for \"-t, --timeout\" flag: "
                                      "strconv.ParseInt: parsing \"%s\": invalid syntax",
                                      t, t);
          return NULL;
        }
    }
  _cleanup_free_ char *es = sig ? url_escape (sig) : NULL;
  if (es && t)
    return xasprintf ("signal=%s&t=%s", es, t);
  if (es)
    return xasprintf ("signal=%s", es);
  if (t)
    return xasprintf ("t=%s", t);
  return NULL;
}

int
cmd_stop (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("stop");
  int rc;
  _cleanup_free_ char *q = stop_query (&a, &err, &rc);
  if (rc < 0)
    return cli_fail (err, 125);
  return per_container (ctx, &a, "POST", "/stop", q);
}

int
cmd_restart (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("restart");
  int rc;
  _cleanup_free_ char *q = stop_query (&a, &err, &rc);
  if (rc < 0)
    return cli_fail (err, 125);
  return per_container (ctx, &a, "POST", "/restart", q);
}

int
cmd_kill (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("kill");
  const char *sig = cli_args_str (&a, "signal");
  _cleanup_free_ char *es = sig ? url_escape (sig) : NULL;
  _cleanup_free_ char *q = es ? xasprintf ("signal=%s", es) : NULL;
  return per_container (ctx, &a, "POST", "/kill", q);
}

int
cmd_rm (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("rm");
  _cleanup_free_ char *q = NULL;
  bool f = cli_args_bool (&a, "force"), v = cli_args_bool (&a, "volumes"), l = cli_args_bool (&a, "link");
  if (f || v || l)
    q = xasprintf ("%s%s%s", f ? "force=1&" : "", l ? "link=1&" : "", v ? "v=1&" : "");
  if (q)
    q[strlen (q) - 1] = '\0';
  return per_container (ctx, &a, "DELETE", "", q);
}

int
cmd_pause (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("pause");
  return per_container (ctx, &a, "POST", "/pause", NULL);
}

int
cmd_unpause (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("unpause");
  return per_container (ctx, &a, "POST", "/unpause", NULL);
}

int
cmd_wait (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("wait");
  CLI_CLIENT ();
  int rc = 0;
  for (size_t i = 0; i < a.n_pos; i++)
    {
      _cleanup_free_ char *e = url_escape (a.pos[i]);
      _cleanup_free_ char *path = xasprintf ("/containers/%s/wait", e);
      _cleanup_error_ struct berth_error *e2 = NULL;
      _cleanup_json_ json_t *r = cli_call_json (c, "POST", path, NULL, NULL, &e2);
      if (r == NULL)
        {
          fprintf (stderr, "%s\n", e2->msg);
          rc = 1;
          continue;
        }
      printf ("%lld\n", (long long) json_integer_value (json_object_get (r, "StatusCode")));
    }
  return rc;
}

int
cmd_rename (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("rename");
  CLI_CLIENT ();
  _cleanup_free_ char *e = url_escape (a.pos[0]);
  _cleanup_free_ char *n = url_escape (a.pos[1]);
  _cleanup_free_ char *path = xasprintf ("/containers/%s/rename", e);
  _cleanup_free_ char *q = xasprintf ("name=%s", n);
  if (*a.pos[1] == '\0')
    return fprintf (stderr, "Error: neither old nor new names may be empty\n"), 1;
  _cleanup_json_ json_t *r = cli_call_json (c, "POST", path, q, NULL, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  return 0;
}

int
cmd_update (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("update");
  _cleanup_json_ json_t *body = json_object ();
  static const struct
  {
    const char *flag, *key;
    int kind; /* 0 int, 1 mem, 2 mem allowing -1, 3 string */
  } fields[] = {
    { "blkio-weight", "BlkioWeight", 0 }, { "cpu-period", "CpuPeriod", 0 },
    { "cpu-quota", "CpuQuota", 0 },       { "cpu-shares", "CpuShares", 0 },
    { "cpuset-cpus", "CpusetCpus", 3 },   { "cpuset-mems", "CpusetMems", 3 },
    { "memory", "Memory", 1 },            { "memory-reservation", "MemoryReservation", 1 },
    { "memory-swap", "MemorySwap", 2 },   { "pids-limit", "PidsLimit", 0 },
  };
  bool any = false;
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    {
      if (!cli_args_is_set (&a, fields[i].flag))
        continue;
      any = true;
      const char *v = cli_args_str (&a, fields[i].flag);
      if (fields[i].kind == 3)
        json_object_set_new (body, fields[i].key, json_string (v));
      else if (fields[i].kind == 0)
        {
          long long n;
          if (cli_args_int (&a, fields[i].flag, &n, &err) < 0)
            return cli_fail (err, 125);
          json_object_set_new (body, fields[i].key, json_integer (n));
        }
      else
        {
          int64_t n;
          if (fields[i].kind == 2 && strcmp (v, "-1") == 0)
            n = -1;
          else if (parse_ram_bytes (v, &n, &err) < 0)
            return cli_fail (err, 125);
          json_object_set_new (body, fields[i].key, json_integer (n));
        }
    }
  if (cli_args_is_set (&a, "cpus"))
    {
      int64_t nano;
      if (parse_nano_cpus (cli_args_str (&a, "cpus"), &nano, &err) < 0)
        return cli_fail (err, 125);
      json_object_set_new (body, "NanoCpus", json_integer (nano));
      any = true;
    }
  if (cli_args_is_set (&a, "restart"))
    {
      json_t *rp = parse_restart_policy (cli_args_str (&a, "restart"), &err);
      if (rp == NULL)
        return cli_fail (err, 125);
      json_object_set_new (body, "RestartPolicy", rp);
      any = true;
    }
  if (!any)
    return fprintf (stderr, "you must provide one or more flags when using this command\n"), 1;
  CLI_CLIENT ();
  int rc = 0;
  for (size_t i = 0; i < a.n_pos; i++)
    {
      _cleanup_free_ char *e = url_escape (a.pos[i]);
      _cleanup_free_ char *path = xasprintf ("/containers/%s/update", e);
      _cleanup_error_ struct berth_error *e2 = NULL;
      _cleanup_json_ json_t *r = cli_call_json (c, "POST", path, NULL, body, &e2);
      if (r == NULL)
        {
          fprintf (stderr, "%s\n", e2->msg);
          rc = 1;
          continue;
        }
      size_t k;
      json_t *w;
      json_array_foreach (json_object_get (r, "Warnings"), k, w)
        fprintf (stderr, "%s\n", json_string_value (w));
      printf ("%s\n", a.pos[i]);
    }
  return rc;
}

int
cmd_port (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("port");
  CLI_CLIENT ();
  _cleanup_json_ json_t *info = cli_inspect_container (c, a.pos[0], &err);
  if (info == NULL)
    return cli_fail (err, 1);
  json_t *ports = json_object_get (json_object_get (info, "NetworkSettings"), "Ports");
  _cleanup_free_ char *want = NULL;
  if (a.n_pos == 2)
    want = strchr (a.pos[1], '/') ? xstrdup (a.pos[1]) : xasprintf ("%s/tcp", a.pos[1]);
  size_t n;
  const char *k;
  json_t *v;
  _cleanup_strv_ char **keys = calloc (1, sizeof (char *));
  json_object_foreach (ports, k, v)
    strv_append (&keys, k);
  n = strv_len (keys);
  bool found = false;
  for (size_t i = 0; i < n; i++)
    {
      if (want && strcmp (keys[i], want) != 0)
        continue;
      size_t j;
      json_t *b;
      json_array_foreach (json_object_get (ports, keys[i]), j, b)
        {
          const char *ip = json_string_value (json_object_get (b, "HostIp"));
          const char *hp = json_string_value (json_object_get (b, "HostPort"));
          bool v6 = ip && strchr (ip, ':');
          if (want)
            printf (v6 ? "[%s]:%s\n" : "%s:%s\n", ip ? ip : "", hp ? hp : "");
          else
            printf (v6 ? "%s -> [%s]:%s\n" : "%s -> %s:%s\n", keys[i], ip ? ip : "", hp ? hp : "");
          found = true;
        }
    }
  if (want && !found)
    {
      fprintf (stderr, "Error: No public port '%s' published for %s\n", want, a.pos[0]);
      return 1;
    }
  return 0;
}

int
cmd_diff (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("diff");
  CLI_CLIENT ();
  _cleanup_free_ char *e = url_escape (a.pos[0]);
  _cleanup_free_ char *path = xasprintf ("/containers/%s/changes", e);
  _cleanup_json_ json_t *r = cli_call_json (c, "GET", path, NULL, NULL, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  size_t i;
  json_t *ch;
  json_array_foreach (r, i, ch)
    {
      long long kind = json_integer_value (json_object_get (ch, "Kind"));
      const char *p = json_string_value (json_object_get (ch, "Path"));
      printf ("%c %s\n", kind == 0 ? 'C' : kind == 1 ? 'A' : 'D', p ? p : "");
    }
  return 0;
}

int
cmd_top (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("top");
  CLI_CLIENT ();
  _cleanup_free_ char *e = url_escape (a.pos[0]);
  _cleanup_free_ char *path = xasprintf ("/containers/%s/top", e);
  _cleanup_free_ char *q = NULL;
  if (a.n_pos > 1)
    {
      _cleanup_free_ char *args = strv_join (a.pos + 1, " ");
      _cleanup_free_ char *ea = url_escape (args);
      q = xasprintf ("ps_args=%s", ea);
    }
  _cleanup_json_ json_t *r = cli_call_json (c, "GET", path, q, NULL, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  size_t i, j;
  json_t *t, *row, *cell;
  json_array_foreach (json_object_get (r, "Titles"), i, t)
    fprintf (f, "%s%s", i ? "\t" : "", json_string_value (t));
  json_array_foreach (json_object_get (r, "Processes"), i, row)
    {
      fputc ('\n', f);
      json_array_foreach (row, j, cell)
        fprintf (f, "%s%s", j ? "\t" : "", json_string_value (cell) ? json_string_value (cell) : "");
    }
  fclose (f);
  _cleanup_free_ char *aligned = tabwriter_format (buf, 20, 3);
  free (buf);
  printf ("%s\n", aligned);
  return 0;
}

static json_t *
inspect_one (struct cli_client *c, const char *type, const char *name, bool size,
             struct berth_error **err)
{
  _cleanup_free_ char *e = url_escape (name);
  _cleanup_free_ char *path = NULL;
  if (strcmp (type, "container") == 0)
    path = xasprintf ("/containers/%s/json", e);
  else if (strcmp (type, "image") == 0)
    path = xasprintf ("/images/%s/json", e);
  else if (strcmp (type, "volume") == 0)
    path = xasprintf ("/volumes/%s", e);
  else if (strcmp (type, "network") == 0)
    path = xasprintf ("/networks/%s", e);
  else
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "\"%s\" is not a valid value for --type", type);
      return NULL;
    }
  return cli_call_json (c, "GET", path, size && strcmp (type, "container") == 0 ? "size=1" : NULL,
                        NULL, err);
}

int
cli_print_inspect (json_t *items, const char *format, struct berth_error **err)
{
  if (format == NULL || *format == '\0')
    {
      char *s = json_dumps (items, JSON_INDENT (4) | JSON_ENCODE_ANY);
      /* docker prints "[]" for nothing, each element indented */
      printf ("%s\n", s ? s : "[]");
      free (s);
      return 0;
    }
  if (strcmp (format, "json") == 0)
    format = "{{json .}}";
  _cleanup_ (tmpl_freep) struct tmpl *t = tmpl_parse (format, err);
  if (t == NULL)
    return -1;
  size_t i;
  json_t *it;
  json_array_foreach (items, i, it)
    {
      if (tmpl_execute (t, it, stdout, err) < 0)
        return -1;
      fputc ('\n', stdout);
    }
  return 0;
}

static int
inspect_common (struct cli_ctx *ctx, struct cli_args *a, const char *forced_type)
{
  _cleanup_error_ struct berth_error *err = NULL;
  CLI_CLIENT ();
  const char *type = forced_type ? forced_type : cli_args_str (a, "type");
  _cleanup_json_ json_t *items = json_array ();
  int rc = 0;
  bool size = false;
  for (size_t i = 0; i < a->n_opts; i++)
    if (strcmp (a->opts[i].name, "size") == 0)
      size = cli_args_bool (a, "size");
  for (size_t i = 0; i < a->n_pos; i++)
    {
      json_t *r = NULL;
      _cleanup_error_ struct berth_error *e2 = NULL;
      if (type)
        r = inspect_one (c, type, a->pos[i], size, &e2);
      else
        {
          /* docker tries each object type in turn */
          static const char *const types[] = { "container", "image", "volume", "network", NULL };
          for (size_t k = 0; types[k] && r == NULL; k++)
            {
              berth_error_freep (&e2);
              r = inspect_one (c, types[k], a->pos[i], size, &e2);
              if (r == NULL && e2->kind != BERTH_E_NOT_FOUND && e2->kind != BERTH_E_INVALID)
                break;
            }
          if (r == NULL && e2 && (e2->kind == BERTH_E_NOT_FOUND || e2->kind == BERTH_E_INVALID))
            {
              berth_error_freep (&e2);
              berth_error_set_kind (&e2, BERTH_E_NOT_FOUND, 0, "Error: No such object: %s", a->pos[i]);
            }
        }
      if (r == NULL)
        {
          if (type && e2->kind == BERTH_E_NOT_FOUND)
            fprintf (stderr, "Error: No such %s: %s\n", type, a->pos[i]);
          else
            fprintf (stderr, "%s\n", e2->msg);
          rc = 1;
          continue;
        }
      json_array_append_new (items, r);
    }
  if (json_array_size (items) > 0 || cli_args_str (a, "format") == NULL)
    if (cli_print_inspect (items, cli_args_str (a, "format"), &err) < 0)
      return cli_fail (err, 1);
  return rc;
}

int
cmd_inspect (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("inspect");
  return inspect_common (ctx, &a, NULL);
}

int
cmd_container_inspect (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("container inspect");
  return inspect_common (ctx, &a, "container");
}

int
cmd_image_inspect (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("image inspect");
  return inspect_common (ctx, &a, "image");
}

/* ---------------------------------------------------------------- logs -- */

struct log_sink
{
  bool tty;
  struct stdcopy sc;
};

static int
log_chunk (void *ud, const char *data, size_t len)
{
  struct log_sink *s = ud;
  if (s->tty)
    return fs_write_all (STDOUT_FILENO, data, len);
  return stdcopy_feed (&s->sc, data, len);
}

int
cmd_logs (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("logs");
  CLI_CLIENT ();
  _cleanup_json_ json_t *info = cli_inspect_container (c, a.pos[0], &err);
  if (info == NULL)
    return cli_fail (err, 1);
  const char *id = json_string_value (json_object_get (info, "Id"));
  bool tty = json_is_true (json_object_get (json_object_get (info, "Config"), "Tty"));
  _cleanup_free_ char *q = xstrdup ("");
  time_t now = time (NULL);
#define ADDQ(fmt, ...)                                                                            \
  do                                                                                              \
    {                                                                                             \
      char *n_ = xasprintf ("%s%s" fmt, q, *q ? "&" : "", __VA_ARGS__);                          \
      free (q);                                                                                   \
      q = n_;                                                                                     \
    }                                                                                             \
  while (0)
  if (cli_args_bool (&a, "details"))
    ADDQ ("%s", "details=1");
  if (cli_args_bool (&a, "follow"))
    ADDQ ("%s", "follow=1");
  if (cli_args_str (&a, "since"))
    {
      _cleanup_free_ char *ts = parse_timestamp_arg (cli_args_str (&a, "since"), now, &err);
      if (ts == NULL)
        return cli_fail (err, 1);
      ADDQ ("since=%s", ts);
    }
  ADDQ ("%s", "stderr=1&stdout=1");
  const char *tail = cli_args_str (&a, "tail");
  _cleanup_free_ char *et = url_escape (tail ? tail : "all");
  ADDQ ("tail=%s", et);
  if (cli_args_bool (&a, "timestamps"))
    ADDQ ("%s", "timestamps=1");
  if (cli_args_str (&a, "until"))
    {
      _cleanup_free_ char *ts = parse_timestamp_arg (cli_args_str (&a, "until"), now, &err);
      if (ts == NULL)
        return cli_fail (err, 1);
      ADDQ ("until=%s", ts);
    }
#undef ADDQ
  _cleanup_free_ char *path = xasprintf ("/containers/%s/logs", id);
  struct log_sink sink = { .tty = tty, .sc = { .out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO } };
  struct cli_request req = { .method = "GET", .path = path, .query = q, .on_chunk = log_chunk,
                             .userdata = &sink };
  struct cli_response resp;
  int rc = cli_call (c, &req, &resp, &err);
  cli_response_clear (&resp);
  if (rc < 0)
    return cli_fail (err, 1);
  return 0;
}

/* --------------------------------------------------------------- stats -- */

static json_t *
stats_row (json_t *s, const char *name_hint, bool trunc)
{
  json_t *cpu = json_object_get (s, "cpu_stats"), *pre = json_object_get (s, "precpu_stats");
  double cpu_delta = (double) json_integer_value (json_object_get (json_object_get (cpu, "cpu_usage"), "total_usage"))
                     - (double) json_integer_value (json_object_get (json_object_get (pre, "cpu_usage"), "total_usage"));
  double sys_delta = (double) json_integer_value (json_object_get (cpu, "system_cpu_usage"))
                     - (double) json_integer_value (json_object_get (pre, "system_cpu_usage"));
  long long online = json_integer_value (json_object_get (cpu, "online_cpus"));
  if (online == 0)
    online = (long long) json_array_size (json_object_get (json_object_get (cpu, "cpu_usage"), "percpu_usage"));
  double cpu_pct = (sys_delta > 0 && cpu_delta > 0) ? cpu_delta / sys_delta * (double) online * 100.0 : 0;
  json_t *mem = json_object_get (s, "memory_stats");
  double usage = (double) json_integer_value (json_object_get (mem, "usage"));
  json_t *mstats = json_object_get (mem, "stats");
  /* docker subtracts the page cache (cgroup v1 total_inactive_file, v2 inactive_file) */
  json_t *inactive = json_object_get (mstats, "total_inactive_file");
  if (inactive == NULL)
    inactive = json_object_get (mstats, "inactive_file");
  if (inactive && (double) json_integer_value (inactive) < usage)
    usage -= (double) json_integer_value (inactive);
  double limit = (double) json_integer_value (json_object_get (mem, "limit"));
  double mem_pct = limit > 0 ? usage / limit * 100.0 : 0;
  double rx = 0, tx = 0;
  const char *k;
  json_t *v;
  json_object_foreach (json_object_get (s, "networks"), k, v)
    {
      rx += (double) json_integer_value (json_object_get (v, "rx_bytes"));
      tx += (double) json_integer_value (json_object_get (v, "tx_bytes"));
    }
  double br = 0, bw = 0;
  size_t i;
  json_t *e;
  json_array_foreach (json_object_get (json_object_get (s, "blkio_stats"), "io_service_bytes_recursive"), i, e)
    {
      const char *op = json_string_value (json_object_get (e, "op"));
      double val = (double) json_integer_value (json_object_get (e, "value"));
      if (op && strcasecmp (op, "read") == 0)
        br += val;
      else if (op && strcasecmp (op, "write") == 0)
        bw += val;
    }
  const char *name = json_string_value (json_object_get (s, "name"));
  if (name && *name == '/')
    name++;
  const char *id = json_string_value (json_object_get (s, "id"));
  _cleanup_free_ char *sid = short_id (id ? id : name_hint, trunc);
  _cleanup_free_ char *cpu_s = xasprintf ("%.2f%%", cpu_pct);
  _cleanup_free_ char *mu = human_bytes (usage), *ml = human_bytes (limit);
  _cleanup_free_ char *mem_s = xasprintf ("%s / %s", mu, ml);
  _cleanup_free_ char *memp = xasprintf ("%.2f%%", mem_pct);
  _cleanup_free_ char *hrx = human_size (rx, 3), *htx = human_size (tx, 3);
  _cleanup_free_ char *net = xasprintf ("%s / %s", hrx, htx);
  _cleanup_free_ char *hbr = human_size (br, 3), *hbw = human_size (bw, 3);
  _cleanup_free_ char *blk = xasprintf ("%s / %s", hbr, hbw);
  _cleanup_free_ char *pids = xasprintf ("%lld", (long long) json_integer_value (json_object_get (json_object_get (s, "pids_stats"), "current")));
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "BlockIO", blk, "CPUPerc", cpu_s,
                    "Container", name_hint, "ID", sid, "MemPerc", memp, "MemUsage", mem_s, "Name",
                    name ? name : "", "NetIO", net, "PIDs", pids);
}

int
cmd_stats (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("stats");
  CLI_CLIENT ();
  bool trunc = !cli_args_bool (&a, "no-trunc");
  const char *format = normalize_format (cli_args_str (&a, "format"));
  if (format == NULL)
    format = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
  _cleanup_strv_ char **names = NULL;
  if (a.n_pos > 0)
    names = strv_dup (a.pos);
  else
    {
      _cleanup_json_ json_t *list = cli_call_json (c, "GET", "/containers/json",
                                                   cli_args_bool (&a, "all") ? "all=1" : NULL, NULL, &err);
      if (list == NULL)
        return cli_fail (err, 1);
      names = calloc (1, sizeof (char *));
      size_t i;
      json_t *ct;
      json_array_foreach (list, i, ct)
        strv_append (&names, json_string_value (json_object_get (ct, "Id")));
    }
  _cleanup_json_ json_t *headers = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                                              "BlockIO", "BLOCK I/O", "CPUPerc", "CPU %", "Container",
                                              "CONTAINER", "ID", "CONTAINER ID", "MemPerc", "MEM %",
                                              "MemUsage", "MEM USAGE / LIMIT", "Name", "NAME", "NetIO",
                                              "NET I/O", "PIDs", "PIDS");
  bool stream = !cli_args_bool (&a, "no-stream");
  bool tty = isatty (STDOUT_FILENO);
  /* Streaming is a refreshed snapshot per interval (each one-shot stats
   * call samples the cpu twice); it ends on ^C like docker's. */
  for (;;)
    {
      _cleanup_json_ json_t *rows = json_array ();
      int rc = 0;
      for (size_t i = 0; names[i]; i++)
        {
          _cleanup_free_ char *e = url_escape (names[i]);
          _cleanup_free_ char *path = xasprintf ("/containers/%s/stats", e);
          _cleanup_error_ struct berth_error *e2 = NULL;
          _cleanup_json_ json_t *s = cli_call_json (c, "GET", path, "stream=0", NULL, &e2);
          if (s == NULL)
            {
              fprintf (stderr, "%s\n", e2->msg);
              rc = 1;
              continue;
            }
          json_array_append_new (rows, stats_row (s, names[i], trunc));
        }
      if (stream && tty)
        fputs ("\x1b[2J\x1b[H", stdout);
      if (cli_format_rows (stdout, format, headers, rows, &err) < 0)
        return cli_fail (err, 1);
      fflush (stdout);
      if (!stream)
        return rc;
      if (rc)
        return rc;
      sleep (1);
    }
}

/* -------------------------------------------------------- commit/export -- */

int
cmd_commit (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("commit");
  CLI_CLIENT ();
  _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
  if (a.n_pos == 2 && cli_parse_reference (a.pos[1], &repo, &tag, &digest, &err) < 0)
    return cli_fail (err, 1);
  const char *author = cli_args_str (&a, "author");
  const char *msg = cli_args_str (&a, "message");
  _cleanup_free_ char *q = NULL;
  _cleanup_free_ char *ea = url_escape (author ? author : "");
  q = xasprintf ("author=%s", ea);
  char **changes = cli_args_list (&a, "change");
  for (size_t i = 0; changes[i]; i++)
    {
      _cleanup_free_ char *ec = url_escape (changes[i]);
      char *n = xasprintf ("%s&changes=%s", q, ec);
      free (q);
      q = n;
    }
  _cleanup_free_ char *em = url_escape (msg ? msg : "");
  _cleanup_free_ char *eco = url_escape (a.pos[0]);
  char *n = xasprintf ("%s&comment=%s&container=%s", q, em, eco);
  free (q);
  q = n;
  if (!cli_args_bool (&a, "pause"))
    {
      n = xasprintf ("%s&pause=0", q);
      free (q);
      q = n;
    }
  if (repo)
    {
      _cleanup_free_ char *er = url_escape (repo), *etg = url_escape (tag ? tag : "latest");
      n = xasprintf ("%s&repo=%s&tag=%s", q, er, etg);
      free (q);
      q = n;
    }
  _cleanup_json_ json_t *r = cli_call_json (c, "POST", "/commit", q, NULL, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  printf ("%s\n", json_string_value (json_object_get (r, "Id")));
  return 0;
}

struct tar_out
{
  int fd;
  struct tar_end end;
};

/* export and save answer a tar: stop at its end, as a tar reader would,
 * even when the daemon keeps the response open after it */
static int
write_tar_out (void *ud, const char *data, size_t len)
{
  struct tar_out *t = ud;
  size_t n = tar_end_feed (&t->end, data, len);
  if (fs_write_all (t->fd, data, n) < 0)
    return -1;
  return t->end.done ? 1 : 0;
}

/* Stream a GET body to -o FILE or stdout (never a terminal). */
int
cli_download (struct cli_client *c, const char *path, const char *query, const char *output,
              struct berth_error **err)
{
  _cleanup_close_ int fd = -1;
  _cleanup_free_ char *tmp = NULL;
  if (output)
    {
      tmp = xasprintf ("%s.berth-tmp", output);
      fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0)
        return berth_error_set (err, errno, "failed to save to %s", output);
    }
  else if (isatty (STDOUT_FILENO))
    return berth_error_set (err, 0, "cowardly refusing to save to a terminal. Use the -o flag or redirect");
  struct tar_out out = { .fd = output ? fd : STDOUT_FILENO };
  struct cli_request req = { .method = "GET", .path = path, .query = query,
                             .on_chunk = write_tar_out, .userdata = &out };
  struct cli_response resp;
  int rc = cli_call (c, &req, &resp, err);
  cli_response_clear (&resp);
  if (output)
    {
      if (rc < 0 || fsync (fd) < 0 || rename (tmp, output) < 0)
        {
          unlink (tmp);
          return rc < 0 ? -1 : berth_error_set (err, errno, "failed to save to %s", output);
        }
    }
  return rc;
}

int
cmd_export (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("export");
  CLI_CLIENT ();
  _cleanup_free_ char *e = url_escape (a.pos[0]);
  _cleanup_free_ char *path = xasprintf ("/containers/%s/export", e);
  if (cli_download (c, path, NULL, cli_args_str (&a, "output"), &err) < 0)
    return cli_fail (err, 1);
  return 0;
}

int
cli_prune (struct cli_ctx *ctx, struct cli_args *a, const char *path, const char *warning,
           const char *deleted_key, const char *extra_filter)
{
  _cleanup_error_ struct berth_error *err = NULL;
  if (!cli_args_bool (a, "force"))
    {
      fprintf (stdout, "%s\nAre you sure you want to continue? [y/N] ", warning);
      fflush (stdout);
      char line[16] = "";
      if (fgets (line, sizeof line, stdin) == NULL || (line[0] != 'y' && line[0] != 'Y'))
        {
          fprintf (stderr, "Total reclaimed space: 0B\n");
          return 0;
        }
    }
  _cleanup_strv_ char **filters = strv_dup (cli_args_list (a, "filter"));
  if (extra_filter)
    strv_append (&filters, extra_filter);
  _cleanup_free_ char *q = NULL;
  if (filters && filters[0])
    {
      _cleanup_json_ json_t *f = parse_filters (filters, &err);
      if (f == NULL)
        return cli_fail (err, 125);
      _cleanup_free_ char *s = json_dumps (f, JSON_COMPACT);
      _cleanup_free_ char *es = url_escape (s);
      q = xasprintf ("filters=%s", es);
    }
  CLI_CLIENT ();
  _cleanup_json_ json_t *r = cli_call_json (c, "POST", path, q, NULL, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  json_t *del = json_object_get (r, deleted_key);
  if (json_array_size (del) > 0)
    {
      const char *title = strcmp (deleted_key, "ContainersDeleted") == 0 ? "Deleted Containers:"
                          : strcmp (deleted_key, "VolumesDeleted") == 0  ? "Deleted Volumes:"
                          : strcmp (deleted_key, "NetworksDeleted") == 0 ? "Deleted Networks:"
                                                                         : "Deleted Images:";
      printf ("%s\n", title);
      size_t i;
      json_t *d;
      json_array_foreach (del, i, d)
        {
          if (json_is_string (d))
            printf ("%s\n", json_string_value (d));
          else
            {
              const char *un = json_string_value (json_object_get (d, "Untagged"));
              const char *de = json_string_value (json_object_get (d, "Deleted"));
              if (un)
                printf ("untagged: %s\n", un);
              if (de)
                printf ("deleted: %s\n", de);
            }
        }
      printf ("\n");
    }
  if (strcmp (deleted_key, "NetworksDeleted") != 0)
    {
      _cleanup_free_ char *hs = human_size ((double) json_integer_value (json_object_get (r, "SpaceReclaimed")), 4);
      printf ("Total reclaimed space: %s\n", hs);
    }
  return 0;
}

int
cmd_container_prune (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("container prune");
  return cli_prune (ctx, &a, "/containers/prune",
                    "WARNING! This will remove all stopped containers.", "ContainersDeleted", NULL);
}
