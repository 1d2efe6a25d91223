/* Resource limits: OCI names ↔ RLIMIT_*, the check that no limit asks for
 * more than the caller's own hard limit (an error that names the limit, never
 * a silent clamp), and prlimit(2) on the container's init from the parent, so
 * a refusal is reported before the container runs anything. */
#include "runtime/runtime-internal.h"

#include <string.h>
#include <sys/resource.h>

static const struct
{
  const char *name;
  int resource;
} rlimits[] = {
  { "RLIMIT_CPU", RLIMIT_CPU },           { "RLIMIT_FSIZE", RLIMIT_FSIZE },
  { "RLIMIT_DATA", RLIMIT_DATA },         { "RLIMIT_STACK", RLIMIT_STACK },
  { "RLIMIT_CORE", RLIMIT_CORE },         { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_NPROC", RLIMIT_NPROC },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },   { "RLIMIT_AS", RLIMIT_AS },
  { "RLIMIT_LOCKS", RLIMIT_LOCKS },       { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },     { "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

int
rlimit_from_name (const char *name)
{
  for (size_t i = 0; i < sizeof rlimits / sizeof rlimits[0]; i++)
    if (strcmp (rlimits[i].name, name) == 0)
      return rlimits[i].resource;
  return -1;
}

const char *
rlimit_name (int resource)
{
  for (size_t i = 0; i < sizeof rlimits / sizeof rlimits[0]; i++)
    if (rlimits[i].resource == resource)
      return rlimits[i].name;
  return "RLIMIT_?";
}

int
rlimits_check (const struct spec_rlimit *r, size_t n, struct berth_error **err)
{
  for (size_t i = 0; i < n; i++)
    {
      struct rlimit cur;
      if (getrlimit (r[i].resource, &cur) < 0)
        return berth_error_set (err, errno, "getrlimit %s", rlimit_name (r[i].resource));
      if (cur.rlim_max != RLIM_INFINITY && r[i].hard > cur.rlim_max)
        return berth_error_set_kind (
            err, BERTH_E_INVALID, 0,
            "process.rlimits: %s hard limit %llu is above the caller's hard limit %llu "
            "(a hard limit cannot be raised; lower it in the config)",
            rlimit_name (r[i].resource), (unsigned long long)r[i].hard,
            (unsigned long long)cur.rlim_max);
    }
  return 0;
}

int
rlimits_apply (pid_t pid, const struct spec_rlimit *r, size_t n, struct berth_error **err)
{
  for (size_t i = 0; i < n; i++)
    {
      struct rlimit lim = { .rlim_cur = r[i].soft, .rlim_max = r[i].hard };
      if (prlimit (pid, (enum __rlimit_resource)r[i].resource, &lim, NULL) < 0)
        return berth_error_set (err, errno, "setrlimit %s (soft %llu, hard %llu)",
                                rlimit_name (r[i].resource), (unsigned long long)lim.rlim_cur,
                                (unsigned long long)lim.rlim_max);
    }
  return 0;
}
