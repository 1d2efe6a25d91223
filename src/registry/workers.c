/* Jobs on a few threads with the progress contract kept: events the jobs
 * emit are queued and delivered on the calling thread, one at a time; a
 * callback that asks to stop cancels every job; the first error wins. Used
 * by push to upload layers in parallel (docker pushes up to 5 at once). */
#include "registry/registry-internal.h"

#include <pthread.h>
#include <string.h>

struct event
{
  char *status, *id;
  bool has_detail;
  int64_t current, total;
  struct event *next;
};

struct workers
{
  pthread_mutex_t mu;
  pthread_cond_t cond;
  struct event *head, **tail;
  size_t next_job, n_jobs, running;
  bool is_canceled;
  struct berth_error *err;
  registry_job_fn fn;
  registry_thread_done_fn done;
  void *ctx;
  struct registry_options job_opts;
};

/* The jobs' progress callback: queue a copy for the calling thread. */
static int
queue_event (const struct registry_progress *ev, void *opaque)
{
  struct workers *w = opaque;
  struct event *e = calloc (1, sizeof *e);
  if (e == NULL)
    abort ();
  e->status = xstrdup (ev->status ? ev->status : "");
  e->id = ev->id ? xstrdup (ev->id) : NULL;
  e->has_detail = ev->has_detail;
  e->current = ev->current;
  e->total = ev->total;
  pthread_mutex_lock (&w->mu);
  bool canceled = w->is_canceled;
  *w->tail = e;
  w->tail = &e->next;
  pthread_cond_broadcast (&w->cond);
  pthread_mutex_unlock (&w->mu);
  return canceled ? 1 : 0;
}

static void *
worker_main (void *opaque)
{
  struct workers *w = opaque;
  void *thread_state = NULL;
  for (;;)
    {
      pthread_mutex_lock (&w->mu);
      if (w->is_canceled || w->next_job == w->n_jobs)
        {
          pthread_mutex_unlock (&w->mu);
          break;
        }
      size_t i = w->next_job++;
      pthread_mutex_unlock (&w->mu);
      struct berth_error *e = NULL;
      if (w->fn (i, &thread_state, &w->job_opts, w->ctx, &e) < 0)
        {
          pthread_mutex_lock (&w->mu);
          if (w->err == NULL)
            w->err = e;
          else
            berth_error_free (e);
          w->is_canceled = true;
          pthread_mutex_unlock (&w->mu);
        }
    }
  if (w->done)
    w->done (thread_state);
  pthread_mutex_lock (&w->mu);
  w->running--;
  pthread_cond_broadcast (&w->cond);
  pthread_mutex_unlock (&w->mu);
  return NULL;
}

int
registry_run_parallel (size_t n_jobs, unsigned max_threads, const struct registry_options *opts,
                       registry_job_fn fn, registry_thread_done_fn done, void *ctx,
                       struct berth_error **err)
{
  struct workers w = { .n_jobs = n_jobs, .fn = fn, .done = done, .ctx = ctx };
  pthread_mutex_init (&w.mu, NULL);
  pthread_cond_init (&w.cond, NULL);
  w.tail = &w.head;
  w.job_opts = opts ? *opts : (struct registry_options){ 0 };
  w.job_opts.progress = queue_event;
  w.job_opts.progress_opaque = &w;
  size_t n_threads = max_threads < n_jobs ? max_threads : n_jobs;
  _cleanup_free_ pthread_t *threads = calloc (n_threads ? n_threads : 1, sizeof *threads);
  if (threads == NULL)
    abort ();
  size_t started = 0;
  for (; started < n_threads; started++)
    {
      pthread_mutex_lock (&w.mu);
      w.running++;
      pthread_mutex_unlock (&w.mu);
      int r = pthread_create (&threads[started], NULL, worker_main, &w);
      if (r != 0)
        {
          pthread_mutex_lock (&w.mu);
          w.running--;
          if (started == 0)
            {
              w.is_canceled = true;
              berth_error_set (&w.err, r, "start upload thread");
            }
          pthread_mutex_unlock (&w.mu);
          break;
        }
    }
  /* Deliver events here until every thread is done and the queue empty. */
  pthread_mutex_lock (&w.mu);
  for (;;)
    {
      while (w.head == NULL && w.running > 0)
        pthread_cond_wait (&w.cond, &w.mu);
      if (w.head == NULL)
        break;
      struct event *e = w.head;
      w.head = e->next;
      if (w.head == NULL)
        w.tail = &w.head;
      bool canceled = w.is_canceled;
      pthread_mutex_unlock (&w.mu);
      if (!canceled && opts && opts->progress)
        {
          struct registry_progress ev = { .status = e->status,
                                          .id = e->id,
                                          .has_detail = e->has_detail,
                                          .current = e->current,
                                          .total = e->total };
          if (opts->progress (&ev, opts->progress_opaque) != 0)
            {
              pthread_mutex_lock (&w.mu);
              w.is_canceled = true;
              if (w.err == NULL)
                berth_error_set_kind (&w.err, BERTH_E_INTERNAL, ECANCELED, "canceled");
              pthread_mutex_unlock (&w.mu);
            }
        }
      free (e->status);
      free (e->id);
      free (e);
      pthread_mutex_lock (&w.mu);
    }
  pthread_mutex_unlock (&w.mu);
  for (size_t i = 0; i < started; i++)
    pthread_join (threads[i], NULL);
  pthread_mutex_destroy (&w.mu);
  pthread_cond_destroy (&w.cond);
  if (w.err)
    {
      registry_error_move (err, &w.err);
      return -1;
    }
  return 0;
}
