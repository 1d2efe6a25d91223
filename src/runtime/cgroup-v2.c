/* cgroup v2: the unified-hierarchy file writers with runc's conversions
 * from the OCI (v1-shaped) numbers, cgroup.freeze with cgroup.events, and
 * the v2 parts of the stats. Works on a directory fd, so unit tests run it
 * against a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cgroup-internal.h"

#define F(x) "linux.resources." x

static void
format_max (char *buf, size_t len, int64_t v)
{
  if (v < 0)
    snprintf (buf, len, "max");
  else
    snprintf (buf, len, "%" PRId64, v);
}

/* The number in a v2 limit file, -1 for "max", 0 when unreadable. */
static int64_t
read_limit (int dfd, const char *file)
{
  uint64_t v = 0;
  if (cgroup_read_u64 (dfd, file, &v) < 0)
    return 0;
  return v == UINT64_MAX ? -1 : (int64_t)v;
}

static int
v2_memory (int dfd, const struct cgroup_resources *r, struct berth_error **err)
{
  char buf[32];
  if (r->has_memory_limit)
    {
      format_max (buf, sizeof buf, r->memory_limit);
      if (cgroup_write (dfd, "memory.max", buf, F ("memory.limit"), err) < 0)
        return -1;
    }
  if (r->has_memory_swap || (r->has_memory_limit && r->memory_limit == -1))
    {
      /* For an update that changes only swap, the limit in force counts. */
      int64_t limit = r->has_memory_limit ? r->memory_limit : read_limit (dfd, "memory.max");
      int64_t swap = 0;
      bool is_set = false;
      if (cgroup_convert_swap_to_v2 (r->has_memory_swap ? r->memory_swap : 0, limit, &swap, &is_set,
                                     err)
          < 0)
        return -1;
      /* Without swap accounting there is no memory.swap.max; only an
       * explicit swap limit is then an error. */
      if (is_set && (r->has_memory_swap || cgroup_file_exists (dfd, "memory.swap.max")))
        {
          format_max (buf, sizeof buf, swap);
          if (cgroup_write (dfd, "memory.swap.max", buf, F ("memory.swap"), err) < 0)
            return -1;
        }
    }
  if (r->has_memory_reservation)
    {
      format_max (buf, sizeof buf, r->memory_reservation);
      if (cgroup_write (dfd, "memory.low", buf, F ("memory.reservation"), err) < 0)
        return -1;
    }
  /* swappiness, disableOOMKiller and kernelTCP have no v2 file; runc
   * ignores them. */
  if (r->has_swappiness || r->has_disable_oom_killer || r->has_kernel_tcp)
    berth_log (BERTH_LOG_DEBUG, "cgroup v2: memory.swappiness and disableOOMKiller are ignored");
  return 0;
}

static int
v2_cpu (int dfd, const struct cgroup_resources *r, struct berth_error **err)
{
  if (r->has_rt_runtime || r->has_rt_period)
    return berth_error_set_kind (
        err, BERTH_E_INVALID, 0,
        F ("cpu.realtimeRuntime") ": real-time scheduling limits "
                                  "need cgroup v1 (cgroup v2 has no cpu.rt_* files)");
  if (r->has_cpu_shares
      && cgroup_writef (dfd, "cpu.weight", F ("cpu.shares"), err, "%" PRIu64,
                        cgroup_convert_shares_to_weight (r->cpu_shares))
             < 0)
    return -1;
  if (r->has_cpu_quota || r->has_cpu_period)
    {
      /* cpu.max holds both numbers: keep the one not being changed. */
      char quota[32] = "max";
      uint64_t period = 100000;
      _cleanup_free_ char *cur = NULL;
      if (cgroup_read (dfd, "cpu.max", &cur, NULL) == 0)
        sscanf (cur, "%31s %" SCNu64, quota, &period);
      if (r->has_cpu_quota)
        format_max (quota, sizeof quota, r->cpu_quota);
      if (r->has_cpu_period)
        period = r->cpu_period;
      if (cgroup_writef (dfd, "cpu.max", r->has_cpu_quota ? F ("cpu.quota") : F ("cpu.period"), err,
                         "%s %" PRIu64, quota, period)
          < 0)
        return -1;
    }
  if (r->has_cpu_burst
      && cgroup_writef (dfd, "cpu.max.burst", F ("cpu.burst"), err, "%" PRIu64, r->cpu_burst) < 0)
    return -1;
  if (r->has_cpu_idle
      && cgroup_writef (dfd, "cpu.idle", F ("cpu.idle"), err, "%" PRId64, r->cpu_idle) < 0)
    return -1;
  return 0;
}

static int
v2_io (int dfd, const struct cgroup_resources *r, struct berth_error **err)
{
  /* BFQ takes the v1 scale (1..1000) directly; io.weight is 1..10000. */
  bool bfq = cgroup_file_exists (dfd, "io.bfq.weight");
  if (r->has_blkio_weight)
    {
      if (bfq)
        {
          if (cgroup_writef (dfd, "io.bfq.weight", F ("blockIO.weight"), err, "%u", r->blkio_weight)
              < 0)
            return -1;
        }
      else if (cgroup_writef (dfd, "io.weight", F ("blockIO.weight"), err, "default %" PRIu64,
                              cgroup_convert_blkio_weight_to_io_weight (r->blkio_weight))
               < 0)
        return -1;
    }
  for (size_t i = 0; i < r->n_weight_devices; i++)
    {
      const struct cgroup_blkio_device *d = &r->weight_devices[i];
      char field[96];
      snprintf (field, sizeof field, F ("blockIO.weightDevice[%zu]"), i);
      if (!d->has_weight)
        continue;
      if (bfq)
        {
          if (cgroup_writef (dfd, "io.bfq.weight", field, err, "%" PRId64 ":%" PRId64 " %u",
                             d->major, d->minor, d->weight)
              < 0)
            return -1;
        }
      else if (cgroup_writef (dfd, "io.weight", field, err, "%" PRId64 ":%" PRId64 " %" PRIu64,
                              d->major, d->minor,
                              cgroup_convert_blkio_weight_to_io_weight (d->weight))
               < 0)
        return -1;
    }
  static const char *const keys[4] = { "rbps", "wbps", "riops", "wiops" };
  static const char *const fields[4] = { "throttleReadBpsDevice", "throttleWriteBpsDevice",
                                         "throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
  for (int k = 0; k < 4; k++)
    for (size_t i = 0; i < r->n_throttle[k]; i++)
      {
        const struct cgroup_blkio_device *d = &r->throttle[k][i];
        char field[96], rate[32];
        snprintf (field, sizeof field, F ("blockIO.%s[%zu]"), fields[k], i);
        /* v1 takes 0 as "no limit"; v2 spells it max. */
        format_max (rate, sizeof rate, d->rate == 0 ? -1 : (int64_t)d->rate);
        if (cgroup_writef (dfd, "io.max", field, err, "%" PRId64 ":%" PRId64 " %s=%s", d->major,
                           d->minor, keys[k], rate)
            < 0)
          return -1;
      }
  return 0;
}

static int
v2_hugetlb (int dfd, const struct cgroup_resources *r, struct berth_error **err)
{
  return cgroup_hugetlb_write (dfd, r, "hugetlb.%s.max", "hugetlb.%s.rsvd.max", err);
}

static int
v2_unified (int dfd, const json_t *unified, struct berth_error **err)
{
  const char *key;
  json_t *val;
  json_object_foreach ((json_t *)unified, key, val)
  {
    char field[300];
    snprintf (field, sizeof field, F ("unified[\"%.200s\"]"), key);
    if (cgroup_write (dfd, key, json_string_value (val), field, err) < 0)
      return -1;
  }
  return 0;
}

int
cgroup_v2_apply (int dfd, unsigned controllers, bool with_unified, const struct cgroup_resources *r,
                 struct berth_error **err)
{
  if ((controllers & CG_BIT (CG_MEMORY)) && v2_memory (dfd, r, err) < 0)
    return -1;
  if ((controllers & CG_BIT (CG_CPU)) && v2_cpu (dfd, r, err) < 0)
    return -1;
  if (controllers & CG_BIT (CG_CPUSET))
    {
      if (r->cpus && cgroup_write (dfd, "cpuset.cpus", r->cpus, F ("cpu.cpus"), err) < 0)
        return -1;
      if (r->mems && cgroup_write (dfd, "cpuset.mems", r->mems, F ("cpu.mems"), err) < 0)
        return -1;
    }
  if ((controllers & CG_BIT (CG_PIDS)) && r->has_pids_limit)
    {
      char buf[32];
      format_max (buf, sizeof buf, r->pids_limit);
      if (cgroup_write (dfd, "pids.max", buf, F ("pids.limit"), err) < 0)
        return -1;
    }
  if ((controllers & CG_BIT (CG_BLKIO)) && v2_io (dfd, r, err) < 0)
    return -1;
  if ((controllers & CG_BIT (CG_HUGETLB)) && v2_hugetlb (dfd, r, err) < 0)
    return -1;
  if ((controllers & CG_BIT (CG_RDMA)) && cgroup_rdma_apply (dfd, r, err) < 0)
    return -1;
  /* Raw keys last, so they win over the converted values (runc's order). */
  if (with_unified && r->unified && v2_unified (dfd, r->unified, err) < 0)
    return -1;
  return 0;
}

/* ------------------------------------------------------------- freezer -- */

static int
events_frozen (int fd, bool *frozen)
{
  char buf[512];
  ssize_t n = pread (fd, buf, sizeof buf - 1, 0);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  const char *p = strstr (buf, "frozen ");
  *frozen = p && p[7] == '1';
  return 0;
}

int
cgroup_v2_is_frozen (int dfd, bool *frozen, struct berth_error **err)
{
  _cleanup_close_ int fd = openat (dfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || events_frozen (fd, frozen) < 0)
    {
      _cleanup_free_ char *dir = fs_fd_path (dfd);
      return berth_error_set (err, errno, "read %s/cgroup.events", dir);
    }
  return 0;
}

int
cgroup_v2_freeze (int dfd, bool frozen, struct berth_error **err)
{
  _cleanup_close_ int fd = openat (dfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      _cleanup_free_ char *dir = fs_fd_path (dfd);
      return berth_error_set (err, errno, "open %s/cgroup.events", dir);
    }
  if (cgroup_write (dfd, "cgroup.freeze", frozen ? "1" : "0", NULL, err) < 0)
    return -1;
  /* The kernel signals every change of cgroup.events with POLLPRI: wait
   * for "frozen <want>" without polling the file in a loop. */
  uint64_t deadline = time_now_ns () + 10ull * 1000 * 1000 * 1000;
  for (;;)
    {
      bool is_frozen = false;
      if (events_frozen (fd, &is_frozen) < 0)
        return berth_error_set (err, errno, "read cgroup.events");
      if (is_frozen == frozen)
        return 0;
      uint64_t now = time_now_ns ();
      if (now >= deadline)
        break;
      struct pollfd p = { .fd = fd, .events = POLLPRI };
      int left_ms = (int)((deadline - now) / 1000000) + 1;
      /* Also wake up now and then: a task stuck in the kernel may not
       * generate an event when it finally freezes. */
      if (poll (&p, 1, left_ms < 100 ? left_ms : 100) < 0 && errno != EINTR)
        return berth_error_set (err, errno, "poll cgroup.events");
    }
  if (frozen)
    cgroup_write (dfd, "cgroup.freeze", "0", NULL, NULL);
  _cleanup_free_ char *dir = fs_fd_path (dfd);
  return berth_error_set (err, ETIMEDOUT, "%s/cgroup.events did not report frozen %d", dir,
                          frozen ? 1 : 0);
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

static uint64_t
key_u64 (const json_t *obj, const char *key)
{
  return (uint64_t)json_integer_value (json_object_get (obj, key));
}

/* io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0". */
static void
v2_io_stats (int dfd, json_t *stats)
{
  _cleanup_free_ char *s = NULL;
  json_t *b = obj_child (stats, "blkio_stats");
  json_t *bytes = json_array (), *ios = json_array ();
  json_object_set_new (b, "io_service_bytes_recursive", bytes);
  json_object_set_new (b, "io_serviced_recursive", ios);
  if (cgroup_read (dfd, "io.stat", &s, NULL) < 0)
    return;
  char *save = NULL;
  for (char *l = strtok_r (s, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      unsigned maj = 0, min = 0;
      int off = 0;
      if (sscanf (l, "%u:%u%n", &maj, &min, &off) != 2)
        continue;
      char *save2 = NULL;
      for (char *kv = strtok_r (l + off, " ", &save2); kv; kv = strtok_r (NULL, " ", &save2))
        {
          char key[16];
          unsigned long long v = 0;
          if (sscanf (kv, "%15[a-z]=%llu", key, &v) != 2)
            continue;
          json_t *arr = NULL;
          const char *op = NULL;
          if (strcmp (key, "rbytes") == 0)
            arr = bytes, op = "read";
          else if (strcmp (key, "wbytes") == 0)
            arr = bytes, op = "write";
          else if (strcmp (key, "rios") == 0)
            arr = ios, op = "read";
          else if (strcmp (key, "wios") == 0)
            arr = ios, op = "write";
          if (arr)
            json_array_append_new (arr, json_pack ("{s:i,s:i,s:s,s:I}", "major", (int)maj, "minor",
                                                   (int)min, "op", op, "value", (json_int_t)v));
        }
    }
}

void
cgroup_v2_stats (int dfd, unsigned controllers, json_t *stats)
{
  if (controllers & CG_BIT (CG_MEMORY))
    {
      json_t *m = obj_child (stats, "memory_stats");
      uint64_t v = 0;
      if (cgroup_read_u64 (dfd, "memory.current", &v) == 0)
        set_u64 (m, "usage", v);
      if (cgroup_read_u64 (dfd, "memory.max", &v) == 0)
        set_u64 (m, "limit", v);
      json_t *st = cgroup_read_flat_keyed (dfd, "memory.stat");
      if (st)
        json_object_set_new (m, "stats", st);
    }
  if (controllers & (CG_BIT (CG_CPU) | CG_BIT (CG_CPUACCT)))
    {
      /* cpu.stat's usage lines exist even without the cpu controller. */
      json_t *st = cgroup_read_flat_keyed (dfd, "cpu.stat");
      if (st)
        {
          json_t *cpu = obj_child (stats, "cpu_stats");
          json_t *u = obj_child (cpu, "cpu_usage");
          set_u64 (u, "total_usage", key_u64 (st, "usage_usec") * 1000);
          set_u64 (u, "usage_in_usermode", key_u64 (st, "user_usec") * 1000);
          set_u64 (u, "usage_in_kernelmode", key_u64 (st, "system_usec") * 1000);
          json_t *t = obj_child (cpu, "throttling_data");
          set_u64 (t, "periods", key_u64 (st, "nr_periods"));
          set_u64 (t, "throttled_periods", key_u64 (st, "nr_throttled"));
          set_u64 (t, "throttled_time", key_u64 (st, "throttled_usec") * 1000);
          json_decref (st);
        }
    }
  if (controllers & CG_BIT (CG_PIDS))
    {
      json_t *p = obj_child (stats, "pids_stats");
      uint64_t v = 0;
      if (cgroup_read_u64 (dfd, "pids.current", &v) == 0)
        set_u64 (p, "current", v);
      if (cgroup_read_u64 (dfd, "pids.max", &v) == 0)
        set_u64 (p, "limit", v == UINT64_MAX ? 0 : v);
    }
  if (controllers & CG_BIT (CG_BLKIO))
    v2_io_stats (dfd, stats);
}
