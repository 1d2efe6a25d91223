/* RUN steps: an OCI config with Docker's defaults (the runtime library's
 * default spec: capabilities, masked paths, the usual mounts, plus the
 * default seccomp profile) over the mounted snapshot, run by
 * berth-runtime (a fresh process: berthd is multi-threaded and the
 * runtime clones from its caller), output streamed as it comes, killed
 * when the build is cancelled. */
#include "build/build-internal.h"
#include "runtime/runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

bool
build_is_cancelled (const int *flag)
{
  return flag && __atomic_load_n (flag, __ATOMIC_RELAXED) != 0;
}

static bool
file_in_root (int rootfd, const char *path)
{
  struct berth_error *e = NULL;
  _cleanup_close_ int fd = fs_open_in_root (rootfd, path, O_PATH, 0, &e);
  berth_error_free (e);
  struct stat st;
  return fd >= 0 && fstat (fd, &st) == 0 && S_ISREG (st.st_mode);
}

static json_t *
bind_mount (const char *src, const char *dst, bool ro)
{
  return json_pack ("{s:s,s:s,s:s,s:[s,s,s]}", "destination", dst, "type", "bind", "source", src,
                    "options", "rbind", "rprivate", ro ? "ro" : "rw");
}

/* --mount=type=…,target=…: key=value pairs. */
static json_t *
run_mount_parse (const struct run_request *req, const char *spec, struct berth_error **err)
{
  _cleanup_strv_ char **kv = strv_split (spec, ',');
  const char *type = "bind", *target = NULL, *source = NULL, *id = NULL;
  bool ro = true, rw_given = false;
  for (char **p = kv; *p; p++)
    {
      char *eq = strchr (*p, '=');
      const char *v = eq ? eq + 1 : "";
      if (eq)
        *eq = '\0';
      if (strcmp (*p, "type") == 0)
        type = v;
      else if (strcmp (*p, "target") == 0 || strcmp (*p, "dst") == 0 || strcmp (*p, "destination") == 0)
        target = v;
      else if (strcmp (*p, "source") == 0 || strcmp (*p, "src") == 0)
        source = v;
      else if (strcmp (*p, "id") == 0)
        id = v;
      else if (strcmp (*p, "rw") == 0 || strcmp (*p, "readwrite") == 0)
        {
          ro = eq && strcmp (v, "false") == 0;
          rw_given = true;
        }
      else if (strcmp (*p, "ro") == 0 || strcmp (*p, "readonly") == 0)
        ro = !(eq && strcmp (v, "false") == 0);
    }
  if (target == NULL || target[0] != '/')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "--mount=%s: target must be an absolute path", spec), NULL;
  if (strcmp (type, "tmpfs") == 0)
    return json_pack ("{s:s,s:s,s:s,s:[s,s,s]}", "destination", target, "type", "tmpfs", "source",
                      "tmpfs", "options", "nosuid", "nodev", "mode=1777");
  if (strcmp (type, "cache") == 0)
    {
      /* a cache mount outlives the build: keyed by its id (default: target) */
      _cleanup_free_ char *key = sha256_digest (id ? id : target, strlen (id ? id : target));
      _cleanup_free_ char *dir = xasprintf ("%s/%s", req->cache_root, key + 7);
      if (fs_mkdir_p (dir, 0755, err) < 0)
        return NULL;
      return bind_mount (dir, target, false);
    }
  if (strcmp (type, "bind") == 0)
    {
      _cleanup_free_ char *src = xasprintf ("%s/%s", req->context_path, source ? source : "");
      /* the source must stay inside the context */
      struct berth_error *e = NULL;
      _cleanup_close_ int fd = fs_open_in_root (req->context_fd, source ? source : ".", O_PATH, 0, &e);
      if (fd < 0)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0, "--mount=%s: %s", spec, e->msg);
          berth_error_free (e);
          return NULL;
        }
      /* the container reads the files: their data must be there */
      if (context_index_fill_tree (req->context_index, fd, err) < 0)
        return berth_error_prefix (err, "--mount=%s", spec), NULL;
      _cleanup_free_ char *fdp = xasprintf ("/proc/self/fd/%d", fd);
      char real[4096];
      ssize_t n = readlink (fdp, real, sizeof real - 1);
      if (n < 0)
        return berth_error_set (err, errno, "--mount=%s", spec), NULL;
      real[n] = '\0';
      /* a writable bind would change the context after its checksums
       * were taken (buildkit discards such writes; we refuse them) */
      if (rw_given && !ro)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "--mount=%s: rw bind mounts of the context are not supported", spec), NULL;
      return bind_mount (real, target, ro);
    }
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "--mount=type=%s is not supported by this builder", type), NULL;
}

/* A network namespace of the RUN's own, bind-mounted at path so the
 * network manager can give it an endpoint before the container starts:
 * made on this thread (unshare only changes the calling thread), which
 * then goes back to the daemon's namespace. */
static int
netns_create (const char *path, struct berth_error **err)
{
  _cleanup_close_ int self = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return berth_error_set (err, errno, "open the network namespace");
  _cleanup_close_ int mp = open (path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (mp < 0)
    return berth_error_set (err, errno, "create %s", path);
  if (unshare (CLONE_NEWNET) < 0)
    {
      unlink (path);
      return berth_error_set (err, errno, "new network namespace");
    }
  int r = mount ("/proc/thread-self/ns/net", path, NULL, MS_BIND, NULL);
  int e = errno;
  if (setns (self, CLONE_NEWNET) < 0)
    {
      /* this thread cannot be trusted with anything network any more */
      berth_log (BERTH_LOG_ERROR, "build: cannot return to the daemon's network namespace: %s", strerror (errno));
      abort ();
    }
  if (r < 0)
    {
      unlink (path);
      return berth_error_set (err, e, "bind the network namespace at %s", path);
    }
  return 0;
}

static void
netns_remove (const char *path)
{
  if (umount2 (path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    berth_log (BERTH_LOG_WARNING, "build: unmount %s: %s", path, strerror (errno));
  unlink (path);
}

/* "none" and "host" are what they say; anything else is a network (the
 * default bridge for "", "default" and "bridge"). */
static const char *
run_network_name (const char *net)
{
  if (net == NULL || net[0] == '\0' || strcmp (net, "default") == 0 || strcmp (net, "bridge") == 0)
    return "bridge";
  if (strcmp (net, "none") == 0 || strcmp (net, "host") == 0)
    return NULL;
  return net;
}

static json_t *
run_oci_config (const struct run_request *req, const char *id, const char *netns_path,
                const char *etc_dir, struct berth_error **err)
{
  _cleanup_close_ int rootfd = open (req->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return berth_error_set (err, errno, "open %s", req->rootfs), NULL;
  uid_t uid;
  gid_t gid;
  _cleanup_free_ gid_t *gids = NULL;
  size_t n_gids = 0;
  if (user_resolve (rootfd, req->user, &uid, &gid, &gids, &n_gids, err) < 0)
    return NULL;
  json_t *spec = runtime_spec_default ();
  json_t *proc = json_object_get (spec, "process");
  json_object_set_new (proc, "terminal", json_false ());
  json_object_set_new (proc, "noNewPrivileges", json_false ());
  json_t *args = json_array ();
  for (char **a = req->args; *a; a++)
    json_array_append_new (args, json_string (*a));
  json_object_set_new (proc, "args", args);
  json_t *env = json_array ();
  for (char **e = req->env; e && *e; e++)
    json_array_append_new (env, json_string (*e));
  json_object_set_new (proc, "env", env);
  json_object_set_new (proc, "cwd", json_string (req->cwd && req->cwd[0] ? req->cwd : "/"));
  json_t *user = json_pack ("{s:i,s:i}", "uid", (int) uid, "gid", (int) gid);
  if (n_gids)
    {
      json_t *ag = json_array ();
      for (size_t i = 0; i < n_gids; i++)
        json_array_append_new (ag, json_integer (gids[i]));
      json_object_set_new (user, "additionalGids", ag);
    }
  json_object_set_new (proc, "user", user);
  json_object_set_new (spec, "root", json_pack ("{s:s,s:b}", "path", req->rootfs, "readonly", 0));
  char host[13];
  snprintf (host, sizeof host, "%.12s", id);
  json_object_set_new (spec, "hostname", json_string (host));
  json_t *lx = json_object_get (spec, "linux");
  bool isolated_net = req->network && strcmp (req->network, "none") == 0;
  if (!isolated_net)
    {
      /* a network: the namespace made for it; host: the host's */
      json_t *ns = json_object_get (lx, "namespaces");
      size_t i;
      json_t *v;
      json_array_foreach (ns, i, v)
        if (strcmp (json_string_value (json_object_get (v, "type")), "network") == 0)
          {
            if (netns_path)
              json_object_set_new (v, "path", json_string (netns_path));
            else
              json_array_remove (ns, i);
            break;
          }
    }
  _cleanup_strv_ char **caps = NULL;
  size_t i_;
  json_t *v_;
  json_array_foreach (json_object_get (json_object_get (proc, "capabilities"), "bounding"), i_, v_)
    strv_append (&caps, json_string_value (v_));
  json_object_set_new (lx, "seccomp", runtime_default_seccomp_profile (caps));
  json_object_set_new (lx, "cgroupsPath", json_sprintf ("/berth-build/%s", id));
  json_t *mounts = json_object_get (spec, "mounts");
  /* name resolution: the host's files, only where the image has them (a
   * mount point created here would end up in the layer) */
  if (!isolated_net)
    {
      _cleanup_free_ char *resolv = etc_dir ? xasprintf ("%s/resolv.conf", etc_dir) : xstrdup ("/etc/resolv.conf");
      _cleanup_free_ char *hosts = etc_dir ? xasprintf ("%s/hosts", etc_dir) : xstrdup ("/etc/hosts");
      if (file_in_root (rootfd, "/etc/resolv.conf"))
        json_array_append_new (mounts, bind_mount (resolv, "/etc/resolv.conf", true));
      if (file_in_root (rootfd, "/etc/hosts"))
        json_array_append_new (mounts, bind_mount (hosts, "/etc/hosts", true));
    }
  for (char **m = req->mounts; m && *m; m++)
    {
      json_t *mj = run_mount_parse (req, *m, err);
      if (mj == NULL)
        {
          json_decref (spec);
          return NULL;
        }
      json_array_append_new (mounts, mj);
    }
  return spec;
}

#define CAPTURE_MAX (1 << 20)

static void
capture (const struct run_request *req, const char *buf, size_t len)
{
  if (req->captured == NULL || len == 0)
    return;
  size_t have = *req->captured ? strlen (*req->captured) : 0;
  if (len > CAPTURE_MAX)
    {
      buf += len - CAPTURE_MAX;
      len = CAPTURE_MAX;
    }
  size_t drop = have + len > CAPTURE_MAX ? have + len - CAPTURE_MAX : 0;
  char *n = malloc (have - drop + len + 1);
  if (n == NULL)
    abort ();
  if (have > drop)
    memcpy (n, *req->captured + drop, have - drop);
  memcpy (n + have - drop, buf, len);
  n[have - drop + len] = '\0';
  /* NUL bytes of the output end the text early; fine for a message */
  free (*req->captured);
  *req->captured = n;
}

static void
emit_output (const struct run_request *req, const char *buf, size_t len)
{
  if (req->quiet)
    capture (req, buf, len);
  if (req->quiet || req->progress == NULL || len == 0)
    return;
  json_t *s = json_stringn (buf, len);
  if (s == NULL)
    {
      /* not UTF-8: replace the odd bytes rather than lose the line */
      _cleanup_free_ char *copy = strndup (buf, len);
      for (size_t i = 0; i < len; i++)
        if ((unsigned char) copy[i] >= 0x80)
          copy[i] = '?';
      s = json_stringn (copy, len);
    }
  if (s)
    req->progress (json_pack ("{s:o}", "stream", s), req->progress_data);
}

/* The container's network: for a network, a namespace with an endpoint
 * on it and the /etc files that go with it in the bundle. */
struct run_net
{
  const char *name; /* the network; NULL: host or none */
  char *netns;      /* bind-mounted namespace, NULL when none was made */
  bool attached;
};

static int
run_net_setup (const struct run_request *req, const char *bundle, struct run_net *n,
               struct berth_error **err)
{
  n->name = req->net_attach ? run_network_name (req->network) : NULL;
  if (n->name == NULL)
    return 0;
  _cleanup_free_ char *dir = xasprintf ("%s/netns", req->run_root);
  if (fs_mkdir_p (dir, 0700, err) < 0)
    return -1;
  n->netns = xasprintf ("%s/%s", dir, req->snapshot_id);
  if (netns_create (n->netns, err) < 0)
    {
      free (n->netns);
      n->netns = NULL;
      return -1;
    }
  _cleanup_free_ char *resolv = NULL, *hosts = NULL;
  const char *ep = req->snapshot_id + strlen ("build-");
  if (req->net_attach (req->net_data, n->name, ep, n->netns, &resolv, &hosts, err) < 0)
    return berth_error_prefix (err, "RUN on network %s", n->name);
  n->attached = true;
  /* throw-away files of the bundle: no fsync */
  const char *names[] = { "resolv.conf", "hosts" };
  const char *texts[] = { resolv, hosts };
  for (int i = 0; i < 2; i++)
    {
      _cleanup_free_ char *p = xasprintf ("%s/%s", bundle, names[i]);
      _cleanup_close_ int fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0 || fs_write_all (fd, texts[i], strlen (texts[i])) < 0)
        return berth_error_set (err, errno, "write %s", p);
    }
  return 0;
}

static void
run_net_teardown (const struct run_request *req, struct run_net *n)
{
  if (n->attached)
    req->net_detach (req->net_data, n->name, req->snapshot_id + strlen ("build-"));
  if (n->netns)
    netns_remove (n->netns);
  free (n->netns);
  memset (n, 0, sizeof *n);
}

static int run_spawn (const struct run_request *req, const char *bundle, const char *state,
                      int *exit_code, struct berth_error **err);

int
run_container (const struct run_request *req, int *exit_code, struct berth_error **err)
{
  const char *id = req->snapshot_id;
  _cleanup_free_ char *bundle = xasprintf ("%s/bundles/%s", req->run_root, id);
  _cleanup_free_ char *state = xasprintf ("%s/state", req->run_root);
  if (fs_mkdir_p (bundle, 0700, err) < 0 || fs_mkdir_p (state, 0700, err) < 0)
    return -1;
  struct run_net net = { 0 };
  int r = run_net_setup (req, bundle, &net, err);
  _cleanup_json_ json_t *spec = r < 0 ? NULL : run_oci_config (req, id, net.netns, net.netns ? bundle : NULL, err);
  _cleanup_free_ char *cfg_path = xasprintf ("%s/config.json", bundle);
  if (spec == NULL)
    r = -1;
  else if (json_dump_file (spec, cfg_path, JSON_COMPACT) < 0)
    r = berth_error_set (err, errno, "write %s", cfg_path);
  if (r == 0)
    r = run_spawn (req, bundle, state, exit_code, err);
  run_net_teardown (req, &net);
  fs_rm_rf_at (AT_FDCWD, bundle, NULL);
  return r;
}

/* berth-runtime run of the bundle, output streamed, killed on cancel. */
static int
run_spawn (const struct run_request *req, const char *bundle, const char *state, int *exit_code,
           struct berth_error **err)
{
  const char *id = req->snapshot_id;
  int pipefd[2];
  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return berth_error_set (err, errno, "pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2 (&fa, pipefd[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init (&attr);
  sigset_t none;
  sigemptyset (&none);
  posix_spawnattr_setsigmask (&attr, &none);
  sigset_t def;
  sigfillset (&def);
  posix_spawnattr_setsigdefault (&attr, &def);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char *argv[] = { (char *) req->runtime_path, (char *) "--root", (char *) state, (char *) "run", (char *) "--bundle",
                   (char *) bundle, (char *) id, NULL };
  pid_t pid;
  int r = posix_spawn (&pid, req->runtime_path, &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  close (pipefd[1]);
  if (r != 0)
    {
      close (pipefd[0]);
      return berth_error_set (err, r, "spawn %s", req->runtime_path);
    }
  char buf[65536];
  size_t have = 0;
  bool killed = false;
  for (;;)
    {
      struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
      int pr = poll (&p, 1, 200);
      if (!killed && (build_is_cancelled (req->cancelled) || build_is_cancelled (req->stop)))
        {
          struct runtime_context ctx = { .state_root = state };
          struct berth_error *ke = NULL;
          if (runtime_container_kill (&ctx, id, SIGKILL, true, &ke) < 0)
            {
              berth_error_free (ke);
              kill (pid, SIGKILL);
            }
          killed = true;
        }
      if (pr <= 0)
        continue;
      ssize_t n = read (pipefd[0], buf + have, sizeof buf - have);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      have += (size_t) n;
      /* whole lines go out; a full buffer goes out as it is */
      char *nl = memrchr (buf, '\n', have);
      size_t cut = nl ? (size_t) (nl - buf) + 1 : (have == sizeof buf ? have : 0);
      if (cut)
        {
          emit_output (req, buf, cut);
          memmove (buf, buf + cut, have - cut);
          have -= cut;
        }
    }
  emit_output (req, buf, have);
  close (pipefd[0]);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (killed)
    return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "build cancelled");
  *exit_code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  return 0;
}
