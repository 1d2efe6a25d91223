/* daemon-private: the containers module's shared state and the helpers its
 * files (containers.c, container-start.c, api-containers.c, api-attach.c,
 * api-logs.c, api-exec.c, api-archive.c, health.c) call each other with.
 * Loop thread only. */
#pragma once

#include <pthread.h>

#include "daemon/api.h"
#include "daemon/container.h"
#include "runtime/runtime.h"

struct relay;
struct exec_instance;
struct remove_job;

/* The module's state (d->containers_state). */
struct containers
{
  struct berthd *d;
  int dirfd;        /* <data-root>/containers */
  char *data_dir;   /* path of the same */
  char *exec_dir;   /* <exec-root>/containers */
  char *state_root; /* <exec-root>/runtime: the runtime library's state */
  char *monitor_path;
  int monitor_exe_fd; /* read-only view of monitor_path (-1: none) */
  /* read-only view of berth-monitor-exec next to it, handed to every
   * monitor for its exec processes (-1: they use berth-monitor --exec) */
  int exec_helper_fd;
  char *init_path; /* tini-static, NULL when not installed */
  /* the default seccomp profile made last (for the capability set
   * seccomp_caps, joined by spaces) and its canonical text: the starts of
   * containers with the same capabilities reuse both */
  char *seccomp_caps;
  json_t *seccomp_profile;
  char *seccomp_text;
  struct runtime_context rt;
  bool opened_images; /* the store was opened here (and is closed here) */
  struct container **all;
  size_t n_all;
  struct exec_instance **execs;
  size_t n_execs;
  struct stats_stream **stats; /* streaming GET /containers/{id}/stats */
  size_t n_stats;
  /* removals whose loop part is posted, and how many run on workers */
  struct remove_job **pending_removals;
  size_t n_pending_removals;
  pthread_mutex_t removals_mu;
  pthread_cond_t removals_cond;
  int n_removals;
};

/* api-stats.c: end every streaming stats response (daemon shutdown). */
void stats_streams_end_all (struct containers *cs);

/* A request (wait, stop, restart, start, delete) waiting for a container
 * event; fn runs once with the container (NULL when it was removed). */
enum waiter_kind
{
  WAIT_EXIT,    /* the next exit (stop, restart, wait next-exit/not-running) */
  WAIT_STARTED, /* start/restart: the monitor reported "started" or failed */
  WAIT_REMOVED,
};
struct waiter
{
  enum waiter_kind kind;
  void (*fn) (struct waiter *w, struct container *c, const struct berth_error *err);
  void *data;
  struct waiter *next;
};

/* The daemon side of one container (c->daemon_data). */
struct container_rt
{
  struct containers *cs;
  struct container *c;
  int pidfd; /* of the monitor */
  struct loop_fd *pid_watch;
  int sync_fd; /* start handshake */
  struct loop_fd *sync_watch;
  struct waiter *waiters;
  struct relay **pending_attach; /* hijacked clients waiting for the start */
  size_t n_pending_attach;
  struct loop_timer *restart_timer;
  uint64_t backoff_ms;
  struct loop_timer *stop_timer;
  struct loop_timer *health_timer;
  pid_t health_pid;
  int health_pidfd;
  struct loop_fd *health_watch;
  int health_out_fd;
  struct loop_timer *health_timeout;
  uint64_t health_started_ns;
  char *health_output;
  size_t health_output_len;
  bool starting;
  bool net_attached; /* this start connected the network already */
  bool volumes_mounted; /* "volume mount" sent for this run, no unmount yet */
  bool predefined_net_joined; /* none/host "network connect" sent, no disconnect yet */
  /* the record was saved as running while the runtime set up the root
   * (at c->saves == running_saved_at, started at running_saved_ns, with
   * HasBeenManuallyStopped = running_saved_stop) */
  bool running_saved;
  bool running_saved_stop;
  unsigned running_saved_at;
  uint64_t running_saved_ns;
  bool stopping;
  /* a stop arrived while the monitor was starting: stop once started */
  bool stop_on_start;
  int stop_on_start_timeout_s;
  bool restart_requested; /* restart: start again after the exit */
  bool remove_requested;
  /* removed from the list; freed once nobody holds it */
  bool forgotten;
  int holds;
  /* DELETE ?force arrived during a start: kill once started, remove on exit */
  bool remove_on_exit;
};

/* Where container networking plugs in (the network module sets these in
 * its init; NULL members are skipped). attach runs once the container's
 * init exists and before it starts: its network namespace is
 * /proc/<init_pid>/ns/net (NetworkMode default/bridge/<network>); a failure
 * fails the start with that message. detach runs after the container
 * stopped (also when its monitor died while berthd was away). settings
 * gives NetworkSettings for inspect and the Networks of /containers/json
 * (NULL: the default shape without addresses). */
struct container_network_hooks
{
  int (*attach) (struct berthd *d, struct container *c, pid_t init_pid, struct berth_error **err);
  void (*detach) (struct berthd *d, struct container *c);
  /* Removal: release its endpoints but not their devices; returns the
   * host ends of its veths for a worker to delete (NULL: none). */
  char **(*release) (struct berthd *d, struct container *c);
  json_t *(*settings) (struct berthd *d, const struct container *c);
  /* At create: the shape of NetworkingConfig.EndpointsConfig (a 400 that
   * names the field). */
  int (*validate) (struct berthd *d, const struct container *c, struct berth_error **err);
};
extern struct container_network_hooks container_network_hooks;

struct containers *containers_get (struct berthd *d);
/* Replace j's NetworkSettings by the network module's (inspect, or the
 * Networks-only shape of a list entry). */
void containers_apply_network_settings (struct containers *cs, const struct container *c, json_t *j,
                                        bool summary);
/* NetworkSettings.Networks (of inspect, or of a list entry) as a client of
 * API version (major*100+minor) reads it: a list entry without Aliases,
 * Links, DriverOpts and DNSNames (null, as dockerd's); no DNSNames below
 * 1.44 (the version that added them); below 1.45 inspect's Aliases of
 * user-defined networks also hold the short id and the hostname, as
 * dockerd 25+ does for older clients (container-network.c). */
void container_networks_for_version (const struct container *c, json_t *networks, unsigned version,
                                     bool is_inspect);
/* qsort order of struct container * by creation, newest first (the order
 * of dockerd's lists). */
int containers_compare_created_desc (const void *a, const void *b);
struct container_rt *container_rt (struct container *c);

/* name, full id, or unique id prefix; 404 "No such container: x". */
struct container *containers_lookup (struct containers *cs, const char *ref,
                                     struct berth_error **err);
struct container *containers_find_by_name (struct containers *cs, const char *name);
void containers_add (struct containers *cs, struct container *c);
/* POST /containers/create's work (body as the API's); adopt_id (NULL: a
 * new id and snapshot) takes an existing snapshot of that id as the
 * container's root, e.g. a build's intermediate container. Added to cs. */
struct container *containers_create_with (struct containers *cs, const json_t *body,
                                          const char *name, const char *adopt_id,
                                          struct berth_error **err);
/* Code that calls out (waiters, removal) while it works on c holds it:
 * a removal in between then frees c only at the last release. release
 * returns false once c was removed (and freed, if that was the last
 * hold): the caller must not touch c any more. */
void container_hold (struct container *c);
bool container_release (struct container *c);
void containers_forget (struct containers *cs, struct container *c);

void waiter_add (struct container *c, enum waiter_kind kind,
                 void (*fn) (struct waiter *w, struct container *c, const struct berth_error *err),
                 void *data);
void waiters_notify (struct container *c, enum waiter_kind kind, const struct berth_error *err);

/* container-start.c: start (async; waiters of kind WAIT_STARTED learn the
 * outcome), the monitor's exit, restore at daemon start, removal. */
int container_start (struct containers *cs, struct container *c, struct berth_error **err);
/* A start that failed before the monitor ran (bad mode, mount error):
 * record it, answer the exit waiters (docker run's wait) and honour
 * AutoRemove as dockerd does. c may be freed on return. */
void container_start_failed_early (struct containers *cs, struct container *c,
                                   const struct berth_error *err);
void container_watch_monitor (struct containers *cs, struct container *c, pid_t monitor_pid);
void container_restore (struct containers *cs, struct container *c);
/* The monitor exited (its pidfd fired, or it was gone at restore): state,
 * events, restart policy, auto-remove. */
void container_monitor_exited (struct containers *cs, struct container *c);
/* Gone from the API (and from disk, atomically) on return; the snapshot,
 * network endpoints, cgroups and directories are released right after
 * the answers went out. */
int container_remove (struct containers *cs, struct container *c, bool remove_volumes,
                      struct berth_error **err);
/* Shutdown: finish every removal in flight. */
void containers_removals_finish (struct containers *cs);
/* Start: finish the removals a killed berthd left (.rm-<id> dirs). */
void containers_sweep_removed (struct containers *cs);
/* Start: a record lost to a power loss whose hostconfig.json says
 * AutoRemove is removed (true); any other is kept. */
bool container_remove_lost (struct containers *cs, const char *id);
/* Send the stop signal, SIGKILL after timeout_s (-1: the container's own).
 * 0: the exit is coming (wait for it), 1: stopped already (a pending
 * policy restart was cancelled), 2: that also removed it (c is gone). */
int container_stop (struct containers *cs, struct container *c, int timeout_s, const char *signal,
                    struct berth_error **err);
int container_kill (struct containers *cs, struct container *c, int signo,
                    struct berth_error **err);
/* docker's SizeRw and SizeRootFs into j (inspect ?size=1 always; the
 * list and system df omit zeros, as docker's omitempty does). */
void container_sizes_apply (struct containers *cs, const struct container *c, json_t *j,
                            bool omit_zero);
/* GraphDriver.Data (overlay2's LowerDir, MergedDir, UpperDir, WorkDir). */
void container_graph_data_apply (struct containers *cs, const struct container *c, json_t *j);
/* Host paths of the container's files. */
char *container_exec_dir (struct containers *cs, const struct container *c);
char *container_data_dir (struct containers *cs, const struct container *c);
/* Where the container's hostname, hosts and resolv.conf are (regenerated
 * at every start, bind-mounted into it): its exec dir (a tmpfs: no inode
 * of the data root's disk per start), or its data dir when a berthd of
 * before wrote them there and the container has not started since. */
char *container_etc_dir (struct containers *cs, const struct container *c);
/* Resolve Config.User ("uid", "name", "uid:gid", "name:group") in the
 * container's /etc/passwd and /etc/group (inside rootfd). */
int container_user_resolve (int rootfd, const char *user, char *const *group_add, uid_t *uid,
                            gid_t *gid, gid_t **additional, size_t *n_additional,
                            struct berth_error **err);
/* The event attributes docker sends for a container (name, image, labels). */
json_t *container_event_attrs (const struct container *c);
void container_event (const struct container *c, const char *action, json_t *extra_attrs);
/* dockerd's "volume mount" (at a start, before "start") and "volume
 * unmount" (at the exit, after the network disconnect) of each volume c
 * mounts; an unmount only once per mount. */
void container_volume_events (struct container *c, bool mount);
/* At create: HostConfig.IpcMode "container:<name|id>" names the donor by
 * its full id, as dockerd stores it ("No such container", a 400). */
int container_ipc_donor_resolve (struct containers *cs, json_t *hc, struct berth_error **err);
/* At start: the IPC namespace of the donor (ref) into *ns_path, or
 * dockerd's error when it does not run or does not share it. */
int container_ipc_donor_check (struct containers *cs, const char *ref, char **ns_path,
                               struct berth_error **err);

/* exec-record.c: ids of the exec instances of c that did not end (an
 * array, empty when c is not running). */
json_t *exec_ids_of (struct containers *cs, const struct container *c);
/* Drop the exec instances of a removed container; only those never
 * started at an exit (dockerd's Cleanup: GET /exec/<id>/json is a 404). */
void exec_forget_container (struct containers *cs, const char *container_id, bool only_unstarted);
/* Live restore of a running c: the execs its monitor runs or ran. */
void exec_restore (struct containers *cs, struct container *c);
void exec_free_all (struct containers *cs);

/* health.c */
void health_start (struct containers *cs, struct container *c);
void health_stop (struct container *c);

/* api-attach.c: a bidirectional relay between a hijacked client and the
 * container's stdio (monitor socket or exec pipes). */
struct relay_options
{
  bool tty;
  bool frame_sources; /* exec pipes: add docker's 8-byte headers */
  bool want_stdin;
  /* the client's stdin EOF ends the stream (the process keeps its stdin
   * open): docker's attach with a tty or without StdinOnce, exec with a
   * tty (its stdin copy closes stdout and stderr instead of stdin) */
  bool end_on_stdin_eof;
  const char *detach_keys; /* "ctrl-p,ctrl-q" by default */
  /* keep the client open after the output ended until relay_release (an
   * exec's exit code must be known before the client inspects it) */
  bool hold;
  void (*on_done) (void *data);
  void *done_data;
};
struct relay *relay_new (struct containers *cs, struct api_hijack *h,
                         const struct relay_options *o);
/* The relay owns the fds it is given (a source may also be the sink). */
void relay_set_sink (struct relay *r, int fd, bool is_socket);
/* stream: 1 stdout, 2 stderr (used for frames when frame_sources). */
void relay_add_source (struct relay *r, int fd, int stream);
/* Bytes for the client before anything else (attach logs=1). */
void relay_queue (struct relay *r, const void *data, size_t len);
/* Start moving bytes; with no source the relay flushes and closes. */
void relay_start (struct relay *r);
/* End a hold: the relay finishes once the output is out. */
void relay_release (struct relay *r);
/* Close the client and every fd now (daemon shutdown, removal). */
void relay_abort (struct relay *r);
/* Connect to the monitor's attach socket and send the request byte. */
int monitor_attach_connect (struct containers *cs, struct container *c, uint8_t want,
                            struct berth_error **err);
