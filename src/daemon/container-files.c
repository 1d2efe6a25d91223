/* The files berthd prepares for a container: its mount points (binds,
 * named and anonymous volumes, tmpfs) resolved at create, /etc/hostname,
 * /etc/hosts and /etc/resolv.conf in the container's directory, and the
 * user (Config.User) resolved in the container's own /etc/passwd. */
#include "daemon/containers-internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "daemon/volumes.h"

static const char *
str_of (const json_t *j, const char *k)
{
  json_t *v = json_object_get (j, k);
  return json_is_string (v) ? json_string_value (v) : "";
}

static bool
plan_has_destination (json_t *plan, const char *dest)
{
  size_t i;
  json_t *m;
  json_array_foreach (plan, i, m) if (strcmp (str_of (m, "Destination"), dest) == 0) return true;
  return false;
}

static int
plan_volume (struct containers *cs, struct container *c, json_t *plan, const char *name,
             const char *dest, bool rw, const char *mode, struct berth_error **err)
{
  bool created = false;
  _cleanup_free_ char *vname
      = volume_get_or_create (cs->d, name && *name ? name : NULL, true, &created, err);
  if (vname == NULL)
    return -1;
  _cleanup_free_ char *src = volume_mountpoint (cs->d, vname, err);
  if (src == NULL)
    return -1;
  if (volume_ref (cs->d, vname, c->id, err) < 0)
    return -1;
  json_array_append_new (plan, json_pack ("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:b}", "Type", "volume",
                                          "Name", vname, "Source", src, "Destination", dest,
                                          "Driver", "local", "Mode", mode, "RW", rw, "Propagation",
                                          "", "Anonymous", name == NULL || *name == '\0'));
  return 0;
}

int container_mounts_plan (struct containers *cs, struct container *c, struct berth_error **err);

int
container_mounts_plan (struct containers *cs, struct container *c, struct berth_error **err)
{
  _cleanup_json_ json_t *plan = json_array ();
  const json_t *hc = c->host_config;
  size_t i;
  json_t *e;
  json_array_foreach (json_object_get (hc, "Binds"), i, e)
  {
    _cleanup_strv_ char **parts = strv_split (json_string_value (e), ':');
    const char *src = parts[0], *dest = parts[1];
    const char *mode = parts[2] ? parts[2] : "";
    bool rw = true;
    const char *prop = "rprivate";
    _cleanup_strv_ char **opts = strv_split (mode, ',');
    for (char **o = opts; *o; o++)
      {
        if (strcmp (*o, "ro") == 0)
          rw = false;
        if (strstr (*o, "shared") || strstr (*o, "slave") || strstr (*o, "private"))
          prop = *o;
      }
    if (plan_has_destination (plan, dest))
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "Duplicate mount point: %s", dest);
    if (src[0] == '/')
      {
        /* docker creates a missing bind source directory for -v */
        if (access (src, F_OK) < 0 && fs_mkdir_p (src, 0755, err) < 0)
          return berth_error_prefix (err, "HostConfig.Binds[%zu]", i);
        json_array_append_new (plan, json_pack ("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind",
                                                "Source", src, "Destination", dest, "Mode", mode,
                                                "RW", rw, "Propagation", prop));
      }
    else if (plan_volume (cs, c, plan, src, dest, rw, mode, err) < 0)
      return berth_error_prefix (err, "HostConfig.Binds[%zu]", i);
  }
  json_array_foreach (json_object_get (hc, "Mounts"), i, e)
  {
    const char *type = str_of (e, "Type");
    const char *dest = str_of (e, "Target");
    bool rw = !json_is_true (json_object_get (e, "ReadOnly"));
    if (plan_has_destination (plan, dest))
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "Duplicate mount point: %s", dest);
    if (strcmp (type, "bind") == 0)
      {
        const char *src = str_of (e, "Source");
        if (access (src, F_OK) < 0)
          return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                       "HostConfig.Mounts[%zu].Source: invalid mount config for "
                                       "type \"bind\": bind source path does not exist: %s",
                                       i, src);
        const char *prop = str_of (json_object_get (e, "BindOptions"), "Propagation");
        json_array_append_new (plan,
                               json_pack ("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind", "Source",
                                          src, "Destination", dest, "Mode", "", "RW", rw,
                                          "Propagation", *prop ? prop : "rprivate"));
      }
    else if (strcmp (type, "volume") == 0)
      {
        if (plan_volume (cs, c, plan, str_of (e, "Source"), dest, rw, "z", err) < 0)
          return berth_error_prefix (err, "HostConfig.Mounts[%zu]", i);
      }
    else
      {
        json_t *to = json_object_get (e, "TmpfsOptions");
        _cleanup_free_ char *opts = NULL;
        json_int_t size = json_integer_value (json_object_get (to, "SizeBytes"));
        json_int_t mode = json_integer_value (json_object_get (to, "Mode"));
        if (size > 0 && mode > 0)
          opts = xasprintf ("size=%lld,mode=%llo", (long long)size, (unsigned long long)mode);
        else if (size > 0)
          opts = xasprintf ("size=%lld", (long long)size);
        else if (mode > 0)
          opts = xasprintf ("mode=%llo", (unsigned long long)mode);
        json_array_append_new (plan,
                               json_pack ("{s:s,s:s,s:s,s:s,s:b,s:s,s:s}", "Type", "tmpfs",
                                          "Source", "", "Destination", dest, "Mode", "", "RW", rw,
                                          "Propagation", "", "TmpfsOptions", opts ? opts : ""));
      }
  }
  const char *k;
  json_object_foreach (json_object_get (hc, "Tmpfs"), k, e)
  {
    if (plan_has_destination (plan, k))
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "Duplicate mount point: %s", k);
    const char *opts = json_string_value (e);
    bool rw = strstr (opts, "ro") != opts && strstr (opts, ",ro") == NULL;
    json_array_append_new (plan, json_pack ("{s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:b}", "Type", "tmpfs",
                                            "Source", "", "Destination", k, "Mode", "", "RW", rw,
                                            "Propagation", "", "TmpfsOptions", opts, "Hidden", 1));
  }
  /* the image's VOLUMEs (and -v /path) get anonymous volumes */
  json_object_foreach (json_object_get (c->config, "Volumes"), k, e)
  {
    if (plan_has_destination (plan, k) || k[0] != '/')
      continue;
    if (plan_volume (cs, c, plan, NULL, k, true, "", err) < 0)
      return berth_error_prefix (err, "Config.Volumes[\"%s\"]", k);
  }
  json_decref (c->mounts);
  c->mounts = steal_pointer (&plan);
  return 0;
}

/* ---------------------------------------------------- /etc files -- */

static int
write_file (int dirfd, const char *name, const char *content, struct berth_error **err)
{
  return container_write_file_volatile (dirfd, name, content, strlen (content), err);
}

static bool
is_localhost_ns (const char *addr)
{
  return str_has_prefix (addr, "127.") || strcmp (addr, "::1") == 0;
}

int container_write_etc_files (struct containers *cs, struct container *c,
                               struct berth_error **err);

int
container_write_etc_files (struct containers *cs, struct container *c, struct berth_error **err)
{
  const json_t *hc = c->host_config;
  bool host_net = strcmp (str_of (hc, "NetworkMode"), "host") == 0;
  char hostname[256];
  if (host_net)
    gethostname (hostname, sizeof hostname);
  else if (*str_of (c->config, "Hostname"))
    snprintf (hostname, sizeof hostname, "%s", str_of (c->config, "Hostname"));
  else
    snprintf (hostname, sizeof hostname, "%.12s", c->id);
  _cleanup_free_ char *hn = xasprintf ("%s\n", hostname);
  /* the exec dir: these are remade at every start */
  _cleanup_free_ char *exec_dir = container_exec_dir (cs, c);
  _cleanup_close_ int dirfd = open (exec_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return berth_error_set (err, errno, "open %s", exec_dir);
  /* a berthd of before wrote them into the data dir */
  static const char *const old[] = { "hostname", "hosts", "resolv.conf" };
  for (size_t k = 0; k < 3; k++)
    unlinkat (c->dirfd, old[k], 0);
  if (write_file (dirfd, "hostname", hn, err) < 0)
    return -1;

  /* hosts */
  _cleanup_free_ char *hosts = NULL;
  if (host_net && fs_read_file (AT_FDCWD, "/etc/hosts", &hosts, NULL, NULL) == 0)
    ;
  else
    {
      free (hosts);
      hosts = xstrdup ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                       "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
                       "ff02::2\tip6-allrouters\n");
    }
  size_t i;
  json_t *e;
  json_array_foreach (json_object_get (hc, "ExtraHosts"), i, e)
  {
    const char *s = json_string_value (e);
    const char *colon = strchr (s, ':');
    if (colon == NULL)
      continue;
    char *next = xasprintf ("%s%s\t%.*s\n", hosts, colon + 1, (int)(colon - s), s);
    free (hosts);
    hosts = next;
  }
  if (write_file (dirfd, "hosts", hosts, err) < 0)
    return -1;

  /* resolv.conf: the host's, minus nameservers that only make sense on
   * the host (127.x, ::1), docker's defaults when none is left */
  _cleanup_free_ char *host_resolv = NULL;
  if (fs_read_file (AT_FDCWD, "/etc/resolv.conf", &host_resolv, NULL, NULL) < 0)
    host_resolv = xstrdup ("");
  json_t *dns = json_object_get (hc, "Dns");
  json_t *search = json_object_get (hc, "DnsSearch");
  json_t *options = json_object_get (hc, "DnsOptions");
  _cleanup_free_ char *out = xstrdup ("");
  bool has_ns = false;
  _cleanup_strv_ char **lines = strv_split (host_resolv, '\n');
  for (char **l = lines; *l; l++)
    {
      char *line = *l;
      char *next = NULL;
      if (str_has_prefix (line, "nameserver"))
        {
          if (json_array_size (dns) > 0)
            continue;
          char addr[128] = "";
          sscanf (line, "nameserver %127s", addr);
          if (!host_net && is_localhost_ns (addr))
            continue;
          has_ns = true;
        }
      else if ((str_has_prefix (line, "search") && json_array_size (search) > 0)
               || (str_has_prefix (line, "options") && json_array_size (options) > 0)
               || *line == '\0')
        continue;
      next = xasprintf ("%s%s\n", out, line);
      free (out);
      out = next;
    }
  json_array_foreach (dns, i, e)
  {
    char *next = xasprintf ("%snameserver %s\n", out, json_string_value (e));
    free (out);
    out = next;
    has_ns = true;
  }
  if (!has_ns)
    {
      char *next = xasprintf ("%snameserver 8.8.8.8\nnameserver 8.8.4.4\n", out);
      free (out);
      out = next;
    }
  if (json_array_size (search) > 0)
    {
      _cleanup_strv_ char **v = NULL;
      json_array_foreach (search, i, e) strv_append (&v, json_string_value (e));
      _cleanup_free_ char *joined = strv_join (v, " ");
      char *next = xasprintf ("%ssearch %s\n", out, joined);
      free (out);
      out = next;
    }
  if (json_array_size (options) > 0)
    {
      _cleanup_strv_ char **v = NULL;
      json_array_foreach (options, i, e) strv_append (&v, json_string_value (e));
      _cleanup_free_ char *joined = strv_join (v, " ");
      char *next = xasprintf ("%soptions %s\n", out, joined);
      free (out);
      out = next;
    }
  return write_file (dirfd, "resolv.conf", out, err);
}

/* ------------------------------------------------------------- users -- */

static bool
parse_id (const char *s, unsigned long *out)
{
  if (*s == '\0')
    return false;
  char *end;
  errno = 0;
  unsigned long v = strtoul (s, &end, 10);
  if (*end != '\0' || errno != 0 || v > 0xfffffffeUL)
    return false;
  *out = v;
  return true;
}

/* Lines of a colon-separated database (passwd, group) inside the root. */
static char **
db_lines (int rootfd, const char *path)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_close_ int fd = fs_open_in_root (rootfd, path, O_RDONLY, 0, &err);
  if (fd < 0)
    return NULL;
  char buf[65536];
  ssize_t n = fs_read_all (fd, buf, sizeof buf - 1);
  if (n < 0)
    return NULL;
  buf[n] = '\0';
  return strv_split (buf, '\n');
}

int
container_user_resolve (int rootfd, const char *user, char *const *group_add, uid_t *uid,
                        gid_t *gid, gid_t **additional, size_t *n_additional,
                        struct berth_error **err)
{
  *uid = 0;
  *gid = 0;
  *additional = NULL;
  *n_additional = 0;
  _cleanup_free_ char *copy = xstrdup (user ? user : "");
  char *group = strchr (copy, ':');
  if (group)
    *group++ = '\0';
  /* An empty user is uid 0 even without /etc/passwd (runc's default exec
   * user); only a user that is named and cannot be found is an error. */
  const char *name = *copy ? copy : "0";
  _cleanup_strv_ char **passwd = db_lines (rootfd, "/etc/passwd");
  _cleanup_strv_ char **groups = db_lines (rootfd, "/etc/group");
  unsigned long v;
  bool found = false;
  _cleanup_free_ char *uname = NULL;
  for (char **l = passwd; l && *l; l++)
    {
      _cleanup_strv_ char **f = strv_split (*l, ':');
      if (strv_len (f) < 4)
        continue;
      if (strcmp (f[0], name) == 0 || (parse_id (name, &v) && strcmp (f[2], name) == 0))
        {
          unsigned long u, g;
          if (parse_id (f[2], &u) && parse_id (f[3], &g))
            {
              *uid = (uid_t)u;
              *gid = (gid_t)g;
              found = true;
              uname = xstrdup (f[0]);
              break;
            }
        }
    }
  if (!found)
    {
      if (!parse_id (name, &v))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "unable to find user %s: no matching entries in passwd file",
                                     name);
      *uid = (uid_t)v;
    }
  if (group && *group)
    {
      bool gfound = false;
      for (char **l = groups; l && *l; l++)
        {
          _cleanup_strv_ char **f = strv_split (*l, ':');
          if (strv_len (f) >= 3 && strcmp (f[0], group) == 0 && parse_id (f[2], &v))
            {
              *gid = (gid_t)v;
              gfound = true;
              break;
            }
        }
      if (!gfound)
        {
          if (!parse_id (group, &v))
            return berth_error_set_kind (
                err, BERTH_E_INVALID, 0,
                "unable to find group %s: no matching entries in group file", group);
          *gid = (gid_t)v;
        }
    }
  /* supplementary groups: the user's memberships, then --group-add */
  gid_t *out = NULL;
  size_t n = 0;
  for (char **l = groups; uname && l && *l; l++)
    {
      _cleanup_strv_ char **f = strv_split (*l, ':');
      if (strv_len (f) < 4 || !parse_id (f[2], &v))
        continue;
      _cleanup_strv_ char **members = strv_split (f[3], ',');
      if (strv_contains (members, uname))
        {
          out = realloc (out, (n + 1) * sizeof *out);
          out[n++] = (gid_t)v;
        }
    }
  for (char *const *g = group_add; g && *g; g++)
    {
      bool ok = parse_id (*g, &v);
      for (char **l = groups; !ok && l && *l; l++)
        {
          _cleanup_strv_ char **f = strv_split (*l, ':');
          if (strv_len (f) >= 3 && strcmp (f[0], *g) == 0 && parse_id (f[2], &v))
            ok = true;
        }
      if (!ok)
        {
          free (out);
          return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                       "Unable to find group %s: no matching entries in group file",
                                       *g);
        }
      out = realloc (out, (n + 1) * sizeof *out);
      out[n++] = (gid_t)v;
    }
  *additional = out;
  *n_additional = n;
  return 0;
}
