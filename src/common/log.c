/* Logging for the edges: plain "level=… msg=…" lines or JSON lines
 * ({"level":"error","msg":"…","time":"…"}), the format containerd parses
 * from a runtime's --log file. Libraries report errors through berth_error;
 * they log only at debug level. */
#include "common/common.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int log_fd = STDERR_FILENO;
static bool log_json;
static enum berth_log_level log_level = BERTH_LOG_WARNING;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void
berth_log_configure (int fd, bool json, enum berth_log_level level)
{
  log_fd = fd;
  log_json = json;
  log_level = level;
}

int
berth_log_open_file (const char *path, bool json, enum berth_log_level level,
                     struct berth_error **err)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return berth_error_set (err, errno, "open log file `%s`", path);
  berth_log_configure (fd, json, level);
  return 0;
}

bool
berth_log_enabled (enum berth_log_level level)
{
  return level <= log_level;
}

int
berth_log_level_parse (const char *name, enum berth_log_level *level)
{
  for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
    if (strcmp (name, level_names[i]) == 0)
      {
        *level = (enum berth_log_level) i;
        return 0;
      }
  if (strcmp (name, "warn") == 0)
    {
      *level = BERTH_LOG_WARNING;
      return 0;
    }
  if (strcmp (name, "fatal") == 0 || strcmp (name, "panic") == 0)
    {
      *level = BERTH_LOG_ERROR;
      return 0;
    }
  return -1;
}

void
berth_log (enum berth_log_level level, const char *fmt, ...)
{
  if (!berth_log_enabled (level))
    return;

  int saved_errno = errno;
  _cleanup_free_ char *msg = NULL;
  va_list ap;
  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  if (msg == NULL)
    return;

  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  _cleanup_free_ char *when = time_format_rfc3339nano (&now);

  _cleanup_free_ char *line = NULL;
  if (log_json)
    {
      _cleanup_json_ json_t *j
          = json_pack ("{s:s, s:s, s:s}", "level", level_names[level], "msg", msg, "time", when);
      _cleanup_free_ char *text = j ? json_dumps (j, JSON_COMPACT) : NULL;
      line = xasprintf ("%s\n", text ? text : "{}");
    }
  else
    line = xasprintf ("time=\"%s\" level=%s msg=\"%s\"\n", when, level_names[level], msg);
  (void) fs_write_all (log_fd, line, strlen (line));
  errno = saved_errno;
}
