/* What a handler sees of a request (path parameters, query, headers, the
 * JSON or raw body, the peer) and the plain answers (JSON, errors, empty,
 * bytes). Streams are in api-stream.c, hijacks in api-hijack.c. */
#include "daemon/api-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct berthd *
api_request_daemon (struct api_request *req)
{
  return req->d;
}

const char *
api_request_method (struct api_request *req)
{
  return req->method;
}

const char *
api_request_path (struct api_request *req)
{
  return req->path;
}

unsigned
api_request_version (struct api_request *req)
{
  return req->version;
}

const char *
api_request_param (struct api_request *req, const char *name)
{
  for (char **p = req->params; p && p[0] && p[1]; p += 2)
    if (strcmp (p[0], name) == 0)
      return p[1];
  return NULL;
}

/* After libmicrohttpd finished the request (the client went away while a
 * handler still holds it) the connection is gone: the query and headers
 * read as absent instead of touching freed memory. */
const char *
api_request_query (struct api_request *req, const char *key)
{
  if (req->conn == NULL)
    return NULL;
  return MHD_lookup_connection_value (req->conn, MHD_GET_ARGUMENT_KIND, key);
}

bool
api_request_query_bool (struct api_request *req, const char *key, bool def)
{
  const char *v = NULL;
  if (req->conn == NULL)
    return def;
  if (MHD_lookup_connection_value_n (req->conn, MHD_GET_ARGUMENT_KIND, key, strlen (key), &v, NULL)
      != MHD_YES)
    return def;
  return api_query_bool_value (v);
}

int
api_request_query_int (struct api_request *req, const char *key, long long def, long long *out,
                       struct berth_error **err)
{
  const char *v = api_request_query (req, key);
  if (v == NULL || *v == '\0')
    {
      *out = def;
      return 0;
    }
  char *end;
  errno = 0;
  long long n = strtoll (v, &end, 10);
  if (errno != 0 || *end != '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "invalid value for query argument %s: `%s` is not an integer",
                                 key, v);
  *out = n;
  return 0;
}

struct query_values
{
  const char *key;
  char **values;
};

static enum MHD_Result
collect_values (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  struct query_values *q = cls;
  (void) kind;
  if (strcmp (key, q->key) == 0)
    strv_append (&q->values, value ? value : "");
  return MHD_YES;
}

char **
api_request_query_values (struct api_request *req, const char *key)
{
  struct query_values q = { key, calloc (1, sizeof (char *)) };
  if (q.values == NULL)
    abort ();
  if (req->conn == NULL)
    return q.values;
  MHD_get_connection_values (req->conn, MHD_GET_ARGUMENT_KIND, collect_values, &q);
  return q.values;
}

const char *
api_request_header (struct api_request *req, const char *name)
{
  if (req->conn == NULL)
    return NULL;
  return MHD_lookup_connection_value (req->conn, MHD_HEADER_KIND, name);
}

json_t *
api_request_json (struct api_request *req, struct berth_error **err)
{
  if (req->json)
    return req->json;
  if (req->body_len == 0)
    return NULL;
  json_error_t jerr;
  req->json = json_loadb (req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
  if (req->json == NULL)
    berth_error_set_kind (err, BERTH_E_INVALID, 0,
                          "invalid JSON in request body: %s (line %d, column %d)", jerr.text,
                          jerr.line, jerr.column);
  return req->json;
}

const char *
api_request_body (struct api_request *req, size_t *len)
{
  if (len)
    *len = req->body_len;
  return req->body ? req->body : "";
}

int
api_request_body_fd (struct api_request *req)
{
  return req->body_pipe_r;
}

void
api_request_hold (struct api_request *req)
{
  req->refs++;
}

void
api_request_unhold (struct api_request *req)
{
  api_request_release (req);
}

void
api_request_body_close (struct api_request *req)
{
  if (req->body_pipe_r >= 0)
    close (req->body_pipe_r);
  req->body_pipe_r = -1;
}

void
api_request_peer (struct api_request *req, uid_t *uid, pid_t *pid)
{
  if (uid)
    *uid = req->peer_uid;
  if (pid)
    *pid = req->peer_pid;
}

bool
api_request_client_gone (struct api_request *req)
{
  return req->client_gone;
}

int
api_request_filters (struct api_request *req, const char *const *allowed,
                     struct api_filters **out, struct berth_error **err)
{
  return api_filters_parse (api_request_query (req, "filters"), allowed, out, err);
}

/* ------------------------------------------------------------- headers -- */

void
api_response_header (struct api_request *req, const char *name, const char *value)
{
  struct api_header *h = calloc (1, sizeof *h);
  if (h == NULL)
    abort ();
  h->name = xstrdup (name);
  h->value = xstrdup (value);
  h->next = req->headers;
  req->headers = h;
}

void
api_request_free_headers (struct api_request *req)
{
  while (req->headers)
    {
      struct api_header *h = req->headers;
      req->headers = h->next;
      free (h->name);
      free (h->value);
      free (h);
    }
}

/* The headers docker puts on every answer (clients read Api-Version from
 * /_ping to pick their version), then the handler's own. */
void
api_request_apply_headers (struct api_request *req, struct MHD_Response *resp)
{
  MHD_add_response_header (resp, "Api-Version", API_VERSION_MAX);
  MHD_add_response_header (resp, "Docker-Experimental", "false");
  MHD_add_response_header (resp, "Ostype", "linux");
  MHD_add_response_header (resp, "Server", "berth/" BERTH_VERSION " (linux)");
  for (struct api_header *h = req->headers; h; h = h->next)
    MHD_add_response_header (resp, h->name, h->value);
}

/* -------------------------------------------------------------- answers -- */

static void
answer_with (struct api_request *req, unsigned status, struct MHD_Response *resp)
{
  if (req->answer != API_ANSWER_NONE)
    {
      /* A second answer is a bug in a handler; keep the first. */
      berth_log (BERTH_LOG_ERROR, "%s %s: answered twice (status %u)", req->method, req->url,
                 status);
      MHD_destroy_response (resp);
      return;
    }
  api_request_apply_headers (req, resp);
  req->answer = API_ANSWER_RESPONSE;
  req->status = status;
  req->response = resp;
  req->answered = true;
  api_request_answer_ready (req);
}

void
api_respond_data (struct api_request *req, unsigned status, const char *content_type,
                  const void *data, size_t len)
{
  struct MHD_Response *resp
      = MHD_create_response_from_buffer (len, (void *) data, MHD_RESPMEM_MUST_COPY);
  if (resp == NULL)
    abort ();
  if (content_type)
    MHD_add_response_header (resp, "Content-Type", content_type);
  answer_with (req, status, resp);
}

void
api_respond_json (struct api_request *req, unsigned status, json_t *body)
{
  char *text = json_dumps (body, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref (body);
  if (text == NULL)
    abort ();
  size_t n = strlen (text);
  /* docker's encoder ends every JSON body with a newline */
  char *withnl = realloc (text, n + 2);
  if (withnl == NULL)
    abort ();
  withnl[n] = '\n';
  withnl[n + 1] = '\0';
  struct MHD_Response *resp
      = MHD_create_response_from_buffer (n + 1, withnl, MHD_RESPMEM_MUST_FREE);
  if (resp == NULL)
    abort ();
  MHD_add_response_header (resp, "Content-Type", "application/json");
  answer_with (req, status, resp);
}

void
api_respond_error (struct api_request *req, const struct berth_error *err)
{
  unsigned status = (unsigned) berth_error_http_status (err);
  const char *msg = err && err->msg ? err->msg : "internal error";
  if (status >= 500)
    berth_log (BERTH_LOG_ERROR, "%s %s: %s", req->method, req->url, msg);
  else
    berth_log (BERTH_LOG_DEBUG, "%s %s: %u %s", req->method, req->url, status, msg);
  api_respond_json (req, status, json_pack ("{s:s}", "message", msg));
}

void
api_respond_errorf (struct api_request *req, unsigned status, const char *fmt, ...)
{
  _cleanup_free_ char *msg = NULL;
  va_list ap;
  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  api_respond_json (req, status, json_pack ("{s:s}", "message", msg ? msg : "error"));
}

void
api_respond_empty (struct api_request *req, unsigned status)
{
  struct MHD_Response *resp = MHD_create_response_from_buffer (0, (void *) "", MHD_RESPMEM_PERSISTENT);
  if (resp == NULL)
    abort ();
  answer_with (req, status, resp);
}
