/* berthd's internal API: what every route module (api-*.c) codes against.
 * The daemon context, module registration, the router, request accessors,
 * responses (JSON, errors, chunked streams, hijacked raw connections), the
 * events bus, plus the event loop (loop.h). All of it is called on the loop
 * thread unless a function says it is thread-safe. Changes here are
 * additive only: other modules build on it in parallel. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/common.h"
#include "daemon/loop.h"

/* The Engine API versions we serve (docker's /vX.YY prefixes). */
#define API_VERSION_MAX "1.47"
#define API_VERSION_MIN "1.24"
/* A version as major*100+minor: 1.41 is 141. */
#define API_VERSION_MAX_NUM 147
#define API_VERSION_MIN_NUM 124

struct berthd;
struct image_store; /* src/image/image.h */
struct network_ctx; /* src/network (later) */
struct volume_store; /* src/daemon/volumes.h */
struct audit_log;
struct policy;
struct api_server;
struct events_bus;

/* ------------------------------------------------------- configuration -- */

/* Flags and daemon.json merged (flags win, as with dockerd). */
struct berthd_config
{
  char **hosts;       /* -H: "unix:///run/berth/berth.sock", "tcp://127.0.0.1:2376", … */
  char *data_root;    /* --data-root, default /var/lib/berth */
  char *exec_root;    /* --exec-root, default /run/berth */
  char *pidfile;      /* --pidfile, default <exec-root>/berthd.pid; "" disables */
  char *config_file;  /* --config-file, default /etc/berth/daemon.json */
  char *group;        /* --group: group of the unix socket (default "berth" if it exists) */
  enum berth_log_level log_level;
  bool debug;         /* -D */
  bool live_restore;  /* --live-restore (default true): containers outlive berthd */
  bool tls;           /* --tls / --tlsverify: TCP listeners speak TLS */
  bool tls_verify;    /* --tlsverify: clients must present a cert signed by tls_cacert */
  char *tls_cacert, *tls_cert, *tls_key;
  char *audit_log;    /* --audit-log, default <data-root>/audit.log */
  char *policy_path;  /* daemon.json "policy" / --policy: JSON rules; NULL allows all */
  /* --default-ulimit / "default-ulimits": docker's shape,
   * {"nofile":{"Name":"nofile","Soft":1024,"Hard":4096}}; never NULL. */
  json_t *default_ulimits;
  char *log_driver;   /* "log-driver", default "json-file" */
  json_t *log_opts;   /* "log-opts", an object; never NULL */
  /* The whole daemon.json as read (an object, {} without a file), for keys
   * other modules interpret themselves ("insecure-registries", "dns", …). */
  json_t *file;
};

/* ------------------------------------------------------ daemon context -- */

/* Counts the container side reports for /info and /system/df. */
struct berthd_container_counts
{
  unsigned total, running, paused, stopped;
};

/* Questions only the container side can answer; it fills d->containers at
 * its module init. Every pointer may be NULL (no containers module). */
struct berthd_container_ops
{
  void (*counts) (struct berthd *d, struct berthd_container_counts *out);
  /* Id of a container that uses image_id ("sha256:…"), newly allocated, or
   * NULL: DELETE /images/{name} without force answers 409 when not NULL. */
  char *(*image_user) (struct berthd *d, const char *image_id);
  /* Number of containers (any state) created from image_id (Containers in
   * /images/json and /system/df). */
  unsigned (*image_use_count) (struct berthd *d, const char *image_id);
  /* /system/df "Containers": docker's list shape (of the request's API
   * version, e.g. 141) plus SizeRw/SizeRootFs. */
  json_t *(*df_containers) (struct berthd *d, unsigned version);
};

struct berthd
{
  struct berthd_config config;
  int data_root_fd;         /* O_PATH|O_DIRECTORY of config.data_root */
  int exec_root_fd;         /* O_PATH|O_DIRECTORY of config.exec_root */
  char id[80];              /* stable daemon ID (/info "ID"), kept in <data-root>/engine-id */
  uint64_t started_ns;
  struct loop *loop;
  struct image_store *images;      /* NULL until the image store is opened */
  struct network_ctx *network;     /* NULL until networking exists */
  struct volume_store *volumes;
  struct events_bus *events;
  struct api_server *server;
  struct audit_log *audit;
  struct policy *policy;
  struct berthd_container_ops containers;
  void *containers_state;          /* owned by the containers module */
  void *network_state;             /* owned by the network module */
};

/* ------------------------------------------------------------- modules -- */

struct api_router;

/* A part of berthd (containers, exec, images, volumes, system, …). Define one
 * per module with BERTHD_MODULE; berthd finds them all at start (the daemon
 * library is linked whole), runs init in ascending `order` (core modules use
 * 0–49, containers 50–59, later areas 60+), then register_routes, and
 * shutdown in reverse order on SIGTERM/SIGINT. Every hook may be NULL.
 * init failing stops berthd with its message. */
struct berthd_module
{
  const char *name;
  int order;
  int (*init) (struct berthd *d, struct berth_error **err);
  void (*register_routes) (struct berthd *d, struct api_router *r);
  void (*shutdown) (struct berthd *d);
};

#define BERTHD_MODULE(ident)                                                                       \
  static const struct berthd_module ident;                                                         \
  static const struct berthd_module *const ident##_entry                                           \
      __attribute__ ((used, section ("berthd_modules"), aligned (sizeof (void *))))                \
      = &ident;                                                                                    \
  static const struct berthd_module ident

/* The process's daemon (there is exactly one), for callbacks that get no
 * context. NULL before berthd has started (unit tests). */
struct berthd *berthd_get (void);

/* -------------------------------------------------------------- router -- */

struct api_request;

/* A handler runs on the loop thread once the request is complete (or right
 * after the head for API_ROUTE_RAW_BODY). It must answer exactly once, now
 * or later (after a worker finished), with one of the api_respond_*
 * functions — also when the client went away meanwhile (the answer is then
 * dropped). The request stays valid until it is answered. */
typedef void (*api_handler_fn) (struct api_request *req);

enum api_route_flags
{
  API_ROUTE_NONE = 0,
  /* The body is not buffered: read it from api_request_body_fd (tar
   * uploads of any size: load, import, archive PUT, build). */
  API_ROUTE_RAW_BODY = 1 << 0,
};

/* Add a route. method: "GET", "POST", "PUT", "DELETE", "HEAD" ("GET" routes
 * also answer HEAD unless a HEAD route exists). pattern: a path without the
 * /vX.YY prefix, literal segments and parameters: "{id}" matches one
 * segment, "{name*}" one or more (image names have slashes:
 * "/images/{name*}/json"). More literal segments win: "/images/json" beats
 * "/images/{name*}". Patterns are validated by unit tests; a bad one aborts. */
void api_route_add (struct api_router *r, const char *method, const char *pattern,
                    api_handler_fn fn, unsigned flags);

/* ------------------------------------------------------------ requests -- */

struct berthd *api_request_daemon (struct api_request *req);
const char *api_request_method (struct api_request *req);
/* The path without the version prefix and query ("/containers/x/json"). */
const char *api_request_path (struct api_request *req);
/* The version the client asked for (major*100+minor, 141 for /v1.41/), or
 * API_VERSION_MAX_NUM for unversioned paths. */
unsigned api_request_version (struct api_request *req);
/* A path parameter of the route ("id", "name"), URL-decoded; never NULL for
 * a parameter of the matched pattern. */
const char *api_request_param (struct api_request *req, const char *name);
/* A query argument (URL-decoded), NULL when absent. */
const char *api_request_query (struct api_request *req, const char *key);
/* docker's httputils.BoolValue: absent → def; "", "0", "no", "false",
 * "none" (any case, trimmed) → false; any other value → true. */
bool api_request_query_bool (struct api_request *req, const char *key, bool def);
/* An integer query argument; absent → def. A value that is not an integer
 * fills *err (400, names the argument) and returns -1. */
int api_request_query_int (struct api_request *req, const char *key, long long def, long long *out,
                           struct berth_error **err);
/* Every value of a repeated query argument (names=a&names=b), newly
 * allocated, NULL-terminated (empty when absent). */
char **api_request_query_values (struct api_request *req, const char *key);
/* A request header (case-insensitive name), NULL when absent. */
const char *api_request_header (struct api_request *req, const char *name);
/* The body parsed as JSON (owned by the request; NULL with *err for a body
 * that is not JSON: 400 naming line and column). An empty body yields NULL
 * and no error. Bodies over 4 MiB were already answered 413. */
json_t *api_request_json (struct api_request *req, struct berth_error **err);
/* The raw body as received (buffered routes), for non-JSON bodies. */
const char *api_request_body (struct api_request *req, size_t *len);
/* API_ROUTE_RAW_BODY routes: the read end of a pipe carrying the body;
 * EOF when the body ended. Blocking by default: read it on a worker thread
 * (loop_worker_submit). The request owns the fd; call at most once per
 * request; the fd stays open until the request is answered. */
int api_request_body_fd (struct api_request *req);
/* API_ROUTE_RAW_BODY routes: the handler is done with the body (call it on
 * the loop thread once the reader finished, before answering): the read end
 * is closed and the rest of the upload is discarded instead of blocking. */
void api_request_body_close (struct api_request *req);
/* Who is asking: SO_PEERCRED on the unix socket (uid/pid -1 over TCP). */
void api_request_peer (struct api_request *req, uid_t *uid, pid_t *pid);
/* Keep the request (and a stream it answered with) allocated beyond its
 * answer, e.g. for a worker that finishes after the stream ended; every
 * hold needs one unhold (loop thread). */
void api_request_hold (struct api_request *req);
void api_request_unhold (struct api_request *req);
/* True once the client closed its connection (the answer will be dropped). */
bool api_request_client_gone (struct api_request *req);

/* ------------------------------------------------------------- filters -- */

/* docker's filters query argument: {"label":{"a=b":true}} (and the older
 * {"label":["a=b"]}). */
struct api_filters;
/* Parse filters (NULL or "" gives an empty set). Invalid JSON or a key not
 * in `allowed` (NULL-terminated) fills *err: 400 "invalid filter 'x'". */
int api_filters_parse (const char *json_text, const char *const *allowed, struct api_filters **out,
                       struct berth_error **err);
/* Parse the request's "filters" query argument. */
int api_request_filters (struct api_request *req, const char *const *allowed,
                         struct api_filters **out, struct berth_error **err);
void api_filters_free (struct api_filters *f);
static inline void
api_filters_freep (struct api_filters **f)
{
  if (*f)
    api_filters_free (*f);
  *f = NULL;
}
#define _cleanup_filters_ _cleanup_ (api_filters_freep)
bool api_filters_has (const struct api_filters *f, const char *key);
/* The values given for key (NULL-terminated, owned by f; empty if none). */
char *const *api_filters_values (const struct api_filters *f, const char *key);
/* True if key is absent or one of its values equals value. */
bool api_filters_match (const struct api_filters *f, const char *key, const char *value);
/* "label" semantics: every value "k" or "k=v" must be present in labels (a
 * JSON object of strings, may be NULL). Use key "label" or "label!". */
bool api_filters_match_labels (const struct api_filters *f, const char *key, const json_t *labels);
/* A boolean filter (dangling=true): 1, 0, or -1 when absent; an invalid
 * value fills *err and returns -2. */
int api_filters_bool (const struct api_filters *f, const char *key, struct berth_error **err);

/* ----------------------------------------------------------- responses -- */

/* Add a header to the coming response (any api_respond_* below). */
void api_response_header (struct api_request *req, const char *name, const char *value);
/* JSON body (compact, with docker's trailing newline), Content-Type
 * application/json. Steals the reference to body. */
void api_respond_json (struct api_request *req, unsigned status, json_t *body);
/* {"message": err->msg} with berth_error_http_status (err). */
void api_respond_error (struct api_request *req, const struct berth_error *err);
void api_respond_errorf (struct api_request *req, unsigned status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* No body (204, 201, 304, 200 with Content-Length: 0). */
void api_respond_empty (struct api_request *req, unsigned status);
/* A body of known bytes (copied). */
void api_respond_data (struct api_request *req, unsigned status, const char *content_type,
                       const void *data, size_t len);

/* A chunked streaming body (events, wait, pull progress, logs): the head is
 * sent now, data as it is written. The stream belongs to the caller until
 * api_stream_end, which must be called exactly once (also after the client
 * went away). */
struct api_stream;
struct api_stream *api_respond_stream (struct api_request *req, unsigned status,
                                       const char *content_type);
/* Queue bytes; -1 once the client is gone (the caller should end soon). */
int api_stream_write (struct api_stream *s, const void *data, size_t len);
/* Compact JSON + "\n"; steals the reference. */
int api_stream_write_json (struct api_stream *s, json_t *j);
/* Bytes queued and not yet sent (producers throttle on this). */
size_t api_stream_pending (const struct api_stream *s);
/* fn (userdata) runs (once) when the client goes away before the end. */
void api_stream_on_close (struct api_stream *s, void (*fn) (void *userdata), void *userdata);
/* fn runs each time the queue drained below 64 KiB (for throttled producers). */
void api_stream_on_drain (struct api_stream *s, void (*fn) (void *userdata), void *userdata);
void api_stream_end (struct api_stream *s);
/* End the stream as failed: the connection is closed without the final
 * chunk, so the client sees a truncated transfer, not a complete one (for
 * a tar that broke half-way). Instead of api_stream_end. */
void api_stream_abort (struct api_stream *s);
/* A streaming body read from fd until EOF (a pipe a worker writes into:
 * save, export, logs). Takes ownership of fd; the writer gets EPIPE when
 * the client goes away. The returned stream ends by itself at EOF; call
 * api_stream_abort on it (before the writer closes its end) to fail it. */
struct api_stream *api_respond_fd (struct api_request *req, unsigned status,
                                   const char *content_type, int fd);

/* -------------------------------------------------------------- hijack -- */

/* attach and exec start: answer "101 UPGRADED" with Content-Type
 * application/vnd.docker.raw-stream (multiplexed-stream from API 1.42
 * when the stream carries docker's frames), Connection: Upgrade, Upgrade:
 * tcp (clients that did not ask for an upgrade get dockerd's "200 OK" and
 * the raw-stream type, then the same raw connection; over TLS their
 * input is not read), then hand the connection to on_ready. If the client is gone before that, on_abort
 * (userdata) runs instead. Exactly one of them runs. */
struct api_hijack;
typedef void (*api_hijack_fn) (struct api_hijack *h, void *userdata);
void api_respond_hijack (struct api_request *req, bool multiplexed, api_hijack_fn on_ready,
                         void (*on_abort) (void *userdata), void *userdata);
/* The connection as a non-blocking socket: read it for the client's input,
 * write the output (raw, or docker's 8-byte frames: the caller frames).
 * read() returning 0 means the client shut down its writing side (stdin
 * EOF, trace 06) — the socket stays writable until api_hijack_close. */
int api_hijack_fd (struct api_hijack *h);
/* Bytes the client sent after the request head that the server had
 * already read: handle them before reading the fd. */
const void *api_hijack_pending (struct api_hijack *h, size_t *len);
/* The end of the response head the socket did not take yet: write it
 * before any output. */
const void *api_hijack_unsent (struct api_hijack *h, size_t *len);
/* The request's query and headers stay readable until close. */
struct api_request *api_hijack_request (struct api_hijack *h);
/* Shut down our writing side (the client then sees EOF) but keep reading. */
void api_hijack_shutdown_write (struct api_hijack *h);
/* Close the connection and free h (exactly once). */
void api_hijack_close (struct api_hijack *h);

/* -------------------------------------------------------------- events -- */

/* Publish an event to /events subscribers and the replay buffer (docker's
 * shape: Type, Action, Actor {ID, Attributes}, scope, time, timeNano, plus
 * the old status/id/from for container and image events). type:
 * "container", "image", "volume", "network", "daemon". Container events
 * should carry attributes "name" and "image" (clients filter on them).
 * Steals attributes (an object of strings, may be NULL). Thread-safe (from
 * a worker it is posted to the loop). */
void daemon_event_emit (const char *type, const char *action, const char *actor_id,
                        json_t *attributes);
