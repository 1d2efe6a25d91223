/* What `berth-runtime events` watches besides the stats: how many times the
 * kernel's OOM killer struck in the container's memory cgroup (v2
 * memory.events, v1 memory.oom_control; both count "oom_kill"). */
#include "runtime/cgroup-internal.h"
#include "runtime/runtime-internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static int
read_oom_kills (int dfd, bool v2, uint64_t *count, struct berth_error **err)
{
  const char *file = v2 ? "memory.events" : "memory.oom_control";
  _cleanup_close_ int fd = openat (dfd, file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "open %s", file);
  char buf[4096];
  ssize_t n = read (fd, buf, sizeof buf - 1);
  if (n < 0)
    return berth_error_set (err, errno, "read %s", file);
  buf[n] = '\0';
  *count = 0;
  for (char *line = buf; line && *line; line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL)
    if (str_has_prefix (line, "oom_kill "))
      *count = strtoull (line + strlen ("oom_kill "), NULL, 10);
  return 0;
}

int
runtime_container_oom_kills (const struct runtime_context *ctx, const char *id, uint64_t *count,
                             struct berth_error **err)
{
  struct container_state st;
  memset (&st, 0, sizeof st);
  _cleanup_close_ int dirfd = -1;
  struct cgroup *cg = NULL;
  int r = -1;
  *count = 0;
  if (state_load (ctx, id, &st, &dirfd, err) < 0)
    goto out;
  if (st.cgroup && (cg = cgroup_from_json (st.cgroup, err)) == NULL)
    goto out;
  r = 0;
  for (size_t i = 0; cg && i < cg->n_dirs; i++)
    if (cg->dirs[i].controllers & CG_BIT (CG_MEMORY))
      {
        int dfd = cgroup_dir_open (&cg->dirs[i], err);
        r = dfd < 0 ? -1 : read_oom_kills (dfd, cg->dirs[i].is_v2, count, err);
        if (dfd >= 0)
          close (dfd);
        break;
      }
out:
  if (r < 0)
    berth_error_prefix (err, "oom events of container `%s`", id);
  if (cg)
    cgroup_free (cg);
  state_clear (&st);
  return r;
}
