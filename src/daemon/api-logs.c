/* GET /containers/{id}/logs: the json-file history (since, until, tail,
 * timestamps, stdout/stderr) framed as docker frames it, and follow. Each
 * request reads on its own small thread into a pipe the server streams
 * from, so a 100 MB log or a long follow never blocks the loop or the
 * shared worker pool. */
#include "daemon/containers-internal.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>

#include "daemon/logs.h"

struct logs_job
{
  int dirfd;
  char name[128];
  int max_files;
  struct logs_read_options o;
  bool follow;
  int pidfd; /* the monitor, when following a running container */
  int out_fd;
};

static bool
monitor_alive (void *data)
{
  struct logs_job *j = data;
  if (j->pidfd < 0)
    return false;
  struct pollfd p = { .fd = j->pidfd, .events = POLLIN };
  return poll (&p, 1, 0) == 0;
}

static void *
logs_thread (void *arg)
{
  struct logs_job *j = arg;
  int64_t offset = 0;
  int rc = logs_jsonfile_read (j->dirfd, j->name, j->max_files, &j->o, j->out_fd, &offset);
  if (rc == 0 && j->follow && j->pidfd >= 0)
    {
      struct logs_read_options fo = j->o;
      fo.tail = -1;
      logs_jsonfile_follow (j->dirfd, j->name, &fo, j->out_fd, offset, monitor_alive, j);
    }
  close (j->out_fd);
  close (j->dirfd);
  if (j->pidfd >= 0)
    close (j->pidfd);
  free (j);
  return NULL;
}

/* docker's timestamps: unix seconds with an optional fraction, or RFC 3339 */
static int
parse_time_ns (const char *s, uint64_t *out)
{
  if (s == NULL || *s == '\0')
    {
      *out = 0;
      return 0;
    }
  char *end;
  double secs = strtod (s, &end);
  if (*end == '\0' && secs >= 0)
    {
      *out = (uint64_t)(secs * 1e9);
      return 0;
    }
  struct timespec ts;
  if (time_parse_rfc3339 (s, &ts) == 0)
    {
      *out = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
      return 0;
    }
  return -1;
}

void api_container_logs (struct api_request *req);

void
api_container_logs (struct api_request *req)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  _cleanup_error_ struct berth_error *err = NULL;
  struct container *c = containers_lookup (cs, api_request_param (req, "id"), &err);
  if (c == NULL)
    {
      api_respond_error (req, err);
      return;
    }
  struct logs_read_options o = {
    .want_stdout = api_request_query_bool (req, "stdout", false),
    .want_stderr = api_request_query_bool (req, "stderr", false),
    .timestamps = api_request_query_bool (req, "timestamps", false),
    .tty = json_is_true (json_object_get (c->config, "Tty")),
    .tail = -1,
  };
  if (!o.want_stdout && !o.want_stderr)
    {
      api_respond_errorf (req, 400, "Bad parameters: you must choose at least one stream");
      return;
    }
  const char *type
      = json_string_value (json_object_get (json_object_get (c->host_config, "LogConfig"), "Type"));
  if (type && strcmp (type, "json-file") != 0)
    {
      api_respond_errorf (req, 501, "configured logging driver does not support reading");
      return;
    }
  if (parse_time_ns (api_request_query (req, "since"), &o.since_ns) < 0
      || parse_time_ns (api_request_query (req, "until"), &o.until_ns) < 0)
    {
      api_respond_errorf (req, 400,
                          "invalid value for since or until: use a unix timestamp or RFC 3339");
      return;
    }
  const char *tail = api_request_query (req, "tail");
  if (tail && *tail && strcmp (tail, "all") != 0)
    {
      char *end;
      long n = strtol (tail, &end, 10);
      /* docker treats a bad tail as all */
      if (*end == '\0' && n >= 0)
        o.tail = n;
    }
  struct logs_job *j = calloc (1, sizeof *j);
  j->o = o;
  j->dirfd = dup (c->dirfd);
  j->pidfd = -1;
  snprintf (j->name, sizeof j->name, "%s-json.log", c->id);
  const char *mf = json_string_value (json_object_get (
      json_object_get (json_object_get (c->host_config, "LogConfig"), "Config"), "max-file"));
  j->max_files = mf ? atoi (mf) : 1;
  if (j->max_files < 1)
    j->max_files = 1;
  j->follow = api_request_query_bool (req, "follow", false);
  if (j->follow && (container_is_running (c) || container_rt (c)->starting)
      && c->state.monitor_pid > 0)
    j->pidfd = (int)syscall (SYS_pidfd_open, c->state.monitor_pid, 0);
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      close (j->dirfd);
      if (j->pidfd >= 0)
        close (j->pidfd);
      free (j);
      api_respond_errorf (req, 500, "pipe: %s", strerror (errno));
      return;
    }
  j->out_fd = p[1];
  /* the reader writes in 256 KiB blocks; a roomier pipe means fewer
   * wake-ups on both sides (best effort: pipe-max-size may forbid it) */
  fcntl (p[1], F_SETPIPE_SZ, 1 << 20);
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  /* small but safe: static TLS of the linked libraries comes out of it */
  pthread_attr_setstacksize (&attr, 1024 * 1024);
  pthread_t t;
  int rc_thread = pthread_create (&t, &attr, logs_thread, j);
  if (rc_thread != 0)
    {
      pthread_attr_destroy (&attr);
      close (p[0]);
      close (p[1]);
      close (j->dirfd);
      if (j->pidfd >= 0)
        close (j->pidfd);
      free (j);
      api_respond_errorf (req, 500, "cannot start a log reader: %s", strerror (rc_thread));
      return;
    }
  pthread_attr_destroy (&attr);
  /* dockerd 23+: the frames are named from API 1.42 on */
  api_respond_fd (req, 200,
                  !o.tty && api_request_version (req) >= 142
                      ? "application/vnd.docker.multiplexed-stream"
                      : "application/vnd.docker.raw-stream",
                  p[0]);
}
