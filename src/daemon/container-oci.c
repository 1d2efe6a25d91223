/* The OCI config.json berthd hands the runtime for a container: Docker's
 * security defaults (capabilities, seccomp, masked and read-only paths,
 * devices cgroup rules), its standard mounts (/proc, /dev, /dev/shm, the
 * hostname/hosts/resolv.conf binds), the user's mounts and resources.
 * A pure function of its input, so unit tests pin it down field by field. */
#include "daemon/container.h"

#include <ctype.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* moby's oci/caps/defaults.go */
const char *const container_default_caps[] = {
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
  NULL,
};

static const char *const all_caps[] = {
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
  NULL,
};

/* moby's oci/defaults.go */
static const char *const masked_paths[] = {
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
  NULL,
};
static const char *const readonly_paths[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static const char *
str_of (const json_t *obj, const char *name)
{
  json_t *v = json_object_get (obj, name);
  return json_is_string (v) ? json_string_value (v) : "";
}

static json_int_t
int_of (const json_t *obj, const char *name)
{
  json_t *v = json_object_get (obj, name);
  return json_is_integer (v) ? json_integer_value (v) : 0;
}

static char *
cap_name (const char *s)
{
  _cleanup_free_ char *up = xstrdup (s);
  for (char *p = up; *p; p++)
    *p = (char)toupper ((unsigned char)*p);
  if (strcmp (up, "ALL") == 0 || str_has_prefix (up, "CAP_"))
    return steal_pointer (&up);
  return xasprintf ("CAP_%s", up);
}

/* "All capabilities" means those this kernel and our bounding set have,
 * as moby's caps.GetAllCapabilities does: asking for more fails capset. */
static char **
all_caps_available (void)
{
  char **out = NULL;
  for (const char *const *c = all_caps; *c; c++)
    {
      cap_value_t v;
      if (cap_from_name (*c, &v) == 0 && prctl (PR_CAPBSET_READ, v, 0, 0, 0) == 1)
        strv_append (&out, *c);
    }
  return out ? out : calloc (1, sizeof (char *));
}

char **
container_caps_compute (const json_t *hc, struct berth_error **err)
{
  if (json_is_true (json_object_get (hc, "Privileged")))
    return all_caps_available ();
  json_t *add = json_object_get (hc, "CapAdd");
  json_t *drop = json_object_get (hc, "CapDrop");
  bool add_all = false, drop_all = false;
  size_t i;
  json_t *e;
  json_array_foreach (add, i, e)
  {
    _cleanup_free_ char *n = cap_name (json_string_value (e));
    add_all |= strcmp (n, "ALL") == 0;
  }
  json_array_foreach (drop, i, e)
  {
    _cleanup_free_ char *n = cap_name (json_string_value (e));
    drop_all |= strcmp (n, "ALL") == 0;
  }
  /* moby's caps.TweakCapabilities: start from the defaults (or all with
   * add ALL, or none with drop ALL), drop, then add */
  _cleanup_strv_ char **available = add_all ? all_caps_available () : NULL;
  const char *const *base = add_all    ? (const char *const *)available
                            : drop_all ? (const char *const[]){ NULL }
                                       : container_default_caps;
  char **out = NULL;
  for (const char *const *c = base; *c; c++)
    {
      bool dropped = false;
      json_array_foreach (drop, i, e)
      {
        _cleanup_free_ char *n = cap_name (json_string_value (e));
        if (strcmp (n, *c) == 0)
          dropped = true;
      }
      if (!dropped)
        strv_append (&out, *c);
    }
  if (!add_all)
    json_array_foreach (add, i, e)
    {
      _cleanup_free_ char *n = cap_name (json_string_value (e));
      if (strcmp (n, "ALL") != 0 && !strv_contains (out, n))
        strv_append (&out, n);
    }
  if (out == NULL)
    out = calloc (1, sizeof (char *));
  return out;
}

static json_t *
strv_to_json (char *const *v)
{
  json_t *a = json_array ();
  for (; v && *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

void
container_system_paths_default (json_t *hc)
{
  if (json_is_true (json_object_get (hc, "Privileged")))
    return;
  if (!json_is_array (json_object_get (hc, "MaskedPaths")))
    json_object_set_new (hc, "MaskedPaths", strv_to_json ((char *const *)masked_paths));
  if (!json_is_array (json_object_get (hc, "ReadonlyPaths")))
    json_object_set_new (hc, "ReadonlyPaths", strv_to_json ((char *const *)readonly_paths));
}

static json_t *
mount_new (const char *dest, const char *type, const char *source, const char *const *options)
{
  json_t *m = json_pack ("{s:s,s:s,s:s}", "destination", dest, "type", type, "source", source);
  json_t *o = json_array ();
  for (; options && *options; options++)
    json_array_append_new (o, json_string (*options));
  json_object_set_new (m, "options", o);
  return m;
}

static json_t *
default_mounts (const json_t *hc, bool privileged, bool readonly_root)
{
  json_t *m = json_array ();
  json_array_append_new (m, mount_new ("/proc", "proc", "proc",
                                       (const char *[]){ "nosuid", "noexec", "nodev", NULL }));
  json_array_append_new (
      m, mount_new ("/dev", "tmpfs", "tmpfs",
                    (const char *[]){ "nosuid", "strictatime", "mode=755", "size=65536k", NULL }));
  json_array_append_new (
      m, mount_new ("/dev/pts", "devpts", "devpts",
                    (const char *[]){ "nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                      "mode=0620", "gid=5", NULL }));
  json_array_append_new (
      m, mount_new ("/sys", "sysfs", "sysfs",
                    privileged ? (const char *[]){ "nosuid", "noexec", "nodev", "rw", NULL }
                               : (const char *[]){ "nosuid", "noexec", "nodev", "ro", NULL }));
  json_array_append_new (
      m, mount_new ("/sys/fs/cgroup", "cgroup", "cgroup",
                    privileged
                        ? (const char *[]){ "nosuid", "noexec", "nodev", "relatime", "rw", NULL }
                        : (const char *[]){ "nosuid", "noexec", "nodev", "relatime", "ro", NULL }));
  json_array_append_new (m, mount_new ("/dev/mqueue", "mqueue", "mqueue",
                                       (const char *[]){ "nosuid", "noexec", "nodev", NULL }));
  /* IpcMode none: no /dev/shm at all; host: the host's, as dockerd */
  const char *ipc = str_of (hc, "IpcMode");
  json_int_t shm = int_of (hc, "ShmSize");
  if (shm <= 0)
    shm = 64 * 1024 * 1024; /* docker's default --shm-size */
  _cleanup_free_ char *shm_opt = xasprintf ("size=%lld", (long long)shm);
  if (strcmp (ipc, "host") == 0)
    json_array_append_new (m, mount_new ("/dev/shm", "bind", "/dev/shm",
                                         (const char *[]){ "rbind", "rprivate", NULL }));
  else if (strcmp (ipc, "none") != 0)
    json_array_append_new (
        m, mount_new ("/dev/shm", "tmpfs", "shm",
                      (const char *[]){ "nosuid", "noexec", "nodev", "mode=1777", shm_opt, NULL }));
  (void)readonly_root;
  return m;
}

static int
mount_depth (const char *path)
{
  int d = 0;
  for (const char *p = path; *p; p++)
    d += *p == '/';
  return d;
}

static int
compare_mount_depth (const void *a, const void *b)
{
  const json_t *ma = *(json_t *const *)a;
  const json_t *mb = *(json_t *const *)b;
  return mount_depth (str_of (ma, "Destination")) - mount_depth (str_of (mb, "Destination"));
}

/* The user's mounts (docker's MountPoints shape: Type, Source, Destination,
 * RW, Propagation, plus TmpfsOptions) to OCI mounts, parents first. */
static int
user_mounts (json_t *out, const json_t *mounts, struct berth_error **err)
{
  size_t n = json_array_size (mounts);
  _cleanup_free_ json_t **sorted = calloc (n + 1, sizeof *sorted);
  for (size_t i = 0; i < n; i++)
    sorted[i] = json_array_get (mounts, i);
  qsort (sorted, n, sizeof *sorted, compare_mount_depth);
  for (size_t i = 0; i < n; i++)
    {
      const json_t *mp = sorted[i];
      const char *type = str_of (mp, "Type");
      const char *dest = str_of (mp, "Destination");
      bool rw = json_is_true (json_object_get (mp, "RW"));
      /* a user mount replaces a default one at the same place */
      size_t j;
      json_t *d;
      json_array_foreach (out, j, d) if (strcmp (str_of (d, "destination"), dest) == 0)
      {
        json_array_remove (out, j);
        break;
      }
      if (strcmp (type, "tmpfs") == 0)
        {
          const char *opts = str_of (mp, "TmpfsOptions");
          json_t *m
              = mount_new (dest, "tmpfs", "tmpfs", (const char *[]){ "nosuid", "nodev", NULL });
          json_t *o = json_object_get (m, "options");
          _cleanup_strv_ char **parts = strv_split (opts, ',');
          bool has_exec = false;
          for (char **p = parts; *p; p++)
            if (**p)
              {
                has_exec |= strcmp (*p, "exec") == 0 || strcmp (*p, "noexec") == 0;
                json_array_append_new (o, json_string (*p));
              }
          if (!has_exec)
            json_array_append_new (o, json_string ("noexec"));
          if (!rw)
            json_array_append_new (o, json_string ("ro"));
          json_array_append_new (out, m);
          continue;
        }
      if (strcmp (type, "bind") != 0 && strcmp (type, "volume") != 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "mount %s: unsupported type %s", dest,
                                     type);
      const char *prop = str_of (mp, "Propagation");
      if (*prop == '\0')
        prop = "rprivate";
      json_array_append_new (out,
                             mount_new (dest, "bind", str_of (mp, "Source"),
                                        (const char *[]){ "rbind", prop, rw ? "rw" : "ro", NULL }));
    }
  return 0;
}

/* docker's default device cgroup rules (oci/defaults.go + the pts/tun ones) */
static json_t *
default_device_rules (bool privileged)
{
  if (privileged)
    return json_pack ("[{s:b,s:s}]", "allow", 1, "access", "rwm");
  return json_pack ("[{s:b,s:s},"
                    "{s:b,s:s,s:s},{s:b,s:s,s:s},"
                    "{s:b,s:s,s:i,s:i,s:s},{s:b,s:s,s:i,s:i,s:s},{s:b,s:s,s:i,s:i,s:s},"
                    "{s:b,s:s,s:i,s:i,s:s},{s:b,s:s,s:i,s:i,s:s},{s:b,s:s,s:i,s:i,s:s},"
                    "{s:b,s:s,s:i,s:i,s:s},{s:b,s:s,s:i,s:s},{s:b,s:s,s:i,s:i,s:s},"
                    "{s:b,s:s,s:i,s:i,s:s}]",
                    "allow", 0, "access", "rwm", "allow", 1, "type", "c", "access", "m", "allow", 1,
                    "type", "b", "access", "m", "allow", 1, "type", "c", "major", 1, "minor", 3,
                    "access", "rwm",                                                  /* null */
                    "allow", 1, "type", "c", "major", 1, "minor", 8, "access", "rwm", /* random */
                    "allow", 1, "type", "c", "major", 1, "minor", 7, "access", "rwm", /* full */
                    "allow", 1, "type", "c", "major", 5, "minor", 0, "access", "rwm", /* tty */
                    "allow", 1, "type", "c", "major", 1, "minor", 5, "access", "rwm", /* zero */
                    "allow", 1, "type", "c", "major", 1, "minor", 9, "access", "rwm", /* urandom */
                    "allow", 1, "type", "c", "major", 5, "minor", 1, "access", "rwm", /* console */
                    "allow", 1, "type", "c", "major", 136, "access", "rwm",           /* pts */
                    "allow", 1, "type", "c", "major", 5, "minor", 2, "access", "rwm", /* ptmx */
                    "allow", 1, "type", "c", "major", 10, "minor", 200, "access", "rwm"); /* tun */
}

static int
add_devices (json_t *linux_, json_t *rules, const json_t *hc, struct berth_error **err)
{
  json_t *devs = json_array ();
  json_object_set_new (linux_, "devices", devs);
  size_t i;
  json_t *d;
  json_array_foreach (json_object_get (hc, "Devices"), i, d)
  {
    const char *host = str_of (d, "PathOnHost");
    const char *cont = str_of (d, "PathInContainer");
    const char *perm = str_of (d, "CgroupPermissions");
    if (*cont == '\0')
      cont = host;
    if (*perm == '\0')
      perm = "rwm";
    struct stat st;
    if (stat (host, &st) < 0)
      return berth_error_set_kind (err, errno == ENOENT ? BERTH_E_INVALID : BERTH_E_INTERNAL, errno,
                                   "HostConfig.Devices[%zu]: error gathering device information "
                                   "while adding custom device \"%s\"",
                                   i, host);
    if (!S_ISCHR (st.st_mode) && !S_ISBLK (st.st_mode))
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "HostConfig.Devices[%zu]: \"%s\" is not a device node", i, host);
    const char *t = S_ISCHR (st.st_mode) ? "c" : "b";
    json_array_append_new (devs, json_pack ("{s:s,s:s,s:I,s:I,s:i,s:i,s:i}", "path", cont, "type",
                                            t, "major", (json_int_t)major (st.st_rdev), "minor",
                                            (json_int_t)minor (st.st_rdev), "fileMode",
                                            (int)(st.st_mode & 07777), "uid", 0, "gid", 0));
    json_array_append_new (rules, json_pack ("{s:b,s:s,s:I,s:I,s:s}", "allow", 1, "type", t,
                                             "major", (json_int_t)major (st.st_rdev), "minor",
                                             (json_int_t)minor (st.st_rdev), "access", perm));
  }
  return 0;
}

json_t *
container_oci_resources (const json_t *hc)
{
  json_t *r = json_object ();
  json_int_t memory = int_of (hc, "Memory");
  json_int_t swap = int_of (hc, "MemorySwap");
  json_int_t reservation = int_of (hc, "MemoryReservation");
  json_t *mem = json_object ();
  if (memory > 0)
    {
      json_object_set_new (mem, "limit", json_integer (memory));
      /* docker: with --memory and no --memory-swap the swap limit is twice
       * the memory (memory + the same again in swap) */
      json_object_set_new (mem, "swap", json_integer (swap == 0 ? 2 * memory : swap));
    }
  if (reservation > 0)
    json_object_set_new (mem, "reservation", json_integer (reservation));
  json_t *swappiness = json_object_get (hc, "MemorySwappiness");
  if (json_is_integer (swappiness) && json_integer_value (swappiness) >= 0)
    json_object_set_new (mem, "swappiness", json_integer (json_integer_value (swappiness)));
  if (json_is_true (json_object_get (hc, "OomKillDisable")))
    json_object_set_new (mem, "disableOOMKiller", json_true ());
  if (json_object_size (mem) > 0)
    json_object_set_new (r, "memory", mem);
  else
    json_decref (mem);

  json_t *cpu = json_object ();
  json_int_t nano = int_of (hc, "NanoCpus");
  if (nano > 0)
    {
      json_int_t period = 100000;
      json_object_set_new (cpu, "period", json_integer (period));
      json_object_set_new (cpu, "quota", json_integer (nano * period / 1000000000LL));
    }
  if (int_of (hc, "CpuPeriod") > 0)
    json_object_set_new (cpu, "period", json_integer (int_of (hc, "CpuPeriod")));
  if (int_of (hc, "CpuQuota") != 0)
    json_object_set_new (cpu, "quota", json_integer (int_of (hc, "CpuQuota")));
  if (int_of (hc, "CpuShares") > 0)
    json_object_set_new (cpu, "shares", json_integer (int_of (hc, "CpuShares")));
  if (*str_of (hc, "CpusetCpus"))
    json_object_set_new (cpu, "cpus", json_string (str_of (hc, "CpusetCpus")));
  if (*str_of (hc, "CpusetMems"))
    json_object_set_new (cpu, "mems", json_string (str_of (hc, "CpusetMems")));
  if (json_object_size (cpu) > 0)
    json_object_set_new (r, "cpu", cpu);
  else
    json_decref (cpu);

  json_int_t pids = int_of (hc, "PidsLimit");
  if (pids > 0)
    json_object_set_new (r, "pids", json_pack ("{s:I}", "limit", pids));
  if (int_of (hc, "BlkioWeight") > 0)
    json_object_set_new (r, "blockIO", json_pack ("{s:I}", "weight", int_of (hc, "BlkioWeight")));
  return r;
}

static const struct
{
  const char *name;
  const char *oci;
} rlimit_names[] = {
  { "core", "RLIMIT_CORE" },         { "cpu", "RLIMIT_CPU" },
  { "data", "RLIMIT_DATA" },         { "fsize", "RLIMIT_FSIZE" },
  { "locks", "RLIMIT_LOCKS" },       { "memlock", "RLIMIT_MEMLOCK" },
  { "msgqueue", "RLIMIT_MSGQUEUE" }, { "nice", "RLIMIT_NICE" },
  { "nofile", "RLIMIT_NOFILE" },     { "nproc", "RLIMIT_NPROC" },
  { "rss", "RLIMIT_RSS" },           { "rtprio", "RLIMIT_RTPRIO" },
  { "rttime", "RLIMIT_RTTIME" },     { "sigpending", "RLIMIT_SIGPENDING" },
  { "stack", "RLIMIT_STACK" },       { "as", "RLIMIT_AS" },
};

static json_t *
rlimits_json (const json_t *hc)
{
  json_t *out = json_array ();
  size_t i;
  json_t *u;
  json_array_foreach (json_object_get (hc, "Ulimits"), i, u)
  {
    const char *name = str_of (u, "Name");
    for (size_t k = 0; k < sizeof rlimit_names / sizeof rlimit_names[0]; k++)
      if (strcmp (rlimit_names[k].name, name) == 0)
        {
          json_int_t soft = int_of (u, "Soft"), hard = int_of (u, "Hard");
          json_array_append_new (out, json_pack ("{s:s,s:I,s:I}", "type", rlimit_names[k].oci,
                                                 "hard", hard < 0 ? (json_int_t)-1 : hard, "soft",
                                                 soft < 0 ? (json_int_t)-1 : soft));
        }
  }
  return out;
}

static json_t *
process_env (const json_t *cfg, const char *hostname, bool tty)
{
  json_t *env = json_array ();
  bool has_path = false, has_term = false;
  size_t i;
  json_t *e;
  json_array_foreach (json_object_get (cfg, "Env"), i, e)
  {
    const char *s = json_string_value (e);
    if (strchr (s, '=') == NULL)
      continue; /* "KEY" alone: unset, as docker drops it */
    has_path |= str_has_prefix (s, "PATH=");
    has_term |= str_has_prefix (s, "TERM=");
  }
  if (!has_path)
    json_array_append_new (
        env, json_string ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  _cleanup_free_ char *h = xasprintf ("HOSTNAME=%s", hostname);
  json_array_append_new (env, json_string (h));
  json_array_foreach (json_object_get (cfg, "Env"), i, e) if (strchr (json_string_value (e), '='))
      json_array_append (env, e);
  if (tty && !has_term)
    json_array_append_new (env, json_string ("TERM=xterm"));
  return env;
}

static bool
security_opt_has (const json_t *hc, const char *prefix, const char **value)
{
  size_t i;
  json_t *o;
  bool found = false;
  json_array_foreach (json_object_get (hc, "SecurityOpt"), i, o)
  {
    const char *s = json_string_value (o);
    if (str_has_prefix (s, prefix))
      {
        found = true;
        if (value)
          *value = s + strlen (prefix);
      }
  }
  return found;
}

static json_t *
namespaces_json (const struct container_oci_input *in)
{
  const json_t *hc = in->host_config;
  json_t *ns = json_array ();
  json_array_append_new (ns, json_pack ("{s:s}", "type", "mount"));
  const char *net = str_of (hc, "NetworkMode");
  if (in->netns_path)
    json_array_append_new (ns, json_pack ("{s:s,s:s}", "type", "network", "path", in->netns_path));
  else if (strcmp (net, "host") != 0)
    json_array_append_new (ns, json_pack ("{s:s}", "type", "network"));
  /* --network host keeps a private UTS namespace named like the host, as
   * dockerd does; only --uts host shares it */
  if (strcmp (str_of (hc, "UTSMode"), "host") != 0)
    json_array_append_new (ns, json_pack ("{s:s}", "type", "uts"));
  if (in->ipcns_path)
    json_array_append_new (ns, json_pack ("{s:s,s:s}", "type", "ipc", "path", in->ipcns_path));
  else if (strcmp (str_of (hc, "IpcMode"), "host") != 0)
    json_array_append_new (ns, json_pack ("{s:s}", "type", "ipc"));
  if (in->pidns_path)
    json_array_append_new (ns, json_pack ("{s:s,s:s}", "type", "pid", "path", in->pidns_path));
  else if (strcmp (str_of (hc, "PidMode"), "host") != 0)
    json_array_append_new (ns, json_pack ("{s:s}", "type", "pid"));
  if (strcmp (str_of (hc, "CgroupnsMode"), "host") != 0)
    json_array_append_new (ns, json_pack ("{s:s}", "type", "cgroup"));
  return ns;
}

json_t *
container_oci_config (const struct container_oci_input *in, struct berth_error **err)
{
  const json_t *cfg = in->config;
  const json_t *hc = in->host_config;
  bool privileged = json_is_true (json_object_get (hc, "Privileged"));
  bool readonly_root = json_is_true (json_object_get (hc, "ReadonlyRootfs"));
  bool tty = json_is_true (json_object_get (cfg, "Tty"));

  _cleanup_free_ char *hostname = NULL;
  bool host_net = strcmp (str_of (hc, "NetworkMode"), "host") == 0;
  bool host_uts = strcmp (str_of (hc, "UTSMode"), "host") == 0;
  if (*str_of (cfg, "Hostname"))
    hostname = xstrdup (str_of (cfg, "Hostname"));
  else if (host_net || host_uts)
    {
      char h[256] = "";
      gethostname (h, sizeof h - 1);
      hostname = xstrdup (h);
    }
  else
    hostname = strndup (in->id, 12);

  /* process */
  json_t *args = json_array ();
  if (in->init_path)
    {
      json_array_append_new (args, json_string ("/sbin/docker-init"));
      json_array_append_new (args, json_string ("--"));
    }
  json_array_append_new (args, json_string (in->path));
  for (char *const *a = in->args; a && *a; a++)
    json_array_append_new (args, json_string (*a));

  _cleanup_strv_ char **caps = container_caps_compute (hc, err);
  if (caps == NULL)
    return NULL;
  json_t *capv = strv_to_json (caps);
  json_t *capabilities
      = json_pack ("{s:O,s:O,s:O}", "bounding", capv, "effective", capv, "permitted", capv);
  json_decref (capv);

  const char *nnp = NULL;
  bool no_new_privs = security_opt_has (hc, "no-new-privileges", &nnp)
                      && strcmp (nnp, ":false") != 0 && strcmp (nnp, "=false") != 0;

  json_t *user = json_pack ("{s:I,s:I}", "uid", (json_int_t)in->uid, "gid", (json_int_t)in->gid);
  if (in->n_additional_gids > 0)
    {
      json_t *g = json_array ();
      for (size_t i = 0; i < in->n_additional_gids; i++)
        json_array_append_new (g, json_integer (in->additional_gids[i]));
      json_object_set_new (user, "additionalGids", g);
    }
  const char *cwd = *str_of (cfg, "WorkingDir") ? str_of (cfg, "WorkingDir") : "/";
  json_t *process
      = json_pack ("{s:b,s:o,s:o,s:o,s:s,s:o,s:o,s:b}", "terminal", tty, "user", user, "args", args,
                   "env", process_env (cfg, hostname, tty), "cwd", cwd, "capabilities",
                   capabilities, "rlimits", rlimits_json (hc), "noNewPrivileges", no_new_privs);
  if (json_object_get (hc, "OomScoreAdj") && int_of (hc, "OomScoreAdj") != 0)
    json_object_set_new (process, "oomScoreAdj", json_integer (int_of (hc, "OomScoreAdj")));
  json_t *console = json_object_get (hc, "ConsoleSize");
  if (tty && json_array_size (console) == 2 && json_integer_value (json_array_get (console, 0)) > 0)
    json_object_set_new (process, "consoleSize",
                         json_pack ("{s:O,s:O}", "height", json_array_get (console, 0), "width",
                                    json_array_get (console, 1)));

  /* mounts */
  json_t *mounts = default_mounts (hc, privileged, readonly_root);
  const char *const bind_opts_rw[] = { "rbind", "rprivate", NULL };
  const char *const bind_opts_ro[] = { "rbind", "rprivate", "ro", NULL };
  const char *const *etc_opts = readonly_root ? bind_opts_ro : bind_opts_rw;
  if (in->resolv_conf_path)
    json_array_append_new (mounts,
                           mount_new ("/etc/resolv.conf", "bind", in->resolv_conf_path, etc_opts));
  if (in->hostname_path)
    json_array_append_new (mounts,
                           mount_new ("/etc/hostname", "bind", in->hostname_path, etc_opts));
  if (in->hosts_path)
    json_array_append_new (mounts, mount_new ("/etc/hosts", "bind", in->hosts_path, etc_opts));
  if (in->init_path)
    json_array_append_new (mounts,
                           mount_new ("/sbin/docker-init", "bind", in->init_path, bind_opts_ro));
  if (in->extra_mounts && user_mounts (mounts, in->extra_mounts, err) < 0)
    {
      json_decref (process);
      json_decref (mounts);
      return NULL;
    }

  /* linux */
  json_t *linux_ = json_object ();
  json_t *resources = container_oci_resources (hc);
  json_t *rules = default_device_rules (privileged);
  if (add_devices (linux_, rules, hc, err) < 0)
    {
      json_decref (process);
      json_decref (mounts);
      json_decref (linux_);
      json_decref (resources);
      json_decref (rules);
      return NULL;
    }
  json_object_set_new (resources, "devices", rules);
  json_object_set_new (linux_, "resources", resources);
  json_object_set_new (linux_, "namespaces", namespaces_json (in));
  const char *parent = *str_of (hc, "CgroupParent") ? str_of (hc, "CgroupParent")
                       : in->cgroup_parent          ? in->cgroup_parent
                                                    : "/berth";
  _cleanup_free_ char *cgpath = xasprintf ("%s%s%s", parent[0] == '/' ? "" : "/", parent, "");
  _cleanup_free_ char *cgfull = xasprintf ("%s/%s", cgpath, in->id);
  json_object_set_new (linux_, "cgroupsPath", json_string (cgfull));
  json_t *sysctl = json_object_get (hc, "Sysctls");
  json_object_set_new (linux_, "sysctl",
                       json_is_object (sysctl) ? json_deep_copy (sysctl) : json_object ());

  if (!privileged)
    {
      /* the stored lists (null only in records made before create stored
       * the defaults) */
      json_t *masked = json_object_get (hc, "MaskedPaths");
      json_t *ro = json_object_get (hc, "ReadonlyPaths");
      json_object_set_new (linux_, "maskedPaths",
                           json_is_array (masked) ? json_deep_copy (masked)
                                                  : strv_to_json ((char *const *)masked_paths));
      json_object_set_new (linux_, "readonlyPaths",
                           json_is_array (ro) ? json_deep_copy (ro)
                                              : strv_to_json ((char *const *)readonly_paths));
      const char *profile = NULL;
      if (security_opt_has (hc, "seccomp=", &profile)
          || security_opt_has (hc, "seccomp:", &profile))
        {
          if (strcmp (profile, "unconfined") != 0)
            {
              json_error_t jerr;
              json_t *p = json_loads (profile, 0, &jerr);
              if (p == NULL)
                {
                  json_decref (process);
                  json_decref (mounts);
                  json_decref (linux_);
                  berth_error_set_kind (err, BERTH_E_INVALID, 0, "seccomp profile: %s", jerr.text);
                  return NULL;
                }
              json_object_set_new (linux_, "seccomp", p);
            }
        }
      else if (in->default_seccomp)
        json_object_set_new (linux_, "seccomp", json_incref (in->default_seccomp));
    }

  json_t *root = json_pack ("{s:s,s:b}", "path", in->rootfs, "readonly", readonly_root);
  json_t *oci = json_pack ("{s:s,s:o,s:o,s:o,s:o}", "ociVersion", "1.0.2", "process", process,
                           "root", root, "mounts", mounts, "linux", linux_);
  /* a hostname needs a UTS namespace of our own */
  if (!host_uts)
    json_object_set_new (oci, "hostname", json_string (hostname));
  if (*str_of (cfg, "Domainname"))
    json_object_set_new (oci, "domainname", json_string (str_of (cfg, "Domainname")));
  json_t *labels = json_object_get (cfg, "Labels");
  if (json_is_object (labels) && json_object_size (labels) > 0)
    json_object_set_new (oci, "annotations", json_deep_copy (labels));
  return oci;
}
