/* cgroup v1: the per-controller file writers (memory, cpu, cpuset, pids,
 * blkio, hugetlb, devices, net_cls, net_prio), freezer.state, and the
 * v1 parts of the stats. Every function works on a directory fd, so unit
 * tests run it against a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cgroup-internal.h"

#define F(x) "linux.resources." x

static int
v1_memory (int dfd, const struct cgroup_resources *r, struct berth_error **err)
{
  if (r->has_memory_limit && r->has_memory_swap)
    {
      /* memory.limit_in_bytes must stay <= memory.memsw.limit_in_bytes, so
       * raising both needs memsw first and lowering both needs limit first. */
      _cleanup_error_ struct berth_error *first = NULL;
      if (cgroup_writef (dfd, "memory.limit_in_bytes", F ("memory.limit"), &first, "%" PRId64,
                         r->memory_limit)
          < 0)
        {
          if (first->errnum != EINVAL)
            return berth_error_set (err, first->errnum, "%s", first->msg);
          if (cgroup_writef (dfd, "memory.memsw.limit_in_bytes", F ("memory.swap"), err, "%" PRId64,
                             r->memory_swap)
                  < 0
              || cgroup_writef (dfd, "memory.limit_in_bytes", F ("memory.limit"), err, "%" PRId64,
                                r->memory_limit)
                     < 0)
            return -1;
        }
      else if (cgroup_writef (dfd, "memory.memsw.limit_in_bytes", F ("memory.swap"), err,
                              "%" PRId64, r->memory_swap)
               < 0)
        return -1;
    }
  else if (r->has_memory_limit)
    {
      if (cgroup_writef (dfd, "memory.limit_in_bytes", F ("memory.limit"), err, "%" PRId64,
                         r->memory_limit)
          < 0)
        return -1;
    }
  else if (r->has_memory_swap
           && cgroup_writef (dfd, "memory.memsw.limit_in_bytes", F ("memory.swap"), err, "%" PRId64,
                             r->memory_swap)
                  < 0)
    return -1;
  if (r->has_memory_reservation
      && cgroup_writef (dfd, "memory.soft_limit_in_bytes", F ("memory.reservation"), err,
                        "%" PRId64, r->memory_reservation)
             < 0)
    return -1;
  if (r->has_swappiness
      && cgroup_writef (dfd, "memory.swappiness", F ("memory.swappiness"), err, "%" PRIu64,
                        r->swappiness)
             < 0)
    return -1;
  if (r->has_kernel_tcp
      && cgroup_writef (dfd, "memory.kmem.tcp.limit_in_bytes", F ("memory.kernelTCP"), err,
                        "%" PRId64, r->kernel_tcp)
             < 0)
    return -1;
  if (r->has_disable_oom_killer
      && cgroup_write (dfd, "memory.oom_control", r->disable_oom_killer ? "1" : "0",
                       F ("memory.disableOOMKiller"), err)
             < 0)
    return -1;
  return 0;
}

/* Make sure the directory dfd has at least runtime_us of real-time budget,
 * taking it from its parents first. Only directories berth created are
 * changed; a parent someone else made must already have the budget. */
static int
rt_reserve (int dfd, int64_t runtime_us, int depth)
{
  uint64_t cur = 0;
  if (cgroup_read_u64 (dfd, "cpu.rt_runtime_us", &cur) == 0 && (int64_t)cur >= runtime_us)
    return 0;
  if (depth > 32 || !cgroup_dir_is_berth_created (dfd))
    return -1;
  _cleanup_close_ int parent = openat (dfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0 || rt_reserve (parent, runtime_us, depth + 1) < 0)
    return -1;
  return cgroup_writef (dfd, "cpu.rt_runtime_us", NULL, NULL, "%" PRId64, runtime_us);
}

/* A new v1 cgroup has no real-time budget, so a container's runtime only
 * fits once the parents berth made (/berth) hold that much too. */
static int
v1_rt_runtime (int dfd, int64_t runtime_us, struct berth_error **err)
{
  _cleanup_error_ struct berth_error *first = NULL;
  if (cgroup_writef (dfd, "cpu.rt_runtime_us", F ("cpu.realtimeRuntime"), &first, "%" PRId64,
                     runtime_us)
      == 0)
    return 0;
  _cleanup_close_ int parent = openat (dfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (first->errnum != EINVAL || runtime_us <= 0 || parent < 0
      || rt_reserve (parent, runtime_us, 0) < 0)
    return berth_error_set_kind (err, first->kind, 0,
                                 "%s (the parent cgroup has less real-time budget)", first->msg);
  return cgroup_writef (dfd, "cpu.rt_runtime_us", F ("cpu.realtimeRuntime"), err, "%" PRId64,
                        runtime_us);
}

static int
v1_cpu (int dfd, const struct cgroup_resources *r, struct berth_error **err)
{
  if (r->has_cpu_shares
      && cgroup_writef (dfd, "cpu.shares", F ("cpu.shares"), err, "%" PRIu64, r->cpu_shares) < 0)
    return -1;
  if (r->has_cpu_period
      && cgroup_writef (dfd, "cpu.cfs_period_us", F ("cpu.period"), err, "%" PRIu64, r->cpu_period)
             < 0)
    return -1;
  if (r->has_cpu_quota
      && cgroup_writef (dfd, "cpu.cfs_quota_us", F ("cpu.quota"), err, "%" PRId64, r->cpu_quota)
             < 0)
    return -1;
  if (r->has_cpu_burst
      && cgroup_writef (dfd, "cpu.cfs_burst_us", F ("cpu.burst"), err, "%" PRIu64, r->cpu_burst)
             < 0)
    return -1;
  /* The period first: the runtime must fit the (new) period. */
  if (r->has_rt_period
      && cgroup_writef (dfd, "cpu.rt_period_us", F ("cpu.realtimePeriod"), err, "%" PRIu64,
                        r->rt_period)
             < 0)
    return -1;
  if (r->has_rt_runtime && v1_rt_runtime (dfd, r->rt_runtime, err) < 0)
    return -1;
  if (r->has_cpu_idle
      && cgroup_writef (dfd, "cpu.idle", F ("cpu.idle"), err, "%" PRId64, r->cpu_idle) < 0)
    return -1;
  return 0;
}

static int
v1_blkio (int dfd, const struct cgroup_resources *r, struct berth_error **err)
{
  /* Kernels with BFQ and without CFQ only have blkio.bfq.*. */
  bool bfq
      = !cgroup_file_exists (dfd, "blkio.weight") && cgroup_file_exists (dfd, "blkio.bfq.weight");
  const char *weight = bfq ? "blkio.bfq.weight" : "blkio.weight";
  const char *weight_dev = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
  if (r->has_blkio_weight
      && cgroup_writef (dfd, weight, F ("blockIO.weight"), err, "%u", r->blkio_weight) < 0)
    return -1;
  if (r->has_blkio_leaf_weight
      && cgroup_writef (dfd, "blkio.leaf_weight", F ("blockIO.leafWeight"), err, "%u",
                        r->blkio_leaf_weight)
             < 0)
    return -1;
  for (size_t i = 0; i < r->n_weight_devices; i++)
    {
      const struct cgroup_blkio_device *d = &r->weight_devices[i];
      char field[96];
      snprintf (field, sizeof field, F ("blockIO.weightDevice[%zu]"), i);
      if (d->has_weight
          && cgroup_writef (dfd, weight_dev, field, err, "%" PRId64 ":%" PRId64 " %u", d->major,
                            d->minor, d->weight)
                 < 0)
        return -1;
      if (d->has_leaf_weight
          && cgroup_writef (dfd, "blkio.leaf_weight_device", field, err,
                            "%" PRId64 ":%" PRId64 " %u", d->major, d->minor, d->leaf_weight)
                 < 0)
        return -1;
    }
  static const char *const files[4]
      = { "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
          "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device" };
  static const char *const keys[4] = { "throttleReadBpsDevice", "throttleWriteBpsDevice",
                                       "throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
  for (int k = 0; k < 4; k++)
    for (size_t i = 0; i < r->n_throttle[k]; i++)
      {
        const struct cgroup_blkio_device *d = &r->throttle[k][i];
        char field[96];
        snprintf (field, sizeof field, F ("blockIO.%s[%zu]"), keys[k], i);
        if (cgroup_writef (dfd, files[k], field, err, "%" PRId64 ":%" PRId64 " %" PRIu64, d->major,
                           d->minor, d->rate)
            < 0)
          return -1;
      }
  return 0;
}

static int
v1_hugetlb (int dfd, const struct cgroup_resources *r, struct berth_error **err)
{
  return cgroup_hugetlb_write (dfd, r, "hugetlb.%s.limit_in_bytes", "hugetlb.%s.rsvd.limit_in_bytes", err);
}

static void
device_rule_format (char type, const struct cgroup_device_rule *d, char *buf, size_t len)
{
  char major[24], minor[24];
  if (d->major < 0)
    strcpy (major, "*");
  else
    snprintf (major, sizeof major, "%" PRId64, d->major);
  if (d->minor < 0)
    strcpy (minor, "*");
  else
    snprintf (minor, sizeof minor, "%" PRId64, d->minor);
  snprintf (buf, len, "%c %s:%s %s", type, major, minor, d->access);
}

static int
v1_devices (int dfd, const struct cgroup_resources *r, struct berth_error **err)
{
  /* each rule is one write; the two files stay open across the ~20 rules
   * of Docker's default set */
  _cleanup_close_ int allow_fd = -1, deny_fd = -1;
  for (size_t i = 0; i < r->n_devices; i++)
    {
      const struct cgroup_device_rule *d = &r->devices[i];
      const char *file = d->allow ? "devices.allow" : "devices.deny";
      int *fd = d->allow ? &allow_fd : &deny_fd;
      char rule[96], field[64];
      snprintf (field, sizeof field, F ("devices[%zu]"), i);
      /* The kernel reads any "a ..." as "all devices, all access" and resets
       * the list; a narrower "a" rule (some access, or a major/minor) is
       * written as the same rule for char and block devices (runc). */
      bool everything = d->major < 0 && d->minor < 0 && strlen (d->access) == 3;
      if (d->type == 'a' && everything)
        {
          if (cgroup_write_keep (dfd, file, fd, "a", field, err) < 0)
            return -1;
          continue;
        }
      for (const char *t = d->type == 'a' ? "cb" : (d->type == 'c' ? "c" : "b"); *t; t++)
        {
          device_rule_format (*t, d, rule, sizeof rule);
          if (cgroup_write_keep (dfd, file, fd, rule, field, err) < 0)
            return -1;
        }
    }
  return 0;
}

static int
v1_net (int dfd, enum cgroup_controller c, const struct cgroup_resources *r,
        struct berth_error **err)
{
  if (c == CG_NET_CLS && r->has_class_id)
    return cgroup_writef (dfd, "net_cls.classid", F ("network.classID"), err, "%u", r->class_id);
  if (c == CG_NET_PRIO)
    for (size_t i = 0; i < r->n_net_prios; i++)
      {
        char field[96];
        snprintf (field, sizeof field, F ("network.priorities[%zu]"), i);
        if (cgroup_writef (dfd, "net_prio.ifpriomap", field, err, "%s %u", r->net_prios[i].name,
                           r->net_prios[i].priority)
            < 0)
          return -1;
      }
  return 0;
}

int
cgroup_rdma_apply (int dfd, const struct cgroup_resources *r, struct berth_error **err)
{
  for (size_t i = 0; i < r->n_rdma; i++)
    {
      const struct cgroup_rdma *d = &r->rdma[i];
      char field[220], handles[24], objects[24];
      snprintf (field, sizeof field, F ("rdma[\"%.150s\"]"), d->device);
      if (d->hca_handles < 0)
        strcpy (handles, "max");
      else
        snprintf (handles, sizeof handles, "%" PRId64, d->hca_handles);
      if (d->hca_objects < 0)
        strcpy (objects, "max");
      else
        snprintf (objects, sizeof objects, "%" PRId64, d->hca_objects);
      if (cgroup_writef (dfd, "rdma.max", field, err, "%s hca_handle=%s hca_object=%s", d->device,
                         handles, objects)
          < 0)
        return -1;
    }
  return 0;
}

int
cgroup_v1_apply (int dfd, enum cgroup_controller c, const struct cgroup_resources *r,
                 struct berth_error **err)
{
  switch (c)
    {
    case CG_MEMORY:
      return v1_memory (dfd, r, err);
    case CG_CPU:
      return v1_cpu (dfd, r, err);
    case CG_CPUSET:
      if (r->cpus && cgroup_write (dfd, "cpuset.cpus", r->cpus, F ("cpu.cpus"), err) < 0)
        return -1;
      if (r->mems && cgroup_write (dfd, "cpuset.mems", r->mems, F ("cpu.mems"), err) < 0)
        return -1;
      return 0;
    case CG_PIDS:
      if (!r->has_pids_limit)
        return 0;
      if (r->pids_limit < 0)
        return cgroup_write (dfd, "pids.max", "max", F ("pids.limit"), err);
      return cgroup_writef (dfd, "pids.max", F ("pids.limit"), err, "%" PRId64, r->pids_limit);
    case CG_BLKIO:
      return v1_blkio (dfd, r, err);
    case CG_HUGETLB:
      return v1_hugetlb (dfd, r, err);
    case CG_DEVICES:
      return v1_devices (dfd, r, err);
    case CG_NET_CLS:
    case CG_NET_PRIO:
      return v1_net (dfd, c, r, err);
    case CG_RDMA:
      return cgroup_rdma_apply (dfd, r, err);
    default:
      return 0;
    }
}

/* ------------------------------------------------------------- freezer -- */

int
cgroup_v1_is_frozen (int dfd, bool *frozen, struct berth_error **err)
{
  _cleanup_free_ char *state = NULL;
  if (cgroup_read (dfd, "freezer.state", &state, err) < 0)
    return -1;
  /* FREEZING counts as not (yet) paused. */
  *frozen = str_has_prefix (state, "FROZEN");
  return 0;
}

int
cgroup_v1_freeze (int dfd, bool frozen, struct berth_error **err)
{
  const char *want = frozen ? "FROZEN" : "THAWED";
  /* The v1 freezer has no completion event: poll freezer.state. A fork
   * racing the freeze can leave it in FREEZING; writing FROZEN again makes
   * the kernel retry (runc does the same). Bounded to ~10 s. */
  struct timespec delay = { 0, 100 * 1000 };
  for (int attempt = 0; attempt < 1000; attempt++)
    {
      if (attempt % 25 == 0 && cgroup_write (dfd, "freezer.state", want, NULL, err) < 0)
        return -1;
      _cleanup_free_ char *state = NULL;
      if (cgroup_read (dfd, "freezer.state", &state, err) < 0)
        return -1;
      if (str_has_prefix (state, want))
        return 0;
      nanosleep (&delay, NULL);
      if (delay.tv_nsec < 10 * 1000 * 1000)
        delay.tv_nsec *= 2;
    }
  if (frozen)
    cgroup_write (dfd, "freezer.state", "THAWED", NULL, NULL);
  _cleanup_free_ char *dir = fs_fd_path (dfd);
  return berth_error_set (err, ETIMEDOUT, "%s/freezer.state did not reach %s", dir, want);
}

/* --------------------------------------------------------------- stats -- */

static json_t *
obj_child (json_t *parent, const char *key)
{
  json_t *o = json_object_get (parent, key);
  if (o == NULL)
    {
      o = json_object ();
      json_object_set_new (parent, key, o);
    }
  return o;
}

static void
set_u64 (json_t *obj, const char *key, uint64_t v)
{
  json_object_set_new (obj, key, json_integer ((json_int_t)(v > INT64_MAX ? INT64_MAX : v)));
}

static void
set_file_u64 (json_t *obj, const char *key, int dfd, const char *file)
{
  uint64_t v = 0;
  if (cgroup_read_u64 (dfd, file, &v) == 0)
    set_u64 (obj, key, v);
}

/* "8:0 Read 4096" lines → [{"major":8,"minor":0,"op":"Read","value":4096}]. */
static json_t *
blkio_entries (int dfd, const char *file)
{
  _cleanup_free_ char *s = NULL;
  json_t *arr = json_array ();
  if (cgroup_read (dfd, file, &s, NULL) < 0)
    return arr;
  char *save = NULL;
  for (char *l = strtok_r (s, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      unsigned maj = 0, min = 0;
      unsigned long long v = 0;
      char op[32];
      if (sscanf (l, "%u:%u %31s %llu", &maj, &min, op, &v) != 4)
        continue;
      json_array_append_new (arr, json_pack ("{s:i,s:i,s:s,s:I}", "major", (int)maj, "minor",
                                             (int)min, "op", op, "value", (json_int_t)v));
    }
  return arr;
}

void
cgroup_v1_stats (int dfd, enum cgroup_controller c, json_t *stats)
{
  long ticks = sysconf (_SC_CLK_TCK);
  switch (c)
    {
    case CG_MEMORY:
      {
        json_t *m = obj_child (stats, "memory_stats");
        set_file_u64 (m, "usage", dfd, "memory.usage_in_bytes");
        set_file_u64 (m, "max_usage", dfd, "memory.max_usage_in_bytes");
        set_file_u64 (m, "failcnt", dfd, "memory.failcnt");
        set_file_u64 (m, "limit", dfd, "memory.limit_in_bytes");
        json_t *st = cgroup_read_flat_keyed (dfd, "memory.stat");
        if (st)
          json_object_set_new (m, "stats", st);
        break;
      }
    case CG_CPUACCT:
      {
        json_t *u = obj_child (obj_child (stats, "cpu_stats"), "cpu_usage");
        set_file_u64 (u, "total_usage", dfd, "cpuacct.usage");
        _cleanup_free_ char *percpu = NULL;
        if (cgroup_read (dfd, "cpuacct.usage_percpu", &percpu, NULL) == 0)
          {
            json_t *arr = json_array ();
            char *save = NULL;
            for (char *t = strtok_r (percpu, " \n", &save); t; t = strtok_r (NULL, " \n", &save))
              json_array_append_new (arr, json_integer (strtoll (t, NULL, 10)));
            json_object_set_new (u, "percpu_usage", arr);
          }
        json_t *st = cgroup_read_flat_keyed (dfd, "cpuacct.stat");
        if (st && ticks > 0)
          {
            /* cpuacct.stat counts USER_HZ ticks; docker reports ns. */
            uint64_t ns_per_tick = 1000000000ull / (uint64_t)ticks;
            set_u64 (u, "usage_in_usermode",
                     (uint64_t)json_integer_value (json_object_get (st, "user")) * ns_per_tick);
            set_u64 (u, "usage_in_kernelmode",
                     (uint64_t)json_integer_value (json_object_get (st, "system")) * ns_per_tick);
          }
        json_decref (st);
        break;
      }
    case CG_CPU:
      {
        json_t *st = cgroup_read_flat_keyed (dfd, "cpu.stat");
        if (st == NULL)
          break;
        json_t *t = obj_child (obj_child (stats, "cpu_stats"), "throttling_data");
        set_u64 (t, "periods", (uint64_t)json_integer_value (json_object_get (st, "nr_periods")));
        set_u64 (t, "throttled_periods",
                 (uint64_t)json_integer_value (json_object_get (st, "nr_throttled")));
        set_u64 (t, "throttled_time",
                 (uint64_t)json_integer_value (json_object_get (st, "throttled_time")));
        json_decref (st);
        break;
      }
    case CG_PIDS:
      {
        json_t *p = obj_child (stats, "pids_stats");
        set_file_u64 (p, "current", dfd, "pids.current");
        uint64_t max = 0;
        /* runc and docker: 0 is "no limit". */
        if (cgroup_read_u64 (dfd, "pids.max", &max) == 0)
          set_u64 (p, "limit", max == UINT64_MAX ? 0 : max);
        break;
      }
    case CG_BLKIO:
      {
        json_t *b = obj_child (stats, "blkio_stats");
        json_object_set_new (b, "io_service_bytes_recursive",
                             blkio_entries (dfd, "blkio.throttle.io_service_bytes_recursive"));
        json_object_set_new (b, "io_serviced_recursive",
                             blkio_entries (dfd, "blkio.throttle.io_serviced_recursive"));
        break;
      }
    default:
      break;
    }
}
