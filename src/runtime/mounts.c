/* The mounts of config.json: option parsing, and mounting one entry into the
 * container root. Every target is resolved inside the root with openat2
 * (RESOLVE_IN_ROOT) and the mount is attached to that fd with the new mount
 * API (open_tree/fsmount + move_mount): a symlink in the image cannot send a
 * mount to the host, and a target swapped between check and use cannot
 * either, because nothing is looked up by path twice (CVE-2021-30465). */
#include "runtime/runtime-internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* --------------------------------------------------------------- options -- */

enum opt_kind
{
  OPT_ATTR,        /* mount_setattr on the mount itself */
  OPT_REC_ATTR,    /* mount_setattr AT_RECURSIVE */
  OPT_PROPAGATION, /* shared/slave/private/unbindable */
  OPT_BIND,
  OPT_RBIND,
  OPT_SB_FLAG, /* superblock flag, passed to the filesystem ("sync") */
  OPT_IGNORE,
  OPT_UNSUPPORTED,
};

struct mount_option
{
  const char *name;
  enum opt_kind kind;
  bool clear;
  uint64_t attr; /* MOUNT_ATTR_* or MS_* (propagation) */
  bool recursive;
};

static const struct mount_option mount_options[] = {
  { "defaults", OPT_IGNORE, false, 0, false },
  { "ro", OPT_ATTR, false, MOUNT_ATTR_RDONLY, false },
  { "rw", OPT_ATTR, true, MOUNT_ATTR_RDONLY, false },
  { "nosuid", OPT_ATTR, false, MOUNT_ATTR_NOSUID, false },
  { "suid", OPT_ATTR, true, MOUNT_ATTR_NOSUID, false },
  { "nodev", OPT_ATTR, false, MOUNT_ATTR_NODEV, false },
  { "dev", OPT_ATTR, true, MOUNT_ATTR_NODEV, false },
  { "noexec", OPT_ATTR, false, MOUNT_ATTR_NOEXEC, false },
  { "exec", OPT_ATTR, true, MOUNT_ATTR_NOEXEC, false },
  { "noatime", OPT_ATTR, false, MOUNT_ATTR_NOATIME, false },
  { "relatime", OPT_ATTR, false, MOUNT_ATTR_RELATIME, false },
  { "strictatime", OPT_ATTR, false, MOUNT_ATTR_STRICTATIME, false },
  { "norelatime", OPT_IGNORE, false, 0, false },
  { "atime", OPT_IGNORE, false, 0, false },
  { "nodiratime", OPT_ATTR, false, MOUNT_ATTR_NODIRATIME, false },
  { "diratime", OPT_ATTR, true, MOUNT_ATTR_NODIRATIME, false },
  { "nosymfollow", OPT_ATTR, false, MOUNT_ATTR_NOSYMFOLLOW, false },
  { "symfollow", OPT_ATTR, true, MOUNT_ATTR_NOSYMFOLLOW, false },
  { "rro", OPT_REC_ATTR, false, MOUNT_ATTR_RDONLY, false },
  { "rrw", OPT_REC_ATTR, true, MOUNT_ATTR_RDONLY, false },
  { "rnosuid", OPT_REC_ATTR, false, MOUNT_ATTR_NOSUID, false },
  { "rsuid", OPT_REC_ATTR, true, MOUNT_ATTR_NOSUID, false },
  { "rnodev", OPT_REC_ATTR, false, MOUNT_ATTR_NODEV, false },
  { "rdev", OPT_REC_ATTR, true, MOUNT_ATTR_NODEV, false },
  { "rnoexec", OPT_REC_ATTR, false, MOUNT_ATTR_NOEXEC, false },
  { "rexec", OPT_REC_ATTR, true, MOUNT_ATTR_NOEXEC, false },
  { "rnoatime", OPT_REC_ATTR, false, MOUNT_ATTR_NOATIME, false },
  { "rrelatime", OPT_REC_ATTR, false, MOUNT_ATTR_RELATIME, false },
  { "rstrictatime", OPT_REC_ATTR, false, MOUNT_ATTR_STRICTATIME, false },
  { "rnodiratime", OPT_REC_ATTR, false, MOUNT_ATTR_NODIRATIME, false },
  { "rdiratime", OPT_REC_ATTR, true, MOUNT_ATTR_NODIRATIME, false },
  { "rnosymfollow", OPT_REC_ATTR, false, MOUNT_ATTR_NOSYMFOLLOW, false },
  { "rsymfollow", OPT_REC_ATTR, true, MOUNT_ATTR_NOSYMFOLLOW, false },
  { "bind", OPT_BIND, false, 0, false },
  { "rbind", OPT_RBIND, false, 0, false },
  { "shared", OPT_PROPAGATION, false, MS_SHARED, false },
  { "rshared", OPT_PROPAGATION, false, MS_SHARED, true },
  { "slave", OPT_PROPAGATION, false, MS_SLAVE, false },
  { "rslave", OPT_PROPAGATION, false, MS_SLAVE, true },
  { "private", OPT_PROPAGATION, false, MS_PRIVATE, false },
  { "rprivate", OPT_PROPAGATION, false, MS_PRIVATE, true },
  { "unbindable", OPT_PROPAGATION, false, MS_UNBINDABLE, false },
  { "runbindable", OPT_PROPAGATION, false, MS_UNBINDABLE, true },
  { "sync", OPT_SB_FLAG, false, 0, false },
  { "dirsync", OPT_SB_FLAG, false, 0, false },
  { "lazytime", OPT_SB_FLAG, false, 0, false },
  { "mand", OPT_SB_FLAG, false, 0, false },
  { "async", OPT_IGNORE, false, 0, false },
  { "nolazytime", OPT_IGNORE, false, 0, false },
  { "nomand", OPT_IGNORE, false, 0, false },
  { "remount", OPT_IGNORE, false, 0, false },
  { "loud", OPT_IGNORE, false, 0, false },
  { "silent", OPT_IGNORE, false, 0, false },
  { "idmap", OPT_IGNORE, false, 0, false },  /* idmap.c */
  { "ridmap", OPT_IGNORE, false, 0, false }, /* idmap.c */
  { "tmpcopyup", OPT_UNSUPPORTED, false, 0, false },
};

static void
attr_apply (uint64_t *set, uint64_t *clr, const struct mount_option *o)
{
  /* The atime modes are one field of mount_attr: select one by clearing
   * the whole field and setting the value. */
  bool is_atime = o->attr == MOUNT_ATTR_NOATIME || o->attr == MOUNT_ATTR_STRICTATIME
                  || (o->attr == MOUNT_ATTR_RELATIME && !o->clear);
  if (is_atime)
    {
      *clr |= MOUNT_ATTR__ATIME;
      *set = (*set & ~(uint64_t)MOUNT_ATTR__ATIME) | o->attr;
      return;
    }
  if (o->clear)
    {
      *clr |= o->attr;
      *set &= ~o->attr;
    }
  else
    {
      *set |= o->attr;
      *clr &= ~o->attr;
    }
}

int
mount_options_parse (json_t *options, struct spec_mount *m, const char *where,
                     struct berth_error **err)
{
  if (options == NULL || json_is_null (options))
    return 0;
  if (!json_is_array (options))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s.options: must be an array", where);
  size_t i;
  json_t *e;
  json_array_foreach (options, i, e)
  {
    const char *name = json_string_value (e);
    if (name == NULL)
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s.options[%zu]: must be a string",
                                   where, i);
    if (name[0] == '\0')
      continue;
    const struct mount_option *o = NULL;
    for (size_t k = 0; k < sizeof mount_options / sizeof mount_options[0]; k++)
      if (strcmp (mount_options[k].name, name) == 0)
        o = &mount_options[k];
    if (o == NULL)
      {
        /* x-* options are for userspace tools (mount(8)), never the kernel. */
        if (str_has_prefix (name, "x-") || str_has_prefix (name, "X-"))
          continue;
        strv_append (&m->data, name);
        continue;
      }
    switch (o->kind)
      {
      case OPT_ATTR:
        attr_apply (&m->attr_set, &m->attr_clr, o);
        break;
      case OPT_REC_ATTR:
        attr_apply (&m->rec_attr_set, &m->rec_attr_clr, o);
        break;
      case OPT_PROPAGATION:
        m->propagation = (unsigned long)o->attr;
        m->propagation_recursive = o->recursive;
        break;
      case OPT_BIND:
        m->is_bind = true;
        break;
      case OPT_RBIND:
        m->is_bind = true;
        m->is_recursive = true;
        break;
      case OPT_SB_FLAG:
        strv_append (&m->data, name);
        break;
      case OPT_IGNORE:
        break;
      case OPT_UNSUPPORTED:
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "%s.options[%zu]: `%s` is not supported by berth-runtime",
                                     where, i, name);
      }
  }
  return 0;
}

/* ----------------------------------------------------------------- mount -- */

static int
setattr (int mntfd, unsigned flags, uint64_t set, uint64_t clr, uint64_t propagation)
{
  struct mount_attr attr = { .attr_set = set, .attr_clr = clr, .propagation = propagation };
  return mount_setattr (mntfd, "", AT_EMPTY_PATH | flags, &attr, sizeof attr);
}

/* A new filesystem instance as a detached mount (fsopen/fsconfig/fsmount).
 * The kernel's own message (read from the fs context) goes into the error. */
static int
fs_new_mount (const char *type, const char *source, char *const *data, struct berth_error **err)
{
  _cleanup_close_ int fsfd = fsopen (type, FSOPEN_CLOEXEC);
  if (fsfd < 0)
    return berth_error_set (err, errno, "fsopen `%s`", type);
  if (source && source[0] && fsconfig (fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0)
    return berth_error_set (err, errno, "fsconfig `%s` source=%s", type, source);
  for (size_t i = 0; data && data[i]; i++)
    {
      _cleanup_free_ char *key = xstrdup (data[i]);
      char *eq = strchr (key, '=');
      int r;
      if (eq)
        {
          *eq = '\0';
          r = fsconfig (fsfd, FSCONFIG_SET_STRING, key, eq + 1, 0);
        }
      else
        r = fsconfig (fsfd, FSCONFIG_SET_FLAG, key, NULL, 0);
      if (r < 0)
        {
          int saved = errno;
          char msg[256] = "";
          ssize_t n = read (fsfd, msg, sizeof msg - 1);
          msg[n > 0 ? n : 0] = '\0';
          msg[strcspn (msg, "\n")] = '\0';
          return berth_error_set (err, saved, "fsconfig `%s` option `%s`%s%s", type, data[i],
                                  msg[0] ? ": " : "", msg);
        }
    }
  if (fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    {
      int saved = errno;
      char msg[256] = "";
      ssize_t n = read (fsfd, msg, sizeof msg - 1);
      msg[n > 0 ? n : 0] = '\0';
      msg[strcspn (msg, "\n")] = '\0';
      return berth_error_set (err, saved, "create `%s` filesystem%s%s", type, msg[0] ? ": " : "",
                              msg);
    }
  int mnt = fsmount (fsfd, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0)
    return berth_error_set (err, errno, "fsmount `%s`", type);
  return mnt;
}

static char **
strv_without_prefix (char *const *v, const char *prefix)
{
  char **out = calloc (1, sizeof *out);
  if (out == NULL)
    abort ();
  for (size_t i = 0; v && v[i]; i++)
    if (!str_has_prefix (v[i], prefix))
      strv_append (&out, v[i]);
  return out;
}

static int
bind_tree (int dirfd, const char *source, bool recursive, struct berth_error **err)
{
  int fd = open_tree (dirfd, source,
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
  if (fd < 0)
    return berth_error_set (err, errno, "open_tree (bind) `%s`", source);
  return fd;
}

/* A relative bind source is relative to the bundle. It is looked up by
 * path here: an fd opened before clone belongs to the caller's mount
 * namespace, and open_tree refuses to clone from another namespace. */
static char *
bind_source_path (const char *bundle, const struct spec_mount *m)
{
  return m->source[0] == '/' ? xstrdup (m->source) : xasprintf ("%s/%s", bundle, m->source);
}

/* The detached mount for m, before it is attached to its target. */
static int
mount_make_detached (const char *bundle, const struct spec_mount *m, bool in_userns,
                     struct berth_error **err)
{
  if (m->is_bind)
    {
      _cleanup_free_ char *src = bind_source_path (bundle, m);
      return bind_tree (AT_FDCWD, src, m->is_recursive, err);
    }

  struct berth_error *first = NULL;
  int fd = fs_new_mount (m->type, m->source, m->data, &first);
  if (fd >= 0)
    return fd;
  int saved = first->errnum;
  /* In a user namespace the kernel refuses some instances the container
   * does not own; runc and crun fall back to the host's, bound in. */
  if (saved == EPERM && in_userns && strcmp (m->type, "sysfs") == 0)
    fd = bind_tree (AT_FDCWD, "/sys", true, NULL);
  else if (saved == EPERM && in_userns && strcmp (m->type, "mqueue") == 0)
    fd = bind_tree (AT_FDCWD, "/dev/mqueue", true, NULL);
  else if (saved == EINVAL && strcmp (m->type, "devpts") == 0)
    {
      /* gid=5 does not exist in a user namespace that does not map it. */
      _cleanup_strv_ char **data = strv_without_prefix (m->data, "gid=");
      fd = fs_new_mount (m->type, m->source, data, NULL);
    }
  if (fd >= 0)
    {
      berth_error_free (first);
      return fd;
    }
  *err = first;
  return -1;
}

/* The path a destination leads to inside the root, with every symlink on
 * the way followed as the container would (absolute targets from the root,
 * ".." clamped at the root), creating missing directories. This is what
 * runc's SecureJoin + MkdirAll do: a dangling symlink in the image makes
 * the mount land where it points inside the root, never on the host. */
static char *
target_resolve_create (int rootfd, const char *dest, bool last_is_file, struct berth_error **err)
{
  _cleanup_free_ char *remaining = xstrdup (dest);
  _cleanup_free_ char *done = xstrdup ("");
  for (int hops = 0; hops < 40; hops++)
    {
      char *rest = remaining;
      bool restarted = false;
      while (*rest)
        {
          while (*rest == '/')
            rest++;
          if (*rest == '\0')
            break;
          char *slash = strchr (rest, '/');
          size_t len = slash ? (size_t)(slash - rest) : strlen (rest);
          _cleanup_free_ char *part = strndup (rest, len);
          rest += len;
          if (strcmp (part, ".") == 0)
            continue;
          if (strcmp (part, "..") == 0)
            {
              char *last = strrchr (done, '/');
              if (last)
                *last = '\0';
              continue;
            }
          _cleanup_free_ char *cand = xasprintf ("%s/%s", done, part);
          _cleanup_close_ int parent
              = fs_open_in_root (rootfd, done[0] ? done : "/", O_PATH | O_DIRECTORY, 0, err);
          if (parent < 0)
            return NULL;
          char link[4096];
          ssize_t n = readlinkat (parent, part, link, sizeof link - 1);
          if (n >= 0)
            {
              link[n] = '\0';
              _cleanup_free_ char *next = link[0] == '/' ? xasprintf ("%s%s", link, rest)
                                                         : xasprintf ("%s/%s%s", done, link, rest);
              free (remaining);
              remaining = steal_pointer (&next);
              if (link[0] == '/')
                done[0] = '\0';
              restarted = true;
              break;
            }
          bool is_last = *rest == '\0' || strspn (rest, "/") == strlen (rest);
          int r = (is_last && last_is_file) ? mknodat (parent, part, S_IFREG | 0644, 0)
                                            : mkdirat (parent, part, 0755);
          if (r < 0 && errno != EEXIST)
            return berth_error_set (err, errno, "create mount point `%s`", cand), NULL;
          free (done);
          done = steal_pointer (&cand);
        }
      if (!restarted)
        return done[0] ? steal_pointer (&done) : xstrdup ("/");
    }
  return berth_error_set (err, ELOOP, "mount point `%s`", dest), NULL;
}

/* Make sure the target exists (a directory, or an empty file when a file is
 * bound) and return an O_PATH fd of it, resolved inside the root only. */
static int
mount_target_open (int rootfd, const char *bundle, const struct spec_mount *m,
                   struct berth_error **err)
{
  bool is_file = false;
  if (m->is_bind)
    {
      struct stat st;
      _cleanup_free_ char *src = bind_source_path (bundle, m);
      if (stat (src, &st) < 0)
        return berth_error_set (err, errno, "stat bind source `%s`", src);
      is_file = !S_ISDIR (st.st_mode);
    }
  int fd = fs_open_in_root (rootfd, m->destination, O_PATH, 0, NULL);
  if (fd >= 0)
    return fd;
  _cleanup_free_ char *resolved = target_resolve_create (rootfd, m->destination, is_file, err);
  if (resolved == NULL)
    return -1;
  /* Opened once, mounted on this fd: a later swap of any component for a
   * symlink changes nothing (CVE-2021-30465). */
  return fs_open_in_root (rootfd, resolved, O_PATH, 0, err);
}

int
mount_into_root (int rootfd, const char *bundle, const struct spec_mount *m, struct cgroup *cg,
                 bool in_userns, struct berth_error **err)
{
  _cleanup_close_ int target = mount_target_open (rootfd, bundle, m, err);
  if (target < 0)
    return berth_error_prefix (err, "mount `%s`", m->destination);

  if (strcmp (m->type, "cgroup") == 0 || strcmp (m->type, "cgroup2") == 0)
    {
      if (cg == NULL)
        return berth_error_set (err, 0, "mount `%s`: cgroup mount without a cgroup",
                                m->destination);
      bool ro = (m->attr_set | m->rec_attr_set) & MOUNT_ATTR_RDONLY;
      if (cgroup_mount_into (cg, target, ro, err) < 0)
        return berth_error_prefix (err, "mount cgroup on `%s`", m->destination);
      return 0;
    }

  if (m->idmap_prepared)
    return mount_idmap_attach (m, target, err);
  _cleanup_close_ int mnt = mount_make_detached (bundle, m, in_userns, err);
  if (mnt < 0)
    return berth_error_prefix (err, "mount `%s` on `%s`", m->source ? m->source : m->type,
                               m->destination);
  if ((m->rec_attr_set || m->rec_attr_clr)
      && setattr (mnt, AT_RECURSIVE, m->rec_attr_set, m->rec_attr_clr, 0) < 0)
    return berth_error_set (err, errno, "mount `%s`: set recursive attributes", m->destination);
  if ((m->attr_set || m->attr_clr) && setattr (mnt, 0, m->attr_set, m->attr_clr, 0) < 0)
    return berth_error_set (err, errno, "mount `%s`: set attributes", m->destination);
  if (move_mount (mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return berth_error_set (err, errno, "mount `%s`: attach", m->destination);
  if (m->propagation
      && setattr (mnt, m->propagation_recursive ? AT_RECURSIVE : 0, 0, 0, m->propagation) < 0)
    return berth_error_set (err, errno, "mount `%s`: set propagation", m->destination);
  return 0;
}
