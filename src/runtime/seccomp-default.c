/* berth's default seccomp profile, as an OCI linux.seccomp object. Same
 * effect as Docker's default: an allowlist (everything else fails with
 * EPERM), syscalls that need a capability allowed only when the container
 * has it, personality() limited to the harmless personas, clone() unable to
 * make namespaces without CAP_SYS_ADMIN and clone3() answering ENOSYS so
 * libc falls back to clone(). Derived from the syscall table and those
 * rules; io_uring stays blocked (as Docker does since 25.0). */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/utsname.h>

#include "runtime/seccomp.h"

/* Allowed for every container. Names the running libseccomp does not know
 * (other arches, newer kernels) are skipped at compile time. */
static const char *const allowed[] = {
  "accept",
  "accept4",
  "access",
  "adjtimex",
  "alarm",
  "bind",
  "brk",
  "cachestat",
  "capget",
  "capset",
  "chdir",
  "chmod",
  "chown",
  "chown32",
  "clock_adjtime",
  "clock_adjtime64",
  "clock_getres",
  "clock_getres_time64",
  "clock_gettime",
  "clock_gettime64",
  "clock_nanosleep",
  "clock_nanosleep_time64",
  "close",
  "close_range",
  "connect",
  "copy_file_range",
  "creat",
  "dup",
  "dup2",
  "dup3",
  "epoll_create",
  "epoll_create1",
  "epoll_ctl",
  "epoll_ctl_old",
  "epoll_pwait",
  "epoll_pwait2",
  "epoll_wait",
  "epoll_wait_old",
  "eventfd",
  "eventfd2",
  "execve",
  "execveat",
  "exit",
  "exit_group",
  "faccessat",
  "faccessat2",
  "fadvise64",
  "fadvise64_64",
  "fallocate",
  "fanotify_mark",
  "fchdir",
  "fchmod",
  "fchmodat",
  "fchmodat2",
  "fchown",
  "fchown32",
  "fchownat",
  "fcntl",
  "fcntl64",
  "fdatasync",
  "fgetxattr",
  "flistxattr",
  "flock",
  "fork",
  "fremovexattr",
  "fsetxattr",
  "fstat",
  "fstat64",
  "fstatat64",
  "fstatfs",
  "fstatfs64",
  "fsync",
  "ftruncate",
  "ftruncate64",
  "futex",
  "futex_requeue",
  "futex_time64",
  "futex_wait",
  "futex_waitv",
  "futex_wake",
  "futimesat",
  "getcpu",
  "getcwd",
  "getdents",
  "getdents64",
  "getegid",
  "getegid32",
  "geteuid",
  "geteuid32",
  "getgid",
  "getgid32",
  "getgroups",
  "getgroups32",
  "getitimer",
  "getpeername",
  "getpgid",
  "getpgrp",
  "getpid",
  "getppid",
  "getpriority",
  "getrandom",
  "getresgid",
  "getresgid32",
  "getresuid",
  "getresuid32",
  "getrlimit",
  "get_robust_list",
  "getrusage",
  "getsid",
  "getsockname",
  "getsockopt",
  "get_thread_area",
  "gettid",
  "gettimeofday",
  "getuid",
  "getuid32",
  "getxattr",
  "inotify_add_watch",
  "inotify_init",
  "inotify_init1",
  "inotify_rm_watch",
  "io_cancel",
  "ioctl",
  "io_destroy",
  "io_getevents",
  "io_pgetevents",
  "io_pgetevents_time64",
  "ioprio_get",
  "ioprio_set",
  "io_setup",
  "io_submit",
  "ipc",
  "kill",
  "landlock_add_rule",
  "landlock_create_ruleset",
  "landlock_restrict_self",
  "lchown",
  "lchown32",
  "lgetxattr",
  "link",
  "linkat",
  "listen",
  "listxattr",
  "llistxattr",
  "_llseek",
  "lremovexattr",
  "lseek",
  "lsetxattr",
  "lstat",
  "lstat64",
  "madvise",
  "map_shadow_stack",
  "membarrier",
  "memfd_create",
  "memfd_secret",
  "mincore",
  "mkdir",
  "mkdirat",
  "mknod",
  "mknodat",
  "mlock",
  "mlock2",
  "mlockall",
  "mmap",
  "mmap2",
  "mprotect",
  "mq_getsetattr",
  "mq_notify",
  "mq_open",
  "mq_timedreceive",
  "mq_timedreceive_time64",
  "mq_timedsend",
  "mq_timedsend_time64",
  "mq_unlink",
  "mremap",
  "msgctl",
  "msgget",
  "msgrcv",
  "msgsnd",
  "msync",
  "munlock",
  "munlockall",
  "munmap",
  "nanosleep",
  "newfstatat",
  "_newselect",
  "open",
  "openat",
  "openat2",
  "pause",
  "pidfd_open",
  "pidfd_send_signal",
  "pipe",
  "pipe2",
  "pkey_alloc",
  "pkey_free",
  "pkey_mprotect",
  "poll",
  "ppoll",
  "ppoll_time64",
  "prctl",
  "pread64",
  "preadv",
  "preadv2",
  "prlimit64",
  "process_mrelease",
  "pselect6",
  "pselect6_time64",
  "ptrace",
  "pwrite64",
  "pwritev",
  "pwritev2",
  "read",
  "readahead",
  "readlink",
  "readlinkat",
  "readv",
  "recv",
  "recvfrom",
  "recvmmsg",
  "recvmmsg_time64",
  "recvmsg",
  "remap_file_pages",
  "removexattr",
  "rename",
  "renameat",
  "renameat2",
  "restart_syscall",
  "rmdir",
  "rseq",
  "rt_sigaction",
  "rt_sigpending",
  "rt_sigprocmask",
  "rt_sigqueueinfo",
  "rt_sigreturn",
  "rt_sigsuspend",
  "rt_sigtimedwait",
  "rt_sigtimedwait_time64",
  "rt_tgsigqueueinfo",
  "sched_getaffinity",
  "sched_getattr",
  "sched_getparam",
  "sched_get_priority_max",
  "sched_get_priority_min",
  "sched_getscheduler",
  "sched_rr_get_interval",
  "sched_rr_get_interval_time64",
  "sched_setaffinity",
  "sched_setattr",
  "sched_setparam",
  "sched_setscheduler",
  "sched_yield",
  "seccomp",
  "select",
  "semctl",
  "semget",
  "semop",
  "semtimedop",
  "semtimedop_time64",
  "send",
  "sendfile",
  "sendfile64",
  "sendmmsg",
  "sendmsg",
  "sendto",
  "setfsgid",
  "setfsgid32",
  "setfsuid",
  "setfsuid32",
  "setgid",
  "setgid32",
  "setgroups",
  "setgroups32",
  "setitimer",
  "setpgid",
  "setpriority",
  "setregid",
  "setregid32",
  "setresgid",
  "setresgid32",
  "setresuid",
  "setresuid32",
  "setreuid",
  "setreuid32",
  "setrlimit",
  "set_robust_list",
  "setsid",
  "setsockopt",
  "set_thread_area",
  "set_tid_address",
  "setuid",
  "setuid32",
  "setxattr",
  "shmat",
  "shmctl",
  "shmdt",
  "shmget",
  "shutdown",
  "sigaltstack",
  "signalfd",
  "signalfd4",
  "sigprocmask",
  "sigreturn",
  "socket",
  "socketcall",
  "socketpair",
  "splice",
  "stat",
  "stat64",
  "statfs",
  "statfs64",
  "statx",
  "symlink",
  "symlinkat",
  "sync",
  "sync_file_range",
  "syncfs",
  "sysinfo",
  "tee",
  "tgkill",
  "time",
  "timer_create",
  "timer_delete",
  "timer_getoverrun",
  "timer_gettime",
  "timer_gettime64",
  "timer_settime",
  "timer_settime64",
  "timerfd_create",
  "timerfd_gettime",
  "timerfd_gettime64",
  "timerfd_settime",
  "timerfd_settime64",
  "times",
  "tkill",
  "truncate",
  "truncate64",
  "ugetrlimit",
  "umask",
  "uname",
  "unlink",
  "unlinkat",
  "utime",
  "utimensat",
  "uretprobe",
  "utimensat_time64",
  "utimes",
  "vfork",
  "vmsplice",
  "wait4",
  "waitid",
  "waitpid",
  "write",
  "writev",
  NULL,
};

/* Arch-specific syscalls every container may use on that arch. */
static const char *const allowed_x86[] = { "arch_prctl", "modify_ldt", NULL };
static const char *const allowed_arm[] = { "arm_fadvise64_64",
                                           "arm_sync_file_range",
                                           "sync_file_range2",
                                           "breakpoint",
                                           "cacheflush",
                                           "set_tls",
                                           NULL };
static const char *const allowed_s390[]
    = { "s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr", NULL };

/* What a capability unlocks (the kernel checks the capability anyway; the
 * filter keeps the attack surface closed when the container lacks it). */
static const struct
{
  const char *cap;
  const char *const names[24];
} cap_gated[] = {
  { "CAP_SYS_ADMIN",
    { "bpf",
      "clone",
      "clone3",
      "fanotify_init",
      "fsconfig",
      "fsmount",
      "fsopen",
      "fspick",
      "lookup_dcookie",
      "mount",
      "mount_setattr",
      "move_mount",
      "name_to_handle_at",
      "open_tree",
      "perf_event_open",
      "quotactl",
      "quotactl_fd",
      "setdomainname",
      "sethostname",
      "setns",
      "syslog",
      "umount",
      "umount2",
      "unshare" } },
  { "CAP_SYS_BOOT", { "reboot" } },
  { "CAP_SYS_CHROOT", { "chroot" } },
  { "CAP_SYS_MODULE", { "delete_module", "init_module", "finit_module" } },
  { "CAP_SYS_PACCT", { "acct" } },
  { "CAP_SYS_PTRACE",
    { "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
      "userfaultfd" } },
  { "CAP_SYS_RAWIO", { "iopl", "ioperm" } },
  { "CAP_SYS_TIME", { "settimeofday", "stime", "clock_settime", "clock_settime64" } },
  { "CAP_SYS_TTY_CONFIG", { "vhangup" } },
  { "CAP_SYS_NICE", { "get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node" } },
  { "CAP_SYSLOG", { "syslog" } },
  { "CAP_BPF", { "bpf" } },
  { "CAP_PERFMON", { "perf_event_open" } },
  { "CAP_DAC_READ_SEARCH", { "open_by_handle_at" } },
};

/* personality(2) personas that change nothing dangerous: PER_LINUX,
 * PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the query 0xffffffff. */
static const uint64_t personas[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

static json_t *
names_array (const char *const *names)
{
  json_t *a = json_array ();
  for (; *names; names++)
    json_array_append_new (a, json_string (*names));
  return a;
}

static json_t *
allow_rule (json_t *names)
{
  return json_pack ("{s:o,s:s}", "names", names, "action", "SCMP_ACT_ALLOW");
}

/* The native arch and the compat arches it can run (Docker's archMap). */
static json_t *
native_arches (const char **family)
{
  struct utsname u;
  uname (&u);
  *family = "other";
  if (strcmp (u.machine, "x86_64") == 0)
    return *family = "x86",
           json_pack ("[s,s,s]", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
  if (strcmp (u.machine, "aarch64") == 0)
    return *family = "arm", json_pack ("[s,s]", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM");
  if (str_has_prefix (u.machine, "arm"))
    return *family = "arm", json_pack ("[s]", "SCMP_ARCH_ARM");
  if (strcmp (u.machine, "s390x") == 0)
    return *family = "s390", json_pack ("[s,s]", "SCMP_ARCH_S390X", "SCMP_ARCH_S390");
  if (strcmp (u.machine, "ppc64le") == 0)
    return json_pack ("[s]", "SCMP_ARCH_PPC64LE");
  if (strcmp (u.machine, "riscv64") == 0)
    return json_pack ("[s]", "SCMP_ARCH_RISCV64");
  if (strcmp (u.machine, "i686") == 0 || strcmp (u.machine, "i386") == 0)
    return *family = "x86", json_pack ("[s]", "SCMP_ARCH_X86");
  return json_array (); /* native only */
}

json_t *
seccomp_default_profile (char *const *caps)
{
  const char *family = NULL;
  json_t *syscalls = json_array ();
  json_t *profile
      = json_pack ("{s:s,s:i,s:o,s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", EPERM,
                   "architectures", native_arches (&family), "syscalls", syscalls);
  json_array_append_new (syscalls, allow_rule (names_array (allowed)));
  if (strcmp (family, "x86") == 0)
    json_array_append_new (syscalls, allow_rule (names_array (allowed_x86)));
  else if (strcmp (family, "arm") == 0)
    json_array_append_new (syscalls, allow_rule (names_array (allowed_arm)));
  else if (strcmp (family, "s390") == 0)
    json_array_append_new (syscalls, allow_rule (names_array (allowed_s390)));

  for (size_t i = 0; i < sizeof personas / sizeof personas[0]; i++)
    json_array_append_new (syscalls,
                           json_pack ("{s:[s],s:s,s:[{s:i,s:I,s:s}]}", "names", "personality",
                                      "action", "SCMP_ACT_ALLOW", "args", "index", 0, "value",
                                      (json_int_t)personas[i], "op", "SCMP_CMP_EQ"));

  bool sys_admin = strv_contains (caps, "CAP_SYS_ADMIN");
  for (size_t i = 0; i < sizeof cap_gated / sizeof cap_gated[0]; i++)
    if (strv_contains (caps, cap_gated[i].cap))
      {
        json_t *names = json_array ();
        for (size_t k = 0; k < 24 && cap_gated[i].names[k]; k++)
          json_array_append_new (names, json_string (cap_gated[i].names[k]));
        json_array_append_new (syscalls, allow_rule (names));
      }
  if (!sys_admin)
    {
      /* clone() without any CLONE_NEW* flag: threads and forks only. On
       * s390 the flags are the second argument. */
      const uint64_t ns_flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER
                                | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
      int index = strcmp (family, "s390") == 0 ? 1 : 0;
      json_array_append_new (syscalls,
                             json_pack ("{s:[s],s:s,s:[{s:i,s:I,s:I,s:s}]}", "names", "clone",
                                        "action", "SCMP_ACT_ALLOW", "args", "index", index, "value",
                                        (json_int_t)ns_flags, "valueTwo", (json_int_t)0, "op",
                                        "SCMP_CMP_MASKED_EQ"));
      /* clone3 passes its flags in memory a filter cannot read: ENOSYS
       * makes glibc fall back to clone(), which the rule above checks. */
      json_array_append_new (syscalls, json_pack ("{s:[s],s:s,s:i}", "names", "clone3", "action",
                                                  "SCMP_ACT_ERRNO", "errnoRet", ENOSYS));
    }
  return profile;
}
