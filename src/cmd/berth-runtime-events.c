/* berth-runtime events: runc's command. `--stats` prints one stats event
 * and exits; otherwise a stats event every --interval and an "oom" event
 * each time the kernel's OOM killer strikes in the container, until the
 * container stops or is deleted. One JSON object per line, runc's shape:
 * {"type":"stats","id":…,"data":{"cpu":…,"memory":…,"pids":…,"blkio":…}}. */
#include "cmd/berth-runtime.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *
u64_of (const json_t *o, const char *key)
{
  json_t *v = json_object_get (o, key);
  return json_is_integer (v) ? json_integer (json_integer_value (v)) : json_integer (0);
}

/* Engine API shaped stats (runtime_container_stats) → runc's types.Stats. */
static json_t *
stats_to_runc (const json_t *s)
{
  const json_t *cpu = json_object_get (s, "cpu_stats");
  const json_t *usage = json_object_get (cpu, "cpu_usage");
  const json_t *thr = json_object_get (cpu, "throttling_data");
  json_t *percpu = json_object_get (usage, "percpu_usage");
  const json_t *mem = json_object_get (s, "memory_stats");
  const json_t *pids = json_object_get (s, "pids_stats");
  json_t *raw = json_object_get (mem, "stats");
  json_t *blkio = json_array ();
  size_t i;
  json_t *e;
  json_array_foreach (json_object_get (json_object_get (s, "blkio_stats"),
                                       "io_service_bytes_recursive"),
                      i, e)
  json_array_append (blkio, e);
  return json_pack (
      "{s:{s:{s:o,s:O,s:o,s:o},s:{s:o,s:o,s:o}},s:{s:{s:o,s:o,s:o,s:o},s:O},s:{s:o,s:o},"
      "s:{s:o}}",
      "cpu", "usage", "total", u64_of (usage, "total_usage"), "percpu",
      percpu ? percpu : json_array (), "kernel", u64_of (usage, "usage_in_kernelmode"), "user",
      u64_of (usage, "usage_in_usermode"), "throttling", "periods", u64_of (thr, "periods"),
      "throttledPeriods", u64_of (thr, "throttled_periods"), "throttledTime",
      u64_of (thr, "throttled_time"), "memory", "usage", "usage", u64_of (mem, "usage"), "max",
      u64_of (mem, "max_usage"), "limit", u64_of (mem, "limit"), "failcnt",
      u64_of (mem, "failcnt"), "raw", raw ? raw : json_object (), "pids", "current",
      u64_of (pids, "current"), "limit", u64_of (pids, "limit"), "blkio",
      "ioServiceBytesRecursive", blkio);
}

static int
print_event (const char *type, const char *id, json_t *data)
{
  json_t *ev = json_pack ("{s:s,s:s}", "type", type, "id", id);
  if (data)
    json_object_set_new (ev, "data", data);
  char *line = json_dumps (ev, JSON_COMPACT);
  json_decref (ev);
  if (line == NULL)
    return -1;
  puts (line);
  free (line);
  return fflush (stdout);
}

static int
emit_stats (struct globals *g, const char *id, struct berth_error **err)
{
  json_t *s = runtime_container_stats (&g->ctx, id, err);
  if (s == NULL)
    return -1;
  json_t *data = stats_to_runc (s);
  json_decref (s);
  return print_event ("stats", id, data);
}

/* Go's durations as runc takes them: "5s", "250ms", "1m", "1m30s"; a bare
 * number is seconds. */
static long long
parse_interval_ms (const char *s)
{
  long long total = 0;
  const char *p = s;
  if (*p == '\0')
    return -1;
  while (*p)
    {
      char *end;
      double v = strtod (p, &end);
      if (end == p || v < 0)
        return -1;
      p = end;
      double unit = 1000;
      if (strncmp (p, "ms", 2) == 0)
        unit = 1, p += 2;
      else if (*p == 's')
        unit = 1000, p++;
      else if (*p == 'm')
        unit = 60000, p++;
      else if (*p == 'h')
        unit = 3600000, p++;
      else if (*p != '\0')
        return -1;
      total += (long long)(v * unit);
    }
  return total;
}

static bool
container_running (struct globals *g, const char *id)
{
  struct berth_error *err = NULL;
  json_t *st = runtime_container_state (&g->ctx, id, &err);
  berth_error_free (err);
  const char *status = json_string_value (json_object_get (st, "status"));
  bool alive = status && strcmp (status, "stopped") != 0;
  json_decref (st);
  return alive;
}

int
cmd_events (struct globals *g, int argc, char **argv)
{
  static const struct option longopts[] = { { "stats", no_argument, NULL, 's' },
                                            { "interval", required_argument, NULL, 'i' },
                                            { NULL, 0, NULL, 0 } };
  bool once = false;
  long long interval_ms = 5000;
  int c;
  reset_getopt ();
  while ((c = getopt_long_only (argc, argv, "+", longopts, NULL)) != -1)
    if (c == 's')
      once = true;
    else if (c == 'i')
      {
        interval_ms = parse_interval_ms (optarg);
        if (interval_ms <= 0)
          return usage_error ("events", "--interval `%s`: use a duration like 5s or 500ms",
                              optarg);
      }
    else
      return usage_error ("events", "%s", "unknown flag");
  if (optind >= argc)
    return usage_error ("events", "%s", "missing container id");
  const char *id = argv[optind];
  struct berth_error *err = NULL;
  if (once)
    return emit_stats (g, id, &err) < 0 ? fail (err, "events") : 0;

  uint64_t ooms = 0;
  if (runtime_container_oom_kills (&g->ctx, id, &ooms, &err) < 0)
    return fail (err, "events");
  struct timespec next;
  clock_gettime (CLOCK_MONOTONIC, &next);
  for (;;)
    {
      /* OOM kills are looked for every 100 ms, stats every interval; the
       * last look comes after the container stopped, so an OOM that ended
       * it is reported. */
      bool alive = container_running (g, id);
      uint64_t now_ooms = 0;
      if (runtime_container_oom_kills (&g->ctx, id, &now_ooms, &err) < 0)
        {
          berth_error_free (err);
          return 0; /* deleted: nothing more to report */
        }
      for (; ooms < now_ooms; ooms++)
        print_event ("oom", id, NULL);
      if (!alive)
        return 0;
      struct timespec t;
      clock_gettime (CLOCK_MONOTONIC, &t);
      if (t.tv_sec > next.tv_sec || (t.tv_sec == next.tv_sec && t.tv_nsec >= next.tv_nsec))
        {
          if (emit_stats (g, id, &err) < 0)
            {
              berth_error_free (err);
              err = NULL;
            }
          next.tv_sec += interval_ms / 1000;
          next.tv_nsec += (interval_ms % 1000) * 1000000;
          if (next.tv_nsec >= 1000000000)
            next.tv_sec++, next.tv_nsec -= 1000000000;
        }
      nanosleep (&(struct timespec){ 0, 100 * 1000000 }, NULL);
    }
}
