/* Idmapped mounts (mounts[].uidMappings/gidMappings, options idmap/ridmap):
 * parsed with errors naming the field, then prepared by the runtime in the
 * host's namespaces before the init is cloned (open_tree + mount_setattr
 * MOUNT_ATTR_IDMAP needs privilege over the filesystem, which an init in a
 * user namespace lacks); the init inherits the detached mount and attaches
 * it to its target with move_mount. */
#include "runtime/runtime-internal.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>

#define IDMAP_MAX_LINES 340 /* the kernel's limit for uid_map/gid_map */

static int
invalid (struct berth_error **err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  _cleanup_free_ char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s", msg ? msg : "invalid config");
}

static int
parse_maps (const json_t *list, const char *where, const char *key, struct spec_id_map **out,
            size_t *n, struct berth_error **err)
{
  if (list == NULL || json_is_null (list))
    return 0;
  if (!json_is_array (list) || json_array_size (list) == 0)
    return invalid (err, "%s.%s: must be a non-empty array", where, key);
  if (json_array_size (list) > IDMAP_MAX_LINES)
    return invalid (err, "%s.%s: at most %d entries", where, key, IDMAP_MAX_LINES);
  *out = calloc (json_array_size (list), sizeof **out);
  if (*out == NULL)
    abort ();
  size_t i;
  json_t *e;
  json_array_foreach (list, i, e)
  {
    static const char *const fields[] = { "containerID", "hostID", "size" };
    uint32_t v[3];
    for (int k = 0; k < 3; k++)
      {
        json_t *f = json_object_get (e, fields[k]);
        if (!json_is_integer (f) || json_integer_value (f) < 0
            || json_integer_value (f) > UINT32_MAX || (k == 2 && json_integer_value (f) == 0))
          return invalid (err, "%s.%s[%zu].%s: must be an integer between %d and 4294967295",
                          where, key, i, fields[k], k == 2 ? 1 : 0);
        v[k] = (uint32_t)json_integer_value (f);
      }
    (*out)[(*n)++] = (struct spec_id_map){ v[0], v[1], v[2] };
  }
  return 0;
}

int
mount_idmap_parse (const json_t *e, struct spec_mount *m, const char *where,
                   struct berth_error **err)
{
  json_t *opts = json_object_get (e, "options");
  size_t i;
  json_t *o;
  json_array_foreach (opts, i, o)
  {
    const char *name = json_string_value (o);
    if (name && (strcmp (name, "idmap") == 0 || strcmp (name, "ridmap") == 0))
      {
        m->idmap = true;
        m->idmap_recursive |= name[0] == 'r';
      }
  }
  if (parse_maps (json_object_get (e, "uidMappings"), where, "uidMappings", &m->idmap_uids,
                  &m->n_idmap_uids, err)
          < 0
      || parse_maps (json_object_get (e, "gidMappings"), where, "gidMappings", &m->idmap_gids,
                     &m->n_idmap_gids, err)
             < 0)
    return -1;
  if ((m->n_idmap_uids == 0) != (m->n_idmap_gids == 0))
    return invalid (err, "%s: uidMappings and gidMappings go together", where);
  if (m->n_idmap_uids)
    m->idmap = true;
  if (m->idmap && !m->is_bind && !(m->type && strcmp (m->type, "bind") == 0))
    return invalid (err, "%s.options: idmapped mounts need a bind mount", where);
  return 0;
}

void
mount_idmap_clear (struct spec_mount *m)
{
  free (m->idmap_uids);
  free (m->idmap_gids);
  if (m->idmap_prepared)
    close (m->idmap_fd);
  m->idmap_uids = m->idmap_gids = NULL;
  m->idmap_prepared = false;
}

static int
write_map (pid_t pid, const char *file, const struct spec_id_map *maps, size_t n,
           struct berth_error **err)
{
  _cleanup_free_ char *text = xstrdup ("");
  for (size_t i = 0; i < n; i++)
    {
      char *next = xasprintf ("%s%u %u %u\n", text, maps[i].container_id, maps[i].host_id,
                              maps[i].size);
      free (text);
      text = next;
    }
  _cleanup_free_ char *path = xasprintf ("/proc/%d/%s", pid, file);
  _cleanup_close_ int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, text, strlen (text)) != (ssize_t)strlen (text))
    return berth_error_set (err, errno, "write %s", file);
  return 0;
}

/* A user namespace with these maps, held by an fd: a child is cloned into
 * a new one, the maps are written from here, its ns file is opened, and
 * the child is killed and reaped. */
static int
userns_fd_with_maps (const struct spec_id_map *uids, size_t n_uids, const struct spec_id_map *gids,
                     size_t n_gids, struct berth_error **err)
{
  struct clone_args args = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
  pid_t pid = (pid_t)syscall (SYS_clone3, &args, sizeof args);
  if (pid < 0)
    return berth_error_set (err, errno, "clone a user namespace for an idmapped mount");
  if (pid == 0)
    for (;;)
      pause ();
  int fd = -1;
  if (write_map (pid, "uid_map", uids, n_uids, err) == 0
      && write_map (pid, "gid_map", gids, n_gids, err) == 0)
    {
      _cleanup_free_ char *path = xasprintf ("/proc/%d/ns/user", pid);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        berth_error_set (err, errno, "open %s", path);
    }
  kill (pid, SIGKILL);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  return fd;
}

static int
idmap_prepare_one (const struct spec *s, const char *bundle, struct spec_mount *m,
                   struct berth_error **err)
{
  const struct spec_id_map *uids = m->idmap_uids, *gids = m->idmap_gids;
  size_t n_uids = m->n_idmap_uids, n_gids = m->n_idmap_gids;
  if (n_uids == 0)
    {
      /* `idmap` alone: the container's own user namespace mappings. */
      if (s->n_uid_maps == 0 || s->n_gid_maps == 0)
        return berth_error_set_kind (
            err, BERTH_E_INVALID, 0,
            "options: `idmap` without uidMappings/gidMappings needs linux.uidMappings and "
            "linux.gidMappings");
      uids = s->uid_maps, n_uids = s->n_uid_maps;
      gids = s->gid_maps, n_gids = s->n_gid_maps;
    }
  _cleanup_close_ int userns = userns_fd_with_maps (uids, n_uids, gids, n_gids, err);
  if (userns < 0)
    return -1;
  _cleanup_free_ char *src
      = m->source[0] == '/' ? xstrdup (m->source) : xasprintf ("%s/%s", bundle, m->source);
  _cleanup_close_ int mnt = open_tree (AT_FDCWD, src,
                                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC
                                           | (m->is_recursive ? AT_RECURSIVE : 0));
  if (mnt < 0)
    return berth_error_set (err, errno, "open_tree (bind) `%s`", src);
  struct mount_attr idmap = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
  if (mount_setattr (mnt, "", AT_EMPTY_PATH | (m->idmap_recursive ? AT_RECURSIVE : 0), &idmap,
                     sizeof idmap)
      < 0)
    return berth_error_set (err, errno, "mount_setattr MOUNT_ATTR_IDMAP on `%s`%s", src,
                            errno == EINVAL ? " (does its filesystem support idmapped mounts?)"
                                            : "");
  /* The other attributes too, while we hold privilege over this mount. */
  struct mount_attr rec = { .attr_set = m->rec_attr_set, .attr_clr = m->rec_attr_clr };
  struct mount_attr top = { .attr_set = m->attr_set, .attr_clr = m->attr_clr };
  if ((rec.attr_set || rec.attr_clr)
      && mount_setattr (mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &rec, sizeof rec) < 0)
    return berth_error_set (err, errno, "set recursive attributes of `%s`", src);
  if ((top.attr_set || top.attr_clr) && mount_setattr (mnt, "", AT_EMPTY_PATH, &top, sizeof top) < 0)
    return berth_error_set (err, errno, "set attributes of `%s`", src);
  m->idmap_fd = steal_fd (&mnt);
  m->idmap_prepared = true;
  return 0;
}

int
mounts_idmap_prepare (struct spec *s, const char *bundle, struct berth_error **err)
{
  for (size_t i = 0; i < s->n_mounts; i++)
    if (s->mounts[i].idmap && !s->mounts[i].idmap_prepared
        && idmap_prepare_one (s, bundle, &s->mounts[i], err) < 0)
      return berth_error_prefix (err, "mounts[%zu] (idmapped, on `%s`)", i,
                                 s->mounts[i].destination);
  return 0;
}

int
mount_idmap_attach (const struct spec_mount *m, int target, struct berth_error **err)
{
  if (move_mount (m->idmap_fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
      < 0)
    return berth_error_set (err, errno, "mount `%s`: attach the idmapped mount", m->destination);
  struct mount_attr prop = { .propagation = m->propagation };
  if (m->propagation
      && mount_setattr (m->idmap_fd, "",
                        AT_EMPTY_PATH | (m->propagation_recursive ? AT_RECURSIVE : 0), &prop,
                        sizeof prop)
             < 0)
    return berth_error_set (err, errno, "mount `%s`: set propagation", m->destination);
  return 0;
}
