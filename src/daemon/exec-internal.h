/* daemon-private: exec instances (api-exec.c: the endpoints and the start;
 * exec-record.c: the record, the monitor calls, the watch of a running
 * exec and live restore). */
#pragma once

#include "daemon/containers-internal.h"

struct exec_start_ctx;

struct exec_instance
{
  char id[SHA256_HEX_LEN + 1];
  char container_id[SHA256_HEX_LEN + 1];
  json_t *config;
  bool running, started, exited, tty;
  int exit_code;
  pid_t pid;
  int watch_fd; /* a monitor connection whose EOF is the exit */
  struct loop_fd *w;
  struct relay *relay;
  struct exec_start_ctx *pending; /* a start waiting for the monitor */
  /* a resize that came before the process ran (dockerd waits for the
   * start): applied once it runs */
  unsigned resize_rows, resize_cols;
  struct containers *cs;
};

struct exec_instance *exec_find (struct containers *cs, const char *id);
void exec_event (struct exec_instance *e, const char *action, json_t *extra);
/* Stop watching the monitor connection of a running exec. */
void exec_unwatch (struct exec_instance *e);
/* <exec-dir>/execs of c (its monitor made it). */
int execs_dir_open (struct containers *cs, const struct container *c, struct berth_error **err);
/* Write execs/<exec-id>.json atomically, without fsync: the exec dir is
 * in the exec root (tmpfs on real hosts), whose processes die with the
 * machine anyway. */
int exec_record_save (int dfd, const char *exec_id, const json_t *rec, struct berth_error **err);
/* The exit code the monitor recorded, -1 when none (yet). */
int exec_read_exit (struct exec_instance *e, struct container *c);
/* The process is gone: record its code (255 without a record), exec_die. */
void exec_ended (struct exec_instance *e);
void exec_watch_ready (struct loop_fd *w, int fd, uint32_t events, void *data);
/* A request to c's monitor on a new connection: 'S' returns the
 * connection right after sending (the answer comes later), 'W' after the
 * answer line (into answer), 'R' returns 0. */
int monitor_exec_call (struct exec_instance *e, struct container *c, uint8_t op, uint8_t flags,
                       unsigned rows, unsigned cols, char *answer, size_t answer_len,
                       struct berth_error **err);
/* Wait for the end of a running exec (or record it, when it is over). */
void exec_watch (struct exec_instance *e, struct container *c);
/* api-exec.c: drop a start that waits for the monitor. */
void exec_start_cancel (struct exec_start_ctx *x);
