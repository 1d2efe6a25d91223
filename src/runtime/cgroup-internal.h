/* runtime-internal, private to the cgroup files: the host's hierarchies,
 * the validated form of OCI linux.resources, and the per-version writers
 * (cgroup-v1.c, cgroup-v2.c) that cgroup.c drives. Everything here takes
 * directory fds or an injectable root so unit tests can run the writers
 * against a temporary directory standing in for cgroupfs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/cgroup.h"

/* ------------------------------------------------------------ controllers -- */

enum cgroup_controller
{
  CG_CPU = 0,
  CG_CPUACCT,
  CG_CPUSET,
  CG_MEMORY,
  CG_PIDS,
  CG_BLKIO, /* "io" on v2 */
  CG_HUGETLB,
  CG_DEVICES, /* an eBPF program on v2 */
  CG_FREEZER, /* cgroup.freeze on v2 */
  CG_NET_CLS,
  CG_NET_PRIO,
  CG_RDMA,
  CG_N_CONTROLLERS,
};
#define CG_BIT(c) (1u << (c))

/* v1 name of a controller ("blkio"); v2 name ("io"), NULL when v2 has no
 * such controller file (cpuacct, devices, freezer, net_*: v2 does them in
 * the core or not at all). */
const char *cgroup_controller_v1_name (enum cgroup_controller c);
const char *cgroup_controller_v2_name (enum cgroup_controller c);
int cgroup_controller_from_v1_name (const char *name); /* -1 when unknown */
int cgroup_controller_from_v2_name (const char *name);

/* -------------------------------------------------------- host hierarchies -- */

/* One cgroup hierarchy mounted on the host. */
struct cgroup_hier
{
  char *mountpoint; /* "/sys/fs/cgroup/memory" */
  char *mount_root; /* mountinfo field 4, "/" unless bind-mounted from a subtree */
  char *name;       /* v1: "cpu,cpuacct", "memory", "name=systemd"; v2: "unified" */
  bool is_v2;
  unsigned controllers; /* CG_BIT mask this hierarchy drives */
  char *self_path;      /* our own cgroup in it, from /proc/self/cgroup */
};

struct cgroup_hosts
{
  enum cgroup_layout layout;
  struct cgroup_hier *hiers;
  size_t n_hiers;
};

/* Parse mountinfo and /proc/self/cgroup text (injectable for tests). The v2
 * controller set is read from <mountpoint>/cgroup.controllers via
 * read_controllers (NULL: read the real file). */
int cgroup_hosts_parse (const char *mountinfo, const char *self_cgroup, const char *v2_controllers,
                        struct cgroup_hosts *out, struct berth_error **err);
int cgroup_hosts_detect (struct cgroup_hosts *out, struct berth_error **err);
void cgroup_hosts_clear (struct cgroup_hosts *h);
const char *cgroup_layout_name (enum cgroup_layout l);

/* ------------------------------------------------------------- resources -- */

struct cgroup_device_rule
{
  bool allow;
  char type;      /* 'a', 'b' or 'c' */
  int64_t major;  /* -1: any */
  int64_t minor;  /* -1: any */
  char access[4]; /* subset of "rwm" */
};

struct cgroup_blkio_device
{
  int64_t major, minor;
  bool has_weight, has_leaf_weight;
  uint16_t weight, leaf_weight;
  uint64_t rate; /* throttle lists */
};

struct cgroup_hugepage
{
  char *page_size; /* "2MB" */
  uint64_t limit;
};

struct cgroup_rdma
{
  char *device;                     /* "mlx5_1" */
  int64_t hca_handles, hca_objects; /* -1: not limited */
};

struct cgroup_net_prio
{
  char *name;
  uint32_t priority;
};

/* Validated linux.resources. has_* says the field was present, so `update`
 * changes only what it was given. */
struct cgroup_resources
{
  bool has_memory_limit, has_memory_reservation, has_memory_swap, has_swappiness,
      has_disable_oom_killer;
  int64_t memory_limit, memory_reservation, memory_swap; /* -1: unlimited */
  uint64_t swappiness;
  bool disable_oom_killer;
  bool check_before_update; /* OCI 1.1: refuse a limit below the usage */
  bool has_kernel_tcp;
  int64_t kernel_tcp; /* v1 memory.kmem.tcp.limit_in_bytes; -1: unlimited */

  bool has_cpu_shares, has_cpu_quota, has_cpu_period, has_cpu_burst, has_rt_runtime, has_rt_period,
      has_cpu_idle;
  uint64_t cpu_shares, cpu_period, cpu_burst, rt_period;
  int64_t cpu_quota, rt_runtime, cpu_idle;
  char *cpus, *mems;

  bool has_pids_limit;
  int64_t pids_limit; /* <= 0 after the 0 → unset rule: -1 means max */

  bool has_blkio_weight, has_blkio_leaf_weight;
  uint16_t blkio_weight, blkio_leaf_weight;
  struct cgroup_blkio_device *weight_devices;
  size_t n_weight_devices;
  struct cgroup_blkio_device *throttle[4]; /* read bps, write bps, read iops, write iops */
  size_t n_throttle[4];

  struct cgroup_hugepage *hugepages;
  size_t n_hugepages;

  bool has_devices;
  struct cgroup_device_rule *devices;
  size_t n_devices;

  bool has_class_id;
  uint32_t class_id;
  struct cgroup_net_prio *net_prios;
  size_t n_net_prios;

  struct cgroup_rdma *rdma;
  size_t n_rdma;

  json_t *unified; /* object of string → string, or NULL */
};

enum
{
  CG_THROTTLE_READ_BPS = 0,
  CG_THROTTLE_WRITE_BPS,
  CG_THROTTLE_READ_IOPS,
  CG_THROTTLE_WRITE_IOPS,
};

/* Validate linux.resources (NULL allowed: nothing set). Errors name the
 * field: "linux.resources.memory.limit: ...". */
int cgroup_resources_parse (const json_t *resources, struct cgroup_resources *out,
                            struct berth_error **err);
void cgroup_resources_clear (struct cgroup_resources *r);
/* CG_BIT mask of the controllers these resources need. */
unsigned cgroup_resources_controllers (const struct cgroup_resources *r);

/* runc's conversions from the v1 numbers the OCI spec uses to v2 files. */
uint64_t cgroup_convert_shares_to_weight (uint64_t shares);
uint64_t cgroup_convert_blkio_weight_to_io_weight (uint64_t weight);
/* memory.swap.max from OCI swap (memory+swap) and limit; *out = -1 means
 * "max", 0 with *is_set false means leave it. */
int cgroup_convert_swap_to_v2 (int64_t swap, int64_t limit, int64_t *out, bool *is_set,
                               struct berth_error **err);

/* ---------------------------------------------------------------- files -- */

/* Write value to dirfd/file (no O_CREAT: a missing file means a missing
 * controller or feature). field names the OCI field in the error. */
int cgroup_write (int dirfd, const char *file, const char *value, const char *field,
                  struct berth_error **err);
/* The same with the file kept open in *fd across calls (-1: opened on the
 * first one; the caller closes it): a list of one-write values. */
int cgroup_write_keep (int dirfd, const char *file, int *fd, const char *value, const char *field,
                       struct berth_error **err);
int cgroup_writef (int dirfd, const char *file, const char *field, struct berth_error **err,
                   const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));
/* Read dirfd/file whole (NUL-terminated); trailing newline kept. */
int cgroup_read (int dirfd, const char *file, char **out, struct berth_error **err);
bool cgroup_file_exists (int dirfd, const char *file);
/* hugepageLimits → one limit file and its reservation file per page size;
 * the names differ per hierarchy (v1 "hugetlb.%s.limit_in_bytes" and
 * "hugetlb.%s.rsvd.limit_in_bytes", v2 "hugetlb.%s.max", "hugetlb.%s.rsvd.max"). */
int cgroup_hugetlb_write (int dfd, const struct cgroup_resources *r, const char *limit_fmt,
                          const char *rsvd_fmt, struct berth_error **err);
/* Parse "key value\n" lines (memory.stat, cpu.stat) into a JSON object. */
json_t *cgroup_read_flat_keyed (int dirfd, const char *file);
int cgroup_read_u64 (int dirfd, const char *file, uint64_t *value);

/* ------------------------------------------------------------- writers -- */

/* Apply the parts of r that belong to controller c to a v1 cgroup dir. */
int cgroup_v1_apply (int dirfd, enum cgroup_controller c, const struct cgroup_resources *r,
                     struct berth_error **err);
/* rdma.max is the same file on v1 and v2. */
int cgroup_rdma_apply (int dirfd, const struct cgroup_resources *r, struct berth_error **err);
/* Apply the parts of r whose controller bit is in `controllers` to a v2
 * cgroup dir (devices excluded: see cgroup_devices_bpf_apply), plus the raw
 * `unified` keys when with_unified. */
int cgroup_v2_apply (int dirfd, unsigned controllers, bool with_unified,
                     const struct cgroup_resources *r, struct berth_error **err);

/* v1 freezer.state / v2 cgroup.freeze, waiting (bounded) for the state. */
int cgroup_v1_freeze (int dirfd, bool frozen, struct berth_error **err);
int cgroup_v2_freeze (int dirfd, bool frozen, struct berth_error **err);
int cgroup_v1_is_frozen (int dirfd, bool *frozen, struct berth_error **err);
int cgroup_v2_is_frozen (int dirfd, bool *frozen, struct berth_error **err);

/* Stats parts, added into the Engine-API-shaped object `stats`. */
void cgroup_v1_stats (int dirfd, enum cgroup_controller c, json_t *stats);
void cgroup_v2_stats (int dirfd, unsigned controllers, json_t *stats);

/* v2 devices: compile the rules to a BPF_PROG_TYPE_CGROUP_DEVICE program
 * and attach it to the cgroup dir (replacing what berth attached before). */
int cgroup_devices_bpf_apply (int dirfd, const struct cgroup_device_rule *rules, size_t n_rules,
                              struct berth_error **err);
/* The program as BPF instructions (for unit tests): count of 8-byte insns. */
size_t cgroup_devices_bpf_build (const struct cgroup_device_rule *rules, size_t n_rules,
                                 void **insns);

/* -------------------------------------------------------------- the handle -- */

/* The container's directory in one hierarchy. */
struct cgroup_dir
{
  char *mountpoint;
  char *hier_name;
  bool is_v2;
  unsigned controllers; /* what berth drives through this dir */
  char *path;           /* "/berth/<id>", relative to the mountpoint */
};

struct cgroup
{
  enum cgroup_layout layout;
  struct cgroup_dir *dirs;
  size_t n_dirs;
};

/* Create the cgroup across the hierarchies of `hosts` (tests inject a fake
 * one whose mountpoints are temp dirs). */
struct cgroup *cgroup_create_on (const struct cgroup_hosts *hosts, const char *id,
                                 const char *cgroups_path, bool use_systemd,
                                 const json_t *resources, struct berth_error **err);
/* "slice:prefix:name" → "/a.slice/a-b.slice/prefix-name.scope". */
char *cgroup_systemd_path (const char *spec, struct berth_error **err);
/* The path in one hierarchy for linux.cgroupsPath (relative paths go under
 * our own cgroup there). */
char *cgroup_resolve_path (const struct cgroup_hier *h, const char *id, const char *cgroups_path,
                           bool use_systemd, struct berth_error **err);
/* Was this directory made by berth (an ancestor of some container's)? */
bool cgroup_dir_is_berth_created (int dfd);
/* Opens mountpoint+path, refusing anything not on cgroupfs. */
int cgroup_dir_open (const struct cgroup_dir *d, struct berth_error **err);
/* Unit tests set this to run create/destroy on a temp dir standing in for
 * cgroupfs; nothing else may. */
extern bool cgroup_any_fs_for_tests;
/* pids of the cgroup dir and every child cgroup (v1 or v2 alike). */
int cgroup_dir_pids (int dirfd, pid_t **pids, size_t *n_pids, struct berth_error **err);
