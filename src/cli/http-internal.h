/* berth cli: the transport under http.c and hijack.c (private): a byte
 * connection to the daemon (conn.c: unix, TCP or an ssh pipe; conn-tls.c:
 * TLS through libcurl, loaded only then) and the HTTP/1.1 response reader
 * on http-parser (http-reader.c), which every connection shares. */
#pragma once

#include <http_parser.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cli/cli-internal.h"

/* ---------------------------------------------------------- connection -- */

struct cli_conn;

/* recv and send never block: they return the byte count, 0 at the end of
 * the stream (recv), -2 when the socket is not ready (poll conn->fd), -1 on
 * an error (errno set, or conn->errmsg for a TLS failure). */
struct cli_conn_ops
{
  ssize_t (*recv) (struct cli_conn *c, void *buf, size_t len);
  ssize_t (*send) (struct cli_conn *c, const void *buf, size_t len);
  /* Send up to len bytes of the file fd from its offset (sendfile), where
   * the bytes go to the socket as they are; NULL on TLS. */
  ssize_t (*send_file) (struct cli_conn *c, int fd, size_t len);
  void (*close_write) (struct cli_conn *c);
  void (*free) (struct cli_conn *c);
};

struct cli_conn
{
  const struct cli_conn_ops *ops;
  int fd; /* what to poll */
  bool is_tls;
  char errmsg[256]; /* the last failure's text, when not an errno */
};

struct cli_client
{
  struct cli_endpoint ep;
  char *api_version;
  char *host_header;      /* the request's Host: value */
  struct cli_conn *kept;  /* a kept-alive connection (TCP, TLS, ssh) */
  pid_t ssh_pids[64];
  size_t n_ssh_pids;
};

/* A new connection to the client's endpoint; errors are the docker CLI's
 * ("Cannot connect to the berth daemon at …"). */
struct cli_conn *cli_conn_open (struct cli_client *c, struct berth_error **err);
/* TLS through libcurl (conn-tls.c). */
struct cli_conn *cli_conn_open_tls (struct cli_client *c, struct berth_error **err);
void cli_conn_free (struct cli_conn *conn);
/* Wait until conn->fd is ready for events (POLLIN / POLLOUT); -1 on error. */
int cli_conn_wait (struct cli_conn *conn, short events);
/* Send everything (waiting as needed); -1 on failure. */
int cli_conn_send_all (struct cli_conn *conn, const void *buf, size_t len);
/* The failure of the last operation as "error during connect: …". */
int cli_conn_error (struct cli_conn *conn, const char *what, struct berth_error **err);
/* "Cannot connect to the berth daemon at HOST. Is the berth daemon running?" */
int cli_connect_refused (struct cli_client *c, struct berth_error **err);

/* The request line's target: /vX.Y/path?query. */
char *cli_client_target (struct cli_client *c, const char *path, const char *query);

/* ------------------------------------------------------------ exchange -- */

#define CLI_READ_CHUNK (64 * 1024)    /* one read of an answer */
#define CLI_UPLOAD_CHUNK (256 * 1024) /* one chunk of a request body */

struct cli_http_reader;

/* One request in flight on a connection (http.c, http-upload.c). */
struct cli_http_exchange
{
  struct cli_conn *conn;
  struct cli_http_reader *r;
  char *rbuf; /* CLI_READ_CHUNK bytes to read the answer into */
  bool *got_bytes; /* set once the daemon sent anything */
};

/* Read what the connection has (waiting for it when `wait`) into the
 * reader; 1 when the stream ended, 0 otherwise, -1 on an error. */
int cli_http_pump (struct cli_conn *conn, struct cli_http_reader *r, char *buf, size_t cap,
                   bool wait, bool *got_bytes, struct berth_error **err);
/* Send len bytes, reading whatever the daemon answers meanwhile (an early
 * error answer while an upload is still going). 0 when sent, 1 when the
 * answer is complete (stop sending), -1 with *err when the answer is
 * malformed, -2 when sending failed (errno; the answer may still come). */
int cli_http_send_duplex (struct cli_http_exchange *x, const char *p, size_t len,
                          struct berth_error **err);
/* The request's body, chunked: from req->body_fd to its end, or written
 * by req->body_fn. The results of cli_http_send_duplex; -1 also when the
 * source failed (the body is then left unfinished). */
int cli_http_upload_fd (struct cli_http_exchange *x, const struct cli_request *req,
                        struct berth_error **err);
int cli_http_upload_fn (struct cli_http_exchange *x, const struct cli_request *req,
                        struct berth_error **err);

/* ------------------------------------------------------ response reader -- */

/* Reads one HTTP/1.1 response from the bytes fed to it (no I/O of its own,
 * so the fuzz target and the unit tests drive it directly). The body goes
 * to the sink when one is set and the status is below 300, else into
 * body/len (always NUL-terminated). */
struct cli_http_reader
{
  http_parser parser;
  bool is_head;      /* the answer to a HEAD request: no body */
  bool stop_at_head; /* hijack: a 101 or 200 answer ends at its head */
  cli_chunk_fn sink;
  void *sink_data;

  long status;
  char *content_type;
  char *header_stat; /* X-Docker-Container-Path-Stat */
  bool head_done;    /* the head of the final (non-1xx) answer is read */
  bool done;         /* the message is complete (or the sink said so) */
  bool upgraded;     /* stop_at_head: the stream after the head is raw */
  bool keep_alive;   /* the connection may carry another request */
  int sink_rc;       /* -1 when the sink failed, 1 when it ended the body */
  char *body;
  size_t len, cap;

  /* the header being read (field and value may arrive in pieces) */
  char field[64];
  size_t field_len;
  bool field_long;
  char *value;
  size_t value_len;
  bool in_value;
};

void cli_http_reader_init (struct cli_http_reader *r, bool is_head, bool stop_at_head);
void cli_http_reader_clear (struct cli_http_reader *r);
/* Feed len bytes; returns how many were used: fewer than len once the
 * message is done or the head of an upgrade is read (the rest belongs to
 * the stream that follows). -1 with *err on a malformed response. */
ssize_t cli_http_reader_feed (struct cli_http_reader *r, const char *data, size_t len,
                              struct berth_error **err);
/* The connection ended: completes a body that runs to the end of the
 * stream; a response cut short after its head counts as complete, as it
 * did with libcurl (a streamed answer the daemon ends by closing). -1 with
 * *err when no head arrived. */
int cli_http_reader_eof (struct cli_http_reader *r, struct berth_error **err);
/* Move the result into resp (body, status, content type, stat header). */
void cli_http_reader_take (struct cli_http_reader *r, struct cli_response *resp);
