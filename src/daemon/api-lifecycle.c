/* Endpoints that move a container through its states: start, stop,
 * restart, kill, wait (chunked JSON, as trace 02), DELETE, pause and
 * unpause. Each answers when the state change happened, as dockerd does. */
#include "daemon/containers-internal.h"

#include <signal.h>
#include <string.h>

static struct container *
lookup_or_respond (struct api_request *req, struct containers **cs_out)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  *cs_out = cs;
  _cleanup_error_ struct berth_error *err = NULL;
  struct container *c = containers_lookup (cs, api_request_param (req, "id"), &err);
  if (c == NULL)
    api_respond_error (req, err);
  return c;
}

/* ------------------------------------------------------------- start -- */

static void
started (struct waiter *w, struct container *c, const struct berth_error *err)
{
  struct api_request *req = w->data;
  if (err)
    {
      /* 127/126 failures are the user's command: docker answers 400 */
      struct berth_error e = *err;
      if (c && (c->state.exit_code == 127 || c->state.exit_code == 126))
        e.kind = BERTH_E_INVALID;
      api_respond_error (req, &e);
      return;
    }
  api_respond_empty (req, 204);
}

void api_container_start (struct api_request *req);

void
api_container_start (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  if (container_start (cs, c, &err) < 0)
    {
      if (err->kind == BERTH_E_NOT_MODIFIED)
        {
          api_respond_empty (req, 304);
          return;
        }
      api_respond_error (req, err);
      container_start_failed_early (cs, c, err);
      return;
    }
  waiter_add (c, WAIT_STARTED, started, req);
}

/* -------------------------------------------------------------- stop -- */

static void
stopped (struct waiter *w, struct container *c, const struct berth_error *err)
{
  struct api_request *req = w->data;
  if (c)
    container_event (c, "stop", NULL);
  api_respond_empty (req, 204);
}

static int
timeout_arg (struct api_request *req, int *timeout_s, struct berth_error **err)
{
  long long t = -1;
  if (api_request_query_int (req, "t", -1, &t, err) < 0)
    return -1;
  *timeout_s = t < -1 ? -1 : (int)t;
  return 0;
}

void api_container_stop (struct api_request *req);

void
api_container_stop (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  int timeout_s;
  if (timeout_arg (req, &timeout_s, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  int rc = container_stop (cs, c, timeout_s, api_request_query (req, "signal"), &err);
  if (rc < 0)
    {
      if (err->kind == BERTH_E_NOT_MODIFIED)
        api_respond_empty (req, 304);
      else
        api_respond_error (req, err);
      return;
    }
  if (rc == 1 || rc == 2)
    {
      if (rc == 1) /* 2: removed meanwhile */
        container_event (c, "stop", NULL);
      api_respond_empty (req, 204);
      return;
    }
  waiter_add (c, WAIT_EXIT, stopped, req);
}

/* ----------------------------------------------------------- restart -- */

static void
restart_started (struct waiter *w, struct container *c, const struct berth_error *err)
{
  struct api_request *req = w->data;
  if (err)
    {
      api_respond_error (req, err);
      return;
    }
  container_event (c, "restart", NULL);
  api_respond_empty (req, 204);
}

static void
restart_after_exit (struct waiter *w, struct container *c, const struct berth_error *err)
{
  struct api_request *req = w->data;
  if (c == NULL)
    {
      api_respond_errorf (req, 404, "No such container: %s", api_request_param (req, "id"));
      return;
    }
  container_event (c, "stop", NULL);
  _cleanup_error_ struct berth_error *serr = NULL;
  struct containers *cs = container_rt (c)->cs;
  c->state.has_been_manually_stopped = false;
  if (container_start (cs, c, &serr) < 0)
    {
      api_respond_error (req, serr);
      return;
    }
  waiter_add (c, WAIT_STARTED, restart_started, req);
}

void api_container_restart (struct api_request *req);

void
api_container_restart (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  int timeout_s;
  if (timeout_arg (req, &timeout_s, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  if (c->state.status == CONTAINER_RUNNING || c->state.status == CONTAINER_PAUSED)
    {
      int rc = container_stop (cs, c, timeout_s, api_request_query (req, "signal"), &err);
      if (rc < 0)
        {
          api_respond_error (req, err);
          return;
        }
      container_rt (c)->restart_requested = true;
      waiter_add (c, WAIT_EXIT, restart_after_exit, req);
      return;
    }
  if (c->state.status == CONTAINER_RESTARTING)
    {
      if (container_stop (cs, c, timeout_s, NULL, &err) == 2)
        {
          api_respond_errorf (req, 404, "No such container: %s", api_request_param (req, "id"));
          return;
        }
    }
  c->state.has_been_manually_stopped = false;
  berth_error_freep (&err);
  if (container_start (cs, c, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  waiter_add (c, WAIT_STARTED, restart_started, req);
}

/* -------------------------------------------------------------- kill -- */

void api_container_kill (struct api_request *req);

void
api_container_kill (struct api_request *req)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  _cleanup_error_ struct berth_error *err = NULL;
  struct container *c = containers_lookup (cs, api_request_param (req, "id"), &err);
  if (c == NULL)
    {
      /* dockerd: "Cannot kill container: x: No such container: x" */
      berth_error_prefix (&err, "Cannot kill container: %s", api_request_param (req, "id"));
      api_respond_error (req, err);
      return;
    }
  const char *sig = api_request_query (req, "signal");
  int signo = SIGKILL;
  if (sig && *sig && signal_parse (sig, &signo) < 0)
    {
      api_respond_errorf (req, 400, "Invalid signal: %s", sig);
      return;
    }
  if (container_kill (cs, c, signo, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  api_respond_empty (req, 204);
}

/* -------------------------------------------------------------- wait -- */

static void
wait_write (struct api_stream *s, const struct container *c, const struct berth_error *err)
{
  /* dockerd's field order: {"Error":…,"StatusCode":…} */
  json_t *j = json_object ();
  if (err)
    json_object_set_new (j, "Error", json_pack ("{s:s}", "Message", err->msg));
  else if (c && c->state.error && *c->state.error)
    json_object_set_new (j, "Error", json_pack ("{s:s}", "Message", c->state.error));
  else
    json_object_set_new (j, "Error", json_null ());
  json_object_set_new (j, "StatusCode", json_integer (c ? c->state.exit_code : 0));
  api_stream_write_json (s, j);
  api_stream_end (s);
}

struct wait_ctx
{
  struct api_stream *s;
};

static void
wait_fired (struct waiter *w, struct container *c, const struct berth_error *err)
{
  struct wait_ctx *ctx = w->data;
  /* removed: the exit code of the last run is still in the record */
  wait_write (ctx->s, c, err);
  free (ctx);
}

void api_container_wait (struct api_request *req);

void
api_container_wait (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  const char *cond = api_request_query (req, "condition");
  if (cond == NULL || *cond == '\0')
    cond = "not-running";
  if (strcmp (cond, "not-running") != 0 && strcmp (cond, "next-exit") != 0
      && strcmp (cond, "removed") != 0)
    {
      api_respond_errorf (req, 400, "invalid condition: \"%s\"", cond);
      return;
    }
  struct container_rt *rt = container_rt (c);
  bool running = container_is_running (c) || rt->starting;
  struct api_stream *s = api_respond_stream (req, 200, "application/json");
  if (strcmp (cond, "not-running") == 0 && !running)
    {
      wait_write (s, c, NULL);
      return;
    }
  struct wait_ctx *ctx = calloc (1, sizeof *ctx);
  ctx->s = s;
  if (strcmp (cond, "removed") == 0)
    {
      waiter_add (c, WAIT_REMOVED, wait_fired, ctx);
      return;
    }
  waiter_add (c, WAIT_EXIT, wait_fired, ctx);
}

/* ------------------------------------------------------------ delete -- */

struct delete_ctx
{
  struct api_request *req;
  bool volumes;
};

static void
delete_after_exit (struct waiter *w, struct container *c, const struct berth_error *err)
{
  struct delete_ctx *ctx = w->data;
  _cleanup_error_ struct berth_error *rerr = NULL;
  if (c == NULL || container_rt (c)->forgotten)
    api_respond_empty (ctx->req, 204); /* another rm -f (or --rm) removed it first */
  else if (container_remove (container_rt (c)->cs, c, ctx->volumes, &rerr) < 0)
    api_respond_error (ctx->req, rerr);
  else
    api_respond_empty (ctx->req, 204);
  free (ctx);
}

static void
delete_when_removed (struct waiter *w, struct container *c, const struct berth_error *err)
{
  struct delete_ctx *ctx = w->data;
  api_respond_empty (ctx->req, 204);
  free (ctx);
}

void api_container_delete (struct api_request *req);

void
api_container_delete (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  bool force = api_request_query_bool (req, "force", false);
  bool volumes = api_request_query_bool (req, "v", false);
  if (api_request_query_bool (req, "link", false))
    {
      api_respond_errorf (req, 400,
                          "Conflict, cannot remove the default link name of the container");
      return;
    }
  if (container_can_remove (c, force, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  struct container_rt *rt = container_rt (c);
  if (rt->remove_requested && (rt->starting || container_is_running (c)))
    {
      /* a removal waits for this container's exit already (docker: 409) */
      api_respond_errorf (req, 409, "removal of container %s is already in progress", c->name + 1);
      return;
    }
  struct delete_ctx *ctx = calloc (1, sizeof *ctx);
  ctx->req = req;
  ctx->volumes = volumes;
  if (rt->starting)
    {
      /* let the start finish, then kill and remove */
      rt->remove_requested = true;
      rt->remove_on_exit = true;
      waiter_add (c, WAIT_REMOVED, delete_when_removed, ctx);
      return;
    }
  if (container_is_running (c) && c->state.status != CONTAINER_RESTARTING)
    {
      rt->remove_requested = true;
      if (container_kill (cs, c, SIGKILL, &err) < 0)
        {
          rt->remove_requested = false;
          free (ctx);
          api_respond_error (req, err);
          return;
        }
      waiter_add (c, WAIT_EXIT, delete_after_exit, ctx);
      return;
    }
  if (container_remove (cs, c, volumes, &err) < 0)
    api_respond_error (req, err);
  else
    api_respond_empty (req, 204);
  free (ctx);
}

/* ------------------------------------------------------ pause/unpause -- */

static void
pause_or_unpause (struct api_request *req, bool pause)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  if ((pause ? container_can_pause (c, &err) : container_can_unpause (c, &err)) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  int rc = pause ? runtime_container_pause (&cs->rt, c->id, &err)
                 : runtime_container_resume (&cs->rt, c->id, &err);
  if (rc < 0)
    {
      berth_error_prefix (&err, "Cannot %s container %s", pause ? "pause" : "unpause", c->id);
      api_respond_error (req, err);
      return;
    }
  container_set_paused (c, pause);
  if (container_save (c, &err) < 0)
    berth_log (BERTH_LOG_ERROR, "%s", err->msg);
  container_event (c, pause ? "pause" : "unpause", NULL);
  api_respond_empty (req, 204);
}

void api_container_pause (struct api_request *req);
void api_container_unpause (struct api_request *req);

void
api_container_pause (struct api_request *req)
{
  pause_or_unpause (req, true);
}

void
api_container_unpause (struct api_request *req)
{
  pause_or_unpause (req, false);
}
