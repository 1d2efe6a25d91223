/* One container's cgroup across every hierarchy of the host: the path
 * (default, absolute, relative, systemd-style), creation with controller
 * delegation, applying resources in whichever hierarchy owns each
 * controller, entering, updating and destroying — including removing the
 * parents berth itself created (marked with an xattr), never others. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cgroup-internal.h"

/* Set on every directory berth creates above a container's leaf, so the
 * last container to go removes /berth, and a parent someone else made is
 * never touched. */
#define BERTH_CREATED_XATTR "trusted.berth.created"
/* Where trusted.* is refused (a cgroup delegated to a user namespace). */
#define BERTH_CREATED_XATTR_USER "user.berth.created"

bool cgroup_any_fs_for_tests = false;

/* A cgroup dir from a state file or a path must really be on cgroupfs: a
 * tampered or stale state must never make destroy rmdir elsewhere. */
static int
check_is_cgroupfs (int fd, const char *path, struct berth_error **err)
{
  struct statfs sfs;
  if (fstatfs (fd, &sfs) < 0)
    return berth_error_set (err, errno, "statfs %s", path);
  if (sfs.f_type != CGROUP_SUPER_MAGIC && sfs.f_type != CGROUP2_SUPER_MAGIC
      && !cgroup_any_fs_for_tests)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s is not on a cgroup file system",
                                 path);
  return 0;
}

/* ------------------------------------------------------------------ paths -- */

static bool
path_is_clean (const char *p)
{
  _cleanup_strv_ char **parts = strv_split (p, '/');
  for (char **c = parts; *c; c++)
    if (strcmp (*c, "..") == 0 || strcmp (*c, ".") == 0)
      return false;
  return true;
}

/* Join and normalise: "/a//b/" + "c" → "/a/b/c". */
static char *
path_join (const char *a, const char *b)
{
  _cleanup_free_ char *raw = xasprintf ("%s/%s", a ? a : "", b ? b : "");
  char *out = malloc (strlen (raw) + 2), *o = out;
  *o++ = '/';
  for (const char *p = raw; *p; p++)
    if (*p != '/' || (o[-1] != '/'))
      *o++ = *p;
  if (o - out > 1 && o[-1] == '/')
    o--;
  *o = '\0';
  return out;
}

/* "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice" (systemd's unit path). */
static char *
systemd_expand_slice (const char *slice, struct berth_error **err)
{
  if (!str_has_suffix (slice, ".slice") || strchr (slice, '/'))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "linux.cgroupsPath: \"%s\" is not a systemd slice name", slice),
           NULL;
  if (strcmp (slice, "-.slice") == 0)
    return xstrdup ("");
  size_t base_len = strlen (slice) - strlen (".slice");
  _cleanup_free_ char *base = strndup (slice, base_len);
  if (base_len == 0 || base[0] == '-' || base[base_len - 1] == '-' || strstr (base, "--"))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "linux.cgroupsPath: \"%s\" is not a valid systemd slice name",
                                 slice),
           NULL;
  char *path = xstrdup ("");
  for (size_t i = 0; i <= base_len; i++)
    if (base[i] == '-' || base[i] == '\0')
      {
        char *next = xasprintf ("%s/%.*s.slice", path, (int)i, base);
        free (path);
        path = next;
      }
  return path;
}

char *
cgroup_systemd_path (const char *spec, struct berth_error **err)
{
  _cleanup_strv_ char **parts = strv_split (spec, ':');
  if (strv_len (parts) != 3 || *parts[2] == '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "linux.cgroupsPath: \"%s\": with --systemd-cgroup it must be "
                                 "\"slice:prefix:name\"",
                                 spec),
           NULL;
  const char *slice = *parts[0] ? parts[0] : "system.slice";
  _cleanup_free_ char *parent = systemd_expand_slice (slice, err);
  if (parent == NULL)
    return NULL;
  if (strchr (parts[1], '/') || strchr (parts[2], '/'))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "linux.cgroupsPath: \"%s\": prefix and name must not contain "
                                 "\"/\"",
                                 spec),
           NULL;
  /* As runc: a name that is itself a slice is used as is, else a scope. */
  _cleanup_free_ char *unit = NULL;
  if (str_has_suffix (parts[2], ".slice"))
    unit = xstrdup (parts[2]);
  else if (*parts[1])
    unit = xasprintf ("%s-%s.scope", parts[1], parts[2]);
  else
    unit = xasprintf ("%s.scope", parts[2]);
  return xasprintf ("%s/%s", parent, unit);
}

char *
cgroup_resolve_path (const struct cgroup_hier *h, const char *id, const char *cgroups_path,
                     bool use_systemd, struct berth_error **err)
{
  _cleanup_free_ char *p = NULL;
  if (use_systemd)
    {
      _cleanup_free_ char *spec = NULL;
      if (cgroups_path == NULL || *cgroups_path == '\0')
        cgroups_path = spec = xasprintf ("system.slice:berth:%s", id);
      p = cgroup_systemd_path (cgroups_path, err);
      if (p == NULL)
        return NULL;
    }
  else if (cgroups_path == NULL || *cgroups_path == '\0')
    {
      if (id == NULL || *id == '\0' || strchr (id, '/') || strcmp (id, "..") == 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "container id \"%s\" cannot name a cgroup", id ? id : ""),
               NULL;
      p = xasprintf ("/berth/%s", id);
    }
  else if (cgroups_path[0] == '/')
    p = xstrdup (cgroups_path);
  else
    {
      /* Relative: below our own cgroup in this hierarchy. /proc/self/cgroup
       * paths are relative to the cgroup namespace root, which is what the
       * mount shows when mount_root is "/". */
      const char *self = h->self_path;
      if (strcmp (h->mount_root, "/") != 0 && str_has_prefix (self, h->mount_root))
        self += strlen (h->mount_root);
      p = path_join (self, cgroups_path);
    }
  if (!path_is_clean (p))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "linux.cgroupsPath: \"%s\" must not contain \".\" or \"..\"",
                                 cgroups_path ? cgroups_path : p),
           NULL;
  char *norm = path_join (p, NULL);
  if (strcmp (norm, "/") == 0)
    {
      free (norm);
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "linux.cgroupsPath: the root cgroup cannot be a container's"),
             NULL;
    }
  return norm;
}

/* --------------------------------------------------------------- handle -- */

static void
dir_clear (struct cgroup_dir *d)
{
  free (d->mountpoint);
  free (d->hier_name);
  free (d->path);
}

void
cgroup_free (struct cgroup *cg)
{
  if (cg == NULL)
    return;
  for (size_t i = 0; i < cg->n_dirs; i++)
    dir_clear (&cg->dirs[i]);
  free (cg->dirs);
  free (cg);
}

static void
cgroup_freep (struct cgroup **cg)
{
  cgroup_free (*cg);
  *cg = NULL;
}

int
cgroup_dir_open (const struct cgroup_dir *d, struct berth_error **err)
{
  _cleanup_free_ char *full = xasprintf ("%s%s", d->mountpoint, d->path);
  _cleanup_close_ int fd = open (full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set_kind (err, errno == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL, errno,
                                 "open cgroup %s", full);
  if (check_is_cgroupfs (fd, full, err) < 0)
    return -1;
  return steal_fd (&fd);
}

/* ---------------------------------------------------------------- create -- */

/* v1 cpuset: a new cgroup starts with empty cpus/mems and refuses tasks
 * until they are filled, so copy the parent's. */
static int
cpuset_inherit (int parentfd, int dfd, struct berth_error **err)
{
  static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
  for (size_t i = 0; i < 2; i++)
    {
      _cleanup_free_ char *cur = NULL, *parent = NULL;
      if (cgroup_read (dfd, files[i], &cur, err) < 0)
        return -1;
      if (strspn (cur, " \n") != strlen (cur))
        continue;
      if (cgroup_read (parentfd, files[i], &parent, err) < 0)
        return -1;
      parent[strcspn (parent, "\n")] = '\0';
      if (cgroup_write (dfd, files[i], parent, NULL, err) < 0)
        return -1;
    }
  return 0;
}

/* v2: delegate every controller this hierarchy drives to the children of
 * dfd. A controller that cannot be enabled (e.g. the caller's own cgroup
 * has processes: the no-internal-process rule) is left off; a resource
 * that needs it then fails naming the missing file. */
static void
v2_enable_controllers (int dfd, unsigned mask)
{
  _cleanup_free_ char *avail = NULL, *enabled = NULL;
  if (cgroup_read (dfd, "cgroup.controllers", &avail, NULL) < 0
      || cgroup_read (dfd, "cgroup.subtree_control", &enabled, NULL) < 0)
    return;
  _cleanup_strv_ char **names = strv_split (avail, ' ');
  _cleanup_strv_ char **on = strv_split (enabled, ' ');
  for (char **n = names; *n; n++)
    {
      (*n)[strcspn (*n, "\n")] = '\0';
      for (char **o = on; *o; o++)
        (*o)[strcspn (*o, "\n")] = '\0';
      int c = cgroup_controller_from_v2_name (*n);
      if (c < 0 || !(mask & CG_BIT (c)) || strv_contains (on, *n))
        continue;
      _cleanup_free_ char *plus = xasprintf ("+%s", *n);
      _cleanup_error_ struct berth_error *e = NULL;
      if (cgroup_write (dfd, "cgroup.subtree_control", plus, NULL, &e) < 0)
        berth_log (BERTH_LOG_DEBUG, "cgroup: cannot enable %s: %s", *n, e->msg);
    }
}

bool
cgroup_dir_is_berth_created (int dfd)
{
  char v[4];
  return fgetxattr (dfd, BERTH_CREATED_XATTR, v, sizeof v) > 0
         || fgetxattr (dfd, BERTH_CREATED_XATTR_USER, v, sizeof v) > 0;
}

/* mkdir -p of d->path below the mountpoint. Marks the parents it creates;
 * the leaf may exist already only if it has no process in it. *leaf_out:
 * the leaf, opened (on the cgroupfs checked at the mountpoint). */
static int
dir_make (const struct cgroup_dir *d, int *leaf_out, struct berth_error **err)
{
  _cleanup_close_ int cur = open (d->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cur < 0)
    return berth_error_set (err, errno, "open cgroup hierarchy %s", d->mountpoint);
  if (check_is_cgroupfs (cur, d->mountpoint, err) < 0)
    return -1;
  _cleanup_strv_ char **parts = strv_split (d->path + 1, '/');
  size_t n = strv_len (parts);
  _cleanup_free_ char *sofar = xstrdup (d->mountpoint);
  for (size_t i = 0; i < n; i++)
    {
      bool is_leaf = i + 1 == n;
      if (d->is_v2)
        v2_enable_controllers (cur, d->controllers);
      bool created = mkdirat (cur, parts[i], 0755) == 0;
      if (!created && errno != EEXIST)
        return berth_error_set (err, errno, "create cgroup %s/%s", sofar, parts[i]);
      _cleanup_close_ int next = openat (cur, parts[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (next < 0)
        return berth_error_set (err, errno, "open cgroup %s/%s", sofar, parts[i]);
      char *s = xasprintf ("%s/%s", sofar, parts[i]);
      free (sofar);
      sofar = s;
      if (created && !is_leaf)
        {
          if (fsetxattr (next, BERTH_CREATED_XATTR, "1", 1, 0) < 0
              && fsetxattr (next, BERTH_CREATED_XATTR_USER, "1", 1, 0) < 0)
            berth_log (BERTH_LOG_WARNING,
                       "cgroup %s: cannot mark it as berth's (%s); it will "
                       "not be removed with the last container",
                       sofar, strerror (errno));
        }
      if (!created && is_leaf)
        {
          _cleanup_free_ pid_t *pids = NULL;
          size_t n_pids = 0;
          if (cgroup_dir_pids (next, &pids, &n_pids, err) < 0)
            return -1;
          if (n_pids > 0)
            return berth_error_set_kind (err, BERTH_E_CONFLICT, EEXIST,
                                         "create cgroup %s: it exists and has processes", sofar);
        }
      if ((d->controllers & CG_BIT (CG_CPUSET)) && !d->is_v2 && cpuset_inherit (cur, next, err) < 0)
        return berth_error_prefix (err, "create cgroup %s", sofar);
      closep (&cur);
      cur = steal_fd (&next);
    }
  *leaf_out = steal_fd (&cur);
  return 0;
}

static int
dir_apply (const struct cgroup_dir *d, int dfd, const struct cgroup_resources *r,
           struct berth_error **err)
{
  if (d->is_v2)
    {
      if (cgroup_v2_apply (dfd, d->controllers, true, r, err) < 0)
        return -1;
      if ((d->controllers & CG_BIT (CG_DEVICES)) && r->has_devices
          && cgroup_devices_bpf_apply (dfd, r->devices, r->n_devices, err) < 0)
        return berth_error_prefix (err, "linux.resources.devices");
      return 0;
    }
  for (int c = 0; c < CG_N_CONTROLLERS; c++)
    if ((d->controllers & CG_BIT (c)) && cgroup_v1_apply (dfd, c, r, err) < 0)
      return -1;
  return 0;
}

static const char *
controller_field (enum cgroup_controller c)
{
  switch (c)
    {
    case CG_MEMORY:
      return "memory";
    case CG_CPU:
    case CG_CPUSET:
      return "cpu";
    case CG_PIDS:
      return "pids";
    case CG_BLKIO:
      return "blockIO";
    case CG_HUGETLB:
      return "hugepageLimits";
    case CG_DEVICES:
      return "devices";
    case CG_RDMA:
      return "rdma";
    default:
      return "network";
    }
}

/* Every controller the resources need must be driven by some hierarchy;
 * network (net_cls/net_prio) is skipped with a warning as runc and crun
 * do, since v2 has no such controllers. */
static int
check_controllers (const struct cgroup *cg, struct cgroup_resources *r, struct berth_error **err)
{
  unsigned have = 0;
  bool has_v2 = false;
  for (size_t i = 0; i < cg->n_dirs; i++)
    have |= cg->dirs[i].controllers, has_v2 |= cg->dirs[i].is_v2;
  unsigned missing = cgroup_resources_controllers (r) & ~have;
  for (int c = 0; c < CG_N_CONTROLLERS; c++)
    {
      if (!(missing & CG_BIT (c)))
        continue;
      if (c == CG_NET_CLS || c == CG_NET_PRIO)
        {
          berth_log (BERTH_LOG_WARNING,
                     "linux.resources.network: the %s controller is not mounted; ignored",
                     cgroup_controller_v1_name (c));
          continue;
        }
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "linux.resources.%s: the %s controller is not available on "
                                   "this host",
                                   controller_field (c), cgroup_controller_v1_name (c));
    }
  if (r->unified && !has_v2)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "linux.resources.unified: needs a cgroup v2 hierarchy, this host "
                                 "has only cgroup v1");
  return 0;
}

static int remove_dirs (struct cgroup *cg, size_t n_dirs, struct berth_error **err);

struct cgroup *
cgroup_create_on (const struct cgroup_hosts *hosts, const char *id, const char *cgroups_path,
                  bool use_systemd, const json_t *resources, struct berth_error **err)
{
  struct cgroup_resources r;
  if (cgroup_resources_parse (resources, &r, err) < 0)
    return NULL;
  _cleanup_ (cgroup_freep) struct cgroup *cg = calloc (1, sizeof *cg);
  cg->layout = hosts->layout;
  cg->dirs = calloc (hosts->n_hiers + 1, sizeof *cg->dirs);
  for (size_t i = 0; i < hosts->n_hiers; i++)
    {
      const struct cgroup_hier *h = &hosts->hiers[i];
      char *path = cgroup_resolve_path (h, id, cgroups_path, use_systemd, err);
      if (path == NULL)
        {
          cgroup_resources_clear (&r);
          return NULL;
        }
      cg->dirs[cg->n_dirs++] = (struct cgroup_dir){ .mountpoint = xstrdup (h->mountpoint),
                                                    .hier_name = xstrdup (h->name),
                                                    .is_v2 = h->is_v2,
                                                    .controllers = h->controllers,
                                                    .path = path };
    }
  if (check_controllers (cg, &r, err) < 0)
    {
      cgroup_resources_clear (&r);
      return NULL;
    }
  for (size_t i = 0; i < cg->n_dirs; i++)
    {
      const struct cgroup_dir *d = &cg->dirs[i];
      /* A racing destroy may remove a shared parent (/berth) between our
       * mkdirs; retry the chain then. */
      int rc = -1;
      _cleanup_close_ int leaf = -1;
      for (int attempt = 0; attempt < 3 && rc < 0; attempt++)
        {
          _cleanup_error_ struct berth_error *e = NULL;
          rc = dir_make (d, &leaf, &e);
          if (rc < 0 && (e->errnum != ENOENT || attempt == 2))
            {
              *err = steal_pointer (&e);
              break;
            }
        }
      if (rc < 0 || dir_apply (d, leaf, &r, err) < 0)
        {
          /* Remove what this call made; a leaf that turned out to be
           * another container's (busy) is not ours to touch. */
          bool leaf_is_ours = rc == 0 || (*err && (*err)->kind != BERTH_E_CONFLICT);
          remove_dirs (cg, leaf_is_ours ? i + 1 : i, NULL);
          cgroup_resources_clear (&r);
          berth_error_prefix (err, "cgroup %s", d->path);
          return NULL;
        }
    }
  cgroup_resources_clear (&r);
  return steal_pointer (&cg);
}

struct cgroup *
cgroup_create (const char *id, const char *cgroups_path, bool use_systemd, const json_t *resources,
               struct berth_error **err)
{
  struct cgroup_hosts hosts;
  if (cgroup_hosts_detect (&hosts, err) < 0)
    return NULL;
  if (use_systemd && access ("/run/systemd/system", F_OK) == 0)
    /* We do not talk to systemd over D-Bus: the cgroup goes where systemd
     * would put the scope, created directly in cgroupfs. */
    berth_log (BERTH_LOG_DEBUG, "cgroup: systemd runs but is not asked for a transient scope");
  struct cgroup *cg = cgroup_create_on (&hosts, id, cgroups_path, use_systemd, resources, err);
  cgroup_hosts_clear (&hosts);
  return cg;
}

int
cgroup_enter (struct cgroup *cg, pid_t pid, struct berth_error **err)
{
  for (size_t i = 0; i < cg->n_dirs; i++)
    {
      _cleanup_close_ int dfd = cgroup_dir_open (&cg->dirs[i], err);
      if (dfd < 0)
        return -1;
      if (cgroup_writef (dfd, "cgroup.procs", NULL, err, "%d", (int)pid) < 0)
        return berth_error_prefix (err, "move pid %d into cgroup", (int)pid);
    }
  return 0;
}

/* memory.checkBeforeUpdate (OCI 1.1): a new limit below what the cgroup
 * uses now is refused instead of making the kernel reclaim or OOM-kill. */
static int
check_memory_usage (const struct cgroup *cg, int64_t limit, struct berth_error **err)
{
  for (size_t i = 0; i < cg->n_dirs; i++)
    {
      const struct cgroup_dir *d = &cg->dirs[i];
      if (!(d->controllers & CG_BIT (CG_MEMORY)))
        continue;
      _cleanup_close_ int dfd = cgroup_dir_open (d, err);
      uint64_t usage = 0;
      if (dfd < 0)
        return -1;
      if (cgroup_read_u64 (dfd, d->is_v2 ? "memory.current" : "memory.usage_in_bytes", &usage) < 0)
        return berth_error_set (err, EIO, "read the memory usage of %s%s", d->mountpoint, d->path);
      if (usage > (uint64_t)limit)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "linux.resources.memory.limit: %" PRId64 " is below the "
                                     "current usage %" PRIu64 " (checkBeforeUpdate)",
                                     limit, usage);
    }
  return 0;
}

int
cgroup_update (struct cgroup *cg, const json_t *resources, struct berth_error **err)
{
  struct cgroup_resources r;
  if (cgroup_resources_parse (resources, &r, err) < 0)
    return -1;
  int rc = check_controllers (cg, &r, err);
  if (rc == 0 && r.check_before_update && r.has_memory_limit && r.memory_limit > 0)
    rc = check_memory_usage (cg, r.memory_limit, err);
  for (size_t i = 0; rc == 0 && i < cg->n_dirs; i++)
    {
      _cleanup_close_ int dfd = cgroup_dir_open (&cg->dirs[i], err);
      rc = dfd < 0 ? -1 : dir_apply (&cg->dirs[i], dfd, &r, err);
    }
  cgroup_resources_clear (&r);
  return rc < 0 ? berth_error_prefix (err, "update cgroup") : 0;
}

/* --------------------------------------------------------------- remove -- */

/* rmdir with a bounded retry: a cgroup whose last task just exited can be
 * busy for a moment while the kernel finishes tearing it down. */
static int
rmdir_retry (int parentfd, const char *name)
{
  struct timespec delay = { 0, 200 * 1000 };
  for (int attempt = 0; attempt < 60; attempt++)
    {
      if (unlinkat (parentfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
        return 0;
      if (errno != EBUSY)
        return -1;
      nanosleep (&delay, NULL);
      if (delay.tv_nsec < 50 * 1000 * 1000)
        delay.tv_nsec *= 2;
    }
  return -1;
}

/* Children first: a container with a cgroup namespace may have made its own. */
static int
rmdir_tree (int parentfd, const char *name, int depth)
{
  int dfd = openat (parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return errno == ENOENT ? 0 : -1;
  _cleanup_closedir_ DIR *d = fdopendir (dfd);
  if (d == NULL)
    {
      close (dfd);
      return -1;
    }
  struct dirent *de;
  int rc = 0;
  while (depth < 64 && (de = readdir (d)))
    if (de->d_type == DT_DIR && de->d_name[0] != '.'
        && rmdir_tree (dirfd (d), de->d_name, depth + 1) < 0)
      rc = -1;
  if (rc < 0)
    return -1;
  return rmdir_retry (parentfd, name);
}

static int
dir_remove (const struct cgroup_dir *d, struct berth_error **err)
{
  _cleanup_free_ char *full = xasprintf ("%s%s", d->mountpoint, d->path);
  _cleanup_free_ char *parent = strdup (full);
  *strrchr (parent, '/') = '\0';
  _cleanup_close_ int pfd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0)
    return errno == ENOENT ? 0 : berth_error_set (err, errno, "open cgroup %s", parent);
  if (check_is_cgroupfs (pfd, parent, err) < 0)
    return -1;
  if (rmdir_tree (pfd, strrchr (full, '/') + 1, 0) < 0)
    return berth_error_set (err, errno, "remove cgroup %s", full);
  /* Walk up while the parent is one berth created and is now empty. */
  size_t root_len = strlen (d->mountpoint);
  while (strlen (parent) > root_len)
    {
      closep (&pfd);
      pfd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (pfd < 0 || !cgroup_dir_is_berth_created (pfd))
        break;
      if (rmdir (parent) < 0)
        break; /* ENOTEMPTY / EBUSY: another container still uses it */
      *strrchr (parent, '/') = '\0';
    }
  return 0;
}

static int
remove_dirs (struct cgroup *cg, size_t n_dirs, struct berth_error **err)
{
  int rc = 0;
  for (size_t i = 0; i < n_dirs; i++)
    if (dir_remove (&cg->dirs[i], err) < 0)
      rc = -1; /* keep going: remove what can be removed everywhere */
  return rc;
}

/* The dir whose cgroup.procs answers `ps`: v2 where the container is in
 * it (every task is), else the first v1 hierarchy. */
static const struct cgroup_dir *
procs_dir (const struct cgroup *cg)
{
  for (size_t i = 0; i < cg->n_dirs; i++)
    if (cg->dirs[i].is_v2)
      return &cg->dirs[i];
  for (size_t i = 0; i < cg->n_dirs; i++)
    if (cg->dirs[i].controllers & (CG_BIT (CG_PIDS) | CG_BIT (CG_FREEZER) | CG_BIT (CG_MEMORY)))
      return &cg->dirs[i];
  return cg->n_dirs ? &cg->dirs[0] : NULL;
}

static size_t
count_pids (const struct cgroup *cg)
{
  size_t total = 0;
  for (size_t i = 0; i < cg->n_dirs; i++)
    {
      _cleanup_close_ int dfd = cgroup_dir_open (&cg->dirs[i], NULL);
      _cleanup_free_ pid_t *pids = NULL;
      size_t n = 0;
      if (dfd >= 0 && cgroup_dir_pids (dfd, &pids, &n, NULL) == 0)
        total += n;
    }
  return total;
}

int
cgroup_destroy (struct cgroup *cg, struct berth_error **err)
{
  const struct cgroup_dir *pd = procs_dir (cg);
  if (pd)
    {
      _cleanup_close_ int dfd = cgroup_dir_open (pd, NULL);
      if (dfd >= 0)
        {
          /* Kill until every hierarchy is empty (bounded: ~10 s). */
          struct timespec delay = { 0, 100 * 1000 };
          for (int attempt = 0; count_pids (cg) > 0; attempt++)
            {
              if (attempt == 200)
                return berth_error_set (err, EBUSY, "destroy cgroup %s: processes survive SIGKILL",
                                        pd->path);
              if (cgroup_kill_all (cg, SIGKILL, err) < 0)
                return berth_error_prefix (err, "destroy cgroup %s", pd->path);
              nanosleep (&delay, NULL);
              if (delay.tv_nsec < 50 * 1000 * 1000)
                delay.tv_nsec *= 2;
            }
        }
    }
  if (remove_dirs (cg, cg->n_dirs, err) < 0)
    return berth_error_prefix (err, "destroy cgroup");
  return 0;
}

/* ------------------------------------------------------- freeze and kill -- */

static const struct cgroup_dir *
dir_with (const struct cgroup *cg, enum cgroup_controller c)
{
  for (size_t i = 0; i < cg->n_dirs; i++)
    if (cg->dirs[i].controllers & CG_BIT (c))
      return &cg->dirs[i];
  return NULL;
}

int
cgroup_freeze (struct cgroup *cg, bool frozen, struct berth_error **err)
{
  const struct cgroup_dir *d = dir_with (cg, CG_FREEZER);
  if (d == NULL)
    return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0,
                                 "%s: no freezer on this host (neither a v1 freezer hierarchy "
                                 "nor cgroup v2)",
                                 frozen ? "pause" : "resume");
  _cleanup_close_ int dfd = cgroup_dir_open (d, err);
  if (dfd < 0)
    return -1;
  int rc = d->is_v2 ? cgroup_v2_freeze (dfd, frozen, err) : cgroup_v1_freeze (dfd, frozen, err);
  return rc < 0 ? berth_error_prefix (err, "%s", frozen ? "pause" : "resume") : 0;
}

int
cgroup_is_frozen (struct cgroup *cg, bool *frozen, struct berth_error **err)
{
  const struct cgroup_dir *d = dir_with (cg, CG_FREEZER);
  *frozen = false;
  if (d == NULL)
    return 0;
  _cleanup_close_ int dfd = cgroup_dir_open (d, err);
  if (dfd < 0)
    return -1;
  return d->is_v2 ? cgroup_v2_is_frozen (dfd, frozen, err) : cgroup_v1_is_frozen (dfd, frozen, err);
}

int
cgroup_pids (struct cgroup *cg, pid_t **pids, size_t *n_pids, struct berth_error **err)
{
  const struct cgroup_dir *d = procs_dir (cg);
  *pids = NULL;
  *n_pids = 0;
  if (d == NULL)
    return 0;
  _cleanup_close_ int dfd = cgroup_dir_open (d, err);
  if (dfd < 0)
    return -1;
  return cgroup_dir_pids (dfd, pids, n_pids, err);
}

static int
signal_pids (const pid_t *pids, size_t n, int signo, struct berth_error **err)
{
  for (size_t i = 0; i < n; i++)
    if (kill (pids[i], signo) < 0 && errno != ESRCH)
      return berth_error_set (err, errno, "kill %d with signal %d", (int)pids[i], signo);
  return 0;
}

int
cgroup_kill_all (struct cgroup *cg, int signo, struct berth_error **err)
{
  const struct cgroup_dir *d = procs_dir (cg);
  if (d == NULL)
    return 0;
  _cleanup_close_ int dfd = cgroup_dir_open (d, err);
  if (dfd < 0)
    return -1;
  /* cgroup.kill (5.14+) kills the whole subtree atomically, forks included. */
  if (signo == SIGKILL && d->is_v2 && cgroup_file_exists (dfd, "cgroup.kill"))
    return cgroup_write (dfd, "cgroup.kill", "1", NULL, err);
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  /* Otherwise freeze first so no task can fork behind our back (runc). */
  const struct cgroup_dir *fz = signo == SIGKILL ? dir_with (cg, CG_FREEZER) : NULL;
  bool frozen = fz && cgroup_freeze (cg, true, NULL) == 0;
  int rc = cgroup_dir_pids (dfd, &pids, &n, err);
  if (rc == 0)
    rc = signal_pids (pids, n, signo, err);
  if (frozen)
    cgroup_freeze (cg, false, NULL);
  return rc;
}
