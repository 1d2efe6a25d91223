/* daemon-private: the monitor's state and its serving loop, shared by
 * berth-monitor (create and start through the runtime library) and
 * berth-monitor-hold, the small static program the monitor re-executes
 * into once the container runs: the same pid (the container's init stays
 * its child), a fraction of the memory. */
#pragma once

#include <stdarg.h>

#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>

#include "daemon/logs.h"
#include "daemon/monitor.h"
#include "runtime/runtime.h" /* struct runtime_context only: no link dependency */

#define MAX_CLIENTS 32
#define LINE_MAX_BYTES 16384 /* docker's json-file splits longer lines */

struct client
{
  int fd;
  uint8_t want;
};

/* An exec process the monitor owns (monitor-exec.c). */
#define MAX_EXECS 64
struct monitor_exec
{
  char id[MONITOR_EXEC_ID_LEN + 1];
  pid_t pid; /* 0: a free slot */
  bool tty, exited, client_eof;
  int exit_code;
  int in_fd;     /* stdin pipe's write end, or the pty master (tty) */
  int out_fd[3]; /* [1] stdout or the pty master, [2] stderr */
  int client_fd; /* berthd's stream (start), -1 once gone */
  int watch_fd;  /* a connection waiting for the end only */
};

struct stream_buf
{
  char data[LINE_MAX_BYTES];
  size_t len;
};

struct monitor
{
  char id[80];
  char state_root[4096];
  bool tty, open_stdin, stdin_once;
  int container_dirfd;
  /* logging */
  enum
  {
    LOG_JSON_FILE,
    LOG_SYSLOG,
    LOG_NONE
  } log_driver;
  struct logs_jsonfile_writer jf;
  struct logs_syslog sl;
  struct stream_buf line[3];
  /* stdio */
  int stdin_fd;  /* write end of the container's stdin (or pty master dup) */
  int out_fd[3]; /* [1] stdout / pty master, [2] stderr; -1 when closed */
  int listen_fd;
  int sig_fd;
  int sync_fd;
  struct client clients[MAX_CLIENTS];
  int n_execs; /* slots in use of execs (last: with none in use, its
                 pages are never touched) */
  pid_t init_pid;
  bool init_exited;
  int exit_code;
  struct runtime_context rt;
  char monitor_path[4096]; /* berth-monitor, for --finish */
  /* berth-monitor as this monitor runs it (an O_PATH fd of a protected
   * view, CVE-2019-5736): the exec helper starts from it without the
   * re-exec of runtime_exe_protect; -1 falls back to monitor_path */
  int exe_fd;
  /* berth-monitor-exec, the static exec helper (an O_PATH fd of a
   * protected view from berthd); -1: berth-monitor --exec from exe_fd */
  int exec_helper_fd;
  char hold_path[4096];    /* berth-monitor-hold */
  struct monitor_exec execs[MAX_EXECS];
};

/* The poll loop: output to logs and attach clients, attach requests, stdin,
 * reaping; returns once the init exited and its output is drained. */
void monitor_serve (struct monitor *m);
void monitor_log_flush (struct monitor *m);
void monitor_resize (struct monitor *m, unsigned rows, unsigned cols);
void monitor_clients_close (struct monitor *m);
void monitor_client_accept (struct monitor *m);
/* monitor-exec.c: an MONITOR_EXEC request on a new connection (its first
 * byte read); the exec fds for the poll loop (tags from -100 down) and
 * their events; a reaped pid (true when it was an exec); the end of the
 * loop: every exec left is killed, reaped and recorded. */
void monitor_exec_request (struct monitor *m, int fd);
nfds_t monitor_exec_pollfds (struct monitor *m, struct pollfd *p, int *map, nfds_t n);
void monitor_exec_event (struct monitor *m, int tag, short revents);
bool monitor_exec_reaped (struct monitor *m, pid_t pid, int status);
void monitor_exec_finish_all (struct monitor *m);
/* One message on a SOCK_SEQPACKET socket to berthd or the monitor (the
 * start handshake, the exec helper's report); fd < 0: nothing
 * (monitor-exec-helper.c). */
void monitor_vreport (int fd, const char *fmt, va_list ap) __attribute__ ((format (printf, 2, 0)));
/* Receive an fd sent with SCM_RIGHTS (the runtime's pty master). */
int monitor_recv_fd (int sock);

/* exit.json (ExitCode, FinishedAt, OOMKilled, Pid) into the container dir. */
void monitor_write_exit_file (struct monitor *m, bool oom_killed);
/* Hand the running container to berth-monitor-hold (does not return on
 * success). */
int monitor_exec_hold (struct monitor *m, const char *exec_dir);
/* berth-monitor-hold's main: rebuild the state from argv, serve, then
 * re-execute berth-monitor --finish (the runtime's delete needs it). */
int monitor_hold_main (int argc, char **argv);
/* berth-monitor --finish: OOM check, exit.json, runtime delete. */
int monitor_finish_main (int argc, char **argv);
