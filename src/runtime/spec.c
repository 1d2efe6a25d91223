/* config.json → struct spec. The only place that reads the OCI config: every
 * field is validated here, once, and errors name the field by its path
 * ("process.rlimits[2].type: unknown rlimit `RLIMIT_FOO`"); the code that
 * sets up the container then trusts the struct. */
#include "runtime/runtime-internal.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int invalid (struct berth_error **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

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

/* Optional string member: NULL when absent, error when not a string. */
static int
get_string (const json_t *obj, const char *key, const char *where, char **out,
            struct berth_error **err)
{
  json_t *v = json_object_get (obj, key);
  *out = NULL;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_string (v))
    return invalid (err, "%s.%s: must be a string", where, key);
  *out = xstrdup (json_string_value (v));
  return 0;
}

static int
get_uint (const json_t *obj, const char *key, const char *where, uint64_t max, uint64_t *out,
          bool *present, struct berth_error **err)
{
  json_t *v = json_object_get (obj, key);
  if (present)
    *present = false;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_integer (v) || json_integer_value (v) < 0 || (uint64_t)json_integer_value (v) > max)
    return invalid (err, "%s.%s: must be an integer between 0 and %llu", where, key,
                    (unsigned long long)max);
  *out = (uint64_t)json_integer_value (v);
  if (present)
    *present = true;
  return 0;
}

static int
get_strv (const json_t *obj, const char *key, const char *where, char ***out,
          struct berth_error **err)
{
  json_t *v = json_object_get (obj, key);
  *out = NULL;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_array (v))
    return invalid (err, "%s.%s: must be an array of strings", where, key);
  char **list = calloc (json_array_size (v) + 1, sizeof *list);
  if (list == NULL)
    abort ();
  size_t i;
  json_t *e;
  json_array_foreach (v, i, e)
  {
    if (!json_is_string (e))
      {
        strv_freep (&list);
        return invalid (err, "%s.%s[%zu]: must be a string", where, key, i);
      }
    list[i] = xstrdup (json_string_value (e));
  }
  *out = list;
  return 0;
}

/* ------------------------------------------------------------- process -- */

static int
parse_caps (const json_t *j, const char *where, struct spec_caps *caps, struct berth_error **err)
{
  static const char *const set_names[CAP_SET_COUNT]
      = { "bounding", "effective", "inheritable", "permitted", "ambient" };
  caps->present = true;
  if (!json_is_object (j))
    return invalid (err, "%s.capabilities: must be an object", where);
  int last = caps_last_cap ();
  for (int s = 0; s < CAP_SET_COUNT; s++)
    {
      json_t *list = json_object_get (j, set_names[s]);
      caps->sets[s] = 0;
      if (list == NULL || json_is_null (list))
        continue;
      if (!json_is_array (list))
        return invalid (err, "%s.capabilities.%s: must be an array", where, set_names[s]);
      size_t i;
      json_t *e;
      json_array_foreach (list, i, e)
      {
        const char *name = json_string_value (e);
        int cap = name ? caps_from_name (name) : -1;
        if (cap < 0)
          return invalid (err, "%s.capabilities.%s[%zu]: unknown capability `%s`", where,
                          set_names[s], i, name ? name : "(not a string)");
        /* Known to libcap but not to this kernel: skipped, as runc does. */
        if (cap > last)
          continue;
        caps->sets[s] |= UINT64_C (1) << cap;
      }
    }
  return 0;
}

static int
parse_rlimits (const json_t *list, const char *where, struct spec_process *p,
               struct berth_error **err)
{
  if (!json_is_array (list))
    return invalid (err, "%s.rlimits: must be an array", where);
  p->rlimits = calloc (json_array_size (list) + 1, sizeof *p->rlimits);
  if (p->rlimits == NULL)
    abort ();
  size_t i;
  json_t *e;
  json_array_foreach (list, i, e)
  {
    _cleanup_free_ char *path = xasprintf ("%s.rlimits[%zu]", where, i);
    const char *type = json_string_value (json_object_get (e, "type"));
    if (type == NULL)
      return invalid (err, "%s.type: missing", path);
    int res = rlimit_from_name (type);
    if (res < 0)
      return invalid (err, "%s.type: unknown rlimit `%s`", path, type);
    for (size_t k = 0; k < p->n_rlimits; k++)
      if (p->rlimits[k].resource == res)
        return invalid (err, "%s.type: `%s` given twice", path, type);
    uint64_t soft = 0, hard = 0;
    bool has_soft, has_hard;
    if (get_uint (e, "soft", path, UINT64_MAX >> 1, &soft, &has_soft, err) < 0
        || get_uint (e, "hard", path, UINT64_MAX >> 1, &hard, &has_hard, err) < 0)
      return -1;
    /* json integers are signed 64-bit: RLIM_INFINITY arrives as -1 or is absent. */
    json_t *jh = json_object_get (e, "hard"), *js = json_object_get (e, "soft");
    if (!has_hard || !has_soft)
      return invalid (err, "%s: soft and hard are required", path);
    (void)jh;
    (void)js;
    if (soft > hard)
      return invalid (err, "%s: soft limit %llu is above the hard limit %llu (%s)", path,
                      (unsigned long long)soft, (unsigned long long)hard, type);
    p->rlimits[p->n_rlimits].resource = res;
    p->rlimits[p->n_rlimits].soft = (rlim_t)soft;
    p->rlimits[p->n_rlimits].hard = (rlim_t)hard;
    p->n_rlimits++;
  }
  return 0;
}

static int
parse_user (const json_t *user, const char *where, struct spec_process *p, struct berth_error **err)
{
  _cleanup_free_ char *path = xasprintf ("%s.user", where);
  uint64_t v = 0;
  bool has;
  if (!json_is_object (user))
    return invalid (err, "%s: must be an object", path);
  if (get_uint (user, "uid", path, UINT32_MAX - 1, &v, &has, err) < 0)
    return -1;
  p->uid = has ? (uid_t)v : 0;
  if (get_uint (user, "gid", path, UINT32_MAX - 1, &v, &has, err) < 0)
    return -1;
  p->gid = has ? (gid_t)v : 0;
  if (get_uint (user, "umask", path, 07777, &v, &has, err) < 0)
    return -1;
  p->has_umask = has;
  p->umask = (mode_t)v;
  json_t *gids = json_object_get (user, "additionalGids");
  if (gids && !json_is_null (gids))
    {
      if (!json_is_array (gids))
        return invalid (err, "%s.additionalGids: must be an array", path);
      p->additional_gids = calloc (json_array_size (gids) + 1, sizeof (gid_t));
      if (p->additional_gids == NULL)
        abort ();
      size_t i;
      json_t *e;
      json_array_foreach (gids, i, e)
      {
        if (!json_is_integer (e) || json_integer_value (e) < 0
            || json_integer_value (e) >= UINT32_MAX)
          return invalid (err, "%s.additionalGids[%zu]: must be a gid", path, i);
        p->additional_gids[p->n_additional_gids++] = (gid_t)json_integer_value (e);
      }
    }
  return 0;
}

void
spec_process_clear (struct spec_process *p)
{
  free (p->additional_gids);
  strv_freep (&p->args);
  strv_freep (&p->env);
  free (p->cwd);
  free (p->rlimits);
  memset (p, 0, sizeof *p);
}

int
spec_process_parse (const json_t *j, const char *where, struct spec_process *p, unsigned *present,
                    struct berth_error **err)
{
  unsigned has = 0;
  memset (p, 0, sizeof *p);
  if (!json_is_object (j))
    return invalid (err, "%s: must be an object", where);

  json_t *term = json_object_get (j, "terminal");
  if (term && !json_is_boolean (term))
    return invalid (err, "%s.terminal: must be a boolean", where);
  p->terminal = json_is_true (term);
  json_t *size = json_object_get (j, "consoleSize");
  if (size && !json_is_null (size))
    {
      _cleanup_free_ char *sp = xasprintf ("%s.consoleSize", where);
      uint64_t h = 0, w = 0;
      if (get_uint (size, "height", sp, 65535, &h, NULL, err) < 0
          || get_uint (size, "width", sp, 65535, &w, NULL, err) < 0)
        return -1;
      p->console_rows = (unsigned short)h;
      p->console_cols = (unsigned short)w;
    }

  json_t *user = json_object_get (j, "user");
  if (user && !json_is_null (user))
    {
      has |= SPEC_PROCESS_HAS_USER;
      if (parse_user (user, where, p, err) < 0)
        return -1;
    }
  if (get_strv (j, "args", where, &p->args, err) < 0)
    return -1;
  if (p->args == NULL || p->args[0] == NULL || p->args[0][0] == '\0')
    return invalid (err, "%s.args: must name the program to run", where);
  if (get_strv (j, "env", where, &p->env, err) < 0)
    return -1;
  if (p->env)
    {
      has |= SPEC_PROCESS_HAS_ENV;
      for (size_t i = 0; p->env[i]; i++)
        if (strchr (p->env[i], '=') == NULL || p->env[i][0] == '=')
          return invalid (err, "%s.env[%zu]: `%s` is not KEY=value", where, i, p->env[i]);
    }
  if (get_string (j, "cwd", where, &p->cwd, err) < 0)
    return -1;
  if (p->cwd)
    {
      has |= SPEC_PROCESS_HAS_CWD;
      if (p->cwd[0] != '/')
        return invalid (err, "%s.cwd: `%s` must be an absolute path", where, p->cwd);
    }
  else
    p->cwd = xstrdup ("/");

  json_t *caps = json_object_get (j, "capabilities");
  if (caps && !json_is_null (caps))
    {
      has |= SPEC_PROCESS_HAS_CAPS;
      if (parse_caps (caps, where, &p->caps, err) < 0)
        return -1;
    }
  json_t *rl = json_object_get (j, "rlimits");
  if (rl && !json_is_null (rl))
    {
      has |= SPEC_PROCESS_HAS_RLIMITS;
      if (parse_rlimits (rl, where, p, err) < 0)
        return -1;
    }
  json_t *nnp = json_object_get (j, "noNewPrivileges");
  if (nnp && !json_is_boolean (nnp))
    return invalid (err, "%s.noNewPrivileges: must be a boolean", where);
  if (nnp)
    has |= SPEC_PROCESS_HAS_NNP;
  p->no_new_privileges = json_is_true (nnp);

  json_t *oom = json_object_get (j, "oomScoreAdj");
  if (oom && !json_is_null (oom))
    {
      if (!json_is_integer (oom) || json_integer_value (oom) < -1000
          || json_integer_value (oom) > 1000)
        return invalid (err, "%s.oomScoreAdj: must be an integer between -1000 and 1000", where);
      p->has_oom_score_adj = true;
      p->oom_score_adj = (int)json_integer_value (oom);
    }
  json_t *io = json_object_get (j, "ioPriority");
  if (io && !json_is_null (io))
    {
      /* OCI 1.1 process.ioPriority: ioprio_set(2) classes. */
      static const char *const classes[]
          = { NULL, "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE" };
      const char *cls = json_string_value (json_object_get (io, "class"));
      json_t *prio = json_object_get (io, "priority");
      int c = 0;
      for (int k = 1; k < 4; k++)
        if (cls && strcmp (cls, classes[k]) == 0)
          c = k;
      if (c == 0)
        return invalid (err, "%s.ioPriority.class: unknown class `%s`", where, cls ? cls : "");
      if (prio
          && (!json_is_integer (prio) || json_integer_value (prio) < 0
              || json_integer_value (prio) > 7))
        return invalid (err, "%s.ioPriority.priority: must be between 0 and 7", where);
      p->has_io_priority = true;
      p->io_priority = (c << 13) | (int)(prio ? json_integer_value (prio) : 0);
    }
  if (process_sched_parse (j, where, p, err) < 0)
    return -1;
  if (present)
    *present = has;
  return 0;
}

/* ---------------------------------------------------------- namespaces -- */

static const struct
{
  const char *oci, *proc;
  int type;
} ns_names[] = {
  { "user", "user", CLONE_NEWUSER },       { "pid", "pid", CLONE_NEWPID },
  { "network", "net", CLONE_NEWNET },      { "mount", "mnt", CLONE_NEWNS },
  { "ipc", "ipc", CLONE_NEWIPC },          { "uts", "uts", CLONE_NEWUTS },
  { "cgroup", "cgroup", CLONE_NEWCGROUP }, { "time", "time", CLONE_NEWTIME },
};

int
spec_namespace_type (const char *type)
{
  for (size_t i = 0; i < sizeof ns_names / sizeof ns_names[0]; i++)
    if (strcmp (ns_names[i].oci, type) == 0)
      return ns_names[i].type;
  return 0;
}

const char *
spec_namespace_name (int type)
{
  for (size_t i = 0; i < sizeof ns_names / sizeof ns_names[0]; i++)
    if (ns_names[i].type == type)
      return ns_names[i].oci;
  return "?";
}

const char *
spec_namespace_proc_name (int type)
{
  for (size_t i = 0; i < sizeof ns_names / sizeof ns_names[0]; i++)
    if (ns_names[i].type == type)
      return ns_names[i].proc;
  return "?";
}

const struct spec_namespace *
spec_find_namespace (const struct spec *s, int type)
{
  for (size_t i = 0; i < s->n_namespaces; i++)
    if (s->namespaces[i].type == type)
      return &s->namespaces[i];
  return NULL;
}

static int
parse_namespaces (const json_t *list, struct spec *s, struct berth_error **err)
{
  if (!json_is_array (list))
    return invalid (err, "linux.namespaces: must be an array");
  s->namespaces = calloc (json_array_size (list) + 1, sizeof *s->namespaces);
  if (s->namespaces == NULL)
    abort ();
  size_t i;
  json_t *e;
  json_array_foreach (list, i, e)
  {
    const char *type = json_string_value (json_object_get (e, "type"));
    int t = type ? spec_namespace_type (type) : 0;
    if (t == 0)
      return invalid (err, "linux.namespaces[%zu].type: unknown namespace `%s`", i,
                      type ? type : "(missing)");
    if (spec_find_namespace (s, t))
      return invalid (err, "linux.namespaces[%zu].type: `%s` given twice", i, type);
    char *path = NULL;
    _cleanup_free_ char *where = xasprintf ("linux.namespaces[%zu]", i);
    if (get_string (e, "path", where, &path, err) < 0)
      return -1;
    if (path && path[0] == '\0')
      {
        free (path);
        path = NULL;
      }
    if (path && path[0] != '/')
      {
        free (path);
        return invalid (err, "%s.path: must be absolute", where);
      }
    s->namespaces[s->n_namespaces].type = t;
    s->namespaces[s->n_namespaces].path = path;
    s->n_namespaces++;
  }
  return 0;
}

static int
parse_id_maps (const json_t *list, const char *where, struct spec_id_map **out, size_t *n,
               struct berth_error **err)
{
  if (list == NULL || json_is_null (list))
    return 0;
  if (!json_is_array (list))
    return invalid (err, "linux.%s: must be an array", where);
  *out = calloc (json_array_size (list) + 1, sizeof **out);
  if (*out == NULL)
    abort ();
  size_t i;
  json_t *e;
  json_array_foreach (list, i, e)
  {
    _cleanup_free_ char *path = xasprintf ("linux.%s[%zu]", where, i);
    uint64_t c = 0, h = 0, sz = 0;
    bool hc, hh, hs;
    if (get_uint (e, "containerID", path, UINT32_MAX, &c, &hc, err) < 0
        || get_uint (e, "hostID", path, UINT32_MAX, &h, &hh, err) < 0
        || get_uint (e, "size", path, UINT32_MAX, &sz, &hs, err) < 0)
      return -1;
    if (!hc || !hh || !hs || sz == 0)
      return invalid (err, "%s: containerID, hostID and a non-zero size are required", path);
    (*out)[*n] = (struct spec_id_map){ (uint32_t)c, (uint32_t)h, (uint32_t)sz };
    (*n)++;
  }
  return 0;
}

/* -------------------------------------------------------------- mounts -- */

static int
parse_mounts (const json_t *list, struct spec *s, struct berth_error **err)
{
  if (!json_is_array (list))
    return invalid (err, "mounts: must be an array");
  s->mounts = calloc (json_array_size (list) + 1, sizeof *s->mounts);
  if (s->mounts == NULL)
    abort ();
  size_t i;
  json_t *e;
  json_array_foreach (list, i, e)
  {
    _cleanup_free_ char *where = xasprintf ("mounts[%zu]", i);
    struct spec_mount *m = &s->mounts[s->n_mounts++];
    if (!json_is_object (e))
      return invalid (err, "%s: must be an object", where);
    if (get_string (e, "destination", where, &m->destination, err) < 0
        || get_string (e, "source", where, &m->source, err) < 0
        || get_string (e, "type", where, &m->type, err) < 0)
      return -1;
    if (m->destination == NULL || m->destination[0] != '/')
      return invalid (err, "%s.destination: must be an absolute path (got `%s`)", where,
                      m->destination ? m->destination : "");
    if (mount_options_parse (json_object_get (e, "options"), m, where, err) < 0)
      return -1;
    if (m->type == NULL || strcmp (m->type, "bind") == 0 || strcmp (m->type, "none") == 0)
      {
        if (m->type && strcmp (m->type, "bind") == 0)
          m->is_bind = true;
        if (!m->is_bind)
          return invalid (err, "%s.type: missing (only bind mounts may omit it)", where);
      }
    if (m->is_bind && (m->source == NULL || m->source[0] == '\0'))
      return invalid (err, "%s.source: a bind mount needs a source", where);
    if (mount_idmap_parse (e, m, where, err) < 0)
      return -1;
    if (m->type == NULL)
      m->type = xstrdup ("bind");
  }
  return 0;
}

static unsigned long
propagation_parse (const char *p)
{
  static const struct
  {
    const char *name;
    unsigned long flags;
  } t[] = {
    { "shared", MS_SHARED | MS_REC },         { "rshared", MS_SHARED | MS_REC },
    { "slave", MS_SLAVE | MS_REC },           { "rslave", MS_SLAVE | MS_REC },
    { "private", MS_PRIVATE | MS_REC },       { "rprivate", MS_PRIVATE | MS_REC },
    { "unbindable", MS_UNBINDABLE | MS_REC }, { "runbindable", MS_UNBINDABLE | MS_REC },
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp (t[i].name, p) == 0)
      return t[i].flags;
  return 0;
}

/* Sysctls a container may set: the ones namespaced by a namespace it owns
 * (runc's list). A host-wide sysctl would change the machine, not the
 * container. */
static bool
sysctl_allowed (const struct spec *s, const char *key)
{
  const struct spec_namespace *ipc = spec_find_namespace (s, CLONE_NEWIPC);
  const struct spec_namespace *net = spec_find_namespace (s, CLONE_NEWNET);
  const struct spec_namespace *uts = spec_find_namespace (s, CLONE_NEWUTS);
  static const char *const ipc_keys[]
      = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
          "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced" };
  for (size_t i = 0; i < sizeof ipc_keys / sizeof ipc_keys[0]; i++)
    if (strcmp (key, ipc_keys[i]) == 0)
      return ipc != NULL;
  if (str_has_prefix (key, "fs.mqueue."))
    return ipc != NULL;
  if (str_has_prefix (key, "net."))
    return net != NULL;
  if (strcmp (key, "kernel.hostname") == 0 || strcmp (key, "kernel.domainname") == 0)
    return uts != NULL;
  return false;
}

static int
parse_linux (const json_t *lx, struct spec *s, struct berth_error **err)
{
  json_t *v;
  if (!json_is_object (lx))
    return invalid (err, "linux: must be an object");
  if ((v = json_object_get (lx, "namespaces")) && parse_namespaces (v, s, err) < 0)
    return -1;
  if (parse_id_maps (json_object_get (lx, "uidMappings"), "uidMappings", &s->uid_maps,
                     &s->n_uid_maps, err)
          < 0
      || parse_id_maps (json_object_get (lx, "gidMappings"), "gidMappings", &s->gid_maps,
                        &s->n_gid_maps, err)
             < 0)
    return -1;
  const struct spec_namespace *userns = spec_find_namespace (s, CLONE_NEWUSER);
  if ((s->n_uid_maps || s->n_gid_maps) && (userns == NULL || userns->path))
    return invalid (err, "linux.uidMappings: mappings need a new user namespace");
  if (userns && userns->path == NULL && (s->n_uid_maps == 0 || s->n_gid_maps == 0))
    return invalid (err, "linux.uidMappings: a new user namespace needs uid and gid mappings");

  json_t *to = json_object_get (lx, "timeOffsets");
  if (to && !json_is_null (to))
    {
      if (spec_find_namespace (s, CLONE_NEWTIME) == NULL)
        return invalid (err, "linux.timeOffsets: needs a time namespace");
      s->has_time_offsets = true;
      const char *clocks[] = { "monotonic", "boottime" };
      struct spec_time_offset *dst[] = { &s->time_offset_monotonic, &s->time_offset_boottime };
      for (int i = 0; i < 2; i++)
        {
          json_t *c = json_object_get (to, clocks[i]);
          if (c == NULL)
            continue;
          dst[i]->secs = json_integer_value (json_object_get (c, "secs"));
          dst[i]->nanosecs = (uint32_t)json_integer_value (json_object_get (c, "nanosecs"));
        }
    }

  s->resources = json_object_get (lx, "resources");
  if (s->resources && !json_is_null (s->resources) && !json_is_object (s->resources))
    return invalid (err, "linux.resources: must be an object");
  s->seccomp = json_object_get (lx, "seccomp");
  if (s->seccomp && json_is_null (s->seccomp))
    s->seccomp = NULL;
  if (s->seccomp)
    {
      if (!json_is_object (s->seccomp))
        return invalid (err, "linux.seccomp: must be an object");
      if (get_string (s->seccomp, "listenerPath", "linux.seccomp", &s->seccomp_listener_path, err)
              < 0
          || get_string (s->seccomp, "listenerMetadata", "linux.seccomp",
                         &s->seccomp_listener_metadata, err)
                 < 0)
        return -1;
    }
  if (get_string (lx, "cgroupsPath", "linux", &s->cgroups_path, err) < 0)
    return -1;
  if (get_strv (lx, "maskedPaths", "linux", &s->masked_paths, err) < 0
      || get_strv (lx, "readonlyPaths", "linux", &s->readonly_paths, err) < 0)
    return -1;
  for (char **p = s->masked_paths; p && *p; p++)
    if ((*p)[0] != '/')
      return invalid (err, "linux.maskedPaths: `%s` must be absolute", *p);
  for (char **p = s->readonly_paths; p && *p; p++)
    if ((*p)[0] != '/')
      return invalid (err, "linux.readonlyPaths: `%s` must be absolute", *p);

  _cleanup_free_ char *prop = NULL;
  if (get_string (lx, "rootfsPropagation", "linux", &prop, err) < 0)
    return -1;
  if (prop && prop[0])
    {
      s->rootfs_propagation = propagation_parse (prop);
      if (s->rootfs_propagation == 0)
        return invalid (err, "linux.rootfsPropagation: unknown propagation `%s`", prop);
    }

  json_t *devs = json_object_get (lx, "devices");
  if (devs && !json_is_null (devs))
    {
      if (!json_is_array (devs))
        return invalid (err, "linux.devices: must be an array");
      s->devices = calloc (json_array_size (devs) + 1, sizeof *s->devices);
      if (s->devices == NULL)
        abort ();
      size_t i;
      json_t *e;
      json_array_foreach (devs, i, e)
      {
        _cleanup_free_ char *where = xasprintf ("linux.devices[%zu]", i);
        struct spec_device *d = &s->devices[s->n_devices++];
        _cleanup_free_ char *type = NULL;
        if (get_string (e, "path", where, &d->path, err) < 0
            || get_string (e, "type", where, &type, err) < 0)
          return -1;
        if (d->path == NULL || d->path[0] != '/')
          return invalid (err, "%s.path: must be an absolute path", where);
        if (type == NULL || strlen (type) != 1 || strchr ("cbup", type[0]) == NULL)
          return invalid (err, "%s.type: must be c, b, u or p (got `%s`)", where, type ? type : "");
        d->type = type[0];
        uint64_t v64 = 0;
        bool has = false;
        if (get_uint (e, "major", where, UINT32_MAX, &v64, &has, err) < 0)
          return -1;
        d->major = (int64_t)v64;
        if (!has && d->type != 'p')
          return invalid (err, "%s.major: required for a `%c` device", where, d->type);
        if (get_uint (e, "minor", where, UINT32_MAX, &v64, &has, err) < 0)
          return -1;
        d->minor = (int64_t)v64;
        if (!has && d->type != 'p')
          return invalid (err, "%s.minor: required for a `%c` device", where, d->type);
        if (get_uint (e, "fileMode", where, 07777, &v64, &d->has_mode, err) < 0)
          return -1;
        d->mode = (mode_t)v64;
        if (get_uint (e, "uid", where, UINT32_MAX - 1, &v64, &d->has_uid, err) < 0)
          return -1;
        d->uid = (uid_t)v64;
        if (get_uint (e, "gid", where, UINT32_MAX - 1, &v64, &d->has_gid, err) < 0)
          return -1;
        d->gid = (gid_t)v64;
      }
    }

  json_t *sysctl = json_object_get (lx, "sysctl");
  if (sysctl && !json_is_null (sysctl))
    {
      if (!json_is_object (sysctl))
        return invalid (err, "linux.sysctl: must be an object");
      s->sysctls = calloc (json_object_size (sysctl) + 1, sizeof *s->sysctls);
      if (s->sysctls == NULL)
        abort ();
      const char *key;
      json_t *val;
      json_object_foreach (sysctl, key, val)
      {
        if (!json_is_string (val))
          return invalid (err, "linux.sysctl.%s: must be a string", key);
        if (strstr (key, "..") != NULL || strchr (key, '/') != NULL)
          return invalid (err, "linux.sysctl.%s: not a sysctl name", key);
        if (!sysctl_allowed (s, key))
          return invalid (err,
                          "linux.sysctl.%s: not allowed (it is not namespaced by a "
                          "namespace the container owns)",
                          key);
        s->sysctls[s->n_sysctls].key = xstrdup (key);
        s->sysctls[s->n_sysctls].value = xstrdup (json_string_value (val));
        s->n_sysctls++;
      }
    }
  return 0;
}

/* ---------------------------------------------------------------- spec -- */

void
spec_free (struct spec *s)
{
  if (s == NULL)
    return;
  json_decref (s->json);
  free (s->root_path);
  free (s->hostname);
  free (s->domainname);
  spec_process_clear (&s->process);
  for (size_t i = 0; i < s->n_mounts; i++)
    {
      free (s->mounts[i].destination);
      free (s->mounts[i].source);
      free (s->mounts[i].type);
      strv_freep (&s->mounts[i].data);
      mount_idmap_clear (&s->mounts[i]);
    }
  free (s->mounts);
  for (size_t i = 0; i < s->n_namespaces; i++)
    free (s->namespaces[i].path);
  free (s->namespaces);
  free (s->uid_maps);
  free (s->gid_maps);
  free (s->seccomp_profile_path);
  free (s->seccomp_listener_path);
  free (s->seccomp_listener_metadata);
  free (s->cgroups_path);
  strv_freep (&s->masked_paths);
  strv_freep (&s->readonly_paths);
  for (size_t i = 0; i < s->n_devices; i++)
    free (s->devices[i].path);
  free (s->devices);
  for (size_t i = 0; i < s->n_sysctls; i++)
    {
      free (s->sysctls[i].key);
      free (s->sysctls[i].value);
    }
  free (s->sysctls);
  for (int k = 0; k < HOOK_KIND_COUNT; k++)
    {
      for (size_t i = 0; i < s->n_hooks[k]; i++)
        {
          free (s->hooks[k][i].path);
          strv_freep (&s->hooks[k][i].args);
          strv_freep (&s->hooks[k][i].env);
        }
      free (s->hooks[k]);
    }
  free (s);
}

void
spec_freep (struct spec **s)
{
  spec_free (*s);
  *s = NULL;
}

struct spec *
spec_parse (json_t *json, struct berth_error **err)
{
  _cleanup_spec_ struct spec *s = calloc (1, sizeof *s);
  if (s == NULL)
    abort ();
  s->json = json_incref (json);
  if (!json_is_object (json))
    return invalid (err, "config: must be a JSON object"), NULL;

  const char *ver = json_string_value (json_object_get (json, "ociVersion"));
  if (ver == NULL)
    return invalid (err, "ociVersion: missing"), NULL;
  if (!str_has_prefix (ver, "1."))
    return invalid (err, "ociVersion: unsupported version `%s` (need 1.x)", ver), NULL;

  json_t *root = json_object_get (json, "root");
  if (!json_is_object (root))
    return invalid (err, "root: missing"), NULL;
  if (get_string (root, "path", "root", &s->root_path, err) < 0)
    return NULL;
  if (s->root_path == NULL || s->root_path[0] == '\0')
    return invalid (err, "root.path: missing"), NULL;
  json_t *ro = json_object_get (root, "readonly");
  if (ro && !json_is_boolean (ro))
    return invalid (err, "root.readonly: must be a boolean"), NULL;
  s->root_readonly = json_is_true (ro);

  json_t *proc = json_object_get (json, "process");
  if (proc == NULL)
    return invalid (err, "process: missing (berth-runtime needs a process to run)"), NULL;
  if (spec_process_parse (proc, "process", &s->process, NULL, err) < 0)
    return NULL;
  if (get_string (json, "hostname", "config", &s->hostname, err) < 0
      || get_string (json, "domainname", "config", &s->domainname, err) < 0)
    return NULL;

  json_t *mounts = json_object_get (json, "mounts");
  if (mounts && !json_is_null (mounts) && parse_mounts (mounts, s, err) < 0)
    return NULL;

  json_t *lx = json_object_get (json, "linux");
  if (lx && !json_is_null (lx) && parse_linux (lx, s, err) < 0)
    return NULL;
  if ((s->hostname && s->hostname[0]) && spec_find_namespace (s, CLONE_NEWUTS) == NULL)
    return invalid (err, "hostname: setting it needs a uts namespace"), NULL;
  if (spec_find_namespace (s, CLONE_NEWNS) == NULL)
    return invalid (err, "linux.namespaces: berth-runtime needs a mount namespace"), NULL;

  json_t *hooks = json_object_get (json, "hooks");
  if (hooks && !json_is_null (hooks) && hooks_parse (hooks, s, err) < 0)
    return NULL;
  s->annotations = json_object_get (json, "annotations");
  json_t *profile = json_object_get (s->annotations, RUNTIME_SECCOMP_PROFILE_ANNOTATION);
  if (profile && s->seccomp)
    return invalid (err, "annotations." RUNTIME_SECCOMP_PROFILE_ANNOTATION
                         ": linux.seccomp is given too"),
           NULL;
  if (profile)
    {
      const char *p = json_string_value (profile);
      if (p == NULL || p[0] != '/')
        return invalid (err, "annotations." RUNTIME_SECCOMP_PROFILE_ANNOTATION
                             ": must be an absolute path"),
               NULL;
      s->seccomp_profile_path = xstrdup (p);
    }
  json_t *pers = lx ? json_object_get (lx, "personality") : NULL;
  if (pers && !json_is_null (pers))
    {
      const char *domain = json_string_value (json_object_get (pers, "domain"));
      if (domain && strcmp (domain, "LINUX") == 0)
        s->personality = 0x0000; /* PER_LINUX */
      else if (domain && strcmp (domain, "LINUX32") == 0)
        s->personality = 0x0008; /* PER_LINUX32 */
      else
        return invalid (err, "linux.personality.domain: must be LINUX or LINUX32 (got `%s`)",
                        domain ? domain : ""),
               NULL;
      if (json_array_size (json_object_get (pers, "flags")) > 0)
        return invalid (err, "linux.personality.flags: not supported"), NULL;
      s->has_personality = true;
    }
  return steal_pointer (&s);
}

struct spec *
spec_load (const char *path, struct berth_error **err)
{
  _cleanup_json_ json_t *j = json_load_path (AT_FDCWD, path, err);
  if (j == NULL)
    return NULL;
  struct spec *s = spec_parse (j, err);
  if (s == NULL)
    berth_error_prefix (err, "%s", path);
  return s;
}
