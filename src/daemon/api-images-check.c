/* POST /berth/system/check — a berth extension of the Engine API (under
 * /berth/, a prefix Docker never uses): the image store's check on the
 * worker pool, streamed as JSON lines — one per item checked, then a
 * summary — so `berth system check` can show what was looked at and name
 * what is wrong and where. */
#include "daemon/api-images.h"

#include <stdlib.h>
#include <string.h>

struct check_job
{
  struct api_request *req;
  struct berthd *d;
  struct api_stream *stream;
  size_t counts[4]; /* per enum image_check_kind */
  int64_t bytes;
  size_t n_problems;
  struct berth_error *err;
  int cancelled; /* set on the loop, read by the worker (__atomic) */
};

struct check_line
{
  struct check_job *job;
  json_t *line;
};

static void
line_on_loop (void *arg)
{
  struct check_line *m = arg;
  api_stream_write_json (m->job->stream, m->line);
  free (m);
}

static void
stream_closed (void *userdata)
{
  struct check_job *j = userdata;
  __atomic_store_n (&j->cancelled, 1, __ATOMIC_RELAXED);
}

/* Worker thread: one line per item. */
static int
item_cb (const struct image_check_item *item, void *data)
{
  struct check_job *j = data;
  if (__atomic_load_n (&j->cancelled, __ATOMIC_RELAXED))
    return 1;
  j->counts[item->kind]++;
  j->bytes += item->bytes;
  json_t *line = json_pack ("{s:s,s:s,s:I,s:s}", "Type", image_check_kind_name (item->kind), "ID",
                            item->name, "Size", (json_int_t)item->bytes, "Status",
                            item->problem ? "corrupt" : "ok");
  if (item->problem)
    json_object_set_new (line, "Problem", json_string (item->problem));
  struct check_line *m = calloc (1, sizeof *m);
  if (m == NULL)
    abort ();
  m->job = j;
  m->line = line;
  loop_post (j->d->loop, line_on_loop, m);
  return 0;
}

static void
check_work (void *arg)
{
  struct check_job *j = arg;
  image_store_check_each (j->d->images, item_cb, j, &j->n_problems, &j->err);
}

static void
check_done (void *arg)
{
  struct check_job *j = arg;
  if (j->err)
    api_stream_write_json (j->stream, json_pack ("{s:{s:s},s:s}", "errorDetail", "message",
                                                 j->err->msg, "error", j->err->msg));
  else
    api_stream_write_json (
        j->stream,
        json_pack ("{s:{s:I,s:I,s:I,s:I},s:I,s:I}", "Checked", "Blobs",
                   (json_int_t)j->counts[IMAGE_CHECK_BLOB], "Layers",
                   (json_int_t)j->counts[IMAGE_CHECK_LAYER], "Images",
                   (json_int_t)j->counts[IMAGE_CHECK_IMAGE], "Tags",
                   (json_int_t)j->counts[IMAGE_CHECK_TAG], "Bytes", (json_int_t)j->bytes,
                   "Problems", (json_int_t)j->n_problems));
  api_stream_end (j->stream);
  berth_error_free (j->err);
  free (j);
}

static void
handle_check (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  if (d->images == NULL)
    return images_respond_store_missing (req);
  struct check_job *j = calloc (1, sizeof *j);
  if (j == NULL)
    abort ();
  j->req = req;
  j->d = d;
  _cleanup_error_ struct berth_error *err = NULL;
  if (loop_worker_submit (d->loop, check_work, check_done, j, &err) < 0)
    {
      free (j);
      return api_respond_error (req, err);
    }
  /* The worker only posts lines; they are written after this returns. */
  j->stream = api_respond_stream (req, 200, "application/json");
  api_stream_on_close (j->stream, stream_closed, j);
}

static void
check_register (struct berthd *d, struct api_router *r)
{
  (void)d;
  api_route_add (r, "POST", "/berth/system/check", handle_check, 0);
}

BERTHD_MODULE (images_check_module) = {
  .name = "images-check",
  .order = 11,
  .register_routes = check_register,
};
