/* The daemon's services a build asks for from its own thread, done on
 * the loop thread that owns the connection, the network manager and the
 * containers: is the client gone, an endpoint for a RUN's network
 * namespace (and back), a kept intermediate container. */
#include "daemon/api-build-internal.h"
#include "daemon/container-network.h"
#include "daemon/containers-internal.h"
#include "image/image.h"
#include "network/network.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

/* Work the build thread needs done on the loop (the owner of the
 * connection and of the network manager): posted, then waited for. A loop
 * that stopped (berthd shutting down) never answers: once the build is
 * cancelled the caller gives up after a grace period, and a late answer
 * finds `job` cleared and does nothing. */
struct loop_call
{
  struct build_job *job;
  void (*fn) (struct loop_call *c); /* on the loop, under lock */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool answered;
  int refs; /* the build thread and the loop: the last one frees */
  /* in */
  const char *network, *id, *netns_path, *snapshot_id;
  json_t *body;
  int exit_code;
  /* out */
  bool gone;
  char *resolv_conf, *hosts;
  struct berth_error *err;
};

static void
call_unref (struct loop_call *c)
{
  pthread_mutex_lock (&c->lock);
  bool last = --c->refs == 0;
  pthread_mutex_unlock (&c->lock);
  if (last)
    {
      pthread_mutex_destroy (&c->lock);
      pthread_cond_destroy (&c->cond);
      free (c->resolv_conf);
      free (c->hosts);
      berth_error_free (c->err);
      free (c);
    }
}

static void
call_on_loop (void *arg)
{
  struct loop_call *c = arg;
  pthread_mutex_lock (&c->lock);
  if (c->job)
    c->fn (c);
  c->answered = true;
  pthread_cond_signal (&c->cond);
  pthread_mutex_unlock (&c->lock);
  call_unref (c);
}

static struct loop_call *
call_new (struct build_job *j, void (*fn) (struct loop_call *c))
{
  struct loop_call *c = calloc (1, sizeof *c);
  if (c == NULL)
    abort ();
  c->job = j;
  c->fn = fn;
  c->refs = 2;
  pthread_mutex_init (&c->lock, NULL);
  pthread_cond_init (&c->cond, NULL);
  return c;
}

/* Post c and wait; false when the loop did not answer (c->job cleared). */
static bool
call_wait (struct loop_call *c)
{
  struct build_job *j = c->job;
  loop_post (j->d->loop, call_on_loop, c);
  unsigned cancelled_waits = 0;
  pthread_mutex_lock (&c->lock);
  while (!c->answered)
    {
      struct timespec until;
      clock_gettime (CLOCK_REALTIME, &until);
      until.tv_nsec += 200 * 1000000L;
      if (until.tv_nsec >= 1000000000L)
        {
          until.tv_sec++;
          until.tv_nsec -= 1000000000L;
        }
      if (pthread_cond_timedwait (&c->cond, &c->lock, &until) != 0
          && __atomic_load_n (&j->cancelled, __ATOMIC_RELAXED) && ++cancelled_waits >= 10)
        break;
    }
  bool answered = c->answered;
  if (!answered)
    c->job = NULL;
  pthread_mutex_unlock (&c->lock);
  return answered;
}

static void
gone_on_loop (struct loop_call *c)
{
  c->gone = api_request_client_gone (c->job->req);
}

bool
build_hook_client_gone (void *data)
{
  struct build_job *j = data;
  struct loop_call *c = call_new (j, gone_on_loop);
  bool gone = call_wait (c) ? c->gone : true;
  call_unref (c);
  if (gone)
    __atomic_store_n (&j->cancelled, 1, __ATOMIC_RELAXED);
  return gone || __atomic_load_n (&j->cancelled, __ATOMIC_RELAXED);
}

/* --------------------------------------------------------------- network -- */

/* RUN on a network, as docker's classic builder runs its containers on the
 * default bridge (or --network): the build made the netns, the network
 * manager gives it an endpoint; /etc/resolv.conf and /etc/hosts as a
 * container on that network gets them. */
static void
net_attach_on_loop (struct loop_call *c)
{
  struct network_manager *m = daemon_network_manager (c->job->d, &c->err);
  if (m == NULL)
    return;
  struct network_endpoint_opts o = { .container_id = c->id, .container_name = NULL, .netns_path = c->netns_path };
  struct network_endpoint_info info;
  if (network_manager_connect (m, c->network, &o, &info, &c->err) < 0)
    return;
  char hostname[13];
  snprintf (hostname, sizeof hostname, "%.12s", c->id);
  _cleanup_free_ char *host_resolv = NULL;
  if (fs_read_file (AT_FDCWD, "/etc/resolv.conf", &host_resolv, NULL, NULL) < 0)
    host_resolv = xstrdup ("");
  c->hosts = network_hosts_file (hostname, "", &info, 1, NULL, info.gateway, &c->err);
  c->resolv_conf = c->hosts ? network_resolv_conf (host_resolv, info.dns_server[0] ? info.dns_server : NULL, NULL,
                                                   NULL, NULL, &c->err)
                            : NULL;
  if (c->resolv_conf == NULL)
    {
      struct berth_error *e = NULL;
      network_manager_disconnect (m, c->network, c->id, &e);
      berth_error_free (e);
    }
}

int
build_hook_net_attach (void *data, const char *network, const char *id, const char *netns_path, char **resolv_conf,
               char **hosts, struct berth_error **err)
{
  struct build_job *j = data;
  struct loop_call *c = call_new (j, net_attach_on_loop);
  c->network = network;
  c->id = id;
  c->netns_path = netns_path;
  int r = 0;
  if (!call_wait (c))
    r = berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "network %s: the daemon is shutting down", network);
  else if (c->err)
    {
      *err = c->err;
      c->err = NULL;
      r = -1;
    }
  else
    {
      *resolv_conf = steal_pointer (&c->resolv_conf);
      *hosts = steal_pointer (&c->hosts);
    }
  call_unref (c);
  return r;
}

static void
net_detach_on_loop (struct loop_call *c)
{
  struct berth_error *e = NULL;
  struct network_manager *m = daemon_network_manager (c->job->d, &e);
  if (m && network_manager_disconnect (m, c->network, c->id, &e) < 0 && e->kind == BERTH_E_NOT_FOUND)
    {
      berth_error_free (e);
      e = NULL;
    }
  if (e)
    berth_log (BERTH_LOG_WARNING, "build: network %s: detach %.12s: %s", c->network, c->id, e->msg);
  berth_error_free (e);
}

void
build_hook_net_detach (void *data, const char *network, const char *id)
{
  struct loop_call *c = call_new (data, net_detach_on_loop);
  c->network = network;
  c->id = id;
  /* not answered: the endpoint goes at the next start (orphan cleanup) */
  call_wait (c);
  call_unref (c);
}

/* ------------------------------------------------- intermediate containers -- */

/* A RUN's container kept (--rm=false, or failed without --force-rm): its
 * snapshot becomes a container's root, the container exited with the
 * RUN's code, listed by ps -a as docker lists the classic builder's. */
static void
keep_on_loop (struct loop_call *c)
{
  struct berthd *d = c->job->d;
  struct containers *cs = containers_get (d);
  if (cs == NULL)
    {
      berth_error_set_kind (&c->err, BERTH_E_UNAVAILABLE, 0, "containers are not available");
      return;
    }
  if (image_snapshot_rename (d->images, c->snapshot_id, c->id, &c->err) < 0)
    return;
  struct container *k = containers_create_with (cs, c->body, NULL, c->id, &c->err);
  if (k == NULL)
    return;
  container_event (k, "create", NULL);
  container_set_exited (k, c->exit_code, false, time_now_ns ());
  if (container_save (k, &c->err) < 0)
    berth_log (BERTH_LOG_WARNING, "build: save container %.12s: %s", c->id, c->err->msg);
  berth_error_freep (&c->err);
}

int
build_hook_keep_container (void *data, const char *snapshot_id, const char *id, json_t *body, int exit_code,
                   struct berth_error **err)
{
  struct loop_call *c = call_new (data, keep_on_loop);
  c->snapshot_id = snapshot_id;
  c->id = id;
  c->body = body;
  c->exit_code = exit_code;
  int r = 0;
  if (!call_wait (c))
    r = berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "the daemon is shutting down");
  else if (c->err)
    {
      *err = c->err;
      c->err = NULL;
      r = -1;
    }
  call_unref (c);
  return r;
}

