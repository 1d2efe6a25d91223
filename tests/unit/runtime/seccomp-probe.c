/* seccomp-probe: compiles an OCI linux.seccomp JSON with
 * src/runtime/seccomp.c, installs it in a child (after no_new_privs, as a
 * container with noNewPrivileges) and execs a command there. For the
 * integration tests (tests/integration/runtime/test_seccomp_*.py).
 *
 *   seccomp-probe compile PROFILE            (exit 0, or the error on stderr)
 *   seccomp-probe default [CAP...]            (print the default profile)
 *   seccomp-probe run PROFILE -- CMD...        (exit status / signal of CMD)
 *   seccomp-probe notify PROFILE ERRNO -- CMD... (answer each notified
 *        syscall with -ERRNO through the listener fd, print "notified NR")
 *
 * With SECCOMP_PROBE_CACHE=DIR the profile goes through the compiled-program
 * cache in DIR (seccomp_filter_compile_cached) and "seccomp-cache hit" or
 * "seccomp-cache miss" is printed on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/seccomp.h"

static int
fail (struct berth_error *err)
{
  fprintf (stderr, "seccomp-probe: %s\n", err ? err->msg : "failed");
  berth_error_free (err);
  return 1;
}

static void
send_fd (int sock, int fd)
{
  char data = 'f';
  struct iovec iov = { .iov_base = &data, .iov_len = 1 };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg
      = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &fd, sizeof fd);
  if (sendmsg (sock, &msg, 0) < 0)
    _exit (125);
}

static int
recv_fd (int sock)
{
  char data;
  struct iovec iov = { .iov_base = &data, .iov_len = 1 };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg
      = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  if (recvmsg (sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
    return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
  if (c == NULL || c->cmsg_type != SCM_RIGHTS)
    return -1;
  int fd;
  memcpy (&fd, CMSG_DATA (c), sizeof fd);
  return fd;
}

static int
child_exec (struct seccomp_filter *f, char **cmd, int sock)
{
  struct berth_error *err = NULL;
  int listener = -1;
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    _exit (124);
  if (seccomp_filter_install (f, &listener, &err) < 0)
    {
      fprintf (stderr, "seccomp-probe: %s\n", err->msg);
      _exit (123);
    }
  if (sock >= 0)
    {
      if (listener < 0)
        _exit (122);
      send_fd (sock, listener);
      close (listener);
      close (sock);
    }
  execvp (cmd[0], cmd);
  _exit (127);
}

static int
report (int status)
{
  if (WIFSIGNALED (status))
    {
      printf ("signal %d\n", WTERMSIG (status));
      return 0;
    }
  printf ("exit %d\n", WEXITSTATUS (status));
  return 0;
}

/* Answer notifications until the child exits. */
static void
supervise (int listener, int errno_ret)
{
  struct seccomp_notif req;
  struct seccomp_notif_resp resp;
  for (;;)
    {
      struct pollfd p = { .fd = listener, .events = POLLIN };
      if (poll (&p, 1, -1) < 0 && errno != EINTR)
        return;
      if (!(p.revents & POLLIN))
        return; /* POLLHUP: the last task using the filter is gone */
      memset (&req, 0, sizeof req);
      if (ioctl (listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
        return; /* ENOENT/EBADF once the filter is gone */
      printf ("notified %d\n", req.data.nr);
      fflush (stdout);
      memset (&resp, 0, sizeof resp);
      resp.id = req.id;
      resp.error = -errno_ret;
      ioctl (listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    }
}

int
main (int argc, char **argv)
{
  struct berth_error *err = NULL;
  berth_log_configure (2, false, BERTH_LOG_WARNING);
  if (argc >= 2 && strcmp (argv[1], "default") == 0)
    {
      json_t *p = seccomp_default_profile (argv + 2);
      json_dumpf (p, stdout, JSON_INDENT (1));
      putchar ('\n');
      json_decref (p);
      return 0;
    }
  if (argc < 3)
    {
      fprintf (stderr, "usage: seccomp-probe compile|run|notify PROFILE ...\n");
      return 2;
    }
  _cleanup_json_ json_t *profile = json_load_path (AT_FDCWD, argv[2], &err);
  if (profile == NULL)
    return fail (err);
  const char *cache = getenv ("SECCOMP_PROBE_CACHE");
  bool hit = false;
  struct seccomp_filter *f = cache ? seccomp_filter_compile_cached (profile, cache, &hit, &err)
                                   : seccomp_filter_compile (profile, &err);
  if (f == NULL)
    return fail (err);
  if (cache)
    fprintf (stderr, "seccomp-cache %s\n", hit ? "hit" : "miss");
  int rc = 0;
  if (strcmp (argv[1], "compile") == 0)
    printf ("ok listener=%d\n", seccomp_filter_wants_listener (f));
  else if (strcmp (argv[1], "run") == 0 && argc >= 5)
    {
      pid_t pid = fork ();
      if (pid == 0)
        child_exec (f, argv + 4, -1);
      int status = 0;
      waitpid (pid, &status, 0);
      rc = report (status);
    }
  else if (strcmp (argv[1], "notify") == 0 && argc >= 6)
    {
      int sv[2];
      socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
      pid_t pid = fork ();
      if (pid == 0)
        {
          close (sv[0]);
          child_exec (f, argv + 5, sv[1]);
        }
      close (sv[1]);
      int listener = recv_fd (sv[0]);
      close (sv[0]);
      if (listener < 0)
        printf ("no listener\n");
      else
        {
          printf ("listener ok\n");
          fflush (stdout);
          supervise (listener, atoi (argv[3]));
          close (listener);
        }
      int status = 0;
      waitpid (pid, &status, 0);
      rc = report (status);
    }
  else
    rc = 2;
  seccomp_filter_free (f);
  return rc;
}
