/* Running one function in a short-lived forked child: whatever it loads
 * (libnftables and its chain, libcrypto, NSS modules) and allocates dies
 * with the child, so a long-lived process such as berthd keeps its idle
 * footprint. The result and any error come back through a pipe. */
#include "common/common.h"

#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct child_header
{
  int rc;
  int errnum;
  int kind;
};

static _Noreturn void
child_main (int fd, int (*fn) (void *, void *, struct berth_error **), void *arg, void *out,
            size_t out_size)
{
  struct berth_error *e = NULL;
  int rc = fn (arg, out, &e);
  struct child_header h
      = { .rc = rc < 0 ? -1 : rc, .errnum = e ? e->errnum : 0, .kind = e ? (int)e->kind : 0 };
  if (rc < 0 && e == NULL)
    berth_error_set (&e, 0, "failed");
  if (fs_write_all (fd, &h, sizeof h) < 0 || (out_size && fs_write_all (fd, out, out_size) < 0)
      || (rc < 0 && fs_write_all (fd, e->msg, strlen (e->msg)) < 0))
    _exit (1);
  _exit (0);
}

int
run_in_child (int (*fn) (void *arg, void *out, struct berth_error **err), void *arg, void *out,
              size_t out_size, struct berth_error **err)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return berth_error_set (err, errno, "pipe");
  pid_t pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (p[0]);
      close (p[1]);
      return berth_error_set (err, e, "fork");
    }
  if (pid == 0)
    {
      close (p[0]);
      child_main (p[1], fn, arg, out, out_size);
    }
  close (p[1]);
  _cleanup_close_ int rfd = p[0];

  struct child_header h;
  ssize_t n = fs_read_all (rfd, &h, sizeof h);
  bool complete = n == (ssize_t)sizeof h
                  && (out_size == 0 || fs_read_all (rfd, out, out_size) == (ssize_t)out_size);
  char msg[4096] = "";
  if (complete && h.rc < 0)
    {
      ssize_t m = fs_read_all (rfd, msg, sizeof msg - 1);
      msg[m > 0 ? m : 0] = '\0';
    }
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return berth_error_set (err, errno, "wait for child %d", (int)pid);
  if (!complete || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      if (WIFSIGNALED (status))
        return berth_error_set (err, 0, "child %d killed by %s", (int)pid,
                                strsignal (WTERMSIG (status)));
      return berth_error_set (err, 0, "child %d exited with status %d", (int)pid,
                              WIFEXITED (status) ? WEXITSTATUS (status) : -1);
    }
  if (h.rc < 0)
    {
      /* the child's message already carries its errno text */
      berth_error_set_kind (err, (enum berth_error_kind)h.kind, 0, "%s", msg);
      if (err && *err)
        (*err)->errnum = h.errnum;
      return -1;
    }
  return h.rc;
}
