/* Stages in parallel: each stage of a multi-stage Dockerfile runs on a
 * thread of its own and waits only for the stages it uses (FROM an
 * earlier stage, COPY --from), so independent stages build concurrently.
 * The output keeps docker's sequential step format: the first unfinished
 * stage streams live, later ones hold theirs until every stage before them
 * finished. A failure stops the others (their containers killed, their
 * snapshots removed) and the first real error is the build's. */
#include "build/build-internal.h"

#include <pthread.h>
#include <string.h>

/* RUN output, copies and tar walks use 64-128 KiB buffers on the stack */
#define STAGE_STACK_BYTES (2 << 20)

static __thread struct build_stage *current_stage;

struct build_stage *
builder_current_stage (void)
{
  return current_stage;
}

bool
builder_cancelled (struct builder *b)
{
  return __atomic_load_n (&b->stop, __ATOMIC_RELAXED) != 0 || build_is_cancelled (b->o->cancelled);
}

void
builder_emit_json (struct builder *b, json_t *j)
{
  if (b->o->progress == NULL)
    {
      json_decref (j);
      return;
    }
  struct build_stage *st = current_stage;
  pthread_mutex_lock (&b->lock);
  if (st && st->index != b->head)
    {
      if (st->out == NULL)
        st->out = json_array ();
      json_array_append_new (st->out, j);
    }
  else
    b->o->progress (j, b->o->progress_data);
  pthread_mutex_unlock (&b->lock);
}

int
builder_progress (json_t *msg, void *data)
{
  struct builder *b = data;
  builder_emit_json (b, msg);
  return builder_cancelled (b);
}

void
builder_consume (struct builder *b, const char *name)
{
  pthread_mutex_lock (&b->lock);
  if (!strv_contains (b->consumed, name))
    strv_append (&b->consumed, name);
  pthread_mutex_unlock (&b->lock);
}

/* Under b->lock: the stage finished; the output of the stages after the
 * head that are waiting goes out in order. */
static void
stage_finish (struct builder *b, struct build_stage *st, int r, struct berth_error *err)
{
  pthread_mutex_lock (&b->lock);
  st->finished = true;
  st->done = r == 0;
  st->err = err;
  if (r < 0)
    {
      st->fail_seq = ++b->n_failed;
      __atomic_store_n (&b->stop, 1, __ATOMIC_RELAXED);
    }
  while (b->head < b->n_stages && b->stages[b->head].finished)
    {
      b->head++;
      if (b->head >= b->n_stages)
        break;
      struct build_stage *next = &b->stages[b->head];
      size_t i;
      json_t *m;
      /* a stage that only stopped because another failed: its held
       * steps are noise after the failure, as if it never started */
      bool echo = next->finished && next->fail_seq > 1;
      json_array_foreach (next->out, i, m)
        if (b->o->progress && !echo)
          b->o->progress (json_incref (m), b->o->progress_data);
      json_decref (next->out);
      next->out = NULL;
    }
  pthread_cond_broadcast (&b->cond);
  pthread_mutex_unlock (&b->lock);
}

int
builder_stage_wait (struct builder *b, struct build_stage *st, struct berth_error **err)
{
  pthread_mutex_lock (&b->lock);
  while (!st->finished && !builder_cancelled (b))
    {
      struct timespec until;
      clock_gettime (CLOCK_REALTIME, &until);
      until.tv_sec += 1; /* the API's cancel flag is not signalled */
      pthread_cond_timedwait (&b->cond, &b->lock, &until);
    }
  bool done = st->done;
  pthread_mutex_unlock (&b->lock);
  if (!done)
    return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "build cancelled");
  return 0;
}

struct stage_job
{
  struct builder *b;
  struct build_stage *st;
  builder_stage_fn fn;
};

static void *
stage_thread (void *arg)
{
  struct stage_job *job = arg;
  current_stage = job->st;
  struct berth_error *e = NULL;
  int r = job->fn (job->b, job->st, &e);
  current_stage = NULL;
  stage_finish (job->b, job->st, r, e);
  return NULL;
}

int
builder_run_stages (struct builder *b, builder_stage_fn fn, struct berth_error **err)
{
  size_t n = b->n_stages;
  _cleanup_free_ struct stage_job *jobs = calloc (n, sizeof *jobs);
  if (jobs == NULL)
    abort ();
  for (size_t s = 0; s < n; s++)
    {
      jobs[s] = (struct stage_job){ b, &b->stages[s], fn };
      struct build_stage *st = &b->stages[s];
      /* the last stage (often the only one) runs on the calling thread */
      if (s + 1 == n)
        break;
      pthread_attr_t attr;
      pthread_attr_init (&attr);
      pthread_attr_setstacksize (&attr, STAGE_STACK_BYTES);
      st->has_thread = pthread_create (&st->thread, &attr, stage_thread, &jobs[s]) == 0;
      pthread_attr_destroy (&attr);
      if (!st->has_thread)
        stage_thread (&jobs[s]); /* no thread: in order, here */
    }
  stage_thread (&jobs[n - 1]);
  for (size_t s = 0; s < n; s++)
    if (b->stages[s].has_thread)
      {
        pthread_join (b->stages[s].thread, NULL);
        b->stages[s].has_thread = false;
      }
  /* the build's error: the first failure's (the others are mostly the
   * cancellation it caused) */
  struct build_stage *failed = NULL;
  for (size_t s = 0; s < n; s++)
    if (b->stages[s].err && (failed == NULL || b->stages[s].fail_seq < failed->fail_seq))
      failed = &b->stages[s];
  if (failed == NULL)
    return 0;
  *err = failed->err;
  failed->err = NULL;
  return -1;
}
