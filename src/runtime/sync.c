/* The parent ↔ container-child protocol: one SOCK_SEQPACKET message per
 * step ({type, value, text}), no fifos polled with sleeps. A child's error
 * travels as text so the parent reports it with the child's full context;
 * EOF (the child's end is O_CLOEXEC) means the child reached execve. */
#include "runtime/runtime-internal.h"

#include <string.h>
#include <sys/socket.h>

struct sync_msg
{
  int type;
  int value;
  int errnum;
  int kind;
  char text[3072];
};

int
sync_send (int fd, enum sync_type type, int value, const char *msg)
{
  struct sync_msg m = { .type = (int)type, .value = value };
  size_t len = offsetof (struct sync_msg, text);
  if (msg)
    {
      snprintf (m.text, sizeof m.text, "%s", msg);
      len += strlen (m.text) + 1;
    }
  ssize_t n;
  do
    n = send (fd, &m, len, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)len ? 0 : -1;
}

static int
sync_send_error (int fd, const struct berth_error *err)
{
  struct sync_msg m
      = { .type = SYNC_ERROR, .errnum = err ? err->errnum : 0, .kind = err ? (int)err->kind : 0 };
  snprintf (m.text, sizeof m.text, "%s", err && err->msg ? err->msg : "unknown error");
  size_t len = offsetof (struct sync_msg, text) + strlen (m.text) + 1;
  return send (fd, &m, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

int
sync_recv (int fd, enum sync_type *type, int *value, struct berth_error **err)
{
  struct sync_msg m;
  ssize_t n;
  do
    n = recv (fd, &m, sizeof m, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return berth_error_set (err, errno, "read from the container process");
  if (n == 0)
    {
      *type = 0;
      return 0;
    }
  if ((size_t)n < offsetof (struct sync_msg, text))
    return berth_error_set (err, EPROTO, "short message from the container process");
  m.text[sizeof m.text - 1] = '\0';
  if ((size_t)n == offsetof (struct sync_msg, text))
    m.text[0] = '\0';
  *type = (enum sync_type)m.type;
  if (value)
    *value = m.value;
  if (m.type == SYNC_ERROR)
    {
      /* The text already ends with ": strerror" when errnum was set. */
      berth_error_set_kind (err, (enum berth_error_kind)m.kind, 0, "%s", m.text);
      if (err && *err)
        (*err)->errnum = m.errnum;
      return -1;
    }
  return 0;
}

int
sync_expect (int fd, enum sync_type want, int *value, const char *step, struct berth_error **err)
{
  enum sync_type type;
  if (sync_recv (fd, &type, value, err) < 0)
    return -1;
  if (type == 0)
    return berth_error_set (err, EPIPE, "%s: the other side exited", step);
  if (type != want)
    return berth_error_set (err, EPROTO, "%s: unexpected message %d", step, (int)type);
  return 0;
}

int
sync_wait_exec (int fd, struct berth_error **err)
{
  enum sync_type t;
  if (sync_recv (fd, &t, NULL, err) < 0)
    return -1;
  if (t != SYNC_EXEC)
    return berth_error_set (err, ECHILD, "the container's init exited before starting its process");
  if (sync_recv (fd, &t, NULL, err) < 0)
    return -1;
  return 0;
}

void
sync_child_fail (int fd, struct berth_error *err)
{
  sync_send_error (fd, err);
  _exit (1);
}
