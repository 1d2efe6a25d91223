/* berth cli: declarations shared by the files of src/cli (private to the
 * area). Pure parts (flags, templates, human units, option parsers) are
 * declared first so the unit tests can call them; the transport and the
 * commands follow. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include <jansson.h>

#include "common/common.h"

/* ------------------------------------------------------------- flags -- */

enum cli_opt_type
{
  CLI_OPT_BOOL,
  CLI_OPT_STRING, /* last value wins */
  CLI_OPT_LIST,   /* every value kept, in order */
};

struct cli_opt
{
  const char *name; /* long name without "--"; NULL ends a table */
  char shorthand;   /* 0 when none */
  enum cli_opt_type type;
  const char *help;
  const char *defval; /* shown in --help, and returned when unset */
};

struct cli_optval
{
  bool is_set;
  bool b;
  char *s;
  char **list;
};

struct cli_args
{
  const struct cli_opt *opts;
  size_t n_opts;
  struct cli_optval *vals;
  char **pos; /* positional arguments, NULL-terminated */
  size_t n_pos;
  bool want_help;
};

/* Parse argv (without the command words) as pflag does: --flag value,
 * --flag=value, -f value, -fvalue, -f=value, combined short booleans -it,
 * --bool=false, repeated flags, `--` ends the flags. With interspersed false
 * the first positional argument ends the flags (docker run IMAGE CMD...).
 * -h/--help set want_help. Errors read like pflag's: "unknown flag: --x",
 * "flag needs an argument: --name", "unknown shorthand flag: 'z' in -z". */
int cli_args_parse (const struct cli_opt *opts, int argc, char **argv, bool interspersed,
                    struct cli_args *out, struct berth_error **err);
void cli_args_free (struct cli_args *a);
bool cli_args_bool (const struct cli_args *a, const char *name);
bool cli_args_is_set (const struct cli_args *a, const char *name);
/* The value (or the default, or NULL). */
const char *cli_args_str (const struct cli_args *a, const char *name);
char **cli_args_list (const struct cli_args *a, const char *name);
/* Integer flag: named error on a bad number. */
int cli_args_int (const struct cli_args *a, const char *name, long long *out,
                  struct berth_error **err);
/* The flags section of --help. */
void cli_opts_print_help (FILE *f, const struct cli_opt *opts);

/* ---------------------------------------------------------- templates -- */

/* Go text/template, the subset people use with --format: {{.A.B}}, {{.}},
 * {{json .X}}, {{index .M "k"}}, {{range}}/{{range $k, $v := .M}},
 * {{if}}/{{else if}}/{{else}}, {{with}}, {{- trim -}}, pipes, and the
 * functions json join split upper lower title len printf print println pad
 * truncate eq ne lt le gt ge and or not. Data is JSON. */
struct tmpl;
struct tmpl *tmpl_parse (const char *text, struct berth_error **err);
/* Append the output to f. */
int tmpl_execute (const struct tmpl *t, json_t *data, FILE *f, struct berth_error **err);
void tmpl_free (struct tmpl *t);
static inline void
tmpl_freep (struct tmpl **t)
{
  if (*t)
    tmpl_free (*t);
  *t = NULL;
}
/* Go's fmt %v of a JSON value: strings bare, maps as map[k:v], arrays as
 * [a b], null as <nil>. */
void tmpl_print_value (FILE *f, json_t *v);

/* Go's text/tabwriter with docker's settings (minwidth 10, padding 3,
 * spaces): cells end at '\t'; widths count runes. Returns new text. */
char *tabwriter_format (const char *text, int minwidth, int padding);

/* Formatting rows with --format: "table ..." adds a header row made by
 * executing the template on `headers` (field → header text) and aligns
 * the columns. `rows` is a JSON array of objects. */
int cli_format_rows (FILE *out, const char *format, json_t *headers, json_t *rows,
                     struct berth_error **err);

/* -------------------------------------------------------- human units -- */

/* go-units HumanDuration: "Less than a second", "About a minute", "3 hours". */
char *human_duration (double seconds);
/* go-units HumanSizeWithPrecision (decimal: B kB MB GB …), docker images/ps. */
char *human_size (double bytes, int precision);
/* go-units BytesSize (binary: B KiB MiB …, precision 4), docker stats. */
char *human_bytes (double bytes);
/* go-units RAMInBytes: "512m", "1g", "1.5GB", "100" (bytes). */
int parse_ram_bytes (const char *s, int64_t *out, struct berth_error **err);
/* go-units FromHumanSize (decimal). */
int parse_human_size (const char *s, int64_t *out, struct berth_error **err);
/* Go time.ParseDuration subset: "10s", "1m30s", "1.5h", "300ms". */
int parse_go_duration (const char *s, int64_t *out_ns, struct berth_error **err);
/* --since/--until: RFC 3339 dates, unix seconds, or durations ago. The
 * result is the API's "seconds[.nanoseconds]" string. */
char *parse_timestamp_arg (const char *s, time_t now, struct berth_error **err);
/* docker ps STATUS pieces from a container's State (inspect) object. */

/* ------------------------------------------------------- option parsers -- */

/* -e KEY=VAL / -e KEY (from the environment when set, else kept as is). */
char *parse_env_opt (const char *s);
/* --env-file / --label-file: docker's rules (comments, blank lines, BOM,
 * whitespace in names is an error, KEY alone taken from the environment). */
int parse_env_file (const char *path, bool from_env, char ***out, struct berth_error **err);
/* -p [ip:][hostPort:]containerPort[/proto], ranges, [v6]:…; adds to
 * ExposedPorts and PortBindings objects. */
int parse_port_spec (const char *spec, json_t *exposed, json_t *bindings, struct berth_error **err);
/* --expose 80[/tcp] or ranges. */
int parse_expose (const char *spec, json_t *exposed, struct berth_error **err);
/* -v src:dst[:opts] (→ Binds) or dst alone (→ Volumes). Relative host paths
 * ("./x", ".") are made absolute against cwd like docker CLI ≥ 23. */
int parse_volume_spec (const char *spec, const char *cwd, json_t *binds, json_t *volumes,
                       struct berth_error **err);
/* --mount type=bind,source=…,target=…,readonly,… → one HostConfig.Mounts entry. */
json_t *parse_mount_spec (const char *spec, const char *cwd, struct berth_error **err);
/* --ulimit nofile=1024[:2048] → {"Name","Soft","Hard"}. */
json_t *parse_ulimit (const char *spec, struct berth_error **err);
/* --device /dev/x[:/dev/y][:rwm] → {"PathOnHost","PathInContainer","CgroupPermissions"}. */
json_t *parse_device (const char *spec, struct berth_error **err);
/* --restart no|always|unless-stopped|on-failure[:N] → RestartPolicy. */
json_t *parse_restart_policy (const char *spec, struct berth_error **err);
/* --tmpfs /run[:opts] → key/value in the Tmpfs object. */
int parse_tmpfs (const char *spec, json_t *tmpfs, struct berth_error **err);
/* --filter key=value (repeated) → {"key":{"value":true}}. */
json_t *parse_filters (char *const *specs, struct berth_error **err);
/* --detach-keys "ctrl-p,ctrl-q" → bytes; returns the count or -1. */
int parse_detach_keys (const char *spec, unsigned char *out, size_t max, struct berth_error **err);
/* KEY=VALUE list (labels, --log-opt, --sysctl, --storage-opt) into obj. */
int parse_kv_into (char *const *list, json_t *obj, bool allow_no_value, const char *what,
                   struct berth_error **err);
/* Signal name or number ("KILL", "SIGKILL", "9") → number, 0 when unknown. */
int parse_signal (const char *s);
const char *signal_name (int sig);
/* "1.5" → 1500000000 NanoCpus. */
int parse_nano_cpus (const char *s, int64_t *out, struct berth_error **err);

/* docker's container create body (Config + HostConfig + NetworkingConfig)
 * from run/create flags; *image and *cmd come from the positionals. */
json_t *cli_build_create_body (const struct cli_args *a, const char *cwd, struct berth_error **err);

/* Docker's exit code for a failed `run`/`start` message: 127 when the
 * command is not found, 126 when it cannot be invoked, else 125. */
int cli_run_error_exit_code (const char *msg);

/* Reference normalization for pull/tag/commit: "busybox" → repo
 * "docker.io/library/busybox" tag "latest" (docker's familiar names). */
int cli_parse_reference (const char *ref, char **repo, char **tag, char **digest,
                         struct berth_error **err);

/* Percent-encode a query value. */
char *url_escape (const char *s);

/* ------------------------------------------------------------ daemon -- */

enum cli_endpoint_kind
{
  CLI_EP_UNIX,
  CLI_EP_TCP,
  CLI_EP_SSH,
};

struct cli_endpoint
{
  enum cli_endpoint_kind kind;
  char *host;        /* the -H string as given (for messages) */
  char *unix_path;   /* unix socket */
  char *tcp_host;    /* host or [v6] for tcp */
  int tcp_port;
  char *ssh_target;  /* [user@]host for ssh */
  int ssh_port;      /* 0 = default */
  bool tls;          /* TLS (and verify when tls_verify) */
  bool tls_verify;
  char *ca_path, *cert_path, *key_path;
};
void cli_endpoint_clear (struct cli_endpoint *ep);
/* Parse "unix:///p", "tcp://h:p", "ssh://user@h:p", "fd://"-less forms. */
int cli_endpoint_parse (const char *host, struct cli_endpoint *ep, struct berth_error **err);

/* Global options and discovered endpoint. */
struct cli_globals
{
  char *host;     /* -H */
  char *context;  /* --context */
  char *config_dir; /* ~/.berth */
  bool tls, tls_verify;
  char *tls_ca, *tls_cert, *tls_key;
  const char *log_level;
};

/* The context in use: --context, BERTH_CONTEXT, ~/.berth/config.json, "default". */
char *cli_current_context (const struct cli_globals *g);
/* -H, BERTH_HOST, DOCKER_HOST, --context / BERTH_CONTEXT / current context,
 * then the default socket. */
int cli_endpoint_discover (const struct cli_globals *g, struct cli_endpoint *ep,
                           struct berth_error **err);

/* ---------------------------------------------------------- transport -- */

struct cli_client;

struct cli_client *cli_client_new (const struct cli_endpoint *ep, struct berth_error **err);
void cli_client_free (struct cli_client *c);
static inline void
cli_client_freep (struct cli_client **c)
{
  if (*c)
    cli_client_free (*c);
  *c = NULL;
}
const char *cli_client_api_version (struct cli_client *c);
const struct cli_endpoint *cli_client_endpoint (struct cli_client *c);

/* Where a response body goes. */
/* Returns 0 to go on, 1 when the body is complete (stop reading), -1 on error. */
typedef int (*cli_chunk_fn) (void *userdata, const char *data, size_t len);

/* Where a request body the caller writes itself goes (sent chunked): bytes,
 * and the next len bytes of a file, which a plain connection sends with
 * sendfile (the bytes never pass through the process). Both return 0, 1
 * when the request ends early (the daemon answered, or the connection
 * failed: stop writing, the answer or error comes from the request), or -1
 * with *err when the source failed (a read error, a file that shrank). */
struct cli_body_out
{
  int (*write) (void *ud, const void *data, size_t len, struct berth_error **err);
  int (*send_file) (void *ud, int fd, uint64_t len, struct berth_error **err);
  void *ud;
};
/* Writes the whole body: 0, 1 (stopped early, as above) or -1 with *err;
 * on -1 the request is abandoned without ending its body. */
typedef int (*cli_body_fn) (void *body_data, const struct cli_body_out *out,
                            struct berth_error **err);

struct cli_request
{
  const char *method;
  const char *path;    /* "/containers/json" (the /vX.Y prefix is added) */
  const char *query;   /* "all=1&…" or NULL */
  const char *json_body; /* sent as application/json */
  bool stream_body;    /* stream body_fd chunked as the request body */
  int body_fd;
  cli_body_fn body_fn; /* or: write the body chunked with body_fn (body_data) */
  void *body_data;
  const char *body_content_type;
  const char *registry_auth; /* X-Registry-Auth header value */
  const char *registry_config; /* X-Registry-Config header value (build) */
  uint64_t *body_sent;       /* counts the bytes of a streamed body, or NULL */
  void (*on_body_progress) (void *userdata, uint64_t sent); /* after each read */
  cli_chunk_fn on_chunk;     /* streaming sink; NULL = buffer into response */
  void *userdata;
};

struct cli_response
{
  long status;
  char *body;
  size_t len;
  char *content_type;
  char *header_stat; /* X-Docker-Container-Path-Stat */
};
void cli_response_clear (struct cli_response *r);

/* Do one request on the client's (kept-alive) connection. A status >= 400
 * is returned in resp (not an error); transport failures are errors. */
int cli_http (struct cli_client *c, const struct cli_request *req, struct cli_response *resp,
              struct berth_error **err);
/* Request + require a 2xx status; error "Error response from daemon: msg". */
int cli_call (struct cli_client *c, const struct cli_request *req, struct cli_response *resp,
              struct berth_error **err);
/* Shorthand: method + path(+query), optional JSON body; returns the parsed
 * JSON of a 2xx answer (or json_null() when empty). */
json_t *cli_call_json (struct cli_client *c, const char *method, const char *path,
                       const char *query, json_t *body, struct berth_error **err);
/* The daemon's message in an error body ("message" field or raw text). */
char *cli_error_message (const struct cli_response *r);

/* An asynchronous request (wait): begin returns once the response head has
 * arrived; finish collects the body. */
struct cli_async;
struct cli_async *cli_async_begin (struct cli_client *c, const char *method, const char *path,
                                   const char *query, struct berth_error **err);
int cli_async_finish (struct cli_async *a, struct cli_response *resp, struct berth_error **err);
void cli_async_free (struct cli_async *a);

/* A hijacked (upgraded) connection for attach and exec start. */
struct cli_hijack;
struct cli_hijack *cli_hijack_open (struct cli_client *c, const char *path, const char *query,
                                    const char *json_body, struct berth_error **err);
int cli_hijack_fd (struct cli_hijack *h);
ssize_t cli_hijack_read (struct cli_hijack *h, void *buf, size_t len);
int cli_hijack_write_all (struct cli_hijack *h, const void *buf, size_t len);
void cli_hijack_close_write (struct cli_hijack *h);
bool cli_hijack_has_pending (struct cli_hijack *h);
void cli_hijack_free (struct cli_hijack *h);

/* ----------------------------------------------------------- streams -- */

/* Demultiplex docker's 8-byte framed stream (stdcopy) incrementally. */
struct stdcopy
{
  unsigned char hdr[8];
  size_t hdr_len;
  size_t remaining;
  int stream; /* 1 stdout, 2 stderr */
  int out_fd, err_fd;
};
/* Feed bytes; writes payloads to out_fd / err_fd. Returns -1 on a corrupt
 * header (stream id not 0..3). */
int stdcopy_feed (struct stdcopy *s, const char *data, size_t len);

/* Where a tar stream ends (two zero blocks at a header position), so a
 * reader can stop like Go's archive/tar does even if the connection stays
 * open. feed returns how many bytes belong to the archive (<= len) and sets
 * done at its end. */
struct tar_end
{
  unsigned char block[512];
  size_t block_len;
  unsigned long long skip_bytes; /* data (and padding) still to pass */
  int zero_blocks;
  bool done;
};
size_t tar_end_feed (struct tar_end *t, const char *data, size_t len);

/* JSON-lines progress (pull/push/load/import/build): prints as docker does,
 * with redrawn progress bars on a terminal and plain lines otherwise. */
struct jsonmsg_display;
struct jsonmsg_display *jsonmsg_display_new (FILE *out, bool is_tty, bool quiet);
int jsonmsg_display_feed (void *display, const char *data, size_t len);
/* The error message carried by the stream, or NULL. */
const char *jsonmsg_display_error (struct jsonmsg_display *d);
/* The image ID of the last aux message ({"aux":{"ID":…}}), or NULL. */
const char *jsonmsg_display_aux_id (struct jsonmsg_display *d);
/* errorDetail.code of the stream's error (0 when none was given). */
int jsonmsg_display_error_code (struct jsonmsg_display *d);
/* The last aux/status value (image id of import, digest). */
const char *jsonmsg_display_last_status (struct jsonmsg_display *d);
void jsonmsg_display_free (struct jsonmsg_display *d);

/* Split a byte stream into lines and call fn per complete line. */
struct line_splitter
{
  char *buf;
  size_t len, cap;
  int (*fn) (void *ud, const char *line, size_t len);
  void *ud;
};
int line_splitter_feed (void *ls, const char *data, size_t len);
void line_splitter_free (struct line_splitter *ls);

/* --------------------------------------------------------------- tty -- */

struct cli_tty_state;
struct cli_tty_state *cli_tty_make_raw (int fd);
void cli_tty_restore (struct cli_tty_state *s);
int cli_tty_size (int fd, int *h, int *w);

/* Detach-key matcher: feeding input returns how many bytes may be
 * forwarded now (a partial match is held back) and sets *detached. */
struct detach_matcher
{
  unsigned char keys[16];
  size_t n_keys;
  size_t matched;
};
size_t detach_matcher_feed (struct detach_matcher *m, const unsigned char *in, size_t len,
                            unsigned char *out, bool *detached);

/* ---------------------------------------------------------- commands -- */

struct cli_ctx
{
  struct cli_globals g;
  struct cli_endpoint ep;
  struct cli_client *client; /* lazily connected */
  const char *prog;          /* "berth" */
};

/* The client, created on first use. */
struct cli_client *cli_ctx_client (struct cli_ctx *ctx, struct berth_error **err);

typedef int (*cli_cmd_fn) (struct cli_ctx *ctx, int argc, char **argv);

struct cli_command
{
  const char *name;       /* "run", "container ls" */
  const char *alias;      /* "ps" for "container ls", or NULL */
  cli_cmd_fn fn;
  const char *usage;      /* "[OPTIONS] IMAGE [COMMAND] [ARG...]" */
  const char *summary;
  const struct cli_opt *opts;
  bool interspersed;
  int min_args, max_args; /* -1 = no max */
};

extern const struct cli_command cli_commands[];

/* Parse a command's flags: prints --help (exit 0) or usage errors (exit
 * 125 or 1 like docker) and returns -1 with *exit_code set. */
int cli_cmd_parse (struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv,
                   struct cli_args *a, int *exit_code);
const struct cli_command *cli_command_find (const char *name);
/* Print an error as docker does ("Error response from daemon: …" is
 * already in the message) and return the exit code. */
int cli_fail (struct berth_error *err, int code);

/* Command implementations (one group per file). */
int cmd_run (struct cli_ctx *, int, char **);
int cmd_create (struct cli_ctx *, int, char **);
int cmd_start (struct cli_ctx *, int, char **);
int cmd_attach (struct cli_ctx *, int, char **);
int cmd_exec (struct cli_ctx *, int, char **);
int cmd_stop (struct cli_ctx *, int, char **);
int cmd_restart (struct cli_ctx *, int, char **);
int cmd_kill (struct cli_ctx *, int, char **);
int cmd_rm (struct cli_ctx *, int, char **);
int cmd_ps (struct cli_ctx *, int, char **);
int cmd_logs (struct cli_ctx *, int, char **);
int cmd_inspect (struct cli_ctx *, int, char **);
int cmd_container_inspect (struct cli_ctx *, int, char **);
int cmd_image_inspect (struct cli_ctx *, int, char **);
int cmd_top (struct cli_ctx *, int, char **);
int cmd_stats (struct cli_ctx *, int, char **);
int cmd_wait (struct cli_ctx *, int, char **);
int cmd_pause (struct cli_ctx *, int, char **);
int cmd_unpause (struct cli_ctx *, int, char **);
int cmd_rename (struct cli_ctx *, int, char **);
int cmd_update (struct cli_ctx *, int, char **);
int cmd_port (struct cli_ctx *, int, char **);
int cmd_diff (struct cli_ctx *, int, char **);
int cmd_cp (struct cli_ctx *, int, char **);
int cmd_commit (struct cli_ctx *, int, char **);
int cmd_export (struct cli_ctx *, int, char **);
int cmd_container_prune (struct cli_ctx *, int, char **);
int cmd_pull (struct cli_ctx *, int, char **);
int cmd_push (struct cli_ctx *, int, char **);
int cmd_images (struct cli_ctx *, int, char **);
int cmd_rmi (struct cli_ctx *, int, char **);
int cmd_tag (struct cli_ctx *, int, char **);
int cmd_save (struct cli_ctx *, int, char **);
int cmd_load (struct cli_ctx *, int, char **);
int cmd_import (struct cli_ctx *, int, char **);
int cmd_history (struct cli_ctx *, int, char **);
int cmd_image_prune (struct cli_ctx *, int, char **);
int cmd_login (struct cli_ctx *, int, char **);
int cmd_logout (struct cli_ctx *, int, char **);
int cmd_search (struct cli_ctx *, int, char **);
int cmd_version (struct cli_ctx *, int, char **);
int cmd_info (struct cli_ctx *, int, char **);
int cmd_events (struct cli_ctx *, int, char **);
int cmd_system_df (struct cli_ctx *, int, char **);
int cmd_system_prune (struct cli_ctx *, int, char **);
int cmd_system_check (struct cli_ctx *, int, char **);
int cmd_dial_stdio (struct cli_ctx *, int, char **);
int cmd_volume_create (struct cli_ctx *, int, char **);
int cmd_volume_ls (struct cli_ctx *, int, char **);
int cmd_volume_inspect (struct cli_ctx *, int, char **);
int cmd_volume_rm (struct cli_ctx *, int, char **);
int cmd_volume_prune (struct cli_ctx *, int, char **);
int cmd_network_create (struct cli_ctx *, int, char **);
int cmd_network_ls (struct cli_ctx *, int, char **);
int cmd_network_inspect (struct cli_ctx *, int, char **);
int cmd_network_rm (struct cli_ctx *, int, char **);
int cmd_network_connect (struct cli_ctx *, int, char **);
int cmd_network_disconnect (struct cli_ctx *, int, char **);
int cmd_network_prune (struct cli_ctx *, int, char **);
int cmd_build (struct cli_ctx *, int, char **);
int cmd_builder_prune (struct cli_ctx *, int, char **);
int cmd_context_create (struct cli_ctx *, int, char **);
int cmd_context_ls (struct cli_ctx *, int, char **);
int cmd_context_use (struct cli_ctx *, int, char **);
int cmd_context_rm (struct cli_ctx *, int, char **);
int cmd_context_inspect (struct cli_ctx *, int, char **);

/* Option tables referenced by the command table. */
extern const struct cli_opt cli_run_opts[], cli_create_opts[], cli_start_opts[],
    cli_attach_opts[], cli_exec_opts[], cli_stop_opts[], cli_kill_opts[], cli_rm_opts[],
    cli_ps_opts[], cli_logs_opts[], cli_inspect_opts[], cli_top_opts[], cli_stats_opts[],
    cli_no_opts[], cli_update_opts[], cli_cp_opts[], cli_commit_opts[], cli_export_opts[],
    cli_prune_opts[], cli_pull_opts[], cli_push_opts[], cli_images_opts[], cli_rmi_opts[],
    cli_save_opts[], cli_load_opts[], cli_import_opts[], cli_history_opts[],
    cli_image_prune_opts[], cli_login_opts[], cli_search_opts[], cli_version_opts[],
    cli_info_opts[], cli_events_opts[], cli_df_opts[], cli_system_prune_opts[],
    cli_system_check_opts[],
    cli_volume_create_opts[], cli_volume_ls_opts[], cli_volume_rm_opts[],
    cli_network_create_opts[], cli_network_ls_opts[], cli_network_connect_opts[],
    cli_network_rm_opts[], cli_context_create_opts[], cli_context_ls_opts[],
    cli_context_rm_opts[], cli_format_opts[], cli_restart_opts[], cli_build_opts[],
    cli_builder_prune_opts[];

/* Helpers shared by commands. */
/* Print a JSON array of inspect results or execute --format per element. */
int cli_print_inspect (json_t *items, const char *format, struct berth_error **err);
/* The container's full id and Tty flag through GET /containers/{x}/json. */
json_t *cli_inspect_container (struct cli_client *c, const char *name, struct berth_error **err);
/* base64 of a string (X-Registry-Auth). */
char *base64_encode (const void *data, size_t len);
unsigned char *base64_decode (const char *s, size_t *len);
/* X-Registry-Auth for a registry from ~/.docker/config.json ("e30=" = {}). */
char *cli_registry_auth_header (const char *image_ref);
/* X-Registry-Config for POST /build: every credential of
 * ~/.docker/config.json as base64url JSON {"host":{"username","password",
 * "serveraddress"}} ("e30=" = {}). */
char *cli_registry_config_header (void);
/* Pull an image with docker's progress display. */
int cli_pull_image (struct cli_client *c, const char *ref, const char *platform, bool quiet,
                    FILE *out, struct berth_error **err);

/* ------------------------------------------------------------- build -- */

/* The POST /build query of `berth build` flags: t (each -t, validated),
 * dockerfile, q, nocache, rm, forcerm, pull, target, platform,
 * networkmode, cachefrom, buildargs and labels as JSON. */
char *cli_build_query (const struct cli_args *a, const char *dockerfile, struct berth_error **err);

/* The context-relative path of a Dockerfile (`abs`, resolved) below the
 * context `root` ("sub/Dockerfile"), or NULL when it is outside (then the
 * CLI adds it to the tar as ".dockerfile.<random>", as docker does). */
char *cli_build_path_below (const char *root, const char *abs);

/* One file of the build context, as found by the walk. */
struct cli_build_entry
{
  char *path; /* relative to the context root, "/"-separated */
  struct stat st; /* lstat: a symlink is sent as a symlink */
  char *link; /* the symlink's target */
};

struct cli_build_context
{
  struct cli_build_entry *entries; /* in docker's (lexical walk) order */
  size_t n, cap;
};

/* Select the files of the context below rootfd: a walk in lexical order
 * with openat(O_NOFOLLOW) that never leaves the tree, .dockerignore
 * (text, may be NULL) applied with docker's rules, the Dockerfile (its
 * context-relative path, may be NULL) and .dockerignore always kept. */
int cli_build_context_select (int rootfd, const char *dockerignore, size_t ignore_len,
                              const char *dockerfile, struct cli_build_context *out,
                              struct berth_error **err);
void cli_build_context_clear (struct cli_build_context *ctx);
/* The build context as a tar stream (build-tar.c): the selected entries
 * below rootfd, then the extra Dockerfile under extra_name (and a
 * .dockerignore naming it, unless keep_ignore), as the docker CLI sends
 * them. Returns as cli_body_fn does. */
struct cli_build_tar
{
  int rootfd;
  const struct cli_build_context *ctx;
  const char *extra_name, *extra_data;
  size_t extra_len;
  bool keep_ignore;
  const char *ignore_data; /* the context's .dockerignore, or NULL */
  size_t ignore_len;
};
int cli_build_tar_write (const struct cli_build_tar *t, const struct cli_body_out *out,
                         struct berth_error **err);
/* One read(2) of the build context from in_fd, again after EINTR: the
 * bytes read, 0 at its end, -1 with err set. */
ssize_t cli_build_read_context (int in_fd, void *buf, size_t n, struct berth_error **err);
/* A tar on stdin: the bytes read to recognise it, then the rest of in_fd. */
int cli_build_tar_passthrough (const char *prefix, size_t prefix_len, int in_fd,
                               const struct cli_body_out *out, struct berth_error **err);
/* One entry's header: ustar, with a pax header in front for what ustar
 * cannot carry (type: '0' file, '1' hard link, '2' symlink, '5' directory,
 * '6' fifo; link: the link's target). */
int cli_tar_write_header (const struct cli_body_out *out, const char *name, mode_t perm,
                          uint64_t size, int64_t mtime, char type, const char *link,
                          struct berth_error **err);
/* Is a build context read from stdin an archive (gzip, bzip2, xz, zstd or
 * a tar header) rather than a Dockerfile? (the first up to 512 bytes) */
bool cli_build_is_archive (const unsigned char *b, size_t n);

/* The opening of every command function: parse argv against the command's
 * table (usage errors return their exit code), then the error every later
 * step fills. CLI_CLIENT connects to the daemon or fails with exit 1. */
#define CLI_PARSE_ARGS(name)                                                                      \
  _cleanup_ (cli_args_free) struct cli_args a = { 0 };                                           \
  int ec_ = 0;                                                                                    \
  if (cli_cmd_parse (ctx, cli_command_find (name), argc, argv, &a, &ec_) < 0)                    \
    return ec_;

#define CLI_PARSE(name)                                                                           \
  CLI_PARSE_ARGS (name)                                                                           \
  _cleanup_error_ struct berth_error *err = NULL;

#define CLI_CLIENT()                                                                              \
  struct cli_client *c = cli_ctx_client (ctx, &err);                                             \
  if (c == NULL)                                                                                  \
    return cli_fail (err, 1);
