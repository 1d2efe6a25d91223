/* berth cli: the interactive pump behind run/start -a/attach/exec: copies
 * stdin to a hijacked connection and the stream back to stdout/stderr
 * (demultiplexed without a tty), half-closes at stdin EOF, watches detach
 * keys, resizes on SIGWINCH and proxies signals to the container. */
#include "cli/cli-internal.h"
#include "cli/attach.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int signal_pipe[2] = { -1, -1 };

static void
on_signal (int sig)
{
  int saved = errno;
  unsigned char b = (unsigned char) sig;
  if (signal_pipe[1] >= 0)
    (void) !write (signal_pipe[1], &b, 1);
  errno = saved;
}

static const int proxied_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static void
signals_install (bool proxy, bool winch)
{
  if (signal_pipe[0] < 0 && pipe2 (signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
    return;
  struct sigaction sa = { .sa_handler = on_signal };
  sigemptyset (&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (proxy)
    for (size_t i = 0; i < sizeof proxied_signals / sizeof proxied_signals[0]; i++)
      sigaction (proxied_signals[i], &sa, NULL);
  if (winch)
    sigaction (SIGWINCH, &sa, NULL);
}

static void
signals_restore (void)
{
  struct sigaction sa = { .sa_handler = SIG_DFL };
  sigemptyset (&sa.sa_mask);
  for (size_t i = 0; i < sizeof proxied_signals / sizeof proxied_signals[0]; i++)
    sigaction (proxied_signals[i], &sa, NULL);
  sigaction (SIGWINCH, &sa, NULL);
}

struct resize_job
{
  struct cli_client *client; /* its own connection: the pump never waits on it */
  char *path;
  char *query;
};

static void *
resize_thread (void *arg)
{
  struct resize_job *job = arg;
  struct cli_request req = { .method = "POST", .path = job->path, .query = job->query };
  struct cli_response resp;
  _cleanup_error_ struct berth_error *err = NULL;
  cli_http (job->client, &req, &resp, &err);
  cli_response_clear (&resp);
  cli_client_free (job->client);
  free (job->path);
  free (job->query);
  free (job);
  return NULL;
}

/* Like the docker CLI (a goroutine), the resize runs beside the stream: a
 * daemon that answers it late must not hold up the terminal. */
int
attach_resize (struct cli_client *c, const char *resize_path)
{
  int h, w;
  if (cli_tty_size (STDOUT_FILENO, &h, &w) < 0 || h == 0 || w == 0)
    return 0;
  _cleanup_error_ struct berth_error *err = NULL;
  struct cli_client *own = cli_client_new (cli_client_endpoint (c), &err);
  if (own == NULL)
    return -1;
  struct resize_job *job = calloc (1, sizeof *job);
  job->client = own;
  job->path = xstrdup (resize_path);
  job->query = xasprintf ("h=%d&w=%d", h, w);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  /* signals belong to the pump's thread */
  sigset_t all, old;
  sigfillset (&all);
  pthread_sigmask (SIG_BLOCK, &all, &old);
  int rc = pthread_create (&t, &attr, resize_thread, job);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  pthread_attr_destroy (&attr);
  if (rc != 0)
    {
      resize_thread (job);
      return 0;
    }
  return 0;
}

static void
proxy_signal (struct cli_client *c, const char *container, int sig)
{
  const char *name = signal_name (sig);
  _cleanup_free_ char *path = xasprintf ("/containers/%s/kill", container);
  _cleanup_free_ char *q = name ? xasprintf ("signal=%s", name) : xasprintf ("signal=%d", sig);
  struct cli_request req = { .method = "POST", .path = path, .query = q };
  struct cli_response resp;
  _cleanup_error_ struct berth_error *err = NULL;
  cli_http (c, &req, &resp, &err);
  cli_response_clear (&resp);
}

int
attach_pump (struct attach_opts *o, bool *detached, struct berth_error **err)
{
  *detached = false;
  struct stdcopy sc = { .out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO };
  bool stdin_open = o->send_stdin;
  bool proxy = o->sig_proxy && !o->tty && o->container_id != NULL;
  bool winch = o->resize_path != NULL;
  signals_install (proxy, winch);
  struct cli_tty_state *raw = NULL;
  if (o->tty && o->send_stdin && isatty (STDIN_FILENO))
    raw = cli_tty_make_raw (STDIN_FILENO);
  if (winch)
    attach_resize (o->client, o->resize_path);
  int hfd = cli_hijack_fd (o->hj);
  char buf[32768];
  unsigned char fwd[32768 + 16];
  int rc = 0;
  uint64_t detach_deadline = 0;
  for (;;)
    {
      /* Data already buffered (after the response head, or in TLS) first. */
      bool output_done = false;
      for (;;)
        {
          ssize_t n = cli_hijack_read (o->hj, buf, sizeof buf);
          if (n == -2)
            break;
          if (n <= 0)
            {
              output_done = true;
              break;
            }
          if (o->tty)
            {
              if (fs_write_all (STDOUT_FILENO, buf, (size_t) n) < 0)
                {
                  output_done = true;
                  break;
                }
            }
          else if (stdcopy_feed (&sc, buf, (size_t) n) < 0)
            {
              rc = berth_error_set (err, 0, "unrecognized input header in the attach stream");
              output_done = true;
              break;
            }
        }
      if (output_done)
        break;
      struct pollfd pfds[3];
      int n_pfds = 0;
      pfds[n_pfds++] = (struct pollfd){ .fd = hfd, .events = POLLIN };
      int stdin_idx = -1, sig_idx = -1;
      if (stdin_open)
        {
          stdin_idx = n_pfds;
          pfds[n_pfds++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
        }
      if (signal_pipe[0] >= 0)
        {
          sig_idx = n_pfds;
          pfds[n_pfds++] = (struct pollfd){ .fd = signal_pipe[0], .events = POLLIN };
        }
      int timeout_ms = -1;
      if (detach_deadline)
        {
          uint64_t now = time_now_ns ();
          if (now >= detach_deadline)
            break;
          timeout_ms = (int) ((detach_deadline - now) / 1000000) + 1;
        }
      int pr = poll (pfds, (nfds_t) n_pfds, timeout_ms);
      if (pr < 0)
        {
          if (errno == EINTR)
            continue;
          rc = berth_error_set (err, errno, "poll");
          break;
        }
      if (sig_idx >= 0 && (pfds[sig_idx].revents & POLLIN))
        {
          unsigned char sigs[64];
          ssize_t ns = read (signal_pipe[0], sigs, sizeof sigs);
          for (ssize_t k = 0; k < ns; k++)
            {
              if (sigs[k] == SIGWINCH && winch)
                attach_resize (o->client, o->resize_path);
              else if (proxy)
                proxy_signal (o->client, o->container_id, sigs[k]);
            }
        }
      if (stdin_idx >= 0 && (pfds[stdin_idx].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          ssize_t n = read (STDIN_FILENO, buf, sizeof buf);
          if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (n <= 0)
            {
              /* stdin EOF: the container sees EOF too, output keeps coming */
              stdin_open = false;
              cli_hijack_close_write (o->hj);
              continue;
            }
          bool det = false;
          size_t out_n = (size_t) n;
          const unsigned char *out = (const unsigned char *) buf;
          if (o->tty && o->detach.n_keys > 0)
            {
              out_n = detach_matcher_feed (&o->detach, (const unsigned char *) buf, (size_t) n,
                                           fwd, &det);
              out = fwd;
            }
          if (out_n > 0 && cli_hijack_write_all (o->hj, out, out_n) < 0)
            {
              stdin_open = false;
              continue;
            }
          if (det)
            {
              /* The daemon watches for the same keys (docker's design) and
               * detaches properly when it sees them: it then keeps the
               * container's stdin open. Send them, and give it a moment to
               * end the stream. */
              *detached = true;
              stdin_open = false;
              cli_hijack_write_all (o->hj, o->detach.keys, o->detach.n_keys);
              detach_deadline = time_now_ns () + 1000000000ULL;
            }
        }
    }
  cli_tty_restore (raw);
  signals_restore ();
  return rc;
}
