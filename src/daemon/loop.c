/* The event loop (epoll, one-shot timers, cross-thread messages through an
 * eventfd) and the worker pool that runs blocking work off the loop thread.
 * Modelled on redis's ae: the loop thread owns all state; workers only
 * compute and post their results back. */
#include "daemon/loop.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Enough for a couple of pulls and loads side by side; threads start only
 * when no worker is idle, so an idle daemon has none. */
#define WORKERS_MAX 4
#define WORKER_STACK_BYTES (1024 * 1024)
/* Quiet this long after activity: hand freed heap back (see trim_when_idle). */
#define TRIM_IDLE_MS 5000

struct loop_fd
{
  struct loop *loop;
  int fd;
  loop_fd_fn fn;
  void *userdata;
  bool removed;
  struct loop_fd *next_dead;
};

struct loop_timer
{
  struct loop *loop;
  uint64_t deadline_ns;
  loop_timer_fn fn;
  void *userdata;
  struct loop_timer *next;
};

struct loop_msg
{
  loop_call_fn fn;
  void *arg;
  struct loop_msg *next;
};

struct loop_job
{
  loop_work_fn work;
  loop_call_fn done;
  void *arg;
  struct loop_job *next;
};

struct loop
{
  int epfd;
  int wakefd; /* eventfd: loop_post and loop_stop wake the loop */
  pthread_t thread;
  bool has_thread;
  volatile bool stopping;
  struct loop_timer *timers; /* sorted by deadline */
  struct loop_fd *dead;      /* removed watchers, freed after the iteration */
  loop_prepare_fn prepare;
  void *prepare_data;
  uint64_t last_active_ns;
  struct loop_timer *trim; /* armed while activity is recent */

  pthread_mutex_t lock; /* protects msgs, jobs and the worker counts */
  struct loop_msg *msgs, **msgs_tail;
  struct loop_job *jobs, **jobs_tail;
  pthread_cond_t jobs_cond;
  unsigned n_workers, n_idle;
  bool workers_exit;
  pthread_t workers[WORKERS_MAX];
};

static uint64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static void
wake (struct loop *l)
{
  uint64_t one = 1;
  ssize_t r = write (l->wakefd, &one, sizeof one);
  (void) r; /* EAGAIN: the counter is already non-zero, the loop wakes anyway */
}

int
loop_new (struct loop **out, struct berth_error **err)
{
  struct loop *l = calloc (1, sizeof *l);
  if (l == NULL)
    return berth_error_set (err, ENOMEM, "allocate event loop");
  l->epfd = epoll_create1 (EPOLL_CLOEXEC);
  l->wakefd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (l->epfd < 0 || l->wakefd < 0)
    {
      int e = errno;
      loop_free (l);
      return berth_error_set (err, e, "create event loop");
    }
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  if (epoll_ctl (l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0)
    {
      int e = errno;
      loop_free (l);
      return berth_error_set (err, e, "watch loop eventfd");
    }
  pthread_mutex_init (&l->lock, NULL);
  pthread_cond_init (&l->jobs_cond, NULL);
  l->msgs_tail = &l->msgs;
  l->jobs_tail = &l->jobs;
  *out = l;
  return 0;
}

static void
free_dead (struct loop *l)
{
  while (l->dead)
    {
      struct loop_fd *w = l->dead;
      l->dead = w->next_dead;
      free (w);
    }
}

void
loop_free (struct loop *l)
{
  if (l == NULL)
    return;
  if (l->n_workers > 0)
    {
      pthread_mutex_lock (&l->lock);
      l->workers_exit = true;
      pthread_cond_broadcast (&l->jobs_cond);
      pthread_mutex_unlock (&l->lock);
      for (unsigned i = 0; i < l->n_workers; i++)
        pthread_join (l->workers[i], NULL);
    }
  while (l->timers)
    {
      struct loop_timer *t = l->timers;
      l->timers = t->next;
      free (t);
    }
  while (l->msgs)
    {
      struct loop_msg *m = l->msgs;
      l->msgs = m->next;
      free (m);
    }
  while (l->jobs)
    {
      struct loop_job *j = l->jobs;
      l->jobs = j->next;
      free (j);
    }
  free_dead (l);
  if (l->epfd >= 0)
    close (l->epfd);
  if (l->wakefd >= 0)
    close (l->wakefd);
  free (l);
}

void
loop_stop (struct loop *l)
{
  l->stopping = true;
  wake (l);
}

bool
loop_is_loop_thread (const struct loop *l)
{
  return !l->has_thread || pthread_equal (l->thread, pthread_self ());
}

/* ------------------------------------------------------------- watchers -- */

struct loop_fd *
loop_fd_add (struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *userdata,
             struct berth_error **err)
{
  struct loop_fd *w = calloc (1, sizeof *w);
  if (w == NULL)
    {
      berth_error_set (err, ENOMEM, "allocate fd watcher");
      return NULL;
    }
  w->loop = l;
  w->fd = fd;
  w->fn = fn;
  w->userdata = userdata;
  struct epoll_event ev = { .events = events, .data.ptr = w };
  if (epoll_ctl (l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
    {
      berth_error_set (err, errno, "epoll add fd %d", fd);
      free (w);
      return NULL;
    }
  return w;
}

int
loop_fd_modify (struct loop_fd *w, uint32_t events, struct berth_error **err)
{
  struct epoll_event ev = { .events = events, .data.ptr = w };
  if (epoll_ctl (w->loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
    return berth_error_set (err, errno, "epoll modify fd %d", w->fd);
  return 0;
}

void
loop_fd_remove (struct loop_fd *w)
{
  if (w == NULL || w->removed)
    return;
  /* The fd may already be closed by its owner: then the kernel dropped it
   * from the set and EBADF/ENOENT are expected. */
  epoll_ctl (w->loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
  w->removed = true;
  /* Free after the iteration: events for w may still be in this batch. */
  w->next_dead = w->loop->dead;
  w->loop->dead = w;
}

/* --------------------------------------------------------------- timers -- */

struct loop_timer *
loop_timer_add (struct loop *l, uint64_t delay_ms, loop_timer_fn fn, void *userdata)
{
  struct loop_timer *t = calloc (1, sizeof *t);
  if (t == NULL)
    abort ();
  t->loop = l;
  t->deadline_ns = now_ns () + delay_ms * 1000000ull;
  t->fn = fn;
  t->userdata = userdata;
  struct loop_timer **p = &l->timers;
  while (*p && (*p)->deadline_ns <= t->deadline_ns)
    p = &(*p)->next;
  t->next = *p;
  *p = t;
  return t;
}

void
loop_timer_cancel (struct loop_timer *t)
{
  if (t == NULL)
    return;
  for (struct loop_timer **p = &t->loop->timers; *p; p = &(*p)->next)
    if (*p == t)
      {
        *p = t->next;
        free (t);
        return;
      }
}

static void
run_timers (struct loop *l)
{
  uint64_t now = now_ns ();
  while (l->timers && l->timers->deadline_ns <= now)
    {
      struct loop_timer *t = l->timers;
      l->timers = t->next;
      loop_timer_fn fn = t->fn;
      void *ud = t->userdata;
      free (t);
      fn (ud);
    }
}

/* glibc keeps what a burst freed (the heap's top above a live chunk, the
 * workers' arenas): ~1.4 MiB of berthd's RSS after 30 `run --rm`. Once the
 * loop has been quiet for TRIM_IDLE_MS, malloc_trim returns it. An idle
 * loop arms nothing, so it is never woken for this. */
static void
trim_when_idle (void *userdata)
{
  struct loop *l = userdata;
  uint64_t quiet_ms = (now_ns () - l->last_active_ns) / 1000000;
  if (quiet_ms < TRIM_IDLE_MS)
    {
      l->trim = loop_timer_add (l, TRIM_IDLE_MS - quiet_ms, trim_when_idle, l);
      return;
    }
  l->trim = NULL;
  malloc_trim (0);
}

static void
note_activity (struct loop *l)
{
  l->last_active_ns = now_ns ();
  if (l->trim == NULL)
    l->trim = loop_timer_add (l, TRIM_IDLE_MS, trim_when_idle, l);
}

/* ------------------------------------------------------------- messages -- */

void
loop_post (struct loop *l, loop_call_fn fn, void *arg)
{
  struct loop_msg *m = calloc (1, sizeof *m);
  if (m == NULL)
    abort ();
  m->fn = fn;
  m->arg = arg;
  pthread_mutex_lock (&l->lock);
  *l->msgs_tail = m;
  l->msgs_tail = &m->next;
  pthread_mutex_unlock (&l->lock);
  wake (l);
}

static void
run_messages (struct loop *l)
{
  uint64_t n;
  while (read (l->wakefd, &n, sizeof n) > 0)
    ;
  pthread_mutex_lock (&l->lock);
  struct loop_msg *list = l->msgs;
  l->msgs = NULL;
  l->msgs_tail = &l->msgs;
  pthread_mutex_unlock (&l->lock);
  while (list)
    {
      struct loop_msg *m = list;
      list = m->next;
      m->fn (m->arg);
      free (m);
    }
}

void
loop_set_prepare (struct loop *l, loop_prepare_fn fn, void *userdata)
{
  l->prepare = fn;
  l->prepare_data = userdata;
}

/* ---------------------------------------------------------------- loop -- */

int
loop_run (struct loop *l, struct berth_error **err)
{
  l->thread = pthread_self ();
  l->has_thread = true;
  struct epoll_event events[64];
  while (!l->stopping)
    {
      int timeout_ms = -1;
      if (l->prepare)
        timeout_ms = l->prepare (l->prepare_data);
      if (l->timers)
        {
          uint64_t now = now_ns ();
          uint64_t d = l->timers->deadline_ns;
          int t = d <= now ? 0 : (int) ((d - now + 999999) / 1000000);
          if (timeout_ms < 0 || t < timeout_ms)
            timeout_ms = t;
        }
      int n = epoll_wait (l->epfd, events, 64, timeout_ms);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return berth_error_set (err, errno, "epoll_wait");
        }
      for (int i = 0; i < n; i++)
        {
          struct loop_fd *w = events[i].data.ptr;
          if (w == NULL)
            {
              run_messages (l);
              continue;
            }
          if (!w->removed)
            w->fn (w, w->fd, events[i].events, w->userdata);
        }
      if (n > 0)
        note_activity (l);
      run_timers (l);
      free_dead (l);
    }
  l->stopping = false;
  return 0;
}

/* --------------------------------------------------------- worker pool -- */

struct done_msg
{
  loop_call_fn done;
  void *arg;
};

static void *
worker_main (void *data)
{
  struct loop *l = data;
  pthread_mutex_lock (&l->lock);
  for (;;)
    {
      while (l->jobs == NULL && !l->workers_exit)
        {
          l->n_idle++;
          pthread_cond_wait (&l->jobs_cond, &l->lock);
          l->n_idle--;
        }
      if (l->jobs == NULL)
        break;
      struct loop_job *j = l->jobs;
      l->jobs = j->next;
      if (l->jobs == NULL)
        l->jobs_tail = &l->jobs;
      pthread_mutex_unlock (&l->lock);
      j->work (j->arg);
      if (j->done)
        loop_post (l, j->done, j->arg);
      free (j);
      pthread_mutex_lock (&l->lock);
    }
  pthread_mutex_unlock (&l->lock);
  return NULL;
}

int
loop_worker_submit (struct loop *l, loop_work_fn work, loop_call_fn done, void *arg,
                    struct berth_error **err)
{
  struct loop_job *j = calloc (1, sizeof *j);
  if (j == NULL)
    return berth_error_set (err, ENOMEM, "allocate job");
  j->work = work;
  j->done = done;
  j->arg = arg;
  pthread_mutex_lock (&l->lock);
  *l->jobs_tail = j;
  l->jobs_tail = &j->next;
  /* Start threads lazily: an idle daemon has none (RSS goal). */
  if (l->n_idle == 0 && l->n_workers < WORKERS_MAX)
    {
      pthread_attr_t attr;
      pthread_attr_init (&attr);
      pthread_attr_setstacksize (&attr, WORKER_STACK_BYTES);
      int r = pthread_create (&l->workers[l->n_workers], &attr, worker_main, l);
      pthread_attr_destroy (&attr);
      if (r == 0)
        l->n_workers++;
      else if (l->n_workers == 0)
        {
          /* No thread at all: the job would never run. */
          l->jobs = NULL;
          l->jobs_tail = &l->jobs;
          pthread_mutex_unlock (&l->lock);
          free (j);
          return berth_error_set (err, r, "start worker thread");
        }
    }
  pthread_cond_signal (&l->jobs_cond);
  pthread_mutex_unlock (&l->lock);
  return 0;
}
