/* The exec helper: a child of a container's monitor that makes one exec
 * process through the runtime library and exits, so that the process is
 * the monitor's (its subreaper). Linked into berth-monitor (`--exec`) and,
 * statically, into berth-monitor-exec, which starts without the dynamic
 * loader's work (about 1.2 ms of CPU per exec). */
#include "daemon/monitor-internal.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "runtime/runtime.h"

void
monitor_vreport (int fd, const char *fmt, va_list ap)
{
  if (fd < 0)
    return;
  char buf[4096];
  int n = vsnprintf (buf, sizeof buf, fmt, ap);
  if (n > (int)sizeof buf - 1)
    n = sizeof buf - 1;
  send (fd, buf, (size_t)n, MSG_NOSIGNAL);
}

static void report (int fd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
report (int fd, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  monitor_vreport (fd, fmt, ap);
  va_end (ap);
}

int
monitor_exec_helper_run (const char *exec_dir, const char *exec_id)
{
  /* stdio on 0-2 (or the console socket on 3), the report on 4 */
  const int report_fd = 4;
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *cfg = NULL, *rec = NULL;
  if (chdir (exec_dir) < 0)
    {
      report (report_fd, "error exec helper: chdir %s: %s", exec_dir, strerror (errno));
      return 2;
    }
  /* our diagnostics must not land in the exec's stderr */
  int logfd = open ("monitor.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (logfd >= 0)
    berth_log_configure (logfd, false, BERTH_LOG_WARNING);
  _cleanup_free_ char *name = xasprintf (MONITOR_EXEC_DIR "/%s.json", exec_id);
  if ((cfg = json_load_path (AT_FDCWD, MONITOR_CONFIG_FILE, &err)) == NULL
      || (rec = json_load_path (AT_FDCWD, name, &err)) == NULL)
    {
      report (report_fd, "error %s", err->msg);
      return 1;
    }
  const char *id = json_string_value (json_object_get (cfg, "id"));
  const char *state_root = json_string_value (json_object_get (cfg, "state_root"));
  if (id == NULL || state_root == NULL)
    {
      report (report_fd, "error %s/%s: id and state_root are required", exec_dir,
                      MONITOR_CONFIG_FILE);
      return 1;
    }
  struct runtime_context rt = { .state_root = state_root };
  json_t *process = json_object_get (rec, "Process");
  bool tty = json_is_true (json_object_get (process, "terminal"));
  struct runtime_exec_options opts = {
    .id = id, .process = process, .console_socket_fd = tty ? 3 : -1, .stdio_fds = { -1, -1, -1 }
  };
  if (!tty)
    for (int i = 0; i < 3; i++)
      opts.stdio_fds[i] = i;
  pid_t pid = 0;
  if (runtime_container_exec (&rt, &opts, &pid, &err) < 0)
    {
      report (report_fd, "error %s", err->msg);
      return 1;
    }
  /* we exit now: the process becomes the monitor's (its subreaper) */
  report (report_fd, "pid %d", (int)pid);
  return 0;
}

int
monitor_exec_helper_main (int argc, char **argv)
{
  if (argc < 4)
    {
      report (4, "error berth-monitor --exec: bad arguments");
      return 2;
    }
  return monitor_exec_helper_run (argv[2], argv[3]);
}
