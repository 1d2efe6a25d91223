/* The events bus and GET /events: daemon_event_emit builds docker's message,
 * keeps the last 256 for `since` replays (docker keeps 256 too) and hands it
 * to every subscriber whose filters match; /events streams one JSON object
 * per line until `until` or until the client hangs up. */
#include "daemon/api-internal.h"
#include "daemon/daemon-internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_KEEP 256

struct events_sub
{
  struct events_bus *bus;
  struct api_stream *stream;
  struct api_filters *filters;
  uint64_t until_ns; /* 0: no end */
  struct loop_timer *until_timer;
  struct events_sub *next;
};

struct events_bus
{
  json_t *ring[EVENTS_KEEP];
  size_t head, count;
  struct events_sub *subs;
};

struct events_bus *
events_bus_new (void)
{
  struct events_bus *b = calloc (1, sizeof *b);
  if (b == NULL)
    abort ();
  return b;
}

static void sub_end (struct events_sub *sub);

void
events_bus_free (struct events_bus *b)
{
  if (b == NULL)
    return;
  while (b->subs)
    sub_end (b->subs);
  for (size_t i = 0; i < EVENTS_KEEP; i++)
    json_decref (b->ring[i]);
  free (b);
}

json_t *
events_message_new (const char *type, const char *action, const char *actor_id,
                    json_t *attributes, uint64_t time_ns)
{
  json_t *attrs = attributes ? attributes : json_object ();
  json_t *msg = json_object ();
  /* docker fills the deprecated status/id/from for containers and images */
  bool old_fields = strcmp (type, "container") == 0 || strcmp (type, "image") == 0;
  if (old_fields)
    {
      json_object_set_new (msg, "status", json_string (action));
      json_object_set_new (msg, "id", json_string (actor_id ? actor_id : ""));
      json_t *from = json_object_get (attrs, "image");
      if (strcmp (type, "container") == 0 && json_is_string (from))
        json_object_set (msg, "from", from);
    }
  json_object_set_new (msg, "Type", json_string (type));
  json_object_set_new (msg, "Action", json_string (action));
  json_object_set_new (msg, "Actor", json_pack ("{s:s,s:o}", "ID", actor_id ? actor_id : "",
                                                "Attributes", attrs));
  json_object_set_new (msg, "scope", json_string ("local"));
  json_object_set_new (msg, "time", json_integer ((json_int_t) (time_ns / 1000000000ull)));
  json_object_set_new (msg, "timeNano", json_integer ((json_int_t) time_ns));
  return msg;
}

/* ------------------------------------------------------------- filters -- */

static const char *
msg_str (const json_t *msg, const char *key)
{
  return json_string_value (json_object_get (msg, key));
}

static const char *
msg_attr (const json_t *msg, const char *key)
{
  return json_string_value (json_object_get (json_object_get (json_object_get (msg, "Actor"),
                                                               "Attributes"),
                                              key));
}

/* docker's filters.ExactMatch: no values for key → true. */
static bool
exact (const struct api_filters *f, const char *key, const char *value)
{
  return api_filters_match (f, key, value);
}

/* docker's filters.FuzzyMatch: equal or a prefix of source. */
static bool
fuzzy (const struct api_filters *f, const char *key, const char *source)
{
  if (!api_filters_has (f, key))
    return true;
  if (source == NULL)
    return false;
  for (char *const *v = api_filters_values (f, key); *v; v++)
    if (str_has_prefix (source, *v))
      return true;
  return false;
}

static bool
fuzzy_name (const struct api_filters *f, const json_t *msg, const char *type)
{
  const char *id = json_string_value (json_object_get (json_object_get (msg, "Actor"), "ID"));
  return fuzzy (f, type, id) || fuzzy (f, type, msg_attr (msg, "name"));
}

static char *
strip_tag (const char *ref)
{
  if (ref == NULL)
    return NULL;
  const char *slash = strrchr (ref, '/');
  const char *colon = strrchr (ref, ':');
  if (colon && (slash == NULL || colon > slash))
    return strndup (ref, (size_t) (colon - ref));
  return xstrdup (ref);
}

static bool
match_image (const struct api_filters *f, const json_t *msg)
{
  if (!api_filters_has (f, "image"))
    return true;
  const char *id = json_string_value (json_object_get (json_object_get (msg, "Actor"), "ID"));
  bool is_image = strcmp (msg_str (msg, "Type"), "image") == 0;
  const char *name = msg_attr (msg, is_image ? "name" : "image");
  _cleanup_free_ char *id_notag = strip_tag (id);
  _cleanup_free_ char *name_notag = strip_tag (name);
  return (id && exact (f, "image", id)) || (name && exact (f, "image", name))
         || (id_notag && exact (f, "image", id_notag))
         || (name_notag && exact (f, "image", name_notag));
}

static bool
match_event (const struct api_filters *f, const json_t *msg)
{
  const char *action = msg_str (msg, "Action");
  /* docker #25798: these actions carry ": details"; match by prefix */
  static const char *const prefixed[] = { "health_status", "exec_create", "exec_start", NULL };
  for (char *const *v = api_filters_values (f, "event"); *v; v++)
    if (strv_contains ((char *const *) prefixed, *v))
      return fuzzy (f, "event", action);
  return exact (f, "event", action);
}

bool
events_message_matches (const json_t *msg, const struct api_filters *f)
{
  if (f == NULL)
    return true;
  const json_t *attrs = json_object_get (json_object_get (msg, "Actor"), "Attributes");
  return match_event (f, msg) && exact (f, "type", msg_str (msg, "Type"))
         && exact (f, "scope", msg_str (msg, "scope")) && fuzzy_name (f, msg, "daemon")
         && fuzzy_name (f, msg, "container") && fuzzy_name (f, msg, "plugin")
         && fuzzy_name (f, msg, "volume") && fuzzy_name (f, msg, "network")
         && match_image (f, msg) && api_filters_match_labels (f, "label", attrs);
}

/* ---------------------------------------------------------------- time -- */

int
events_parse_time (const char *s, uint64_t now_ns, uint64_t *out_ns, struct berth_error **err)
{
  (void) now_ns;
  if (s == NULL || *s == '\0')
    {
      *out_ns = 0;
      return 0;
    }
  /* "<seconds>[.<fraction>]", what the docker CLI sends */
  const char *p = s;
  bool digits = isdigit ((unsigned char) *p);
  while (isdigit ((unsigned char) *p))
    p++;
  if (digits && (*p == '\0' || *p == '.'))
    {
      errno = 0;
      unsigned long long sec = strtoull (s, NULL, 10);
      unsigned long long nsec = 0;
      if (*p == '.')
        {
          p++;
          unsigned scale = 0;
          for (; isdigit ((unsigned char) *p) && scale < 9; p++, scale++)
            nsec = nsec * 10 + (unsigned long long) (*p - '0');
          while (isdigit ((unsigned char) *p))
            p++;
          for (; scale < 9; scale++)
            nsec *= 10;
        }
      if (*p != '\0' || errno != 0 || sec > 9000000000ull)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid timestamp `%s`", s);
      *out_ns = sec * 1000000000ull + nsec;
      return 0;
    }
  struct timespec ts;
  if (time_parse_rfc3339 (s, &ts) == 0)
    {
      *out_ns = (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
      return 0;
    }
  return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                               "invalid timestamp `%s`: expected seconds since the epoch or RFC "
                               "3339",
                               s);
}

/* ----------------------------------------------------------------- bus -- */

static void
sub_end (struct events_sub *sub)
{
  struct events_bus *b = sub->bus;
  for (struct events_sub **p = &b->subs; *p; p = &(*p)->next)
    if (*p == sub)
      {
        *p = sub->next;
        break;
      }
  loop_timer_cancel (sub->until_timer);
  api_filters_free (sub->filters);
  struct api_stream *s = sub->stream;
  free (sub);
  api_stream_end (s);
}

static void
sub_client_gone (void *userdata)
{
  sub_end (userdata);
}

static void
sub_until_reached (void *userdata)
{
  struct events_sub *sub = userdata;
  sub->until_timer = NULL;
  sub_end (sub);
}

static void
bus_publish (struct events_bus *b, json_t *msg)
{
  size_t slot = (b->head + b->count) % EVENTS_KEEP;
  if (b->count == EVENTS_KEEP)
    {
      json_decref (b->ring[b->head]);
      b->head = (b->head + 1) % EVENTS_KEEP;
      slot = (b->head + b->count - 1) % EVENTS_KEEP;
    }
  else
    b->count++;
  b->ring[slot] = msg;
  uint64_t t = (uint64_t) json_integer_value (json_object_get (msg, "timeNano"));
  for (struct events_sub *sub = b->subs, *next; sub; sub = next)
    {
      next = sub->next;
      if (sub->until_ns && t > sub->until_ns)
        continue;
      if (events_message_matches (msg, sub->filters))
        api_stream_write_json (sub->stream, json_incref (msg));
    }
}

struct emit_msg
{
  json_t *msg;
};

static void
emit_on_loop (void *arg)
{
  struct berthd *d = berthd_get ();
  json_t *msg = arg;
  if (d == NULL || d->events == NULL)
    {
      json_decref (msg);
      return;
    }
  bus_publish (d->events, msg);
}

void
daemon_event_emit (const char *type, const char *action, const char *actor_id, json_t *attributes)
{
  struct berthd *d = berthd_get ();
  json_t *msg = events_message_new (type, action, actor_id, attributes, time_now_ns ());
  if (d == NULL || d->events == NULL)
    {
      json_decref (msg);
      return;
    }
  berth_log (BERTH_LOG_DEBUG, "event %s %s %s", type, action, actor_id ? actor_id : "");
  if (loop_is_loop_thread (d->loop))
    bus_publish (d->events, msg);
  else
    loop_post (d->loop, emit_on_loop, msg);
}

/* ---------------------------------------------------------- GET /events -- */

static const char *const events_filter_keys[]
    = { "config", "container", "daemon", "event", "image",   "label",  "network",
        "node",   "plugin",    "scope",  "secret", "service", "type",  "volume", NULL };

static void
handle_events (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_filters_ struct api_filters *filters = NULL;
  uint64_t now = time_now_ns (), since = 0, until = 0;
  if (api_request_filters (req, events_filter_keys, &filters, &err) < 0
      || events_parse_time (api_request_query (req, "since"), now, &since, &err) < 0
      || events_parse_time (api_request_query (req, "until"), now, &until, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  struct api_stream *s = api_respond_stream (req, 200, "application/json");
  struct events_bus *b = d->events;
  if (since)
    for (size_t i = 0; i < b->count; i++)
      {
        json_t *msg = b->ring[(b->head + i) % EVENTS_KEEP];
        uint64_t t = (uint64_t) json_integer_value (json_object_get (msg, "timeNano"));
        if (t < since || (until && t > until))
          continue;
        if (events_message_matches (msg, filters))
          api_stream_write_json (s, json_incref (msg));
      }
  if (until && until <= now)
    {
      api_stream_end (s);
      return;
    }
  struct events_sub *sub = calloc (1, sizeof *sub);
  if (sub == NULL)
    abort ();
  sub->bus = b;
  sub->stream = s;
  sub->filters = steal_pointer (&filters);
  sub->until_ns = until;
  sub->next = b->subs;
  b->subs = sub;
  if (until)
    sub->until_timer = loop_timer_add (d->loop, (until - now) / 1000000 + 1, sub_until_reached, sub);
  api_stream_on_close (s, sub_client_gone, sub);
}

static int
events_init (struct berthd *d, struct berth_error **err)
{
  (void) err;
  d->events = events_bus_new ();
  return 0;
}

static void
events_register (struct berthd *d, struct api_router *r)
{
  (void) d;
  api_route_add (r, "GET", "/events", handle_events, 0);
}

static void
events_shutdown (struct berthd *d)
{
  events_bus_free (d->events);
  d->events = NULL;
}

BERTHD_MODULE (events_module) = {
  .name = "events",
  .order = 1,
  .init = events_init,
  .register_routes = events_register,
  .shutdown = events_shutdown,
};
