/* The container's terminal: runc's console-socket protocol. The pty is
 * created inside the container (from its own devpts, after pivot_root), the
 * master is sent to the caller's unix socket with SCM_RIGHTS, and the slave
 * becomes the process's stdio and controlling terminal. */
#include "runtime/runtime-internal.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

int
unix_send_fds (int sock, const void *data, size_t len, const int *fds, size_t n_fds)
{
  char control[CMSG_SPACE (sizeof (int) * 8)];
  if (n_fds > 8)
    return -1;
  memset (control, 0, sizeof control);
  char dummy = 0;
  struct iovec iov = { .iov_base = (void *)(len ? data : &dummy), .iov_len = len ? len : 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  if (n_fds)
    {
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE (sizeof (int) * n_fds);
      struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN (sizeof (int) * n_fds);
      memcpy (CMSG_DATA (c), fds, sizeof (int) * n_fds);
    }
  ssize_t r;
  do
    r = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -1 : 0;
}

int
terminal_connect_socket (const char *path, struct berth_error **err)
{
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berth_error_set (err, errno, "console socket `%s`: socket", path);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  _cleanup_close_ int dirfd = -1;
  if (strlen (path) >= sizeof addr.sun_path)
    {
      /* Too long for sun_path: reach it through its directory's fd. */
      _cleanup_free_ char *d = xstrdup (path), *b = xstrdup (path);
      dirfd = open (dirname (d), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dirfd < 0)
        return berth_error_set (err, errno, "console socket `%s`: open directory", path);
      snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, basename (b));
    }
  else
    strcpy (addr.sun_path, path);
  if (connect (fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    return berth_error_set (err, errno, "connect to console socket `%s`", path);
  return steal_fd (&fd);
}

int
terminal_setup (int socket_fd, unsigned short rows, unsigned short cols, struct berth_error **err)
{
  _cleanup_close_ int master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return berth_error_set (err, errno, "open /dev/ptmx in the container");
  if (unlockpt (master) < 0)
    return berth_error_set (err, errno, "unlockpt");
  /* TIOCGPTPEER opens the slave from the master: no path lookup. */
  _cleanup_close_ int slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return berth_error_set (err, errno, "open the pty slave (TIOCGPTPEER)");
  if (rows && cols)
    {
      struct winsize ws = { .ws_row = rows, .ws_col = cols };
      ioctl (slave, TIOCSWINSZ, &ws);
    }
  const char name[] = "/dev/ptmx";
  if (unix_send_fds (socket_fd, name, sizeof name - 1, &master, 1) < 0)
    return berth_error_set (err, errno, "send the pty master to the console socket");
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return berth_error_set (err, errno, "make the pty the controlling terminal");
  for (int i = 0; i < 3; i++)
    if (dup2 (slave, i) < 0)
      return berth_error_set (err, errno, "dup the pty onto fd %d", i);
  return 0;
}
