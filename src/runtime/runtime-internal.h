/* runtime-internal: the typed form of config.json (validated once, at the
 * edge, by spec.c) and the functions the runtime's modules share. Nothing
 * here is visible outside src/runtime. */
#pragma once

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "common/common.h"
#include "runtime/cgroup.h"
#include "runtime/runtime.h"
#include "runtime/seccomp.h"

/* ---------------------------------------------------------------- spec -- */

enum cap_set
{
  CAP_SET_BOUNDING,
  CAP_SET_EFFECTIVE,
  CAP_SET_INHERITABLE,
  CAP_SET_PERMITTED,
  CAP_SET_AMBIENT,
  CAP_SET_COUNT,
};

struct spec_caps
{
  bool present;
  uint64_t sets[CAP_SET_COUNT]; /* bit n = capability n */
};

struct spec_rlimit
{
  int resource;
  rlim_t soft, hard;
};

struct spec_sched /* process.scheduler, sched_setattr(2)'s fields */
{
  uint32_t policy;
  int32_t nice;
  uint32_t priority;
  uint64_t flags, runtime, deadline, period;
};

struct spec_process
{
  bool terminal;
  unsigned short console_rows, console_cols;
  uid_t uid;
  gid_t gid;
  gid_t *additional_gids;
  size_t n_additional_gids;
  bool has_umask;
  mode_t umask;
  char **args;
  char **env;
  char *cwd;
  struct spec_caps caps;
  bool no_new_privileges;
  struct spec_rlimit *rlimits;
  size_t n_rlimits;
  bool has_oom_score_adj;
  int oom_score_adj;
  bool has_io_priority;
  int io_priority; /* IOPRIO_PRIO_VALUE (class, level) */
  bool has_sched;
  struct spec_sched sched;
  bool has_cpu_initial, has_cpu_final; /* process.execCPUAffinity */
  cpu_set_t cpu_initial, cpu_final;
};

/* Field presence, so exec can fill what a process object lacks from the
 * container's config (runc exec does the same). */
enum spec_process_field
{
  SPEC_PROCESS_HAS_ENV = 1 << 0,
  SPEC_PROCESS_HAS_CWD = 1 << 1,
  SPEC_PROCESS_HAS_USER = 1 << 2,
  SPEC_PROCESS_HAS_CAPS = 1 << 3,
  SPEC_PROCESS_HAS_RLIMITS = 1 << 4,
  SPEC_PROCESS_HAS_NNP = 1 << 5,
};

struct spec_mount
{
  char *destination;
  char *source;
  char *type;
  bool is_bind;      /* bind or rbind */
  bool is_recursive; /* rbind */
  /* mount_setattr(2) attributes for the mount itself, and recursively
   * (the "r" options: rro, rnosuid, …). */
  uint64_t attr_set, attr_clr;
  uint64_t rec_attr_set, rec_attr_clr;
  unsigned long propagation; /* MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE or 0 */
  bool propagation_recursive;
  char **data; /* filesystem options: "mode=755", "size=65536k", … */
  /* idmapped mount (idmap.c): its own maps (none: the container's), and
   * the detached mount the runtime prepared before the clone. */
  bool idmap, idmap_recursive, idmap_prepared;
  struct spec_id_map *idmap_uids, *idmap_gids;
  size_t n_idmap_uids, n_idmap_gids;
  int idmap_fd;
};

struct spec_namespace
{
  int type;   /* CLONE_NEW* */
  char *path; /* join this one instead of creating (NULL: new) */
};

struct spec_id_map
{
  uint32_t container_id, host_id, size;
};

enum hook_kind
{
  HOOK_PRESTART,
  HOOK_CREATE_RUNTIME,
  HOOK_CREATE_CONTAINER,
  HOOK_START_CONTAINER,
  HOOK_POSTSTART,
  HOOK_POSTSTOP,
  HOOK_KIND_COUNT,
};

struct spec_hook
{
  char *path;
  char **args;
  char **env;
  int timeout_s; /* 0: none */
};

struct spec_device
{
  char *path;
  char type; /* 'c', 'b', 'u', 'p' */
  int64_t major, minor;
  bool has_mode, has_uid, has_gid;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

struct spec_sysctl
{
  char *key, *value;
};

struct spec_time_offset
{
  int64_t secs;
  uint32_t nanosecs;
};

struct spec
{
  json_t *json; /* the whole config, owned; the borrowed fields point into it */
  char *root_path;
  bool root_readonly;
  char *hostname;
  char *domainname;
  struct spec_process process;
  struct spec_mount *mounts;
  size_t n_mounts;
  struct spec_namespace *namespaces;
  size_t n_namespaces;
  struct spec_id_map *uid_maps, *gid_maps;
  size_t n_uid_maps, n_gid_maps;
  bool has_time_offsets;
  struct spec_time_offset time_offset_monotonic, time_offset_boottime;
  const json_t *resources; /* borrowed: linux.resources */
  const json_t *seccomp;   /* borrowed: linux.seccomp */
  /* without linux.seccomp: the profile in this file (the annotation
   * RUNTIME_SECCOMP_PROFILE_ANNOTATION; see runtime.h) */
  char *seccomp_profile_path;
  char *seccomp_listener_path;
  char *seccomp_listener_metadata;
  char *cgroups_path;
  char **masked_paths;
  char **readonly_paths;
  struct spec_device *devices;
  size_t n_devices;
  unsigned long rootfs_propagation; /* 0: MS_SLAVE|MS_REC, runc's default */
  struct spec_sysctl *sysctls;
  size_t n_sysctls;
  struct spec_hook *hooks[HOOK_KIND_COUNT];
  size_t n_hooks[HOOK_KIND_COUNT];
  const json_t *annotations; /* borrowed */
  bool has_personality;
  unsigned long personality;
};

/* sched.c: process.scheduler and process.execCPUAffinity of a process
 * object; applied by the process itself (the scheduler before capabilities
 * drop, the final affinity after it joined the cgroup). */
int process_sched_parse (const json_t *j, const char *where, struct spec_process *p,
                         struct berth_error **err);
int process_apply_scheduler (const struct spec_process *p, struct berth_error **err);
int process_apply_cpu_affinity (const struct spec_process *p, bool final,
                                struct berth_error **err);

/* idmap.c: mounts[].uidMappings/gidMappings and idmap/ridmap. Prepared
 * by the runtime before the clone, attached by the init. */
int mount_idmap_parse (const json_t *e, struct spec_mount *m, const char *where,
                       struct berth_error **err);
void mount_idmap_clear (struct spec_mount *m);
int mounts_idmap_prepare (struct spec *s, const char *bundle, struct berth_error **err);
int mount_idmap_attach (const struct spec_mount *m, int target, struct berth_error **err);

/* Validate a whole config.json. Takes a reference on json. */
struct spec *spec_parse (json_t *json, struct berth_error **err);
struct spec *spec_load (const char *path, struct berth_error **err);
void spec_free (struct spec *s);
void spec_freep (struct spec **s);
#define _cleanup_spec_ _cleanup_ (spec_freep)

/* A process object; `where` names it in errors ("process"). *present gets
 * the SPEC_PROCESS_HAS_* fields the object carried. */
int spec_process_parse (const json_t *j, const char *where, struct spec_process *p,
                        unsigned *present, struct berth_error **err);
void spec_process_clear (struct spec_process *p);
/* CLONE_NEW* of the namespace named `type` ("pid", "network", …), 0 if unknown. */
int spec_namespace_type (const char *type);
const char *spec_namespace_name (int type);
const char *spec_namespace_proc_name (int type); /* "pid", "net", "mnt", … */
const struct spec_namespace *spec_find_namespace (const struct spec *s, int type);

/* -------------------------------------------------------------- mounts -- */

/* Parse the OCI mount `options` into m (flags, attributes, data).
 * Unknown options are filesystem data, as runc and crun treat them. */
int mount_options_parse (json_t *options, struct spec_mount *m, const char *where,
                         struct berth_error **err);
/* Mount m into the container root (rootfd, the rootfs bind mount), the
 * target resolved inside the root only. Relative bind sources are relative
 * to the bundle directory. cg is used by "cgroup" mounts. */
int mount_into_root (int rootfd, const char *bundle, const struct spec_mount *m, struct cgroup *cg,
                     bool in_userns, struct berth_error **err);
/* mount_setattr attribute bit of a flag option ("nosuid" → MOUNT_ATTR_NOSUID). */

/* ------------------------------------------------------------- rootfs -- */

struct rootfs_context
{
  const struct spec *spec;
  const char *bundle;      /* absolute host path */
  const char *rootfs_path; /* absolute host path */
  struct cgroup *cg;
  bool in_userns;
  bool no_pivot;
};
/* Everything up to (not including) pivot_root, in the container's mount
 * namespace: propagation, the rootfs bind, mounts in order, devices.
 * Returns an O_PATH fd of the container root. */
int rootfs_prepare (const struct rootfs_context *rc, struct berth_error **err);
/* sysctl, readonlyPaths, maskedPaths (through rootfd), then pivot_root (or
 * MS_MOVE + chroot) and readonly root. */
int rootfs_finish (const struct rootfs_context *rc, int rootfd, struct berth_error **err);

/* ------------------------------------------------------------- devices -- */

int devices_create (int rootfd, const struct spec *s, bool in_userns, struct berth_error **err);
/* linux.resources with the device cgroup rules a container needs appended
 * (the default devices and linux.devices), as runc does. New reference. */
json_t *devices_resources_with_defaults (const struct spec *s);
bool devices_has_dev_mount (const struct spec *s);

/* ---------------------------------------------------------------- caps -- */

/* "CAP_SYS_ADMIN" → 21; -1 if unknown. */
int caps_from_name (const char *name);
const char *caps_name (int cap);
int caps_last_cap (void);
/* Drop the bounding set; call before changing uid. */
int caps_apply_bounding (const struct spec_caps *caps, struct berth_error **err);
/* Effective, permitted, inheritable and ambient; call after changing uid. */
int caps_apply (const struct spec_caps *caps, struct berth_error **err);

/* ------------------------------------------------------------- rlimits -- */

int rlimit_from_name (const char *name);
const char *rlimit_name (int resource);
/* An rlimit above the caller's own hard limit is an error naming it, never
 * a silent clamp. */
int rlimits_check (const struct spec_rlimit *r, size_t n, struct berth_error **err);
/* prlimit(pid, …) from the parent before the child runs. */
int rlimits_apply (pid_t pid, const struct spec_rlimit *r, size_t n, struct berth_error **err);

/* --------------------------------------------------------------- hooks -- */

/* Run every hook of `kind` with the state JSON on stdin; each hook's
 * timeout kills it. The first failing hook ends the run. */
int hooks_run (const struct spec *s, enum hook_kind kind, const char *state_json,
               struct berth_error **err);
/* poststart and poststop: the spec says a failing hook is a warning and the
 * others still run (the container already runs, or is already gone). */
void hooks_run_warn (const struct spec *s, enum hook_kind kind, const char *state_json);
const char *hook_kind_name (enum hook_kind kind);
int hooks_parse (const json_t *hooks, struct spec *s, struct berth_error **err);

/* ------------------------------------------------------------ terminal -- */

int terminal_connect_socket (const char *path, struct berth_error **err);
/* In the container: a new pty from its devpts; the master goes over
 * socket_fd (SCM_RIGHTS), the slave becomes stdin/out/err and the
 * controlling terminal. */
int terminal_setup (int socket_fd, unsigned short rows, unsigned short cols,
                    struct berth_error **err);
int unix_send_fds (int sock, const void *data, size_t len, const int *fds, size_t n_fds);

/* --------------------------------------------------------------- state -- */

struct container_state
{
  char *id;
  char *bundle;
  char *rootfs;
  pid_t pid;
  unsigned long long pid_start_time; /* /proc/<pid>/stat field 22, against pid reuse */
  char *created;                     /* RFC 3339 */
  json_t *config;                    /* the config.json it was created from */
  json_t *cgroup;                    /* cgroup_to_json */
  bool started;
};

char *state_dir_path (const struct runtime_context *ctx, const char *id);
const char *state_root (const struct runtime_context *ctx);
/* Where compiled seccomp programs are cached (see runtime_context). */
char *state_seccomp_cache_dir (const struct runtime_context *ctx);
int state_id_validate (const char *id, struct berth_error **err);
int state_save (int dirfd, const struct container_state *st, struct berth_error **err);
int state_load (const struct runtime_context *ctx, const char *id, struct container_state *st,
                int *dirfd, struct berth_error **err);
void state_clear (struct container_state *st);
/* created | running | paused | stopped, from the kernel (not the file). */
const char *state_status (const struct container_state *st, int dirfd, struct cgroup *cg);
json_t *state_to_oci_json (const struct container_state *st, const char *status);
unsigned long long proc_start_time (pid_t pid);
bool state_pid_alive (const struct container_state *st);

/* -------------------------------------------------------------- process -- */

/* What a container process (the init, or an exec) does to itself right
 * before execve: groups, uid/gid, capabilities, noNewPrivileges, umask,
 * cwd (resolved inside the root, never through a magic link), env. */
int process_apply_identity (const struct spec_process *p, struct berth_error **err);
int process_chdir (const struct spec_process *p, struct berth_error **err);
/* Resolve args[0] in PATH of the process env (runc does this at create so
 * a missing binary fails create, not start). */
char *process_find_executable (const struct spec_process *p, struct berth_error **err);
bool process_is_multithreaded (void);
/* process.env plus HOME from the container's /etc/passwd when missing. */
char **process_env_with_home (const struct spec_process *p);
/* Close every fd but 0-2, the preserved ones and keep_fd on execve. */
int process_close_fds (unsigned int preserve_fds, struct berth_error **err);
int process_send_seccomp_listener (const struct spec *s, int listener_sock, int listener_fd,
                                   const char *state_json, struct berth_error **err);

/* ----------------------------------------------------------- sync pipe -- */

/* Parent and container child talk over a SOCK_SEQPACKET socketpair: one
 * message per step, errors travel as text so the parent reports the child's
 * failure with its full context. */
enum sync_type
{
  SYNC_GO = 1,
  SYNC_HOOKS,      /* child: mounts done, run prestart/createRuntime now */
  SYNC_HOOKS_DONE, /* parent: done */
  SYNC_READY,      /* child: created, waiting for start */
  SYNC_START,
  SYNC_ERROR,
  SYNC_PID,  /* intermediate: the init's pid */
  SYNC_EXEC, /* child: about to execve (EOF next means it did) */
};

int sync_send (int fd, enum sync_type type, int value, const char *msg);
/* Receives one message; SYNC_ERROR becomes *err (with the child's message).
 * EOF is reported as type 0. */
int sync_recv (int fd, enum sync_type *type, int *value, struct berth_error **err);
int sync_expect (int fd, enum sync_type want, int *value, const char *step,
                 struct berth_error **err);
/* After start: wait for SYNC_EXEC then EOF (the process runs), or an
 * error; EOF without SYNC_EXEC means the init died before starting. */
int sync_wait_exec (int fd, struct berth_error **err);
/* In a child: send err over the sync socket and _exit(1). */
__attribute__ ((noreturn)) void sync_child_fail (int fd, struct berth_error *err);

/* ------------------------------------------------------------ creation -- */

/* Everything the parent prepares before clone; the child (init.c) reads
 * the same memory after clone. */
struct create_ctx
{
  const struct runtime_context *rt;
  const struct runtime_create_options *opts;
  struct spec *spec;
  char *bundle; /* absolute */
  char *rootfs; /* absolute */
  int statedirfd;
  struct cgroup *cg;
  struct seccomp_filter *seccomp;
  int console_sock;  /* -1 */
  int listener_sock; /* -1: seccomp notify agent */
  int start_sock;    /* create: listening socket the init waits on; run: -1 */
  int sync_child, sync_parent;
  int ns_fds[8]; /* fds of namespaces joined by path, by index in spec */
  bool new_userns;
  bool in_userns;
  bool use_intermediate;  /* join a user namespace by path, or time offsets */
  int clone_flags;        /* namespaces created by clone3 */
  int cg_v2_fd;           /* clone3 CLONE_INTO_CGROUP target, -1 if none */
  bool enter_v2_in_child; /* CLONE_INTO_CGROUP was refused */
  int unshare_flags;      /* created by unshare in the intermediate */
  char *created;
};

/* The container's init, from clone to execve; never returns. */
__attribute__ ((noreturn)) void container_init_main (struct create_ctx *c);
/* State JSON the hooks get on stdin. */
char *container_hook_state (const struct create_ctx *c, const char *status, pid_t pid);
