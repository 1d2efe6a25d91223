/* OCI linux.resources JSON → struct cgroup_resources: the one place that
 * validates resources, so every error names the field
 * ("linux.resources.memory.limit: ..."), and the v1 → v2 value conversions
 * runc defined (shares → weight, blkio weight → io.weight, swap). */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "runtime/cgroup-internal.h"

#define P "linux.resources."

static int
invalid (struct berth_error **err, const char *field, const char *what)
{
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, P "%s: %s", field, what);
}

/* An integer field; absent or null leaves *has false. */
static int
get_int (const json_t *obj, const char *key, const char *field, bool *has, int64_t *out,
         struct berth_error **err)
{
  json_t *v = json_object_get (obj, key);
  *has = false;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_integer (v))
    return invalid (err, field, "must be an integer");
  *out = json_integer_value (v);
  *has = true;
  return 0;
}

static int
get_uint (const json_t *obj, const char *key, const char *field, bool *has, uint64_t *out,
          struct berth_error **err)
{
  int64_t v = 0;
  if (get_int (obj, key, field, has, &v, err) < 0)
    return -1;
  if (*has && v < 0)
    return invalid (err, field, "must not be negative");
  *out = (uint64_t)v;
  return 0;
}

static const json_t *
get_object (const json_t *obj, const char *key, const char *field, struct berth_error **err,
            bool *bad)
{
  json_t *v = json_object_get (obj, key);
  *bad = false;
  if (v == NULL || json_is_null (v))
    return NULL;
  if (!json_is_object (v))
    {
      *bad = true;
      invalid (err, field, "must be an object");
      return NULL;
    }
  return v;
}

static const json_t *
get_array (const json_t *obj, const char *key, const char *field, struct berth_error **err,
           bool *bad)
{
  json_t *v = json_object_get (obj, key);
  *bad = false;
  if (v == NULL || json_is_null (v))
    return NULL;
  if (!json_is_array (v))
    {
      *bad = true;
      invalid (err, field, "must be an array");
      return NULL;
    }
  return v;
}

/* "0-3,5" as cpuset.cpus / cpuset.mems take it. */
static bool
cpu_list_is_valid (const char *s)
{
  if (*s == '\0')
    return true;
  for (;;)
    {
      if (!isdigit ((unsigned char)*s))
        return false;
      while (isdigit ((unsigned char)*s))
        s++;
      if (*s == '-')
        {
          s++;
          if (!isdigit ((unsigned char)*s))
            return false;
          while (isdigit ((unsigned char)*s))
            s++;
        }
      if (*s == '\0')
        return true;
      if (*s != ',')
        return false;
      s++;
    }
}

static int
parse_memory (const json_t *mem, struct cgroup_resources *r, struct berth_error **err)
{
  bool has = false;
  int64_t v = 0;
  if (get_int (mem, "limit", "memory.limit", &has, &v, err) < 0)
    return -1;
  /* runc: 0 means "not set"; -1 unlimited. */
  if (has && v < -1)
    return invalid (err, "memory.limit", "must be -1 (unlimited) or a number of bytes");
  if (has && v != 0)
    r->has_memory_limit = true, r->memory_limit = v;
  if (get_int (mem, "reservation", "memory.reservation", &has, &v, err) < 0)
    return -1;
  if (has && v < -1)
    return invalid (err, "memory.reservation", "must be -1 (unlimited) or a number of bytes");
  if (has && v != 0)
    r->has_memory_reservation = true, r->memory_reservation = v;
  if (get_int (mem, "swap", "memory.swap", &has, &v, err) < 0)
    return -1;
  if (has && v < -1)
    return invalid (err, "memory.swap", "must be -1 (unlimited) or a number of bytes");
  if (has && v != 0)
    r->has_memory_swap = true, r->memory_swap = v;
  if (r->has_memory_swap && r->memory_swap > 0 && r->has_memory_limit && r->memory_limit > 0
      && r->memory_swap < r->memory_limit)
    return invalid (err, "memory.swap",
                    "must be at least memory.limit (it is the limit of memory plus swap)");
  /* Docker's "unset" is -1 (its API type is signed): take it as absent. */
  if (get_int (mem, "swappiness", "memory.swappiness", &has, &v, err) < 0)
    return -1;
  if (has && v != -1 && (v < 0 || v > 100))
    return invalid (err, "memory.swappiness", "must be between 0 and 100");
  r->has_swappiness = has && v != -1, r->swappiness = (uint64_t)v;
  json_t *oom = json_object_get (mem, "disableOOMKiller");
  if (oom && !json_is_null (oom))
    {
      if (!json_is_boolean (oom))
        return invalid (err, "memory.disableOOMKiller", "must be a boolean");
      r->has_disable_oom_killer = true;
      r->disable_oom_killer = json_is_true (oom);
    }
  json_t *check = json_object_get (mem, "checkBeforeUpdate");
  if (check && !json_is_null (check))
    {
      if (!json_is_boolean (check))
        return invalid (err, "memory.checkBeforeUpdate", "must be a boolean");
      r->check_before_update = json_is_true (check);
    }
  if (get_int (mem, "kernelTCP", "memory.kernelTCP", &has, &v, err) < 0)
    return -1;
  if (has && v < -1)
    return invalid (err, "memory.kernelTCP", "must be -1 (unlimited) or a number of bytes");
  if (has && v != 0)
    r->has_kernel_tcp = true, r->kernel_tcp = v;
  /* kernel (kmem) limits are gone from the kernel (writes are ignored
   * since 5.16, and v2 never had them): ignored, as runc does. */
  return 0;
}

static int
get_string (const json_t *obj, const char *key, const char *field, char **out,
            struct berth_error **err)
{
  json_t *v = json_object_get (obj, key);
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_string (v))
    return invalid (err, field, "must be a string");
  *out = xstrdup (json_string_value (v));
  return 0;
}

static int
parse_cpu (const json_t *cpu, struct cgroup_resources *r, struct berth_error **err)
{
  bool has = false;
  uint64_t u = 0;
  int64_t v = 0;
  if (get_uint (cpu, "shares", "cpu.shares", &has, &u, err) < 0)
    return -1;
  if (has && u != 0)
    {
      if (u < 2 || u > 262144)
        return invalid (err, "cpu.shares", "must be between 2 and 262144");
      r->has_cpu_shares = true, r->cpu_shares = u;
    }
  if (get_int (cpu, "quota", "cpu.quota", &has, &v, err) < 0)
    return -1;
  if (has && v != 0)
    {
      if (v < -1 || (v > 0 && v < 1000))
        return invalid (err, "cpu.quota", "must be -1 (unlimited) or at least 1000 microseconds");
      r->has_cpu_quota = true, r->cpu_quota = v;
    }
  if (get_uint (cpu, "period", "cpu.period", &has, &u, err) < 0)
    return -1;
  if (has && u != 0)
    {
      if (u < 1000 || u > 1000000)
        return invalid (err, "cpu.period", "must be between 1000 and 1000000 microseconds");
      r->has_cpu_period = true, r->cpu_period = u;
    }
  if (get_uint (cpu, "burst", "cpu.burst", &has, &u, err) < 0)
    return -1;
  r->has_cpu_burst = has, r->cpu_burst = u;
  if (get_int (cpu, "realtimeRuntime", "cpu.realtimeRuntime", &has, &v, err) < 0)
    return -1;
  if (has && v != 0)
    {
      if (v < -1)
        return invalid (err, "cpu.realtimeRuntime", "must be -1 or a number of microseconds");
      r->has_rt_runtime = true, r->rt_runtime = v;
    }
  if (get_uint (cpu, "realtimePeriod", "cpu.realtimePeriod", &has, &u, err) < 0)
    return -1;
  if (has && u != 0)
    r->has_rt_period = true, r->rt_period = u;
  if (get_string (cpu, "cpus", "cpu.cpus", &r->cpus, err) < 0)
    return -1;
  if (r->cpus && !cpu_list_is_valid (r->cpus))
    return invalid (err, "cpu.cpus", "must be a list like \"0-3,5\"");
  if (get_string (cpu, "mems", "cpu.mems", &r->mems, err) < 0)
    return -1;
  if (r->mems && !cpu_list_is_valid (r->mems))
    return invalid (err, "cpu.mems", "must be a list like \"0-1\"");
  if (get_int (cpu, "idle", "cpu.idle", &has, &v, err) < 0)
    return -1;
  if (has && v != 0 && v != 1)
    return invalid (err, "cpu.idle", "must be 0 or 1");
  r->has_cpu_idle = has, r->cpu_idle = v;
  return 0;
}

static int
parse_device_numbers (const json_t *d, const char *field, struct cgroup_blkio_device *out,
                      struct berth_error **err)
{
  char f[96];
  bool has = false;
  snprintf (f, sizeof f, "%s.major", field);
  if (get_int (d, "major", f, &has, &out->major, err) < 0)
    return -1;
  if (!has || out->major < 0)
    return invalid (err, f, "must be a device major number");
  snprintf (f, sizeof f, "%s.minor", field);
  if (get_int (d, "minor", f, &has, &out->minor, err) < 0)
    return -1;
  if (!has || out->minor < 0)
    return invalid (err, f, "must be a device minor number");
  return 0;
}

static int
parse_weight (const json_t *obj, const char *key, const char *field, bool *has, uint16_t *out,
              struct berth_error **err)
{
  uint64_t u = 0;
  if (get_uint (obj, key, field, has, &u, err) < 0)
    return -1;
  if (*has && u == 0)
    *has = false; /* 0: unset */
  if (*has && (u < 10 || u > 1000))
    return invalid (err, field, "must be between 10 and 1000");
  *out = (uint16_t)u;
  return 0;
}

static int
parse_blkio (const json_t *b, struct cgroup_resources *r, struct berth_error **err)
{
  bool bad = false;
  if (parse_weight (b, "weight", "blockIO.weight", &r->has_blkio_weight, &r->blkio_weight, err) < 0)
    return -1;
  if (parse_weight (b, "leafWeight", "blockIO.leafWeight", &r->has_blkio_leaf_weight,
                    &r->blkio_leaf_weight, err)
      < 0)
    return -1;
  const json_t *wd = get_array (b, "weightDevice", "blockIO.weightDevice", err, &bad);
  if (bad)
    return -1;
  if (wd)
    {
      r->weight_devices = calloc (json_array_size (wd) + 1, sizeof *r->weight_devices);
      size_t i;
      json_t *d;
      json_array_foreach (wd, i, d)
      {
        char f[64];
        snprintf (f, sizeof f, "blockIO.weightDevice[%zu]", i);
        struct cgroup_blkio_device *dev = &r->weight_devices[r->n_weight_devices++];
        if (!json_is_object (d))
          return invalid (err, f, "must be an object");
        if (parse_device_numbers (d, f, dev, err) < 0)
          return -1;
        char fw[96];
        snprintf (fw, sizeof fw, "%s.weight", f);
        if (parse_weight (d, "weight", fw, &dev->has_weight, &dev->weight, err) < 0)
          return -1;
        snprintf (fw, sizeof fw, "%s.leafWeight", f);
        if (parse_weight (d, "leafWeight", fw, &dev->has_leaf_weight, &dev->leaf_weight, err) < 0)
          return -1;
      }
    }
  static const char *const keys[4] = { "throttleReadBpsDevice", "throttleWriteBpsDevice",
                                       "throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
  for (int k = 0; k < 4; k++)
    {
      char f[64];
      snprintf (f, sizeof f, "blockIO.%s", keys[k]);
      const json_t *arr = get_array (b, keys[k], f, err, &bad);
      if (bad)
        return -1;
      if (arr == NULL)
        continue;
      r->throttle[k] = calloc (json_array_size (arr) + 1, sizeof *r->throttle[k]);
      size_t i;
      json_t *d;
      json_array_foreach (arr, i, d)
      {
        char fi[96];
        snprintf (fi, sizeof fi, "%s[%zu]", f, i);
        struct cgroup_blkio_device *dev = &r->throttle[k][r->n_throttle[k]++];
        if (!json_is_object (d))
          return invalid (err, fi, "must be an object");
        if (parse_device_numbers (d, fi, dev, err) < 0)
          return -1;
        bool has = false;
        char fr[128];
        snprintf (fr, sizeof fr, "%s.rate", fi);
        if (get_uint (d, "rate", fr, &has, &dev->rate, err) < 0)
          return -1;
        if (!has)
          return invalid (err, fr, "is required");
      }
    }
  return 0;
}

/* "2MB", "1GB", "64KB": what the kernel names hugetlb.<size>.* files. */
static bool
page_size_is_valid (const char *s)
{
  if (!isdigit ((unsigned char)*s))
    return false;
  while (isdigit ((unsigned char)*s))
    s++;
  return strcmp (s, "KB") == 0 || strcmp (s, "MB") == 0 || strcmp (s, "GB") == 0;
}

static int
parse_hugepages (const json_t *arr, struct cgroup_resources *r, struct berth_error **err)
{
  r->hugepages = calloc (json_array_size (arr) + 1, sizeof *r->hugepages);
  size_t i;
  json_t *h;
  json_array_foreach (arr, i, h)
  {
    char f[64], fp[96];
    snprintf (f, sizeof f, "hugepageLimits[%zu]", i);
    if (!json_is_object (h))
      return invalid (err, f, "must be an object");
    struct cgroup_hugepage *hp = &r->hugepages[r->n_hugepages++];
    snprintf (fp, sizeof fp, "%s.pageSize", f);
    if (get_string (h, "pageSize", fp, &hp->page_size, err) < 0)
      return -1;
    if (hp->page_size == NULL || !page_size_is_valid (hp->page_size))
      return invalid (err, fp, "must be a page size like \"2MB\" or \"1GB\"");
    bool has = false;
    snprintf (fp, sizeof fp, "%s.limit", f);
    if (get_uint (h, "limit", fp, &has, &hp->limit, err) < 0)
      return -1;
    if (!has)
      return invalid (err, fp, "is required");
  }
  return 0;
}

static int
parse_device_rule (const json_t *d, const char *f, struct cgroup_device_rule *rule,
                   struct berth_error **err)
{
  char ff[96];
  if (!json_is_object (d))
    return invalid (err, f, "must be an object");
  json_t *allow = json_object_get (d, "allow");
  snprintf (ff, sizeof ff, "%s.allow", f);
  if (!json_is_boolean (allow))
    return invalid (err, ff, "is required and must be a boolean");
  rule->allow = json_is_true (allow);
  json_t *type = json_object_get (d, "type");
  snprintf (ff, sizeof ff, "%s.type", f);
  rule->type = 'a';
  if (type && !json_is_null (type))
    {
      const char *t = json_string_value (type);
      if (t == NULL || strlen (t) != 1 || strchr ("abc", t[0]) == NULL)
        return invalid (err, ff, "must be \"a\", \"b\" or \"c\"");
      rule->type = t[0];
    }
  bool has = false;
  rule->major = rule->minor = -1;
  snprintf (ff, sizeof ff, "%s.major", f);
  if (get_int (d, "major", ff, &has, &rule->major, err) < 0)
    return -1;
  if (!has)
    rule->major = -1;
  else if (rule->major < -1 || rule->major > 0xfff)
    return invalid (err, ff, "must be -1 (any) or a major number");
  snprintf (ff, sizeof ff, "%s.minor", f);
  if (get_int (d, "minor", ff, &has, &rule->minor, err) < 0)
    return -1;
  if (!has)
    rule->minor = -1;
  else if (rule->minor < -1 || rule->minor > 0xfffff)
    return invalid (err, ff, "must be -1 (any) or a minor number");
  json_t *access = json_object_get (d, "access");
  snprintf (ff, sizeof ff, "%s.access", f);
  strcpy (rule->access, "rwm");
  if (access && !json_is_null (access))
    {
      const char *a = json_string_value (access);
      if (a == NULL || strlen (a) > 3)
        return invalid (err, ff, "must be a combination of \"r\", \"w\" and \"m\"");
      for (const char *p = a; *p; p++)
        if (strchr ("rwm", *p) == NULL || strchr (p + 1, *p) != NULL)
          return invalid (err, ff, "must be a combination of \"r\", \"w\" and \"m\"");
      if (*a == '\0')
        strcpy (rule->access, "rwm"); /* runc: empty means all */
      else
        strcpy (rule->access, a);
    }
  return 0;
}

static int
parse_network (const json_t *n, struct cgroup_resources *r, struct berth_error **err)
{
  bool has = false, bad = false;
  uint64_t u = 0;
  if (get_uint (n, "classID", "network.classID", &has, &u, err) < 0)
    return -1;
  if (has && u > UINT32_MAX)
    return invalid (err, "network.classID", "must fit in 32 bits");
  r->has_class_id = has, r->class_id = (uint32_t)u;
  const json_t *prios = get_array (n, "priorities", "network.priorities", err, &bad);
  if (bad)
    return -1;
  if (prios == NULL)
    return 0;
  r->net_prios = calloc (json_array_size (prios) + 1, sizeof *r->net_prios);
  size_t i;
  json_t *p;
  json_array_foreach (prios, i, p)
  {
    char f[64], ff[96];
    snprintf (f, sizeof f, "network.priorities[%zu]", i);
    if (!json_is_object (p))
      return invalid (err, f, "must be an object");
    struct cgroup_net_prio *np = &r->net_prios[r->n_net_prios++];
    snprintf (ff, sizeof ff, "%s.name", f);
    if (get_string (p, "name", ff, &np->name, err) < 0)
      return -1;
    if (np->name == NULL || *np->name == '\0' || strpbrk (np->name, " \n/") != NULL)
      return invalid (err, ff, "must be a network interface name");
    snprintf (ff, sizeof ff, "%s.priority", f);
    if (get_uint (p, "priority", ff, &has, &u, err) < 0)
      return -1;
    if (!has || u > UINT32_MAX)
      return invalid (err, ff, "must be a 32-bit priority");
    np->priority = (uint32_t)u;
  }
  return 0;
}

/* "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}} */
static int
parse_rdma (const json_t *rdma, struct cgroup_resources *r, struct berth_error **err)
{
  r->rdma = calloc (json_object_size (rdma) + 1, sizeof *r->rdma);
  const char *dev;
  json_t *lim;
  json_object_foreach ((json_t *)rdma, dev, lim)
  {
    char f[200], ff[240];
    snprintf (f, sizeof f, "rdma[\"%.150s\"]", dev);
    if (*dev == '\0' || strpbrk (dev, " \n=/") != NULL)
      return invalid (err, f, "must be an RDMA device name");
    if (!json_is_object (lim))
      return invalid (err, f, "must be an object");
    struct cgroup_rdma *d = &r->rdma[r->n_rdma++];
    d->device = xstrdup (dev);
    bool has = false;
    uint64_t u = 0;
    snprintf (ff, sizeof ff, "%s.hcaHandles", f);
    if (get_uint (lim, "hcaHandles", ff, &has, &u, err) < 0)
      return -1;
    d->hca_handles = has ? (int64_t)u : -1;
    snprintf (ff, sizeof ff, "%s.hcaObjects", f);
    if (get_uint (lim, "hcaObjects", ff, &has, &u, err) < 0)
      return -1;
    d->hca_objects = has ? (int64_t)u : -1;
  }
  return 0;
}

static int
parse_unified (const json_t *u, struct cgroup_resources *r, struct berth_error **err)
{
  const char *key;
  json_t *val;
  json_object_foreach ((json_t *)u, key, val)
  {
    char f[300];
    snprintf (f, sizeof f, "unified[\"%.200s\"]", key);
    if (!json_is_string (val))
      return invalid (err, f, "must be a string");
    /* A key is a file of the container's own cgroup dir, never a path. */
    if (*key == '\0' || strchr (key, '/') || strcmp (key, ".") == 0 || strcmp (key, "..") == 0
        || strchr (key, '.') == NULL)
      return invalid (err, f, "must be a cgroup v2 file name like \"memory.high\"");
    if (str_has_prefix (key, "cgroup.") && strcmp (key, "cgroup.max.depth") != 0
        && strcmp (key, "cgroup.max.descendants") != 0)
      return invalid (err, f, "cgroup.* core files other than cgroup.max.* cannot be set");
  }
  r->unified = json_incref ((json_t *)u);
  return 0;
}

static int
parse_all (const json_t *res, struct cgroup_resources *r, struct berth_error **err)
{
  bool bad = false;
  const json_t *o;
  if ((o = get_object (res, "memory", "memory", err, &bad)) && parse_memory (o, r, err) < 0)
    return -1;
  if (bad)
    return -1;
  if ((o = get_object (res, "cpu", "cpu", err, &bad)) && parse_cpu (o, r, err) < 0)
    return -1;
  if (bad)
    return -1;
  if ((o = get_object (res, "pids", "pids", err, &bad)))
    {
      bool has = false;
      int64_t v = 0;
      if (get_int (o, "limit", "pids.limit", &has, &v, err) < 0)
        return -1;
      /* runc: 0 is "unset", any negative number is "max". */
      if (has && v != 0)
        r->has_pids_limit = true, r->pids_limit = v < 0 ? -1 : v;
    }
  if (bad)
    return -1;
  if ((o = get_object (res, "blockIO", "blockIO", err, &bad)) && parse_blkio (o, r, err) < 0)
    return -1;
  if (bad)
    return -1;
  if ((o = get_array (res, "hugepageLimits", "hugepageLimits", err, &bad))
      && parse_hugepages (o, r, err) < 0)
    return -1;
  if (bad)
    return -1;
  if ((o = get_array (res, "devices", "devices", err, &bad)))
    {
      r->has_devices = true;
      r->devices = calloc (json_array_size (o) + 1, sizeof *r->devices);
      size_t i;
      json_t *d;
      json_array_foreach (o, i, d)
      {
        char f[64];
        snprintf (f, sizeof f, "devices[%zu]", i);
        if (parse_device_rule (d, f, &r->devices[r->n_devices++], err) < 0)
          return -1;
      }
    }
  if (bad)
    return -1;
  if ((o = get_object (res, "network", "network", err, &bad)) && parse_network (o, r, err) < 0)
    return -1;
  if (bad)
    return -1;
  if ((o = get_object (res, "rdma", "rdma", err, &bad)) && parse_rdma (o, r, err) < 0)
    return -1;
  if (bad)
    return -1;
  if ((o = get_object (res, "unified", "unified", err, &bad)) && parse_unified (o, r, err) < 0)
    return -1;
  if (bad)
    return -1;
  return 0;
}

int
cgroup_resources_parse (const json_t *res, struct cgroup_resources *r, struct berth_error **err)
{
  memset (r, 0, sizeof *r);
  if (res == NULL || json_is_null (res))
    return 0;
  if (!json_is_object (res))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "linux.resources: must be an object");
  if (parse_all (res, r, err) < 0)
    {
      cgroup_resources_clear (r);
      return -1;
    }
  return 0;
}

void
cgroup_resources_clear (struct cgroup_resources *r)
{
  free (r->cpus);
  free (r->mems);
  free (r->weight_devices);
  for (int k = 0; k < 4; k++)
    free (r->throttle[k]);
  for (size_t i = 0; i < r->n_hugepages; i++)
    free (r->hugepages[i].page_size);
  free (r->hugepages);
  free (r->devices);
  for (size_t i = 0; i < r->n_net_prios; i++)
    free (r->net_prios[i].name);
  free (r->net_prios);
  for (size_t i = 0; i < r->n_rdma; i++)
    free (r->rdma[i].device);
  free (r->rdma);
  json_decref (r->unified);
  memset (r, 0, sizeof *r);
}

unsigned
cgroup_resources_controllers (const struct cgroup_resources *r)
{
  unsigned m = 0;
  if (r->has_memory_limit || r->has_memory_reservation || r->has_memory_swap || r->has_swappiness
      || r->has_disable_oom_killer || r->has_kernel_tcp)
    m |= CG_BIT (CG_MEMORY);
  if (r->has_cpu_shares || r->has_cpu_quota || r->has_cpu_period || r->has_cpu_burst
      || r->has_rt_runtime || r->has_rt_period || r->has_cpu_idle)
    m |= CG_BIT (CG_CPU);
  if (r->cpus || r->mems)
    m |= CG_BIT (CG_CPUSET);
  if (r->has_pids_limit)
    m |= CG_BIT (CG_PIDS);
  bool any_throttle = false;
  for (int k = 0; k < 4; k++)
    any_throttle |= r->n_throttle[k] > 0;
  if (r->has_blkio_weight || r->has_blkio_leaf_weight || r->n_weight_devices || any_throttle)
    m |= CG_BIT (CG_BLKIO);
  if (r->n_hugepages)
    m |= CG_BIT (CG_HUGETLB);
  if (r->has_devices)
    m |= CG_BIT (CG_DEVICES);
  if (r->has_class_id)
    m |= CG_BIT (CG_NET_CLS);
  if (r->n_net_prios)
    m |= CG_BIT (CG_NET_PRIO);
  if (r->n_rdma)
    m |= CG_BIT (CG_RDMA);
  return m;
}

/* runc's ConvertCPUSharesToCgroupV2Value: [2, 262144] → [1, 10000]. */
uint64_t
cgroup_convert_shares_to_weight (uint64_t shares)
{
  if (shares == 0)
    return 0;
  if (shares < 2)
    shares = 2;
  if (shares > 262144)
    shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

/* runc's ConvertBlkIOToIOWeightValue: [10, 1000] → [1, 10000]. */
uint64_t
cgroup_convert_blkio_weight_to_io_weight (uint64_t weight)
{
  if (weight == 0)
    return 0;
  return 1 + (weight - 10) * 9999 / 990;
}

/* runc's ConvertMemorySwapToCgroupV2Value: OCI swap is memory+swap, v2
 * memory.swap.max is swap alone. */
int
cgroup_convert_swap_to_v2 (int64_t swap, int64_t limit, int64_t *out, bool *is_set,
                           struct berth_error **err)
{
  *is_set = true;
  /* memory unlimited and swap unset: both unlimited, as v1 would be. */
  if (limit == -1 && swap == 0)
    return *out = -1, 0;
  if (swap == -1)
    return *out = -1, 0;
  if (swap == 0)
    return *is_set = false, *out = 0, 0;
  if (limit == 0 || limit == -1)
    return invalid (err, "memory.swap", "cannot be limited without memory.limit");
  if (swap < limit)
    return invalid (err, "memory.swap",
                    "must be at least memory.limit (it is the limit of memory plus swap)");
  *out = swap - limit;
  return 0;
}
