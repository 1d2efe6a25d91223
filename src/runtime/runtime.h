/* berth runtime: the public API of the OCI runtime library. berth-runtime
 * (the runc-compatible CLI) is a thin main over it, and berthd's per-container
 * monitor calls it in-process: no fork/exec of a runtime binary per action.
 * Every call returns 0 (or a non-NULL object) on success and fills *err with
 * a message naming the step and the path or resource on failure.
 *
 * Callers: create/run clone() the caller and the child keeps running
 * library code (allocations included) until execve, so call them from a
 * single-threaded process (berthd's per-container monitor, not the daemon's
 * threads). exec may be called from a multi-threaded process (it then uses
 * glibc's fork(), whose atfork handlers keep malloc usable). Hooks are fork()ed and waited for by pid: do not reap children
 * you did not start (waitpid(-1)) while a runtime call runs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/common.h"

#define RUNTIME_DEFAULT_STATE_ROOT "/run/berth-runtime"
/* A berth extension of config.json: without linux.seccomp, this annotation
 * names a file (absolute path) holding the linux.seccomp object. Written
 * in canonical form (keys sorted, compact: json_dumps JSON_SORT_KEYS |
 * JSON_COMPACT), its text is the seccomp cache's key as it is, so a start
 * neither parses nor reserializes the profile when the program is cached
 * (berthd's bundles: Docker's default profile is ~60% of config.json). */
#define RUNTIME_SECCOMP_PROFILE_ANNOTATION "org.berth.seccomp.profile"

/* ------------------------------------------------------------- context -- */

struct runtime_context
{
  /* Directory of per-container state (<state_root>/<id>/state.json, the
   * exec fifo). NULL means RUNTIME_DEFAULT_STATE_ROOT. */
  const char *state_root;
  /* Compiled seccomp programs, by content (seccomp_filter_compile_cached):
   * NULL means "<state_root>.seccomp-cache" (next to the state root, never
   * inside it: everything in there is a container); "" turns it off. */
  const char *seccomp_cache_dir;
  /* linux.cgroupsPath is "slice:prefix:name" and cgroups are systemd's. */
  bool systemd_cgroup;
};

/* Point the library's log (berth_log: debug lines, hook failures) at a file,
 * as text or as JSON lines (the format containerd reads from --log). NULL
 * keeps stderr. The library itself never prints an error: it returns it. */
int runtime_log_open (const char *log_path, bool json, bool debug, struct berth_error **err);

/* CVE-2019-5736: the process that turns into a container process must never
 * expose a writable handle on its own executable (/proc/self/exe) to the
 * container. Call this at the top of main() of any program that will call
 * runtime_container_create/exec/run: when /proc/self/exe is not already
 * read-only or a sealed copy, it re-executes the program (same argv and
 * environment) from a read-only view of the binary (a private read-only
 * bind mount, or a sealed memfd copy where mounts are not permitted) and
 * does not return. A daemon that calls runtime_container_exec in-process
 * (berthd, for docker exec and health checks) must call it once at the top
 * of main(); a program exec'd by it is not covered (see
 * runtime_exe_open_protected). Returns 0 when already
 * protected, -1 with *err when the re-exec failed. */
int runtime_exe_protect (char **argv, struct berth_error **err);
/* The same protection made once for a program another process will run:
 * an O_CLOEXEC fd of a read-only view of the executable at path (a private
 * read-only clone of its mount, or a sealed memfd copy), to execute with
 * execveat(fd, "", AT_EMPTY_PATH) or as "/proc/self/fd/<fd>" (posix_spawn;
 * an ELF binary needs no open fd after the exec). A program started that
 * way finds itself protected and runtime_exe_protect returns 0 at once, so
 * a daemon that opens its helper this way at startup saves the helper a
 * re-exec per start. The view keeps the file as it was when opened. */
int runtime_exe_open_protected (const char *path, struct berth_error **err);

/* -------------------------------------------------------------- create -- */

struct runtime_create_options
{
  const char *id;          /* [A-Za-z0-9_.-]+, unique under state_root */
  const char *bundle;      /* bundle directory (config.json, rootfs) */
  const char *config_path; /* NULL: <bundle>/config.json */
  /* process.terminal: the pty master is sent over this unix socket with
   * SCM_RIGHTS (runc's protocol). Either a connected fd (>= 0) or a path. */
  int console_socket_fd;           /* -1 when unused */
  const char *console_socket_path; /* NULL when unused */
  /* stdin, stdout, stderr of the container's process when it has no
   * terminal; -1 inherits the caller's. */
  int stdio_fds[3];
  const char *pid_file;      /* written with the init's pid (host pid ns), or NULL */
  unsigned int preserve_fds; /* fds 3 .. 3+n-1 of the caller stay open in the container */
  bool no_pivot;             /* chroot (after MS_MOVE) instead of pivot_root */
  bool no_new_keyring;       /* keep the caller's session keyring */
  /* Called in the caller as soon as the init exists (its namespaces do)
   * and goes on with its setup: what the caller does to the namespaces
   * from outside (berthd: the network) overlaps with the root setup. */
  void (*on_init_cloned) (pid_t init_pid, void *data);
  void *on_init_cloned_data;
};

/* Create the container: namespaces, cgroup, mounts, pivot_root, devices,
 * hooks (createRuntime, prestart, createContainer), and leave its init
 * stopped right before execve of process.args until
 * runtime_container_start(). *init_pid (may be NULL) gets its pid.
 *
 * Exit status: the init is clone()d by the CALLING process, so it is the
 * caller's child and the caller can waitpid() it. The one exception is a
 * config that joins an existing user namespace by path (linux.namespaces[]
 * {type: user, path}): the init is then forked by a short-lived
 * intermediate process and is re-parented to the nearest child subreaper.
 * berthd's per-container monitor therefore sets PR_SET_CHILD_SUBREAPER,
 * then calls runtime_container_create + runtime_container_start
 * in-process and waitpid()s the init pid in every case. berth-runtime
 * `create` exits after this call, so (like runc) the init is re-parented
 * to the caller's subreaper (containerd-shim). */
int runtime_container_create (const struct runtime_context *ctx,
                              const struct runtime_create_options *opts, pid_t *init_pid,
                              struct berth_error **err);

/* Let a created container's init execve its process (runc `start`), then
 * run the poststart hooks. */
int runtime_container_start (const struct runtime_context *ctx, const char *id,
                             struct berth_error **err);

/* create + start with the caller as the init's parent (berth-runtime `run`
 * and the monitor): no exec fifo round trip. */
int runtime_container_run (const struct runtime_context *ctx,
                           const struct runtime_create_options *opts, pid_t *init_pid,
                           struct berth_error **err);

/* ----------------------------------------------------------- lifecycle -- */

/* The OCI state object: {"ociVersion","id","status","pid","bundle",
 * "annotations"} plus "rootfs","created","owner" as runc prints them.
 * status: creating | created | running | paused | stopped. */
json_t *runtime_container_state (const struct runtime_context *ctx, const char *id,
                                 struct berth_error **err);
/* Every container under state_root, as an array of state objects. */
json_t *runtime_container_list (const struct runtime_context *ctx, struct berth_error **err);

/* Signal the init (or, with all, every process in the container's cgroup). */
int runtime_container_kill (const struct runtime_context *ctx, const char *id, int signo, bool all,
                            struct berth_error **err);
/* Parse "TERM", "SIGTERM" or "15". */
int runtime_signal_parse (const char *name, int *signo);

/* Remove a stopped container: cgroup, state, poststop hooks. With force a
 * created or running one is killed (SIGKILL) first. */
int runtime_container_delete (const struct runtime_context *ctx, const char *id, bool force,
                              struct berth_error **err);

int runtime_container_pause (const struct runtime_context *ctx, const char *id,
                             struct berth_error **err);
int runtime_container_resume (const struct runtime_context *ctx, const char *id,
                              struct berth_error **err);

/* Apply an OCI linux.resources object (only the fields present change). */
int runtime_container_update (const struct runtime_context *ctx, const char *id,
                              const json_t *resources, struct berth_error **err);

/* Pids (host pid namespace) of every process in the container's cgroup. */
int runtime_container_ps (const struct runtime_context *ctx, const char *id, pid_t **pids,
                          size_t *n_pids, struct berth_error **err);

/* How many of the container's processes the kernel's OOM killer killed
 * (memory.events / memory.oom_control), without reading every stats file:
 * for the exit path (Docker's State.OOMKilled). */
int runtime_container_oom_kills (const struct runtime_context *ctx, const char *id,
                                 uint64_t *count, struct berth_error **err);

/* {"memory_stats":…,"cpu_stats":…,"pids_stats":…,"blkio_stats":…} from the
 * container's cgroup (cgroup_stats). */
json_t *runtime_container_stats (const struct runtime_context *ctx, const char *id,
                                 struct berth_error **err);

/* ---------------------------------------------------------------- exec -- */

struct runtime_exec_options
{
  const char *id;
  /* An OCI process object. Fields it lacks (env, cwd, user, capabilities,
   * noNewPrivileges, rlimits) are taken from the container's config, as
   * runc exec does. process.terminal needs a console socket. */
  const json_t *process;
  int console_socket_fd;           /* -1 when unused */
  const char *console_socket_path; /* NULL when unused */
  int stdio_fds[3];                /* -1 inherits the caller's */
  const char *pid_file;
  unsigned int preserve_fds;
};

/* Start a process in a running container: it joins every namespace of the
 * container's init, its cgroup, and gets its capabilities, rlimits,
 * noNewPrivileges and seccomp filter (from the config, or the process
 * object). Like create, the process is clone()d by the caller, which can
 * waitpid() *pid for its exit status. */
int runtime_container_exec (const struct runtime_context *ctx,
                            const struct runtime_exec_options *opts, pid_t *pid,
                            struct berth_error **err);

/* ------------------------------------------------------------- helpers -- */

/* `features`: what this runtime supports (OCI runtime features document). */
json_t *runtime_features (void);
/* `spec`: a runnable default config.json (busybox sh, Docker's default
 * capabilities, masked and read-only paths, the usual mounts), like runc's. */
json_t *runtime_spec_default (void);
/* Docker's default seccomp profile as an OCI linux.seccomp object, with the
 * syscalls that `caps` (the bounding set, "CAP_SYS_ADMIN", …) allow. */
json_t *runtime_default_seccomp_profile (char *const *caps);
