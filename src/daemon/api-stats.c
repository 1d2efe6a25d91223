/* top and stats: processes of a container (the host's ps, filtered to the
 * container's cgroup as dockerd does) and resource usage from the runtime's
 * cgroup stats, one-shot or streamed once a second. */
#include "daemon/containers-internal.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static struct container *
lookup_or_respond (struct api_request *req, struct containers **cs_out)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  *cs_out = cs;
  _cleanup_error_ struct berth_error *err = NULL;
  struct container *c = containers_lookup (cs, api_request_param (req, "id"), &err);
  if (c == NULL)
    api_respond_error (req, err);
  return c;
}

/* ---------------------------------------------------------------- top -- */

static char *
run_ps (char **argv, struct berth_error **err)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      berth_error_set (err, errno, "pipe");
      return NULL;
    }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, p[1], 1);
  posix_spawn_file_actions_addopen (&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawnp (&pid, "ps", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (p[1]);
  if (rc != 0)
    {
      close (p[0]);
      berth_error_set (err, rc, "run ps");
      return NULL;
    }
  char *out = NULL;
  size_t len = 0;
  char buf[16384];
  ssize_t n;
  while ((n = read (p[0], buf, sizeof buf)) > 0)
    {
      out = realloc (out, len + (size_t)n + 1);
      memcpy (out + len, buf, (size_t)n);
      len += (size_t)n;
    }
  close (p[0]);
  int status;
  waitpid (pid, &status, 0);
  if (out == NULL)
    out = xstrdup ("");
  else
    out[len] = '\0';
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "ps: exit status %d",
                            WIFEXITED (status) ? WEXITSTATUS (status) : -1);
      free (out);
      return NULL;
    }
  return out;
}

static char **
split_fields (const char *line, size_t max)
{
  char **v = NULL;
  const char *p = line;
  size_t n = 0;
  while (*p)
    {
      while (*p == ' ' || *p == '\t')
        p++;
      if (!*p)
        break;
      if (max && n == max - 1)
        {
          strv_append (&v, p);
          return v;
        }
      const char *e = p;
      while (*e && *e != ' ' && *e != '\t')
        e++;
      _cleanup_free_ char *f = strndup (p, (size_t)(e - p));
      strv_append (&v, f);
      n++;
      p = e;
    }
  if (v == NULL)
    v = calloc (1, sizeof *v);
  return v;
}

void api_container_top (struct api_request *req);

void
api_container_top (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  if (!container_is_running (c))
    {
      api_respond_errorf (req, 409, "Container %s is not running", c->id);
      return;
    }
  _cleanup_free_ pid_t *pids = NULL;
  size_t n_pids = 0;
  if (runtime_container_ps (&cs->rt, c->id, &pids, &n_pids, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  const char *args = api_request_query (req, "ps_args");
  _cleanup_strv_ char **argv = NULL;
  strv_append (&argv, "ps");
  if (args && *args)
    {
      _cleanup_strv_ char **extra = split_fields (args, 0);
      for (char **e = extra; *e; e++)
        strv_append (&argv, *e);
    }
  else
    strv_append (&argv, "-ef");
  _cleanup_free_ char *out = run_ps (argv, &err);
  if (out == NULL)
    {
      berth_error_prefix (&err, "Error running top");
      api_respond_error (req, err);
      return;
    }
  _cleanup_strv_ char **lines = strv_split (out, '\n');
  if (lines[0] == NULL || lines[0][0] == '\0')
    {
      api_respond_errorf (req, 500, "ps printed nothing");
      return;
    }
  _cleanup_strv_ char **titles = split_fields (lines[0], 0);
  size_t ncol = strv_len (titles);
  ssize_t pid_col = -1;
  for (size_t i = 0; i < ncol; i++)
    if (strcmp (titles[i], "PID") == 0)
      pid_col = (ssize_t)i;
  if (pid_col < 0)
    {
      api_respond_errorf (req, 500, "Couldn't find PID field in ps output");
      return;
    }
  json_t *procs = json_array ();
  for (char **l = lines + 1; *l; l++)
    {
      if (**l == '\0')
        continue;
      _cleanup_strv_ char **f = split_fields (*l, ncol);
      if (strv_len (f) <= (size_t)pid_col)
        continue;
      pid_t pid = (pid_t)atoi (f[pid_col]);
      bool ours = false;
      for (size_t k = 0; k < n_pids; k++)
        ours |= pids[k] == pid;
      if (!ours)
        continue;
      json_t *row = json_array ();
      for (char **x = f; *x; x++)
        json_array_append_new (row, json_string (*x));
      json_array_append_new (procs, row);
    }
  json_t *tj = json_array ();
  for (char **t = titles; *t; t++)
    json_array_append_new (tj, json_string (*t));
  api_respond_json (req, 200, json_pack ("{s:o,s:o}", "Processes", procs, "Titles", tj));
}

/* -------------------------------------------------------------- stats -- */

static json_t *
empty_stats (void)
{
  return json_pack ("{s:{},s:{},s:{s:{},s:i,s:i},s:{s:{s:i,s:i,s:i,s:n},s:i,s:i}}", "blkio_stats",
                    "pids_stats", "cpu_stats", "cpu_usage", "system_cpu_usage", 0, "online_cpus", 0,
                    "precpu_stats", "cpu_usage", "total_usage", 0, "usage_in_kernelmode", 0,
                    "usage_in_usermode", 0, "percpu_usage", "system_cpu_usage", 0, "online_cpus",
                    0);
}

static uint64_t
system_cpu_ns (void)
{
  /* docker's system_cpu_usage: the sum of /proc/stat's cpu line, in ns */
  _cleanup_free_ char *stat = NULL;
  if (fs_read_file (AT_FDCWD, "/proc/stat", &stat, NULL, NULL) < 0)
    return 0;
  unsigned long long v[8] = { 0 };
  sscanf (stat, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
          &v[5], &v[6], &v[7]);
  unsigned long long total = 0;
  for (int i = 0; i < 8; i++)
    total += v[i];
  long hz = sysconf (_SC_CLK_TCK);
  return (uint64_t)(total * (1000000000ull / (unsigned long long)(hz > 0 ? hz : 100)));
}

/* dockerd's answer for a container that does not run: zero time, zero
 * counters, no networks */
static json_t *
stopped_stats (struct container *c)
{
  static const char *const blkio[]
      = { "io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
          "io_service_time_recursive",  "io_wait_time_recursive", "io_merged_recursive",
          "io_time_recursive",          "sectors_recursive",      NULL };
  json_t *b = json_object ();
  for (const char *const *k = blkio; *k; k++)
    json_object_set_new (b, *k, json_null ());
  json_t *cpu = json_pack ("{s:{s:i,s:i,s:i},s:{s:i,s:i,s:i}}", "cpu_usage", "total_usage", 0,
                           "usage_in_kernelmode", 0, "usage_in_usermode", 0, "throttling_data",
                           "periods", 0, "throttled_periods", 0, "throttled_time", 0);
  return json_pack ("{s:s,s:s,s:{},s:o,s:i,s:{},s:o,s:O,s:{},s:s,s:s}", "read",
                    "0001-01-01T00:00:00Z", "preread", "0001-01-01T00:00:00Z", "pids_stats",
                    "blkio_stats", b, "num_procs", 0, "storage_stats", "cpu_stats", cpu,
                    "precpu_stats", cpu, "memory_stats", "name", c->name, "id", c->id);
}

static json_t *
stats_sample (struct containers *cs, struct container *c)
{
  if (!container_is_running (c))
    return stopped_stats (c);
  _cleanup_error_ struct berth_error *err = NULL;
  json_t *s = NULL;
  if (container_is_running (c))
    s = runtime_container_stats (&cs->rt, c->id, &err);
  if (s == NULL)
    s = empty_stats ();
  json_t *cpu = json_object_get (s, "cpu_stats");
  if (json_is_object (cpu))
    {
      json_object_set_new (cpu, "system_cpu_usage", json_integer ((json_int_t)system_cpu_ns ()));
      if (!json_object_get (cpu, "online_cpus"))
        json_object_set_new (cpu, "online_cpus", json_integer (sysconf (_SC_NPROCESSORS_ONLN)));
    }
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  _cleanup_free_ char *t = time_format_rfc3339nano (&now);
  json_object_set_new (s, "read", json_string (t));
  json_object_set_new (s, "name", json_string (c->name));
  json_object_set_new (s, "id", json_string (c->id));
  json_object_set_new (s, "num_procs", json_integer (0));
  json_object_set_new (s, "storage_stats", json_object ());
  /* dockerd lists no networks for a container without any */
  const char *mode = json_string_value (json_object_get (c->host_config, "NetworkMode"));
  if (!json_object_get (s, "networks") && !(mode && strcmp (mode, "none") == 0))
    json_object_set_new (s, "networks", json_object ());
  /* omitempty in dockerd's types: no pids limit, no memory failures */
  json_t *pids = json_object_get (s, "pids_stats");
  if (json_integer_value (json_object_get (pids, "limit")) == 0)
    json_object_del (pids, "limit");
  json_t *mem = json_object_get (s, "memory_stats");
  if (json_integer_value (json_object_get (mem, "failcnt")) == 0)
    json_object_del (mem, "failcnt");
  return s;
}

struct stats_stream
{
  struct containers *cs;
  char id[SHA256_HEX_LEN + 1];
  struct api_stream *s;
  struct loop_timer *timer;
  json_t *prev;
};

static void stats_tick (void *data);

static void
stats_stream_free (struct stats_stream *ss)
{
  struct containers *cs = ss->cs;
  for (size_t i = 0; i < cs->n_stats; i++)
    if (cs->stats[i] == ss)
      {
        cs->stats[i] = cs->stats[--cs->n_stats];
        break;
      }
  if (ss->timer)
    loop_timer_cancel (ss->timer);
  api_stream_end (ss->s);
  json_decref (ss->prev);
  free (ss);
}

/* The client went away: end now (a suspended stream would otherwise wait
 * for the next tick, and hold the server's shutdown) */
static void
stats_closed (void *data)
{
  stats_stream_free (data);
}

void
stats_streams_end_all (struct containers *cs)
{
  while (cs->n_stats > 0)
    stats_stream_free (cs->stats[cs->n_stats - 1]);
}

static void
stats_emit (struct stats_stream *ss, struct container *c)
{
  json_t *cur = stats_sample (ss->cs, c);
  json_object_set (cur, "precpu_stats",
                   ss->prev ? json_object_get (ss->prev, "cpu_stats")
                            : json_object_get (cur, "cpu_stats"));
  json_object_set_new (cur, "preread",
                       ss->prev ? json_incref (json_object_get (ss->prev, "read"))
                                : json_string ("0001-01-01T00:00:00Z"));
  json_decref (ss->prev);
  ss->prev = json_incref (cur);
  api_stream_write_json (ss->s, cur);
}

static void
stats_tick (void *data)
{
  struct stats_stream *ss = data;
  ss->timer = NULL;
  struct container *c = containers_lookup (ss->cs, ss->id, NULL);
  if (c == NULL || !container_is_running (c))
    {
      if (c)
        stats_emit (ss, c);
      stats_stream_free (ss);
      return;
    }
  stats_emit (ss, c);
  ss->timer = loop_timer_add (ss->cs->d->loop, 1000, stats_tick, ss);
}

struct stats_once
{
  struct containers *cs;
  struct api_request *req;
  char id[SHA256_HEX_LEN + 1];
  json_t *first;
};

static void
stats_once_fire (void *data)
{
  struct stats_once *once = data;
  struct container *c = containers_lookup (once->cs, once->id, NULL);
  json_t *cur = c ? stats_sample (once->cs, c) : json_incref (once->first);
  json_object_set (cur, "precpu_stats", json_object_get (once->first, "cpu_stats"));
  json_object_set (cur, "preread", json_object_get (once->first, "read"));
  json_decref (once->first);
  api_respond_json (once->req, 200, cur);
  free (once);
}

void api_container_stats (struct api_request *req);

void
api_container_stats (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  bool stream = api_request_query_bool (req, "stream", true);
  bool one_shot = api_request_query_bool (req, "one-shot", false);
  if (!stream || one_shot)
    {
      /* stream=0: docker samples twice so precpu_stats is meaningful; a
       * short gap (a timer, the loop keeps serving) keeps
       * `docker stats --no-stream` quick */
      struct stats_once *once = calloc (1, sizeof *once);
      once->cs = cs;
      once->req = req;
      memcpy (once->id, c->id, sizeof once->id);
      once->first = stats_sample (cs, c);
      if (one_shot || !container_is_running (c))
        stats_once_fire (once);
      else
        loop_timer_add (cs->d->loop, 100, stats_once_fire, once);
      return;
    }
  struct stats_stream *ss = calloc (1, sizeof *ss);
  ss->cs = cs;
  memcpy (ss->id, c->id, sizeof ss->id);
  ss->s = api_respond_stream (req, 200, "application/json");
  api_stream_on_close (ss->s, stats_closed, ss);
  cs->stats = realloc (cs->stats, (cs->n_stats + 1) * sizeof *cs->stats);
  cs->stats[cs->n_stats++] = ss;
  stats_emit (ss, c);
  ss->timer = loop_timer_add (cs->d->loop, 1000, stats_tick, ss);
}
