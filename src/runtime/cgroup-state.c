/* A container's cgroup as data: the Engine-API-shaped stats that berthd
 * serves for `docker stats`, and the JSON that persists which hierarchies
 * and paths were used so later runtime invocations reopen the same cgroup. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "runtime/cgroup-internal.h"

/* /proc/stat "cpu" line in ns, as docker's system_cpu_usage. */
static uint64_t
system_cpu_usage_ns (void)
{
  _cleanup_free_ char *s = NULL;
  if (fs_read_file (AT_FDCWD, "/proc/stat", &s, NULL, NULL) < 0 || !str_has_prefix (s, "cpu "))
    return 0;
  uint64_t total = 0;
  char *p = s + 4;
  for (int i = 0; i < 8; i++)
    {
      char *end = NULL;
      unsigned long long v = strtoull (p, &end, 10);
      if (end == p)
        break;
      total += v;
      p = end;
    }
  long ticks = sysconf (_SC_CLK_TCK);
  return ticks > 0 ? total * (1000000000ull / (uint64_t)ticks) : 0;
}

static uint64_t
host_memory_bytes (void)
{
  long pages = sysconf (_SC_PHYS_PAGES), size = sysconf (_SC_PAGESIZE);
  return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

json_t *
cgroup_stats (struct cgroup *cg, struct berth_error **err)
{
  json_t *stats = json_pack ("{s:{},s:{s:{},s:{}},s:{},s:{s:[],s:[]}}", "memory_stats", "cpu_stats",
                             "cpu_usage", "throttling_data", "pids_stats", "blkio_stats",
                             "io_service_bytes_recursive", "io_serviced_recursive");
  for (size_t i = 0; i < cg->n_dirs; i++)
    {
      const struct cgroup_dir *d = &cg->dirs[i];
      int dfd = cgroup_dir_open (d, err);
      if (dfd < 0)
        {
          json_decref (stats);
          return NULL;
        }
      if (d->is_v2)
        cgroup_v2_stats (dfd, d->controllers, stats);
      else
        for (int c = 0; c < CG_N_CONTROLLERS; c++)
          if (d->controllers & CG_BIT (c))
            cgroup_v1_stats (dfd, c, stats);
      close (dfd);
    }
  /* Unlimited shows as the host's memory, as in `docker stats`. */
  json_t *mem = json_object_get (stats, "memory_stats");
  json_t *limit = json_object_get (mem, "limit");
  uint64_t host = host_memory_bytes ();
  if (host && (limit == NULL || (uint64_t)json_integer_value (limit) > host))
    json_object_set_new (mem, "limit", json_integer ((json_int_t)host));
  json_t *cpu = json_object_get (stats, "cpu_stats");
  json_object_set_new (cpu, "system_cpu_usage", json_integer ((json_int_t)system_cpu_usage_ns ()));
  json_object_set_new (cpu, "online_cpus", json_integer (sysconf (_SC_NPROCESSORS_ONLN)));
  return stats;
}

/* "oom_kill N" of the memory controller: v2 memory.events, v1
 * memory.oom_control (kernel >= 4.13). Two small reads where cgroup_stats
 * reads every controller: it runs on the exit path of every container. */
int
cgroup_oom_kills (struct cgroup *cg, uint64_t *count, struct berth_error **err)
{
  *count = 0;
  for (size_t i = 0; i < cg->n_dirs; i++)
    {
      const struct cgroup_dir *d = &cg->dirs[i];
      if (!(d->controllers & CG_BIT (CG_MEMORY)))
        continue;
      _cleanup_close_ int dfd = cgroup_dir_open (d, err);
      if (dfd < 0)
        return -1;
      _cleanup_json_ json_t *kv
          = cgroup_read_flat_keyed (dfd, d->is_v2 ? "memory.events" : "memory.oom_control");
      json_t *n = json_object_get (kv, "oom_kill");
      if (json_is_integer (n) && json_integer_value (n) > 0)
        *count += (uint64_t)json_integer_value (n);
    }
  return 0;
}

/* ------------------------------------------------------------- persist -- */

json_t *
cgroup_to_json (const struct cgroup *cg)
{
  json_t *dirs = json_array ();
  for (size_t i = 0; i < cg->n_dirs; i++)
    {
      const struct cgroup_dir *d = &cg->dirs[i];
      json_t *ctrls = json_array ();
      for (int c = 0; c < CG_N_CONTROLLERS; c++)
        if (d->controllers & CG_BIT (c))
          json_array_append_new (ctrls, json_string (cgroup_controller_v1_name (c)));
      json_array_append_new (dirs, json_pack ("{s:s,s:s,s:b,s:o,s:s}", "mountpoint", d->mountpoint,
                                              "hierarchy", d->hier_name, "v2", d->is_v2,
                                              "controllers", ctrls, "path", d->path));
    }
  return json_pack ("{s:s,s:o}", "layout", cgroup_layout_name (cg->layout), "dirs", dirs);
}

static int
bad (struct berth_error **err, const char *what)
{
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "cgroup state: %s", what);
}

struct cgroup *
cgroup_from_json (const json_t *j, struct berth_error **err)
{
  const char *layout = json_string_value (json_object_get (j, "layout"));
  json_t *dirs = json_object_get (j, "dirs");
  if (layout == NULL || !json_is_array (dirs))
    return bad (err, "\"layout\" and \"dirs\" are required"), NULL;
  struct cgroup *cg = calloc (1, sizeof *cg);
  if (strcmp (layout, "v1") == 0)
    cg->layout = CGROUP_LAYOUT_V1;
  else if (strcmp (layout, "v2") == 0)
    cg->layout = CGROUP_LAYOUT_V2;
  else if (strcmp (layout, "hybrid") == 0)
    cg->layout = CGROUP_LAYOUT_HYBRID;
  else
    {
      cgroup_free (cg);
      return bad (err, "unknown layout"), NULL;
    }
  cg->dirs = calloc (json_array_size (dirs) + 1, sizeof *cg->dirs);
  size_t i;
  json_t *dj;
  json_array_foreach (dirs, i, dj)
  {
    const char *mp = json_string_value (json_object_get (dj, "mountpoint"));
    const char *name = json_string_value (json_object_get (dj, "hierarchy"));
    const char *path = json_string_value (json_object_get (dj, "path"));
    json_t *ctrls = json_object_get (dj, "controllers");
    /* A state file is ours, but never let it point outside cgroupfs. */
    if (mp == NULL || name == NULL || path == NULL || !json_is_array (ctrls) || mp[0] != '/'
        || path[0] != '/' || strstr (path, "/..") || strstr (mp, "/.."))
      {
        cgroup_free (cg);
        return bad (err, "a dir entry needs mountpoint, hierarchy, path and controllers"), NULL;
      }
    struct cgroup_dir *d = &cg->dirs[cg->n_dirs++];
    d->mountpoint = xstrdup (mp);
    d->hier_name = xstrdup (name);
    d->path = xstrdup (path);
    d->is_v2 = json_is_true (json_object_get (dj, "v2"));
    size_t k;
    json_t *c;
    json_array_foreach (ctrls, k, c)
    {
      int id = json_string_value (c) ? cgroup_controller_from_v1_name (json_string_value (c)) : -1;
      if (id >= 0)
        d->controllers |= CG_BIT (id);
    }
  }
  return cg;
}
