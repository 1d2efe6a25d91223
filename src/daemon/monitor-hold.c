/* berth-monitor-hold: the monitor after the container started (see
 * monitor-internal.h). Statically linked and tiny: it only serves. */
#include "daemon/monitor-internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

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
  m.stdin_fd = m.listen_fd = m.sig_fd = m.sync_fd = m.container_dirfd = -1;
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
  if (sscanf (fds, "%d,%d,%d,%d,%d", &m.stdin_fd, &m.out_fd[1], &m.out_fd[2], &m.listen_fd,
              &m.container_dirfd)
      != 5)
    return 2;
  const char *jf = kv (argc, argv, "jf"), *sl = kv (argc, argv, "sl");
  m.log_driver = LOG_NONE;
  if (jf)
    {
      long long max, size;
      int n = 0;
      if (sscanf (jf, "%d,%lld,%d,%lld,%n", &m.jf.fd, &max, &m.jf.max_files, &size, &n) >= 4
          && n > 0)
        {
          m.log_driver = LOG_JSON_FILE;
          m.jf.dirfd = m.container_dirfd;
          m.jf.max_size_bytes = max;
          m.jf.size_bytes = size;
          snprintf (m.jf.name, sizeof m.jf.name, "%s", jf + n);
        }
    }
  else if (sl)
    {
      int stream = 0, n = 0;
      if (sscanf (sl, "%d,%d,%d,%n", &m.sl.fd, &m.sl.facility, &stream, &n) >= 3 && n > 0)
        {
          m.log_driver = LOG_SYSLOG;
          m.sl.stream_socket = stream;
          snprintf (m.sl.tag, sizeof m.sl.tag, "%s", sl + n);
        }
    }
  int nc = 0;
  for (int i = 2; i < argc && nc < MAX_CLIENTS; i++)
    if (strncmp (argv[i], "client=", 7) == 0)
      {
        int fd, want;
        if (sscanf (argv[i] + 7, "%d,%d", &fd, &want) == 2)
          {
            m.clients[nc].fd = fd;
            m.clients[nc].want = (uint8_t)want;
            nc++;
          }
      }
  /* everything we hold goes away on the final exec unless passed on */
  int keep[] = { m.stdin_fd, m.out_fd[1], m.out_fd[2], m.listen_fd, m.jf.fd, m.sl.fd };
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
  /* cannot finish properly: at least record the exit */
  monitor_write_exit_file (&m, false);
  return 1;
}
