/* berthd's event loop and worker pool (STYLE.md, "The daemon's shape"): one
 * loop thread owns all daemon state (API connections, monitor sockets,
 * timers), so that state needs no locks; blocking work (pull, load, unpack,
 * commit) runs on a small worker pool and reports back to the loop by
 * message. Internal to src/daemon. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "common/common.h"

struct loop;
struct loop_fd;
struct loop_timer;

/* ------------------------------------------------------------ the loop -- */

int loop_new (struct loop **out, struct berth_error **err);
void loop_free (struct loop *l);
/* Run until loop_stop (); returns 0, or -1 with *err when epoll fails. */
int loop_run (struct loop *l, struct berth_error **err);
/* Thread-safe: ask the loop to return from loop_run after this iteration. */
void loop_stop (struct loop *l);
/* True on the loop's own thread (the only thread that may touch state). */
bool loop_is_loop_thread (const struct loop *l);

/* Watch fd. `events` is EPOLLIN / EPOLLOUT / EPOLLRDHUP (level-triggered);
 * EPOLLHUP and EPOLLERR are always reported. The callback runs on the loop
 * thread with the events that fired. The loop never closes fd. */
typedef void (*loop_fd_fn) (struct loop_fd *w, int fd, uint32_t events, void *userdata);
struct loop_fd *loop_fd_add (struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *userdata,
                             struct berth_error **err);
int loop_fd_modify (struct loop_fd *w, uint32_t events, struct berth_error **err);
/* Stop watching and free w; safe inside w's own callback. */
void loop_fd_remove (struct loop_fd *w);

/* One-shot timer: fn runs on the loop thread after delay_ms. The timer is
 * freed after it fired; cancel it before that with loop_timer_cancel. */
typedef void (*loop_timer_fn) (void *userdata);
struct loop_timer *loop_timer_add (struct loop *l, uint64_t delay_ms, loop_timer_fn fn,
                                   void *userdata);
void loop_timer_cancel (struct loop_timer *t);

/* Thread-safe message to the loop: fn (arg) runs on the loop thread soon
 * (in posting order). This is how workers report back. */
typedef void (*loop_call_fn) (void *arg);
void loop_post (struct loop *l, loop_call_fn fn, void *arg);

/* Hook run before the loop sleeps: returns the longest it may sleep in ms
 * (-1: no limit). The API server uses it to drive libmicrohttpd. */
typedef int (*loop_prepare_fn) (void *userdata);
void loop_set_prepare (struct loop *l, loop_prepare_fn fn, void *userdata);

/* --------------------------------------------------------- worker pool -- */

/* A few threads (up to 4, 1 MiB stacks, started on first use) for work
 * that blocks. `work` runs on a worker thread and must not touch daemon
 * state; then `done` runs on the loop thread with the same arg (it may be
 * NULL). To report progress on the way, post messages with loop_post. */
typedef void (*loop_work_fn) (void *arg);
int loop_worker_submit (struct loop *l, loop_work_fn work, loop_call_fn done, void *arg,
                        struct berth_error **err);
