/* What berth-runtime tells its callers about itself: `features` (the OCI
 * features document), `spec` (a runnable default config, as runc's), the
 * default seccomp profile, and where the library's log goes. */
#include "runtime/runtime-internal.h"

#include <string.h>

int
runtime_log_open (const char *log_path, bool json, bool debug, struct berth_error **err)
{
  enum berth_log_level level = debug ? BERTH_LOG_DEBUG : BERTH_LOG_WARNING;
  if (log_path == NULL || log_path[0] == '\0')
    {
      berth_log_configure (STDERR_FILENO, json, level);
      return 0;
    }
  return berth_log_open_file (log_path, json, level, err);
}

json_t *
runtime_default_seccomp_profile (char *const *caps)
{
  return seccomp_default_profile (caps);
}

/* Docker's default capability set. */
static const char *const default_caps[] = { "CAP_CHOWN",
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
                                            NULL };

static json_t *
caps_array (void)
{
  json_t *a = json_array ();
  for (size_t i = 0; default_caps[i]; i++)
    json_array_append_new (a, json_string (default_caps[i]));
  return a;
}

static json_t *
mount_entry (const char *dst, const char *type, const char *src, const char *opts)
{
  json_t *o = json_array ();
  _cleanup_strv_ char **v = strv_split (opts, ',');
  for (char **p = v; p && *p; p++)
    if ((*p)[0])
      json_array_append_new (o, json_string (*p));
  return json_pack ("{s:s,s:s,s:s,s:o}", "destination", dst, "type", type, "source", src, "options",
                    o);
}

json_t *
runtime_spec_default (void)
{
  json_t *mounts = json_array ();
  json_array_append_new (mounts, mount_entry ("/proc", "proc", "proc", ""));
  json_array_append_new (
      mounts, mount_entry ("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
  json_array_append_new (mounts,
                         mount_entry ("/dev/pts", "devpts", "devpts",
                                      "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
  json_array_append_new (mounts, mount_entry ("/dev/shm", "tmpfs", "shm",
                                              "nosuid,noexec,nodev,mode=1777,size=65536k"));
  json_array_append_new (mounts,
                         mount_entry ("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
  json_array_append_new (mounts, mount_entry ("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
  json_array_append_new (mounts, mount_entry ("/sys/fs/cgroup", "cgroup", "cgroup",
                                              "nosuid,noexec,nodev,relatime,ro"));
  json_t *caps = json_pack ("{s:o,s:o,s:o}", "bounding", caps_array (), "effective", caps_array (),
                            "permitted", caps_array ());
  json_t *process = json_pack ("{s:b,s:{s:i,s:i},s:[s],s:[s,s],s:s,s:o,s:[{s:s,s:i,s:i}],s:b}",
                               "terminal", 1, "user", "uid", 0, "gid", 0, "args", "sh", "env",
                               "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                               "TERM=xterm", "cwd", "/", "capabilities", caps, "rlimits", "type",
                               "RLIMIT_NOFILE", "hard", 1024, "soft", 1024, "noNewPrivileges", 1);
  json_t *masked
      = json_pack ("[s,s,s,s,s,s,s,s,s,s]", "/proc/acpi", "/proc/asound", "/proc/kcore",
                   "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                   "/proc/sched_debug", "/sys/firmware", "/proc/scsi");
  json_t *ro = json_pack ("[s,s,s,s,s]", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                          "/proc/sysrq-trigger");
  json_t *lx = json_pack ("{s:{s:[{s:b,s:s}]},s:[{s:s},{s:s},{s:s},{s:s},{s:s},{s:s}],s:o,s:o}",
                          "resources", "devices", "allow", 0, "access", "rwm", "namespaces", "type",
                          "pid", "type", "network", "type", "ipc", "type", "uts", "type", "mount",
                          "type", "cgroup", "maskedPaths", masked, "readonlyPaths", ro);
  return json_pack ("{s:s,s:o,s:{s:s,s:b},s:s,s:o,s:o}", "ociVersion", "1.0.2", "process", process,
                    "root", "path", "rootfs", "readonly", 1, "hostname", "berth", "mounts", mounts,
                    "linux", lx);
}

json_t *
runtime_features (void)
{
  json_t *ns = json_pack ("[s,s,s,s,s,s,s,s]", "cgroup", "ipc", "mount", "network", "pid", "user",
                          "uts", "time");
  json_t *caps = json_array ();
  for (int i = 0; i <= caps_last_cap (); i++)
    if (caps_name (i))
      json_array_append_new (caps, json_string (caps_name (i)));
  static const char *const opts[]
      = { "async",       "atime",       "bind",         "defaults",   "dev",
          "diratime",    "dirsync",     "exec",         "idmap",      "lazytime",   "mand",
          "noatime",     "nodev",       "nodiratime",   "noexec",     "norelatime",
          "nosuid",      "nosymfollow", "private",      "rbind",      "rdev",
          "rdiratime",   "relatime",    "remount",      "rexec",      "ridmap",     "rnoatime",
          "rnodev",      "rnodiratime", "rnoexec",      "rnosuid",    "rnosymfollow",
          "ro",          "rprivate",    "rrelatime",    "rro",        "rrw",
          "rshared",     "rslave",      "rstrictatime", "rsuid",      "rsymfollow",
          "runbindable", "rw",          "shared",       "slave",      "strictatime",
          "suid",        "symfollow",   "sync",         "unbindable", NULL };
  json_t *mo = json_array ();
  for (size_t i = 0; opts[i]; i++)
    json_array_append_new (mo, json_string (opts[i]));
  json_t *f = json_pack (
      "{s:s,s:s,s:s,s:[s,s,s,s,s,s],s:o,s:{s:o,s:o,s:{s:b,s:b,s:b},s:{s:b,s:[s,s,s,s,s,s,s,s,s],"
      "s:[s,s,s,s],s:[s,s,s,s,s,s,s,s]},s:{s:b},s:{s:b}},s:{}}",
      "ociVersionMin", "1.0.0", "ociVersionMax", "1.2.0", "runtime", "berth-runtime", "hooks",
      "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
      "mountOptions", mo, "linux", "namespaces", ns, "capabilities", caps, "cgroup", "v1", 1, "v2",
      1, "systemd", 0, "seccomp", "enabled", 1, "actions", "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO",
      "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
      "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP", "archs", "SCMP_ARCH_X86_64",
      "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "operators", "SCMP_CMP_NE",
      "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
      "SCMP_CMP_MASKED_EQ", "SCMP_CMP_MASKED_EQ", "apparmor", "enabled", 0, "selinux", "enabled", 0,
      "annotations");
  /* OCI's own field for idmapped mounts; the process and personality
   * features have none in the features schema, so they are annotations. */
  json_object_set_new (json_object_get (f, "linux"), "mountExtensions",
                       json_pack ("{s:{s:b}}", "idmap", "enabled", 1));
  json_t *ann = json_object_get (f, "annotations");
  json_object_set_new (ann, "org.berth.runtime.linux.personality", json_string ("LINUX,LINUX32"));
  json_object_set_new (ann, "org.berth.runtime.process.scheduler",
                       json_string ("SCHED_OTHER,SCHED_FIFO,SCHED_RR,SCHED_BATCH,SCHED_IDLE,"
                                    "SCHED_DEADLINE"));
  json_object_set_new (ann, "org.berth.runtime.process.ioPriority",
                       json_string ("IOPRIO_CLASS_RT,IOPRIO_CLASS_BE,IOPRIO_CLASS_IDLE"));
  json_object_set_new (ann, "org.berth.runtime.process.execCPUAffinity", json_string ("true"));
  json_object_set_new (ann, "org.berth.runtime.mounts.idmap", json_string ("idmap,ridmap"));
  json_object_set_new (ann, "org.berth.runtime.events", json_string ("stats,oom"));
  return f;
}
