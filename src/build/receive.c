/* The context arrives on a thread of its own while the build starts: the
 * Dockerfile is taken as soon as its entry went by, so parsing, the
 * steps before the first that reads the context (FROM and its pull, ENV,
 * RUN, …) and their cache lookups overlap the upload. A step that reads
 * the context (COPY/ADD from it, RUN --mount=type=bind) waits until all
 * of it arrived, .dockerignore applied; the build's end waits for it too,
 * so a cut or broken upload still fails the build. */
#include "build/build-internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>

static const char *
dockerfile_name (const struct builder *b)
{
  return b->o->dockerfile && b->o->dockerfile[0] ? b->o->dockerfile : "Dockerfile";
}

static int
read_dockerfile (struct builder *b, char **text, size_t *len, struct berth_error **err)
{
  const char *name = dockerfile_name (b);
  struct berth_error *e = NULL;
  _cleanup_close_ int fd = fs_open_in_root (b->ctxfd, name, O_RDONLY, 0, &e);
  if (fd < 0 && strcmp (name, "Dockerfile") == 0)
    {
      berth_error_free (e);
      e = NULL;
      fd = fs_open_in_root (b->ctxfd, "dockerfile", O_RDONLY, 0, &e);
    }
  if (fd < 0)
    {
      berth_error_free (e);
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "Cannot locate specified Dockerfile: %s", name);
    }
  if (context_index_fill (&b->ctx, fd, err) < 0)
    return -1;
  _cleanup_free_ char *p = xasprintf ("/proc/self/fd/%d", fd);
  return fs_read_file (AT_FDCWD, p, text, len, err);
}

static int
load_ignore (struct builder *b, struct build_ignore **ig, struct berth_error **err)
{
  *ig = NULL;
  struct berth_error *e = NULL;
  _cleanup_close_ int fd = fs_open_in_root (b->ctxfd, ".dockerignore", O_RDONLY, 0, &e);
  if (fd < 0)
    {
      berth_error_free (e);
      return 0;
    }
  if (context_index_fill (&b->ctx, fd, err) < 0)
    return -1;
  _cleanup_free_ char *p = xasprintf ("/proc/self/fd/%d", fd);
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (fs_read_file (AT_FDCWD, p, &text, &len, err) < 0)
    return -1;
  return build_ignore_parse (text, len, ig, err);
}

/* Under b->lock: offer the Dockerfile's text (stolen) unless the build
 * has one already; wake the waiters. */
static void
dockerfile_offer (struct builder *b, char *text, size_t len)
{
  if (text && b->df_text == NULL && !b->df_taken)
    {
      b->df_text = text;
      b->df_len = len;
      text = NULL;
    }
  free (text);
  pthread_cond_broadcast (&b->cond);
}

/* The receiver saw the whole Dockerfile entry go by (context.c). */
static void
dockerfile_captured (void *data, char *text, size_t len)
{
  struct builder *b = data;
  pthread_mutex_lock (&b->lock);
  dockerfile_offer (b, text, len);
  pthread_mutex_unlock (&b->lock);
}

/* All that follows the upload: the client still there, .dockerignore
 * (read, with the Dockerfile, before it removes anything), a Dockerfile
 * given twice refused once an early copy was used. */
static int
receive_all (struct builder *b, int context_fd, char **df_text, size_t *df_len,
             struct berth_error **err)
{
  uint64_t t0 = time_now_ns ();
  _cleanup_close_ int wfd = open (b->ctx_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (wfd < 0 || context_receive (context_fd, wfd, &b->ctx, err) < 0)
    {
      if (wfd < 0)
        berth_error_set (err, errno, "open %s", b->ctx_path);
      return berth_error_prefix (err, "error processing tar file");
    }
  berth_log (BERTH_LOG_DEBUG, "build: context received in %.1f ms (%zu files, %" PRIu64 " bytes spooled)",
             (double) (time_now_ns () - t0) / 1e6, b->ctx.n,
             b->ctx.spool_len[SPOOL_RAW_MEM] + b->ctx.spool_len[SPOOL_RAW_DISK]
                 + b->ctx.spool_len[SPOOL_COPY_MEM] + b->ctx.spool_len[SPOOL_COPY_DISK]);
  if (b->o->client_gone && b->o->client_gone (b->o->progress_data))
    return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "build cancelled: the client went away during the upload");
  if (b->ctx.capture_seen > 1)
    {
      pthread_mutex_lock (&b->lock);
      bool used = b->df_text != NULL || b->df_taken;
      pthread_mutex_unlock (&b->lock);
      if (used)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "error processing tar file: the context holds %s more than once",
                                     dockerfile_name (b));
    }
  struct build_ignore *ig = NULL;
  if (load_ignore (b, &ig, err) < 0)
    return -1;
  int r = 0;
  pthread_mutex_lock (&b->lock);
  bool have_df = b->df_text != NULL || b->df_taken;
  pthread_mutex_unlock (&b->lock);
  if (!have_df)
    r = read_dockerfile (b, df_text, df_len, err);
  if (r == 0 && ig)
    {
      _cleanup_close_ int dfd = open (b->ctx_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      r = dfd < 0 ? berth_error_set (err, errno, "open %s", b->ctx_path) : context_apply_ignore (dfd, ig, err);
    }
  build_ignore_free (ig);
  return r;
}

struct receive_job
{
  struct builder *b;
  int fd;
};

static void *
receive_thread (void *arg)
{
  struct receive_job *job = arg;
  struct builder *b = job->b;
  struct berth_error *e = NULL;
  char *text = NULL;
  size_t len = 0;
  int r = receive_all (b, job->fd, &text, &len, &e);
  free (job);
  pthread_mutex_lock (&b->lock);
  b->recv_done = true;
  b->recv_err = r < 0 ? e : NULL;
  dockerfile_offer (b, r == 0 ? text : NULL, len);
  pthread_mutex_unlock (&b->lock);
  if (r < 0)
    free (text);
  return NULL;
}

int
builder_receive_start (struct builder *b, int context_fd, struct berth_error **err)
{
  const char *name = dockerfile_name (b);
  while (name[0] == '/' || (name[0] == '.' && name[1] == '/'))
    name += name[0] == '/' ? 1 : 2;
  b->ctx.capture_path = name;
  b->ctx.capture_fn = dockerfile_captured;
  b->ctx.capture_data = b;
  struct receive_job *job = malloc (sizeof *job);
  if (job == NULL)
    abort ();
  *job = (struct receive_job){ b, context_fd };
  int e = pthread_create (&b->receiver, NULL, receive_thread, job);
  if (e != 0)
    {
      free (job);
      return berth_error_set (err, e, "start the context receiver");
    }
  b->receiving = true;
  return 0;
}

/* Wait for cond (under b->lock), waking each second for a cancel. */
static void
wait_for (struct builder *b, bool (*cond) (struct builder *b))
{
  while (!cond (b) && !builder_cancelled (b))
    {
      struct timespec until;
      clock_gettime (CLOCK_REALTIME, &until);
      until.tv_sec += 1;
      pthread_cond_timedwait (&b->cond, &b->lock, &until);
    }
}

static int
error_copy (const struct berth_error *from, struct berth_error **err)
{
  berth_error_set_kind (err, from->kind, 0, "%s", from->msg);
  if (err && *err)
    (*err)->errnum = from->errnum;
  return -1;
}

static bool
dockerfile_known (struct builder *b)
{
  return b->df_text != NULL || b->recv_done;
}

static bool
received (struct builder *b)
{
  return b->recv_done;
}

int
builder_dockerfile_wait (struct builder *b, char **text, size_t *len, struct berth_error **err)
{
  pthread_mutex_lock (&b->lock);
  wait_for (b, dockerfile_known);
  int r = 0;
  if (b->df_text)
    {
      *text = b->df_text;
      *len = b->df_len;
      b->df_text = NULL;
      b->df_taken = true;
    }
  else if (b->recv_err)
    r = error_copy (b->recv_err, err);
  else
    r = berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "build cancelled");
  pthread_mutex_unlock (&b->lock);
  return r;
}

int
builder_context_wait (struct builder *b, struct berth_error **err)
{
  pthread_mutex_lock (&b->lock);
  wait_for (b, received);
  int r = 0;
  if (b->recv_err)
    r = error_copy (b->recv_err, err);
  else if (!b->recv_done)
    r = berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "build cancelled");
  pthread_mutex_unlock (&b->lock);
  return r;
}

void
builder_receive_join (struct builder *b)
{
  if (!b->receiving)
    return;
  pthread_join (b->receiver, NULL);
  b->receiving = false;
}
