/* berthd's life: configuration, the data and exec roots, the pidfile, the
 * modules (found through the berthd_modules section), the API server, the
 * event loop, and a clean stop on SIGTERM/SIGINT. A SIGKILL at any point
 * leaves the data root consistent: every write there is atomic, and the
 * next start replaces the stale socket and pidfile. */
#include "daemon/daemon.h"
#include "daemon/api-internal.h"
#include "daemon/daemon-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

extern const struct berthd_module *const __start_berthd_modules[] __attribute__ ((weak));
extern const struct berthd_module *const __stop_berthd_modules[] __attribute__ ((weak));

static struct berthd *the_daemon;
static bool pidfile_written;

struct berthd *
berthd_get (void)
{
  return the_daemon;
}

/* Modules sorted by order (stable). */
static size_t
modules_sorted (const struct berthd_module ***out)
{
  size_t n = (size_t) (__stop_berthd_modules - __start_berthd_modules);
  const struct berthd_module **m = calloc (n + 1, sizeof *m);
  if (m == NULL)
    abort ();
  for (size_t i = 0; i < n; i++)
    m[i] = __start_berthd_modules[i];
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && m[j - 1]->order > m[j]->order; j--)
      {
        const struct berthd_module *t = m[j];
        m[j] = m[j - 1];
        m[j - 1] = t;
      }
  *out = m;
  return n;
}

/* docker's engine ID looks like "WQCB:LY5K:…" (12 groups of 4 base32
 * characters); it is created once and kept in <data-root>/engine-id. */
static int
engine_id_load (struct berthd *d, struct berth_error **err)
{
  _cleanup_free_ char *text = NULL;
  _cleanup_error_ struct berth_error *ignored = NULL;
  if (fs_read_file (d->data_root_fd, "engine-id", &text, NULL, &ignored) == 0)
    {
      text[strcspn (text, "\n")] = '\0';
      if (strlen (text) == 59)
        {
          snprintf (d->id, sizeof d->id, "%s", text);
          return 0;
        }
    }
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  char hex[SHA256_HEX_LEN + 1];
  random_id_hex (hex);
  size_t k = 0;
  for (size_t i = 0; i < 48; i++)
    {
      if (i > 0 && i % 4 == 0)
        d->id[k++] = ':';
      unsigned v = (unsigned) strtoul ((char[]){ hex[i], 0 }, NULL, 16);
      v = (v << 1) | (unsigned) (hex[48 + i % 16] & 1);
      d->id[k++] = alphabet[v % 32];
    }
  d->id[k] = '\0';
  return fs_write_file_atomic (d->data_root_fd, "engine-id", d->id, strlen (d->id), 0600, err);
}

static int
pidfile_write (const char *path, struct berth_error **err)
{
  if (path == NULL || *path == '\0')
    return 0;
  _cleanup_free_ char *old = NULL;
  _cleanup_error_ struct berth_error *ignored = NULL;
  if (fs_read_file (AT_FDCWD, path, &old, NULL, &ignored) == 0)
    {
      long pid = strtol (old, NULL, 10);
      if (pid > 0 && pid != getpid () && kill ((pid_t) pid, 0) == 0)
        {
          _cleanup_free_ char *comm_path = xasprintf ("/proc/%ld/comm", pid);
          _cleanup_free_ char *comm = NULL;
          if (fs_read_file (AT_FDCWD, comm_path, &comm, NULL, &ignored) == 0
              && str_has_prefix (comm, "berthd"))
            return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                         "pid file %s names a running berthd (pid %ld); stop it "
                                         "or remove the file",
                                         path, pid);
        }
    }
  _cleanup_free_ char *dir = xstrdup (path);
  char *slash = strrchr (dir, '/');
  if (slash && slash != dir)
    {
      *slash = '\0';
      if (fs_mkdir_p (dir, 0711, err) < 0)
        return berth_error_prefix (err, "pid file directory");
    }
  _cleanup_close_ int dfd = open (slash ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return berth_error_set (err, errno, "open %s", dir);
  _cleanup_free_ char *text = xasprintf ("%d\n", (int) getpid ());
  if (fs_write_file_atomic (dfd, slash ? slash + 1 : path, text, strlen (text), 0644, err) < 0)
    return berth_error_prefix (err, "pid file");
  pidfile_written = true;
  return 0;
}

static int
root_open (const char *path, const char *what, struct berth_error **err)
{
  if (fs_mkdir_p (path, 0711, err) < 0)
    {
      berth_error_prefix (err, "%s", what);
      return -1;
    }
  int fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    berth_error_set (err, errno, "%s: open %s", what, path);
  return fd;
}

static void
signal_cb (struct loop_fd *w, int fd, uint32_t events, void *userdata)
{
  struct berthd *d = userdata;
  (void) w;
  (void) events;
  struct signalfd_siginfo si;
  if (read (fd, &si, sizeof si) == (ssize_t) sizeof si)
    berth_log (BERTH_LOG_INFO, "received %s, shutting down", strsignal ((int) si.ssi_signo));
  loop_stop (d->loop);
}

static int
berthd_run (struct berthd *d, struct berth_error **err)
{
  struct berthd_config *c = &d->config;
  d->data_root_fd = root_open (c->data_root, "data root", err);
  if (d->data_root_fd < 0)
    return -1;
  d->exec_root_fd = root_open (c->exec_root, "exec root", err);
  if (d->exec_root_fd < 0)
    return -1;
  if (engine_id_load (d, err) < 0)
    return berth_error_prefix (err, "engine id");
  if (pidfile_write (c->pidfile, err) < 0)
    return -1;

  /* Signals arrive through the loop; block them before any thread starts
   * so that workers inherit the mask. */
  sigset_t mask;
  sigemptyset (&mask);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  _cleanup_close_ int sfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0)
    return berth_error_set (err, errno, "signalfd");
  signal (SIGPIPE, SIG_IGN);

  if (loop_new (&d->loop, err) < 0)
    return -1;
  struct loop_fd *signal_watch = loop_fd_add (d->loop, sfd, EPOLLIN, signal_cb, d, err);
  if (signal_watch == NULL)
    return -1;

  if (audit_log_open (c->audit_log, &d->audit, err) < 0)
    return -1;
  if (c->policy_path && policy_load (c->policy_path, &d->policy, err) < 0)
    return -1;

  const struct berthd_module **mods = NULL;
  size_t n_mods = modules_sorted (&mods);
  size_t n_started = 0;
  int r = 0;
  for (; n_started < n_mods; n_started++)
    if (mods[n_started]->init && mods[n_started]->init (d, err) < 0)
      {
        berth_error_prefix (err, "%s", mods[n_started]->name);
        r = -1;
        break;
      }

  struct api_router *router = api_router_new ();
  if (r == 0)
    for (size_t i = 0; i < n_mods; i++)
      if (mods[i]->register_routes)
        mods[i]->register_routes (d, router);

  if (r == 0 && api_server_new (d, router, &d->server, err) == 0
      && api_server_listen (d->server, err) == 0)
    {
      berth_log (BERTH_LOG_INFO, "berthd %s started (pid %d, data root %s)", BERTH_VERSION,
                 (int) getpid (), c->data_root);
      /* Clients poll for the socket; a log line tells scripts we serve. */
      r = loop_run (d->loop, err);
    }
  else
    r = -1;

  /* The server stops accepting and ends its requests (stream producers
   * hear of it while their modules still exist), then the modules shut
   * down (closing their hijacked connections), then the server stops. */
  api_server_quiesce (d->server);
  for (size_t i = n_started; i > 0; i--)
    if (mods[i - 1]->shutdown)
      mods[i - 1]->shutdown (d);
  api_server_free (d->server);
  d->server = NULL;
  api_router_free (router);
  free (mods);
  loop_fd_remove (signal_watch);
  return r;
}

int
berthd_main (int argc, char **argv)
{
  struct berthd d = { .data_root_fd = -1, .exec_root_fd = -1 };
  _cleanup_error_ struct berth_error *err = NULL;
  berth_log_configure (STDERR_FILENO, false, BERTH_LOG_INFO);
  int r = config_parse (&d.config, argc, argv, &err);
  if (r == 1)
    {
      config_free (&d.config);
      return 0;
    }
  if (r < 0)
    {
      fprintf (stderr, "berthd: %s\n", err->msg);
      config_free (&d.config);
      return 2;
    }
  berth_log_configure (STDERR_FILENO, false, d.config.log_level);
  d.started_ns = time_now_ns ();
  the_daemon = &d;

  r = berthd_run (&d, &err);
  if (r < 0)
    berth_log (BERTH_LOG_ERROR, "%s", err ? err->msg : "failed");

  if (pidfile_written)
    unlink (d.config.pidfile);
  loop_free (d.loop);
  audit_log_close (d.audit);
  policy_free (d.policy);
  if (d.data_root_fd >= 0)
    close (d.data_root_fd);
  if (d.exec_root_fd >= 0)
    close (d.exec_root_fd);
  the_daemon = NULL;
  config_free (&d.config);
  return r < 0 ? 1 : 0;
}

void
berthd_exe_dir_remember (void)
{
  if (getenv ("BERTHD_EXE_DIR") != NULL)
    return; /* the protected re-exec: already recorded */
  char exe[4096];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return;
  exe[n] = '\0';
  char *slash = strrchr (exe, '/');
  if (slash == NULL)
    return;
  *slash = '\0';
  setenv ("BERTHD_EXE_DIR", *exe ? exe : "/", 1);
}

char *
berthd_helper_path (const char *name)
{
  const char *dir = getenv ("BERTHD_EXE_DIR");
  if (dir == NULL)
    return NULL;
  _cleanup_free_ char *path = xasprintf ("%s/%s", dir, name);
  if (access (path, X_OK) != 0)
    return NULL;
  return steal_pointer (&path);
}
