/* The fast way into a container's cgroup for a process the runtime spawns
 * (cgroup.h: cgroup_v2_dir_fd, cgroup_enter_self). The kernel moves the
 * calling thread on a write of "0" to a v1 `tasks` file without taking
 * cgroup_threadgroup_rwsem for writing, so no RCU grace period is waited
 * for; cgroup2 is entered at clone time with CLONE_INTO_CGROUP. */
#include "runtime/cgroup-internal.h"

#include <fcntl.h>

int
cgroup_v2_dir_fd (struct cgroup *cg, struct berth_error **err)
{
  for (size_t i = 0; i < cg->n_dirs; i++)
    if (cg->dirs[i].is_v2)
      return cgroup_dir_open (&cg->dirs[i], err);
  return -1;
}

int
cgroup_enter_self (struct cgroup *cg, bool include_v2, struct berth_error **err)
{
  for (size_t i = 0; i < cg->n_dirs; i++)
    {
      const struct cgroup_dir *d = &cg->dirs[i];
      if (d->is_v2 && !include_v2)
        continue;
      _cleanup_close_ int dfd = cgroup_dir_open (d, err);
      if (dfd < 0)
        return -1;
      if (cgroup_write (dfd, d->is_v2 ? "cgroup.procs" : "tasks", "0", NULL, err) < 0)
        return berth_error_prefix (err, "enter cgroup %s%s", d->mountpoint, d->path);
    }
  return 0;
}
