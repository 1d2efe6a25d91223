/* process.scheduler (sched_setattr(2)) and process.execCPUAffinity
 * (sched_setaffinity(2)): parsed from a process object with errors naming
 * the field, applied by the container process itself before execve. */
#include "runtime/runtime-internal.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

static int
invalid (struct berth_error **err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  _cleanup_free_ char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s", msg ? msg : "invalid config");
}

static const struct
{
  const char *name;
  uint32_t value;
} sched_policies[] = {
  { "SCHED_OTHER", 0 }, { "SCHED_FIFO", 1 }, { "SCHED_RR", 2 },       { "SCHED_BATCH", 3 },
  { "SCHED_ISO", 4 },   { "SCHED_IDLE", 5 }, { "SCHED_DEADLINE", 6 },
};

static const struct
{
  const char *name;
  uint64_t value;
} sched_flags[] = {
  { "SCHED_FLAG_RESET_ON_FORK", 0x01 },  { "SCHED_FLAG_RECLAIM", 0x02 },
  { "SCHED_FLAG_DL_OVERRUN", 0x04 },     { "SCHED_FLAG_KEEP_POLICY", 0x08 },
  { "SCHED_FLAG_KEEP_PARAMS", 0x10 },    { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
  { "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
};

static int
get_u64 (const json_t *o, const char *key, const char *where, uint64_t *out,
         struct berth_error **err)
{
  json_t *v = json_object_get (o, key);
  *out = 0;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_integer (v) || json_integer_value (v) < 0)
    return invalid (err, "%s.scheduler.%s: must be a non-negative integer", where, key);
  *out = (uint64_t)json_integer_value (v);
  return 0;
}

static int
parse_scheduler (const json_t *j, const char *where, struct spec_sched *s, struct berth_error **err)
{
  if (!json_is_object (j))
    return invalid (err, "%s.scheduler: must be an object", where);
  const char *policy = json_string_value (json_object_get (j, "policy"));
  if (policy == NULL)
    return invalid (err, "%s.scheduler.policy: required (SCHED_OTHER, SCHED_BATCH, …)", where);
  bool found = false;
  for (size_t i = 0; i < sizeof sched_policies / sizeof *sched_policies; i++)
    if (strcmp (policy, sched_policies[i].name) == 0)
      s->policy = sched_policies[i].value, found = true;
  if (!found || s->policy == 4 /* ISO: never merged into Linux */)
    return invalid (err, "%s.scheduler.policy: unknown policy `%s`", where, policy);
  json_t *nice = json_object_get (j, "nice");
  if (nice && !json_is_null (nice))
    {
      if (!json_is_integer (nice) || json_integer_value (nice) < -20
          || json_integer_value (nice) > 19)
        return invalid (err, "%s.scheduler.nice: must be an integer between -20 and 19", where);
      s->nice = (int32_t)json_integer_value (nice);
    }
  uint64_t prio;
  if (get_u64 (j, "priority", where, &prio, err) < 0)
    return -1;
  bool realtime = s->policy == 1 || s->policy == 2;
  if (realtime && (prio < 1 || prio > 99))
    return invalid (err, "%s.scheduler.priority: %s needs a priority between 1 and 99", where,
                    policy);
  if (!realtime && prio != 0)
    return invalid (err, "%s.scheduler.priority: must be 0 for %s", where, policy);
  s->priority = (uint32_t)prio;
  json_t *flags = json_object_get (j, "flags");
  if (flags && !json_is_null (flags) && !json_is_array (flags))
    return invalid (err, "%s.scheduler.flags: must be an array of strings", where);
  size_t i;
  json_t *f;
  json_array_foreach (flags, i, f)
  {
    const char *name = json_string_value (f);
    size_t k = 0;
    for (; k < sizeof sched_flags / sizeof *sched_flags; k++)
      if (name && strcmp (name, sched_flags[k].name) == 0)
        break;
    if (k == sizeof sched_flags / sizeof *sched_flags)
      return invalid (err, "%s.scheduler.flags[%zu]: unknown flag `%s`", where, i,
                      name ? name : "");
    s->flags |= sched_flags[k].value;
  }
  if (get_u64 (j, "runtime", where, &s->runtime, err) < 0
      || get_u64 (j, "deadline", where, &s->deadline, err) < 0
      || get_u64 (j, "period", where, &s->period, err) < 0)
    return -1;
  if (s->policy == 6)
    {
      if (s->runtime == 0 || s->deadline == 0)
        return invalid (err, "%s.scheduler: SCHED_DEADLINE needs runtime and deadline", where);
      if (s->runtime > s->deadline || (s->period && s->deadline > s->period))
        return invalid (err, "%s.scheduler: SCHED_DEADLINE needs runtime <= deadline <= period",
                        where);
    }
  else if (s->runtime || s->deadline || s->period)
    return invalid (err, "%s.scheduler: runtime, deadline and period are for SCHED_DEADLINE only",
                    where);
  return 0;
}

/* "0-3,7" → the set; false on a malformed list or a CPU beyond CPU_SETSIZE. */
static bool
parse_cpu_list (const char *s, cpu_set_t *set)
{
  CPU_ZERO (set);
  if (s == NULL || *s == '\0')
    return false;
  while (*s)
    {
      char *end;
      errno = 0;
      unsigned long a = strtoul (s, &end, 10), b = a;
      if (end == s || errno || *s == '-' || *s == '+')
        return false;
      s = end;
      if (*s == '-')
        {
          s++;
          if (*s < '0' || *s > '9')
            return false;
          b = strtoul (s, &end, 10);
          if (errno)
            return false;
          s = end;
        }
      if (a > b || b >= CPU_SETSIZE)
        return false;
      for (unsigned long c = a; c <= b; c++)
        CPU_SET (c, set);
      if (*s == ',')
        s++;
      else if (*s)
        return false;
    }
  return true;
}

static int
parse_affinity (const json_t *j, const char *where, struct spec_process *p,
                struct berth_error **err)
{
  if (!json_is_object (j))
    return invalid (err, "%s.execCPUAffinity: must be an object", where);
  static const char *const keys[] = { "initial", "final" };
  for (int k = 0; k < 2; k++)
    {
      json_t *v = json_object_get (j, keys[k]);
      if (v == NULL || json_is_null (v))
        continue;
      cpu_set_t *set = k == 0 ? &p->cpu_initial : &p->cpu_final;
      if (!json_is_string (v) || !parse_cpu_list (json_string_value (v), set))
        return invalid (err, "%s.execCPUAffinity.%s: `%s` is not a CPU list like \"0-3,7\"", where,
                        keys[k], json_is_string (v) ? json_string_value (v) : "(not a string)");
      if (k == 0)
        p->has_cpu_initial = true;
      else
        p->has_cpu_final = true;
    }
  return 0;
}

int
process_sched_parse (const json_t *j, const char *where, struct spec_process *p,
                     struct berth_error **err)
{
  json_t *sched = json_object_get (j, "scheduler");
  if (sched && !json_is_null (sched))
    {
      if (parse_scheduler (sched, where, &p->sched, err) < 0)
        return -1;
      p->has_sched = true;
    }
  json_t *aff = json_object_get (j, "execCPUAffinity");
  if (aff && !json_is_null (aff) && parse_affinity (aff, where, p, err) < 0)
    return -1;
  return 0;
}

/* The kernel's struct sched_attr, SCHED_ATTR_SIZE_VER0. */
struct kernel_sched_attr
{
  uint32_t size, sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
};

int
process_apply_scheduler (const struct spec_process *p, struct berth_error **err)
{
  if (!p->has_sched)
    return 0;
  struct kernel_sched_attr a = {
    .size = sizeof a,
    .sched_policy = p->sched.policy,
    .sched_flags = p->sched.flags,
    .sched_nice = p->sched.nice,
    .sched_priority = p->sched.priority,
    .sched_runtime = p->sched.runtime,
    .sched_deadline = p->sched.deadline,
    .sched_period = p->sched.period,
  };
  if (syscall (SYS_sched_setattr, 0, &a, 0) < 0)
    return berth_error_set (err, errno, "sched_setattr (process.scheduler, policy %u)",
                            p->sched.policy);
  return 0;
}

int
process_apply_cpu_affinity (const struct spec_process *p, bool final, struct berth_error **err)
{
  if (!(final ? p->has_cpu_final : p->has_cpu_initial))
    return 0;
  if (sched_setaffinity (0, sizeof (cpu_set_t), final ? &p->cpu_final : &p->cpu_initial) < 0)
    return berth_error_set (err, errno, "sched_setaffinity (process.execCPUAffinity.%s)",
                            final ? "final" : "initial");
  return 0;
}
