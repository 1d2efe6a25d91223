/* runtime-internal: cgroups for one container on every layout berth meets:
 * pure v1, pure v2 (production hosts), and the hybrid layout of these
 * machines (v1 controllers under /sys/fs/cgroup/<controller> plus a cgroup2
 * mount at /sys/fs/cgroup/unified that may own some controllers, e.g.
 * hugetlb). Each controller is driven in whichever hierarchy has it.
 * Resources are taken as the OCI `linux.resources` JSON object, so this
 * module owns their validation and the errors name the field. */
#pragma once

#include <stdint.h>

#include <stdbool.h>
#include <sys/types.h>

#include "common/common.h"

enum cgroup_layout
{
  CGROUP_LAYOUT_V1,
  CGROUP_LAYOUT_V2,
  CGROUP_LAYOUT_HYBRID,
};

struct cgroup; /* one container's cgroup(s), across hierarchies */

int cgroup_detect_layout (enum cgroup_layout *layout, struct berth_error **err);

/* Create the container's cgroup(s) and apply `resources` (may be NULL).
 * cgroups_path is linux.cgroupsPath: absolute ("/a/b"), relative (under the
 * caller's cgroup) or, with systemd, "slice:prefix:name"; NULL or "" means
 * the default "/berth/<id>". No process is moved here. */
struct cgroup *cgroup_create (const char *id, const char *cgroups_path, bool use_systemd,
                              const json_t *resources, struct berth_error **err);
/* Move pid into the container's cgroup in every hierarchy. */
int cgroup_enter (struct cgroup *cg, pid_t pid, struct berth_error **err);
/* Fast entry for a process the runtime spawns. Writing a pid to
 * cgroup.procs takes the kernel's global threadgroup lock, which costs an
 * RCU grace period (5-15 ms per container on these machines, most of a
 * container start). Instead: the child is cloned straight into the cgroup2
 * directory (clone3 CLONE_INTO_CGROUP with cgroup_v2_dir_fd: an fd of it, or
 * -1 with *err untouched when the cgroup has no cgroup2 part), and the new,
 * single-threaded process moves ITSELF into every v1 hierarchy by writing
 * "0" to `tasks`, which needs no global lock. include_v2 also moves it into
 * cgroup2 (through cgroup.procs) when the clone could not.
 * (Added by the runtime core; implemented in cgroup-enter.c.) */
int cgroup_v2_dir_fd (struct cgroup *cg, struct berth_error **err);
int cgroup_enter_self (struct cgroup *cg, bool include_v2, struct berth_error **err);
/* Apply new resources (runtime `update`); only the fields present change. */
int cgroup_update (struct cgroup *cg, const json_t *resources, struct berth_error **err);
/* Freeze (pause) or thaw (resume) every task; returns once the state is reached. */
int cgroup_freeze (struct cgroup *cg, bool frozen, struct berth_error **err);
/* "paused" when frozen, "running" otherwise. */
int cgroup_is_frozen (struct cgroup *cg, bool *frozen, struct berth_error **err);
/* Every pid in the container's cgroup (the runtime's `ps`, `kill --all`). */
int cgroup_pids (struct cgroup *cg, pid_t **pids, size_t *n_pids, struct berth_error **err);
int cgroup_kill_all (struct cgroup *cg, int signo, struct berth_error **err);
/* Remove the cgroup(s); kills what is left first (SIGKILL, then waits). */
int cgroup_destroy (struct cgroup *cg, struct berth_error **err);
/* Usage for `docker stats`, shaped like the Engine API's stats object parts:
 * {"memory_stats":{...},"cpu_stats":{...},"pids_stats":{...},"blkio_stats":{...}}. */
json_t *cgroup_stats (struct cgroup *cg, struct berth_error **err);
/* How many processes the kernel's OOM killer killed in the cgroup. */
int cgroup_oom_kills (struct cgroup *cg, uint64_t *count, struct berth_error **err);
/* Make the container's cgroup visible at `target` (an absolute path inside
 * the container's mount namespace, already resolved in its root by the
 * caller and given as an O_PATH fd). Called from inside the container's
 * mount (and cgroup) namespace, before pivot_root. */
int cgroup_mount_into (struct cgroup *cg, int target_fd, bool readonly, struct berth_error **err);

/* Persist and reopen, so `state`, `kill`, `delete`, `pause` and `update`
 * in later runtime invocations find the same cgroup(s). */
json_t *cgroup_to_json (const struct cgroup *cg);
struct cgroup *cgroup_from_json (const json_t *j, struct berth_error **err);
void cgroup_free (struct cgroup *cg);
