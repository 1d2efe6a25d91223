/* The audit log: one JSON line per API request (who: peer uid/pid from
 * SO_PEERCRED; what: method, path, query; outcome: status, duration, the
 * policy's reason when denied), appended with O_APPEND so lines from a
 * crash are never interleaved or rewritten. Bodies and X-Registry-Auth are
 * never logged: they carry secrets. */
#include "daemon/daemon-internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct audit_log
{
  int fd;
};

int
audit_log_open (const char *path, struct audit_log **out, struct berth_error **err)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return berth_error_set (err, errno, "open audit log %s", path);
  struct audit_log *a = calloc (1, sizeof *a);
  if (a == NULL)
    abort ();
  a->fd = fd;
  *out = a;
  return 0;
}

void
audit_log_close (struct audit_log *a)
{
  if (a == NULL)
    return;
  close (a->fd);
  free (a);
}

json_t *
audit_entry_json (const struct audit_entry *e)
{
  struct timespec ts = { .tv_sec = (time_t) (e->time_ns / 1000000000ull),
                         .tv_nsec = (long) (e->time_ns % 1000000000ull) };
  _cleanup_free_ char *time = time_format_rfc3339nano (&ts);
  json_t *j = json_object ();
  json_object_set_new (j, "time", json_string (time));
  json_object_set_new (j, "uid", e->uid == (uid_t) -1 ? json_null () : json_integer (e->uid));
  json_object_set_new (j, "pid", e->pid < 0 ? json_null () : json_integer (e->pid));
  json_object_set_new (j, "method", json_string (e->method ? e->method : ""));
  json_object_set_new (j, "path", json_string (e->path ? e->path : ""));
  if (e->query)
    json_object_set_new (j, "query", json_string (e->query));
  json_object_set_new (j, "status", json_integer (e->status));
  json_object_set_new (j, "duration_us", json_integer ((json_int_t) e->duration_us));
  json_object_set_new (j, "decision", json_string (e->denied ? "deny" : "allow"));
  if (e->denied)
    json_object_set_new (j, "reason", json_string (e->denied));
  return j;
}

void
audit_log_write (struct audit_log *a, const struct audit_entry *e)
{
  if (a == NULL)
    return;
  _cleanup_json_ json_t *j = audit_entry_json (e);
  _cleanup_free_ char *line = json_dumps (j, JSON_COMPACT);
  if (line == NULL)
    return;
  size_t n = strlen (line);
  line[n] = '\n'; /* replaces the NUL: one write(2) per line keeps lines whole */
  if (fs_write_all (a->fd, line, n + 1) < 0)
    berth_log (BERTH_LOG_WARNING, "audit log write: %s", strerror (errno));
}
