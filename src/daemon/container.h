/* daemon-private: the container side of berthd. A container record (id,
 * name, normalized Config/HostConfig, state), its state machine with
 * docker's transitions, crash-safe persistence under
 * <data-root>/containers/<id>/, the create-body parser and validator, and
 * the OCI config generator. Nothing here speaks HTTP. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/common.h"

/* The name of berthd's one OCI runtime (the runtime library; berth-runtime
 * is its runc command line) in HostConfig.Runtime and /info: docker's
 * default name, the one the docker CLI shows and scripts pass. */
#define CONTAINER_RUNTIME_NAME "runc"
#define CONTAINER_RUNTIME_PATH "berth-runtime"

/* ------------------------------------------------------------- states -- */

enum container_status
{
  CONTAINER_CREATED = 0,
  CONTAINER_RUNNING,
  CONTAINER_PAUSED,
  CONTAINER_RESTARTING,
  CONTAINER_REMOVING,
  CONTAINER_EXITED,
  CONTAINER_DEAD,
};

const char *container_status_name (enum container_status s);
int container_status_parse (const char *name, enum container_status *s);

struct container_health
{
  char *status; /* "starting", "healthy", "unhealthy"; NULL when no check */
  int failing_streak;
  json_t *log; /* array of the last 5 {Start,End,ExitCode,Output} */
};

struct container_state
{
  enum container_status status;
  pid_t pid; /* container init as seen from the host, 0 when not running */
  pid_t monitor_pid;
  int exit_code;
  char *error;
  bool oom_killed;
  bool has_been_started;
  /* set by stop/kill through the API: restart policies do not apply and
   * unless-stopped stays stopped across daemon restarts */
  bool has_been_manually_stopped;
  uint64_t started_ns, finished_ns; /* 0 = never (0001-01-01T00:00:00Z) */
  struct container_health health;
};

struct container
{
  char id[SHA256_HEX_LEN + 1];
  char *name;     /* "/name" */
  json_t *config; /* Config, merged with the image's and normalized */
  json_t *host_config;
  json_t *networking; /* NetworkingConfig as given */
  /* docker's MountPoints: [{Type, Name?, Source, Destination, Driver?,
   * Mode, RW, Propagation}] resolved at create (volumes created), plus
   * "TmpfsOptions" for tmpfs entries */
  json_t *mounts;
  char *image_ref; /* as the client wrote it: "busybox:local" */
  char *image_id;  /* "sha256:…" */
  char *path;      /* argv[0] */
  char **args;
  uint64_t created_ns;
  int restart_count;
  char *rootfs; /* host path of the container's root (overlay mount) */
  char *log_path;
  struct container_state state;

  /* runtime only, never persisted */
  int dirfd; /* <data-root>/containers/<id> */
  bool auto_remove_pending;
  bool host_config_saved; /* hostconfig.json is current: skip rewriting it */
  unsigned saves;         /* container_save calls so far (a save since a mark?) */
  void *daemon_data;      /* owned by the daemon glue (monitor watch, waiters) */
};

/* Docker's transition rules. Each returns 0 or fills a 409 with docker's
 * message when the request cannot be done in the current state. */
int container_can_start (const struct container *c, struct berth_error **err);
int container_can_pause (const struct container *c, struct berth_error **err);
int container_can_unpause (const struct container *c, struct berth_error **err);
int container_can_exec (const struct container *c, struct berth_error **err);
int container_can_remove (const struct container *c, bool force, struct berth_error **err);
bool container_is_running (const struct container *c); /* running, paused or restarting */

void container_set_running (struct container *c, pid_t pid, pid_t monitor_pid, uint64_t now_ns);
void container_set_exited (struct container *c, int exit_code, bool oom_killed, uint64_t now_ns);
void container_set_paused (struct container *c, bool paused);

/* ---------------------------------------------------------- records -- */

struct container *container_new (void);
void container_free (struct container *c);
static inline void
container_freep (struct container **c)
{
  if (*c)
    container_free (*c);
  *c = NULL;
}
#define _cleanup_container_ _cleanup_ (container_freep)

/* Persist as config.v2.json + hostconfig.json in the container's directory
 * (write temp + fsync + rename each): a kill -9 at any instant leaves the
 * old or the new record. */
int container_save (struct container *c, struct berth_error **err);
/* Save the record as container_set_running would leave it, without
 * changing c: the start persists "running" while the runtime still sets
 * up the root, so that the answer to the start waits for no fsync. */
int container_save_as_running (struct container *c, pid_t pid, pid_t monitor_pid,
                               bool manually_stopped, uint64_t now_ns, struct berth_error **err);
/* Files berthd regenerates at every start (hostname, hosts, resolv.conf,
 * the OCI config): temp + rename without fsync — a crash loses nothing
 * that the next start does not write again, and fsyncs cost milliseconds. */
int container_write_file_volatile (int dirfd, const char *name, const void *data, size_t len,
                                   struct berth_error **err);
/* Load one record from <containers_dir>/<id>; dirfd of the container dir
 * is kept open in c->dirfd. */
struct container *container_load (int containers_dirfd, const char *id, struct berth_error **err);
/* The record as config.v2.json stores it (also the base of inspect). */
json_t *container_to_json (const struct container *c);
struct container *container_from_json (const json_t *j, struct berth_error **err);

/* "0001-01-01T00:00:00Z" for 0, RFC 3339 nano otherwise. */
json_t *container_time_json (uint64_t ns);
/* The State object of inspect. */
json_t *container_state_json (const struct container_state *s);
/* Inspect shape (GET /containers/{id}/json). */
/* etc_dir: where its hostname, hosts and resolv.conf are */
json_t *container_inspect_json (const struct container *c, const char *etc_dir);
/* One entry of GET /containers/json. */
json_t *container_summary_json (const struct container *c, uint64_t now_ns);
/* "Up 3 minutes", "Exited (0) 2 seconds ago", "Created" … as docker prints. */
char *container_status_text (const struct container *c, uint64_t now_ns);
char *duration_human (uint64_t ns);

/* ------------------------------------------------------------ names -- */

bool container_name_is_valid (const char *name);
/* "/name" from "name" or "/name"; 400 with docker's message when invalid. */
char *container_name_normalize (const char *name, struct berth_error **err);
/* adjective_surname (with a digit after the first retry). */
char *container_name_generate (unsigned retry);

/* ----------------------------------------------------- create body -- */

/* Validate POST /containers/create's body at the edge: wrong types and bad
 * values fail with 400 naming the field
 * ("HostConfig.PortBindings["80/tcp"][0].HostPort: not a number").
 * On success *config, *host_config and *networking are normalized copies
 * (Entrypoint/Cmd as arrays, defaults filled in). */
int container_create_body_parse (const json_t *body, json_t **config, json_t **host_config,
                                 json_t **networking, struct berth_error **err);
/* Validate a HostConfig alone (create, and POST /containers/{id}/update). */
int container_host_config_validate (json_t *host_config, struct berth_error **err);
/* At create, after validation: the defaults dockerd stores for what the
 * client left unset (MaskedPaths/ReadonlyPaths, ShmSize 64 MiB, MemorySwap
 * twice a Memory limit, CgroupnsMode private), each what the OCI config
 * applies for unset, so inspect shows what the container gets. */
void container_host_config_defaults (json_t *host_config);
/* For inspect: every Config/HostConfig field dockerd's structs always
 * print (the ones without omitempty) that the record lacks, as its zero
 * value ("", false, 0, null; ConsoleSize [0,0]), so a client indexing
 * .HostConfig.Memory finds it whatever the create body held. */
void container_config_fill_zero (json_t *config);
void container_host_config_fill_zero (json_t *host_config);
/* Docker's merge of the user's Config with the image's config: Env by key,
 * Entrypoint/Cmd rules, WorkingDir, User, Labels, ExposedPorts, Volumes,
 * Healthcheck, StopSignal. Fills *path and *args; 400 "No command specified"
 * when there is nothing to run. */
int container_config_merge_image (json_t *config, const json_t *image_config, char **path,
                                  char ***args, struct berth_error **err);

/* Parse docker's signal spelling: "SIGTERM", "TERM", "15", "SIGRTMIN+3". */
int signal_parse (const char *s, int *signo);
/* Byte sizes as docker's units: "10m", "1g", "512k", "100" (max-size, shm). */
int size_parse_bytes (const char *s, int64_t *bytes);

/* ------------------------------------------------------- OCI config -- */

struct container_oci_input
{
  const char *id;
  const json_t *config; /* merged Config */
  const json_t *host_config;
  const char *path;
  char *const *args;
  const char *rootfs;        /* host path of the root */
  const char *hostname_path; /* host paths bind-mounted into the container */
  const char *hosts_path;
  const char *resolv_conf_path;
  const char *init_path; /* tini-static or similar, NULL when not found */
  /* mounts resolved by the daemon (named volumes → host dirs):
   * array of OCI mount objects appended after the defaults */
  const json_t *extra_mounts;
  const char *netns_path; /* container:<id> / joined netns, NULL otherwise */
  const char *ipcns_path;
  const char *pidns_path;
  const char *cgroup_parent; /* default "/berth" */
  /* default seccomp profile (from the runtime), used unless unconfined */
  json_t *default_seccomp; /* shared by the config made (incref), never changed */
  long ncpus;
  /* Config.User resolved in the container's /etc/passwd and /etc/group */
  uid_t uid;
  gid_t gid;
  const gid_t *additional_gids;
  size_t n_additional_gids;
};

/* Pure: container config → OCI config.json (Docker's security defaults:
 * capability set, seccomp, masked and read-only paths, /dev/shm, hostname,
 * hosts, resolv.conf; resources as asked; --privileged lifts them). */
json_t *container_oci_config (const struct container_oci_input *in, struct berth_error **err);
/* What dockerd stores at create for a container that is not privileged and
 * sent no list of its own: the default HostConfig.MaskedPaths and
 * ReadonlyPaths (inspect shows them; the OCI config follows the stored
 * lists, so an empty one — `--security-opt systempaths=unconfined` —
 * masks nothing). */
void container_system_paths_default (json_t *host_config);
/* linux.resources for a HostConfig (create, and update of a running one). */
json_t *container_oci_resources (const json_t *host_config);
/* Docker's default capability set ("CAP_CHOWN", …), NULL-terminated, static. */
extern const char *const container_default_caps[];
/* The effective capability list after CapAdd/CapDrop ("ALL" understood). */
char **container_caps_compute (const json_t *host_config, struct berth_error **err);
