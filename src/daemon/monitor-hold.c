/* berth-monitor-hold: the monitor after the container started (see
 * monitor-internal.h). Statically linked and tiny: it only serves. */
#include "daemon/monitor-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

/* "a,b,c,rest": up to n numbers separated by commas; *rest (optional) gets
 * what follows the last one. Returns how many were read. (No sscanf: the
 * scanf family would double this static program's size.) */
static int
parse_numbers (const char *s, long long *out, int n, const char **rest)
{
  int got = 0;
  while (got < n && s && *s)
    {
      char *end;
      errno = 0;
      long long v = strtoll (s, &end, 10);
      if (end == s || errno)
        break;
      out[got++] = v;
      s = end;
      if (*s == ',')
        s++;
      else
        break;
    }
  if (rest)
    *rest = s;
  return got;
}

static const char *
kv (int argc, char **argv, const char *key)
{
  size_t n = strlen (key);
  for (int i = 2; i < argc; i++)
    if (strncmp (argv[i], key, n) == 0 && argv[i][n] == '=')
      return argv[i] + n + 1;
  return NULL;
}

int
monitor_hold_main (int argc, char **argv)
{
  static struct monitor m; /* static: no large stack frame, zeroed */
  m.stdin_fd = m.listen_fd = m.sig_fd = m.sync_fd = m.container_dirfd = m.exe_fd = -1;
  m.exec_helper_fd = -1;
  m.out_fd[0] = m.out_fd[1] = m.out_fd[2] = -1;
  m.jf.fd = m.sl.fd = -1;
  for (int i = 0; i < MAX_CLIENTS; i++)
    m.clients[i].fd = -1;
  const char *id = kv (argc, argv, "id"), *sr = kv (argc, argv, "state_root"),
             *init = kv (argc, argv, "init");
  const char *flags = kv (argc, argv, "flags"), *fds = kv (argc, argv, "fds"),
             *mon = kv (argc, argv, "monitor");
  if (argc < 3 || !id || !sr || !init || !flags || strlen (flags) != 3 || !fds || !mon)
    {
      fprintf (stderr, "berth-monitor-hold: bad arguments (started by berth-monitor only)\n");
      return 2;
    }
  snprintf (m.id, sizeof m.id, "%s", id);
  snprintf (m.state_root, sizeof m.state_root, "%s", sr);
  snprintf (m.monitor_path, sizeof m.monitor_path, "%s", mon);
  m.init_pid = (pid_t)atoi (init);
  m.tty = flags[0] == '1';
  m.open_stdin = flags[1] == '1';
  m.stdin_once = flags[2] == '1';
  long long v[5];
  if (parse_numbers (fds, v, 5, NULL) != 5)
    return 2;
  m.stdin_fd = (int)v[0];
  m.out_fd[1] = (int)v[1];
  m.out_fd[2] = (int)v[2];
  m.listen_fd = (int)v[3];
  m.container_dirfd = (int)v[4];
  const char *exe = kv (argc, argv, "exe"), *helper = kv (argc, argv, "exec_helper");
  if (exe)
    m.exe_fd = atoi (exe);
  if (helper)
    m.exec_helper_fd = atoi (helper);
  const char *jf = kv (argc, argv, "jf"), *sl = kv (argc, argv, "sl");
  m.log_driver = LOG_NONE;
  if (jf)
    {
      long long n[4];
      const char *name = NULL;
      if (parse_numbers (jf, n, 4, &name) == 4 && name && *name)
        {
          m.log_driver = LOG_JSON_FILE;
          m.jf.fd = (int)n[0];
          m.jf.dirfd = m.container_dirfd;
          m.jf.max_size_bytes = n[1];
          m.jf.max_files = (int)n[2];
          m.jf.size_bytes = n[3];
          snprintf (m.jf.name, sizeof m.jf.name, "%s", name);
        }
    }
  else if (sl)
    {
      long long n[4];
      const char *tag = NULL;
      if (parse_numbers (sl, n, 4, &tag) == 4 && tag)
        {
          m.sl.utc_offset_s = (long)n[3];
          m.log_driver = LOG_SYSLOG;
          m.sl.fd = (int)n[0];
          m.sl.facility = (int)n[1];
          m.sl.stream_socket = n[2] != 0;
          snprintf (m.sl.tag, sizeof m.sl.tag, "%s", tag);
        }
    }
  int nc = 0;
  for (int i = 2; i < argc && nc < MAX_CLIENTS; i++)
    if (strncmp (argv[i], "client=", 7) == 0)
      {
        long long cw[2];
        if (parse_numbers (argv[i] + 7, cw, 2, NULL) == 2)
          {
            m.clients[nc].fd = (int)cw[0];
            m.clients[nc].want = (uint8_t)cw[1];
            nc++;
          }
      }
  /* everything we hold goes away on the final exec unless passed on */
  int keep[] = { m.stdin_fd, m.out_fd[1], m.out_fd[2], m.listen_fd,
                 m.jf.fd,    m.sl.fd,    m.exe_fd,   m.exec_helper_fd };
  for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
    if (keep[i] >= 0)
      fcntl (keep[i], F_SETFD, FD_CLOEXEC);
  for (int i = 0; i < nc; i++)
    fcntl (m.clients[i].fd, F_SETFD, FD_CLOEXEC);
  signal (SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  m.sig_fd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  /* the init may have exited during the exec: reap it now too */
  monitor_serve (&m);
  monitor_log_flush (&m);
  monitor_clients_close (&m);
  if (m.log_driver == LOG_JSON_FILE)
    logs_jsonfile_writer_close (&m.jf);
  else if (m.log_driver == LOG_SYSLOG)
    logs_syslog_close (&m.sl);
  /* the runtime's delete (cgroups) needs the full program */
  char code[16], init_s[16], cdir[16];
  snprintf (code, sizeof code, "code=%d", m.exit_code);
  snprintf (init_s, sizeof init_s, "init=%d", (int)m.init_pid);
  snprintf (cdir, sizeof cdir, "cdir=%d", m.container_dirfd);
  char idarg[128], srarg[4200];
  snprintf (idarg, sizeof idarg, "id=%s", m.id);
  snprintf (srarg, sizeof srarg, "state_root=%s", m.state_root);
  fcntl (m.container_dirfd, F_SETFD, 0);
  char *fargv[] = {
    (char *)"berth-monitor", (char *)"--finish", argv[1], idarg, srarg, init_s, code, cdir, NULL
  };
  execv (m.monitor_path, fargv);
  /* cannot finish properly: at least record the exit (berthd reads it) */
  char rec[160];
  int n = snprintf (rec, sizeof rec,
                    "{\"ExitCode\":%d,\"FinishedAt\":%llu,\"OOMKilled\":false,\"Pid\":%d}\n",
                    m.exit_code, (unsigned long long)time_now_ns (), (int)m.init_pid);
  int fd = openat (AT_FDCWD, ".exit.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0)
    {
      if (fs_write_all (fd, rec, (size_t)n) == 0)
        renameat (AT_FDCWD, ".exit.json.tmp", AT_FDCWD, MONITOR_EXIT_FILE);
      close (fd);
    }
  return 1;
}
