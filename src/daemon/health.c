/* Health checks as docker runs them: the Config.Healthcheck test (CMD or
 * CMD-SHELL) exec'd in the container every Interval, killed after Timeout,
 * Retries failures in a row make it unhealthy (failures during StartPeriod
 * do not count), the last 5 results kept, health_status events. */
#include "daemon/containers-internal.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define DEFAULT_INTERVAL_NS (30ull * 1000000000ull)
#define DEFAULT_TIMEOUT_NS (30ull * 1000000000ull)
#define DEFAULT_RETRIES 3
#define MAX_LOG_ENTRIES 5
#define MAX_OUTPUT_BYTES 4096

static uint64_t
duration_of (const json_t *hc, const char *field, uint64_t def)
{
  json_t *v = json_object_get (hc, field);
  return json_is_integer (v) && json_integer_value (v) > 0 ? (uint64_t)json_integer_value (v) : def;
}

static const json_t *
healthcheck (const struct container *c)
{
  json_t *h = json_object_get (c->config, "Healthcheck");
  json_t *test = json_object_get (h, "Test");
  if (!json_is_array (test) || json_array_size (test) < 2)
    return NULL;
  if (strcmp (json_string_value (json_array_get (test, 0)), "NONE") == 0)
    return NULL;
  return h;
}

static void probe_run (void *data);

static void
schedule (struct containers *cs, struct container *c)
{
  struct container_rt *rt = container_rt (c);
  const json_t *h = healthcheck (c);
  if (h == NULL || rt->health_timer)
    return;
  uint64_t interval = duration_of (h, "Interval", DEFAULT_INTERVAL_NS);
  rt->health_timer = loop_timer_add (cs->d->loop, interval / 1000000ull, probe_run, c);
}

static void
record_result (struct container *c, int exit_code, const char *output, uint64_t start_ns)
{
  struct container_rt *rt = container_rt (c);
  struct container_health *h = &c->state.health;
  const json_t *hc = healthcheck (c);
  if (h->log == NULL)
    h->log = json_array ();
  struct timespec s = { .tv_sec = (time_t)(start_ns / 1000000000ull),
                        .tv_nsec = (long)(start_ns % 1000000000ull) };
  uint64_t end_ns = time_now_ns ();
  struct timespec e
      = { .tv_sec = (time_t)(end_ns / 1000000000ull), .tv_nsec = (long)(end_ns % 1000000000ull) };
  _cleanup_free_ char *st = time_format_rfc3339nano (&s);
  _cleanup_free_ char *et = time_format_rfc3339nano (&e);
  json_array_append_new (h->log, json_pack ("{s:s,s:s,s:i,s:s}", "Start", st, "End", et, "ExitCode",
                                            exit_code, "Output", output ? output : ""));
  while (json_array_size (h->log) > MAX_LOG_ENTRIES)
    json_array_remove (h->log, 0);
  _cleanup_free_ char *old = xstrdup (h->status ? h->status : "starting");
  if (exit_code == 0)
    {
      h->failing_streak = 0;
      free (h->status);
      h->status = xstrdup ("healthy");
    }
  else
    {
      uint64_t start_period = duration_of (hc, "StartPeriod", 0);
      bool in_start_period = start_period && start_ns < c->state.started_ns + start_period;
      if (!(in_start_period && strcmp (old, "starting") == 0))
        {
          h->failing_streak++;
          int retries = (int)json_integer_value (json_object_get (hc, "Retries"));
          if (retries <= 0)
            retries = DEFAULT_RETRIES;
          if (h->failing_streak >= retries)
            {
              free (h->status);
              h->status = xstrdup ("unhealthy");
            }
        }
    }
  container_save (c, NULL);
  if (strcmp (old, h->status) != 0 || true)
    {
      _cleanup_free_ char *action = xasprintf ("health_status: %s", h->status);
      /* docker emits health_status on every change of status */
      if (strcmp (old, h->status) != 0)
        container_event (c, action, NULL);
    }
  (void)rt;
}

static void
probe_finish (struct container *c, int exit_code)
{
  struct container_rt *rt = container_rt (c);
  if (rt->health_watch)
    loop_fd_remove (rt->health_watch);
  rt->health_watch = NULL;
  if (rt->health_timeout)
    loop_timer_cancel (rt->health_timeout);
  rt->health_timeout = NULL;
  if (rt->health_pidfd >= 0)
    close (rt->health_pidfd);
  rt->health_pidfd = -1;
  /* read what the probe printed */
  char buf[MAX_OUTPUT_BYTES + 1];
  ssize_t n = rt->health_out_fd >= 0 ? read (rt->health_out_fd, buf, MAX_OUTPUT_BYTES) : 0;
  buf[n > 0 ? n : 0] = '\0';
  if (rt->health_out_fd >= 0)
    close (rt->health_out_fd);
  rt->health_out_fd = -1;
  rt->health_pid = 0;
  if (container_is_running (c))
    record_result (c, exit_code, buf, rt->health_started_ns);
  schedule (rt->cs, c);
}

static void
probe_exited (struct loop_fd *w, int fd, uint32_t events, void *data)
{
  struct container *c = data;
  siginfo_t si = { 0 };
  int code = 1;
  if (waitid (P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid != 0)
    code = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
  probe_finish (c, code);
}

static void
probe_timeout (void *data)
{
  struct container *c = data;
  struct container_rt *rt = container_rt (c);
  rt->health_timeout = NULL;
  if (rt->health_pid > 0)
    kill (rt->health_pid, SIGKILL);
  /* docker records a timed out probe as exit code -1 */
  if (rt->health_pidfd >= 0)
    {
      siginfo_t si;
      waitid (P_PIDFD, (id_t)rt->health_pidfd, &si, WEXITED);
    }
  probe_finish (c, -1);
}

static void
probe_run (void *data)
{
  struct container *c = data;
  struct container_rt *rt = container_rt (c);
  struct containers *cs = rt->cs;
  rt->health_timer = NULL;
  const json_t *h = healthcheck (c);
  if (h == NULL || c->state.status != CONTAINER_RUNNING)
    {
      schedule (cs, c);
      return;
    }
  json_t *test = json_object_get (h, "Test");
  json_t *args = json_array ();
  if (strcmp (json_string_value (json_array_get (test, 0)), "CMD-SHELL") == 0)
    {
      json_array_append_new (args, json_string ("/bin/sh"));
      json_array_append_new (args, json_string ("-c"));
      json_array_append (args, json_array_get (test, 1));
    }
  else
    for (size_t i = 1; i < json_array_size (test); i++)
      json_array_append (args, json_array_get (test, i));
  _cleanup_json_ json_t *process
      = json_pack ("{s:b,s:o,s:s}", "terminal", 0, "args", args, "cwd", "/");
  json_t *env = json_object_get (c->config, "Env");
  if (json_array_size (env))
    json_object_set (process, "env", env);
  int p[2];
  if (pipe2 (p, O_CLOEXEC | O_NONBLOCK) < 0)
    {
      schedule (cs, c);
      return;
    }
  _cleanup_close_ int null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  struct runtime_exec_options opts = {
    .id = c->id, .process = process, .console_socket_fd = -1, .stdio_fds = { null_fd, p[1], p[1] }
  };
  _cleanup_error_ struct berth_error *err = NULL;
  rt->health_started_ns = time_now_ns ();
  pid_t pid = 0;
  int rc = runtime_container_exec (&cs->rt, &opts, &pid, &err);
  close (p[1]);
  if (rc < 0)
    {
      close (p[0]);
      record_result (c, -1, err->msg, rt->health_started_ns);
      schedule (cs, c);
      return;
    }
  rt->health_pid = pid;
  rt->health_out_fd = p[0];
  rt->health_pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
  rt->health_watch = loop_fd_add (cs->d->loop, rt->health_pidfd, EPOLLIN, probe_exited, c, NULL);
  uint64_t timeout = duration_of (h, "Timeout", DEFAULT_TIMEOUT_NS);
  rt->health_timeout = loop_timer_add (cs->d->loop, timeout / 1000000ull, probe_timeout, c);
}

void
health_start (struct containers *cs, struct container *c)
{
  if (healthcheck (c) == NULL)
    return;
  if (c->state.health.status == NULL)
    c->state.health.status = xstrdup ("starting");
  schedule (cs, c);
}

void
health_stop (struct container *c)
{
  struct container_rt *rt = container_rt (c);
  if (rt == NULL)
    return;
  if (rt->health_timer)
    loop_timer_cancel (rt->health_timer);
  rt->health_timer = NULL;
  if (rt->health_timeout)
    loop_timer_cancel (rt->health_timeout);
  rt->health_timeout = NULL;
  if (rt->health_watch)
    loop_fd_remove (rt->health_watch);
  rt->health_watch = NULL;
  if (rt->health_pid > 0)
    {
      kill (rt->health_pid, SIGKILL);
      if (rt->health_pidfd >= 0)
        {
          siginfo_t si;
          waitid (P_PIDFD, (id_t)rt->health_pidfd, &si, WEXITED);
        }
    }
  rt->health_pid = 0;
  if (rt->health_pidfd >= 0)
    close (rt->health_pidfd);
  rt->health_pidfd = -1;
  if (rt->health_out_fd >= 0)
    close (rt->health_out_fd);
  rt->health_out_fd = -1;
}
