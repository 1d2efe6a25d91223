/* Private to berthd's API server files (api*.c, audit.c, policy.c): the
 * request record, the router's tables and its pure functions (unit-tested
 * in tests/unit/daemon), and the server's lifecycle. */
#pragma once

#include <microhttpd.h>

#include "daemon/api.h"

#define API_JSON_BODY_MAX (4u * 1024 * 1024)

/* ------------------------------------------------------------- router -- */

struct api_route
{
  char *method;
  char *pattern;
  char **segs;         /* literal segments, "{x}" or "{x*}" */
  unsigned n_literal;
  bool has_greedy;
  api_handler_fn fn;
  unsigned flags;
};

struct api_router
{
  struct api_route *routes;
  size_t n_routes;
};

struct api_router *api_router_new (void);
void api_router_free (struct api_router *r);
/* Find the route for method and path (already without the version). On a
 * match *params is a NULL-terminated vector of name, value, name, value…
 * (newly allocated). Returns NULL when nothing matches; *other_method then
 * tells whether the path exists for another method (405 vs 404). */
const struct api_route *api_router_match (const struct api_router *r, const char *method,
                                          const char *path, char ***params, bool *other_method);

/* Split "/v1.41/containers/json" into version 141 and "/containers/json".
 * Unversioned paths get API_VERSION_MAX_NUM. A version outside
 * [MIN, MAX] fills *err with docker's message (400). */
int api_path_split_version (const char *url, unsigned *version, const char **rest,
                            struct berth_error **err);
/* docker's httputils.BoolValue on one value (NULL: false). */
bool api_query_bool_value (const char *value);

/* ------------------------------------------------------------ requests -- */

struct api_header
{
  char *name, *value;
  struct api_header *next;
};

enum api_answer_kind
{
  API_ANSWER_NONE = 0,
  API_ANSWER_RESPONSE, /* a ready MHD response (buffer or stream) */
  API_ANSWER_HIJACK,
};

struct api_listener;

struct api_request
{
  struct berthd *d;
  struct api_listener *listener;
  struct MHD_Connection *conn;
  char *method;
  char *url;      /* as received, for the audit log */
  char *path;     /* without the version prefix */
  unsigned version;
  const struct api_route *route;
  char **params;
  uid_t peer_uid;
  pid_t peer_pid;
  uint64_t start_ns;

  /* body */
  char *body;
  size_t body_len;
  bool body_too_large;
  json_t *json;
  int body_pipe_r, body_pipe_w;
  struct loop_fd *body_pipe_watch;
  bool body_ended;
  bool handler_called;
  bool in_handler; /* inside the route's handler, called from the access handler */

  /* answer */
  enum api_answer_kind answer;
  unsigned status;
  struct MHD_Response *response;
  struct api_header *headers;
  struct api_stream *stream;
  api_hijack_fn hijack_ready;
  void (*hijack_abort) (void *);
  void *hijack_data;
  bool hijack_started;
  bool hijack_multiplexed; /* docker's frames: no tty */
  bool hijack_held;        /* no upgrade asked for: 200 on the suspended connection */

  /* life */
  int refs;
  bool suspended;
  bool queued;
  bool mhd_done;    /* MHD is finished with the connection's request */
  bool answered;    /* the handler answered (streams: ended) */
  bool released_handler;
  bool client_gone;
  struct loop_fd *gone_watch;
  bool audited;
  char *policy_denied; /* the deny message, for the audit log */
  struct api_request *prev_active, *next_active;
};

/* Free the request once both MHD and the handler are done with it. */
void api_request_release (struct api_request *req);
/* The handler's answer is ready: queue it now or after a resume. */
void api_request_answer_ready (struct api_request *req);
/* Watch for the client closing the connection while suspended. */
void api_request_watch_gone (struct api_request *req);
void api_request_unwatch_gone (struct api_request *req);
void api_request_resume (struct api_request *req);
void api_request_suspend (struct api_request *req);
void api_request_free_headers (struct api_request *req);
void api_request_apply_headers (struct api_request *req, struct MHD_Response *resp);
/* A stream's MHD response (api-stream.c). */
struct MHD_Response *api_stream_mhd_response (struct api_stream *s);
void api_stream_client_gone (struct api_stream *s);
void api_stream_free (struct api_stream *s);
bool api_stream_is_ended (const struct api_stream *s);
/* api-hijack.c: queue the upgrade answer (called from the access handler). */
enum MHD_Result api_hijack_queue (struct api_request *req);
/* A TLS connection (api-server.c): its socket carries libmicrohttpd's session. */
bool api_request_is_tls (struct api_request *req);
/* A TLS listener's connection (NULL on others); a hijacked one that is
 * closing keeps its listener running until libmicrohttpd closed it. */
struct api_conn;
struct api_conn *api_conn_of (struct MHD_Connection *conn);
void api_conn_closing (struct api_conn *c);
/* Shutdown, after the modules: close the hijacks they left open. */
void api_hijack_close_all (void);

/* ------------------------------------------------------------- server -- */

struct api_server;
int api_server_new (struct berthd *d, struct api_router *router, struct api_server **out,
                    struct berth_error **err);
/* Start listening on every -H address (the unix socket gets mode 0660 and
 * the configured group). */
int api_server_listen (struct api_server *s, struct berth_error **err);
/* Shutdown, first step (modules still alive): stop accepting, remove the
 * unix sockets, end every live request (stream producers get on_close). */
void api_server_quiesce (struct api_server *s);
/* Last step: end what is left, stop libmicrohttpd, free. */
void api_server_free (struct api_server *s);
/* Ask the server to run libmicrohttpd again soon (after a resume). */
void api_server_kick (struct api_server *s);
