/* Small helpers shared by the cgroup files: reading and writing cgroupfs
 * files relative to a directory fd (errors name the OCI field and the
 * file), controller names on v1 and v2, and listing a cgroup's pids. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/cgroup-internal.h"

static const char *const v1_names[CG_N_CONTROLLERS] = {
  [CG_CPU] = "cpu",         [CG_CPUACCT] = "cpuacct",   [CG_CPUSET] = "cpuset",
  [CG_MEMORY] = "memory",   [CG_PIDS] = "pids",         [CG_BLKIO] = "blkio",
  [CG_HUGETLB] = "hugetlb", [CG_DEVICES] = "devices",   [CG_FREEZER] = "freezer",
  [CG_NET_CLS] = "net_cls", [CG_NET_PRIO] = "net_prio", [CG_RDMA] = "rdma",
};

static const char *const v2_names[CG_N_CONTROLLERS] = {
  [CG_CPU] = "cpu",  [CG_CPUSET] = "cpuset",   [CG_MEMORY] = "memory", [CG_PIDS] = "pids",
  [CG_BLKIO] = "io", [CG_HUGETLB] = "hugetlb", [CG_RDMA] = "rdma",
};

const char *
cgroup_controller_v1_name (enum cgroup_controller c)
{
  return c < CG_N_CONTROLLERS ? v1_names[c] : NULL;
}

const char *
cgroup_controller_v2_name (enum cgroup_controller c)
{
  return c < CG_N_CONTROLLERS ? v2_names[c] : NULL;
}

int
cgroup_controller_from_v1_name (const char *name)
{
  for (int c = 0; c < CG_N_CONTROLLERS; c++)
    if (strcmp (v1_names[c], name) == 0)
      return c;
  return -1;
}

int
cgroup_controller_from_v2_name (const char *name)
{
  for (int c = 0; c < CG_N_CONTROLLERS; c++)
    if (v2_names[c] && strcmp (v2_names[c], name) == 0)
      return c;
  return -1;
}

int
cgroup_write (int dirfd, const char *file, const char *value, const char *field,
              struct berth_error **err)
{
  _cleanup_close_ int fd = -1;
  return cgroup_write_keep (dirfd, file, &fd, value, field, err);
}

int
cgroup_write_keep (int dirfd, const char *file, int *fd, const char *value, const char *field,
                   struct berth_error **err)
{
  if (*fd < 0)
    *fd = openat (dirfd, file, O_WRONLY | O_TRUNC | O_CLOEXEC);
  int saved = 0;
  if (*fd >= 0)
    {
      /* One write(2): cgroupfs parses each write as a whole value. */
      ssize_t n = write (*fd, value, strlen (value));
      if (n >= 0 && (size_t)n == strlen (value))
        return 0;
      saved = n < 0 ? errno : EIO;
    }
  else
    saved = errno;
  _cleanup_free_ char *dir = fs_fd_path (dirfd);
  if (saved == ENOENT)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "%s%swrite \"%s\" to %s/%s: the file does not exist (controller "
                                 "or feature not available on this host)",
                                 field ? field : "", field ? ": " : "", value, dir, file);
  return berth_error_set (err, saved, "%s%swrite \"%s\" to %s/%s", field ? field : "",
                          field ? ": " : "", value, dir, file);
}

int
cgroup_writef (int dirfd, const char *file, const char *field, struct berth_error **err,
               const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  _cleanup_free_ char *value = NULL;
  int r = vasprintf (&value, fmt, ap);
  va_end (ap);
  if (r < 0)
    return berth_error_set (err, ENOMEM, "format cgroup value");
  return cgroup_write (dirfd, file, value, field, err);
}

int
cgroup_read (int dirfd, const char *file, char **out, struct berth_error **err)
{
  /* cgroupfs files report st_size 0, so read until EOF. */
  _cleanup_close_ int fd = openat (dirfd, file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      _cleanup_free_ char *dir = fs_fd_path (dirfd);
      return berth_error_set (err, errno, "open %s/%s", dir, file);
    }
  size_t cap = 4096, len = 0;
  _cleanup_free_ char *buf = malloc (cap);
  for (;;)
    {
      if (cap - len < 1024)
        {
          cap *= 2;
          char *nb = realloc (buf, cap);
          if (nb == NULL)
            return berth_error_set (err, ENOMEM, "read %s", file);
          buf = nb;
        }
      ssize_t n = read (fd, buf + len, cap - len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          _cleanup_free_ char *dir = fs_fd_path (dirfd);
          return berth_error_set (err, errno, "read %s/%s", dir, file);
        }
      if (n == 0)
        break;
      len += (size_t)n;
    }
  buf[len] = '\0';
  *out = steal_pointer (&buf);
  return 0;
}

bool
cgroup_file_exists (int dirfd, const char *file)
{
  return faccessat (dirfd, file, F_OK, 0) == 0;
}

int
cgroup_read_u64 (int dirfd, const char *file, uint64_t *value)
{
  _cleanup_free_ char *s = NULL;
  if (cgroup_read (dirfd, file, &s, NULL) < 0)
    return -1;
  if (strncmp (s, "max", 3) == 0)
    return *value = UINT64_MAX, 0;
  char *end = NULL;
  errno = 0;
  *value = strtoull (s, &end, 10);
  if (errno || end == s)
    return -1;
  return 0;
}

json_t *
cgroup_read_flat_keyed (int dirfd, const char *file)
{
  _cleanup_free_ char *s = NULL;
  if (cgroup_read (dirfd, file, &s, NULL) < 0)
    return NULL;
  json_t *obj = json_object ();
  char *save = NULL;
  for (char *line = strtok_r (s, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char key[128];
      unsigned long long v = 0;
      if (sscanf (line, "%127s %llu", key, &v) == 2)
        json_object_set_new (obj, key, json_integer ((json_int_t)v));
    }
  return obj;
}

static void
pids_append (pid_t **pids, size_t *n, size_t *cap, pid_t p)
{
  if (*n == *cap)
    {
      *cap = *cap ? *cap * 2 : 16;
      *pids = realloc (*pids, *cap * sizeof **pids);
    }
  (*pids)[(*n)++] = p;
}

static int
dir_pids_rec (int dirfd, pid_t **pids, size_t *n, size_t *cap, int depth, struct berth_error **err)
{
  _cleanup_free_ char *procs = NULL;
  if (cgroup_read (dirfd, "cgroup.procs", &procs, err) < 0)
    return -1;
  char *save = NULL;
  for (char *l = strtok_r (procs, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    pids_append (pids, n, cap, (pid_t)atoi (l));
  if (depth > 64)
    return 0;
  /* Nested cgroups the container made itself (with a cgroup namespace). */
  int dfd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return berth_error_set (err, errno, "open cgroup dir");
  _cleanup_closedir_ DIR *d = fdopendir (dfd);
  if (d == NULL)
    {
      close (dfd);
      return berth_error_set (err, errno, "fdopendir");
    }
  struct dirent *de;
  while ((de = readdir (d)))
    {
      if (de->d_type != DT_DIR || de->d_name[0] == '.')
        continue;
      _cleanup_close_ int cfd = openat (dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (cfd < 0)
        continue; /* removed meanwhile */
      if (dir_pids_rec (cfd, pids, n, cap, depth + 1, err) < 0)
        return -1;
    }
  return 0;
}

int
cgroup_dir_pids (int dirfd, pid_t **pids, size_t *n_pids, struct berth_error **err)
{
  size_t cap = 0;
  *pids = NULL;
  *n_pids = 0;
  if (dir_pids_rec (dirfd, pids, n_pids, &cap, 0, err) < 0)
    {
      free (*pids);
      *pids = NULL;
      *n_pids = 0;
      return -1;
    }
  return 0;
}

int
cgroup_hugetlb_write (int dfd, const struct cgroup_resources *r, const char *limit_fmt,
                      const char *rsvd_fmt, struct berth_error **err)
{
  for (size_t i = 0; i < r->n_hugepages; i++)
    {
      const struct cgroup_hugepage *h = &r->hugepages[i];
      char file[96], rsvd[96], field[96];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
      snprintf (file, sizeof file, limit_fmt, h->page_size);
      snprintf (rsvd, sizeof rsvd, rsvd_fmt, h->page_size);
#pragma GCC diagnostic pop
      snprintf (field, sizeof field, "linux.resources.hugepageLimits[%zu].pageSize", i);
      if (!cgroup_file_exists (dfd, file))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "%s: %s is not a huge page size of this host", field,
                                     h->page_size);
      snprintf (field, sizeof field, "linux.resources.hugepageLimits[%zu].limit", i);
      if (cgroup_writef (dfd, file, field, err, "%" PRIu64, h->limit) < 0)
        return -1;
      /* Reservations count too (runc does the same since 1.1). */
      if (cgroup_file_exists (dfd, rsvd)
          && cgroup_writef (dfd, rsvd, field, err, "%" PRIu64, h->limit) < 0)
        return -1;
    }
  return 0;
}
