/* The build context's index and spool: every received file by inode with
 * its content sha256 and where its bytes wait (the stream read into
 * anonymous memory, then spliced into a mapped temp file; or a copy
 * spool), filled into the file
 * or copied straight out when a step reads it, given back off the
 * critical path when the build ends. */
#include "build/build-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#define RAW_MEM_MAX ((uint64_t) 256 << 20)
#define RAW_DISK_MAP ((uint64_t) 64 << 30)
#define COPY_MEM_MAX ((uint64_t) 256 << 20)

/* ------------------------------------------------------------- index -- */

void
context_index_init (struct context_index *ix, int tmpdirfd)
{
  memset (ix, 0, sizeof *ix);
  for (int i = 0; i < SPOOL_N; i++)
    ix->spool[i] = -1;
  ix->tmpdirfd = tmpdirfd;
  ix->raw_mem_max = RAW_MEM_MAX;
  pthread_mutex_init (&ix->fill_lock, NULL);
}

struct spool_release
{
  int fd[SPOOL_N];
  void *map[2];
  uint64_t map_size[2];
};

/* Move the spool's fds and maps out of ix; false when there are none. */
static bool
spool_take (struct context_index *ix, struct spool_release *r)
{
  bool any = false;
  for (int i = 0; i < SPOOL_N; i++)
    {
      r->fd[i] = ix->spool[i];
      any |= ix->spool[i] >= 0;
      ix->spool[i] = -1;
    }
  for (int i = 0; i < 2; i++)
    {
      r->map[i] = ix->raw_map[i];
      r->map_size[i] = ix->raw_map_size[i];
      any |= ix->raw_map[i] != NULL;
      ix->raw_map[i] = NULL;
    }
  return any;
}

static void *
spool_release_run (void *arg)
{
  struct spool_release *r = arg;
  for (int i = 0; i < SPOOL_N; i++)
    if (r->fd[i] >= 0)
      close (r->fd[i]);
  for (int i = 0; i < 2; i++)
    if (r->map[i])
      munmap (r->map[i], r->map_size[i]);
  return NULL;
}

void
context_index_free (struct context_index *ix)
{
  struct spool_release r;
  spool_take (ix, &r);
  spool_release_run (&r);
  free (ix->files);
  int t = ix->tmpdirfd;
  uint64_t mem_max = ix->raw_mem_max;
  pthread_mutex_destroy (&ix->fill_lock);
  context_index_init (ix, t);
  ix->raw_mem_max = mem_max;
}

static void *
spool_release_thread (void *arg)
{
  spool_release_run (arg);
  free (arg);
  return NULL;
}

void
context_index_release (struct context_index *ix)
{
  /* Giving 50 MB of pages back to the kernel takes tens of milliseconds:
   * not on the way to the build's answer. The spool has no name: nothing
   * of it is visible once the index lets go. */
  struct spool_release *r = malloc (sizeof *r);
  if (r && spool_take (ix, r))
    {
      pthread_t t;
      pthread_attr_t attr;
      if (pthread_attr_init (&attr) == 0)
        {
          pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
          int e = pthread_create (&t, &attr, spool_release_thread, r);
          pthread_attr_destroy (&attr);
          if (e == 0)
            r = NULL;
        }
      if (r)
        spool_release_run (r);
    }
  free (r);
  context_index_free (ix);
}

static int
file_cmp (const void *a, const void *b)
{
  const struct context_file *x = a, *y = b;
  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino)
    return x->ino < y->ino ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void
context_index_add (struct context_index *ix, const struct stat *st, int which, uint64_t off,
                   uint64_t size, const char *sum)
{
  if (ix->n == ix->cap)
    {
      ix->cap = ix->cap ? ix->cap * 2 : 64;
      ix->files = realloc (ix->files, ix->cap * sizeof *ix->files);
      if (ix->files == NULL)
        abort ();
    }
  struct context_file *f = &ix->files[ix->n];
  *f = (struct context_file){ .dev = st->st_dev, .ino = st->st_ino, .seq = ix->n, .off = off,
                              .size = size, .spool = which };
  memcpy (f->sum, sum, sizeof f->sum);
  ix->n++;
}

/* Sorted by inode; of two entries for one inode number (a replaced file
 * whose number the filesystem gave to a later one) the later wins. */
void
context_index_seal (struct context_index *ix)
{
  qsort (ix->files, ix->n, sizeof *ix->files, file_cmp);
  size_t k = 0;
  for (size_t i = 0; i < ix->n; i++)
    {
      if (k > 0 && ix->files[k - 1].dev == ix->files[i].dev && ix->files[k - 1].ino == ix->files[i].ino)
        k--;
      ix->files[k++] = ix->files[i];
    }
  ix->n = k;
}

static struct context_file *
index_find (const struct context_index *ix, const struct stat *st)
{
  if (ix == NULL || ix->n == 0 || !S_ISREG (st->st_mode))
    return NULL;
  struct context_file key = { .dev = st->st_dev, .ino = st->st_ino, .seq = SIZE_MAX };
  size_t lo = 0, hi = ix->n;
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      const struct context_file *f = &ix->files[mid];
      if (f->dev == key.dev && f->ino == key.ino)
        return &ix->files[mid];
      if (file_cmp (f, &key) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

const char *
context_index_sum (const struct context_index *ix, const struct stat *st)
{
  struct context_file *f = index_find (ix, st);
  return f ? f->sum : NULL;
}

/* count bytes of the spool at f's offset into out (at out's position). */
static int
spool_send (const struct context_index *ix, const struct context_file *f, int out,
            struct berth_error **err)
{
  off_t off = (off_t) f->off;
  uint64_t left = f->size;
  if (left > 0 && f->spool == SPOOL_RAW_MEM)
    {
      /* memory: written out as it is */
      if (ix->raw_map[SPOOL_RAW_MEM] == NULL
          || fs_write_all (out, (const char *) ix->raw_map[SPOOL_RAW_MEM] + f->off, (size_t) left) < 0)
        return berth_error_set (err, errno ? errno : EIO, "context: copy from the spool");
      return 0;
    }
  if (left > 0 && (f->spool < 0 || ix->spool[f->spool] < 0))
    return berth_error_set (err, EIO, "context: no spool for the data");
  while (left > 0)
    {
      ssize_t n = sendfile (out, ix->spool[f->spool], &off, left > (1u << 30) ? (1u << 30) : (size_t) left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berth_error_set (err, errno, "context: copy from the spool");
      if (n == 0)
        return berth_error_set (err, EIO, "context: the spool ended early");
      left -= (uint64_t) n;
    }
  return 0;
}

int
context_index_fill (struct context_index *ix, int fd, struct berth_error **err)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return berth_error_set (err, errno, "context: stat");
  struct context_file *f = index_find (ix, &st);
  if (f == NULL)
    return 0;
  pthread_mutex_lock (&ix->fill_lock);
  int r = 0;
  if (!f->filled)
    {
      char p[64];
      snprintf (p, sizeof p, "/proc/self/fd/%d", fd);
      _cleanup_close_ int w = open (p, O_WRONLY | O_CLOEXEC);
      if (w < 0)
        r = berth_error_set (err, errno, "context: fill");
      else
        r = spool_send (ix, f, w, err);
      /* the file keeps the mtime it came with */
      struct timespec ts[2] = { st.st_mtim, st.st_mtim };
      if (r == 0)
        futimens (w, ts);
      __atomic_store_n (&f->filled, r == 0, __ATOMIC_RELEASE);
    }
  pthread_mutex_unlock (&ix->fill_lock);
  return r;
}

int
context_index_copy (const struct context_index *ix, const struct stat *st, int out, bool *done,
                    struct berth_error **err)
{
  *done = false;
  struct context_file *f = index_find (ix, st);
  if (f == NULL || __atomic_load_n (&f->filled, __ATOMIC_ACQUIRE))
    return 0;
  if (spool_send (ix, f, out, err) < 0)
    return -1;
  *done = true;
  return 0;
}

int
context_index_fill_tree (struct context_index *ix, int fd, struct berth_error **err)
{
  struct stat st;
  if (ix == NULL || ix->n == 0)
    return 0;
  if (fstat (fd, &st) < 0)
    return berth_error_set (err, errno, "context: stat");
  if (S_ISREG (st.st_mode))
    return context_index_fill (ix, fd, err);
  if (!S_ISDIR (st.st_mode))
    return 0;
  char p[64];
  snprintf (p, sizeof p, "/proc/self/fd/%d", fd);
  int dfd = open (p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_closedir_ DIR *d = dfd >= 0 ? fdopendir (dfd) : NULL;
  if (d == NULL)
    {
      if (dfd >= 0)
        close (dfd);
      return berth_error_set (err, errno, "context: read dir");
    }
  struct dirent *de;
  while ((de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0 || de->d_type == DT_LNK)
        continue;
      _cleanup_close_ int c = openat (dirfd (d), de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (c < 0)
        return berth_error_set (err, errno, "context: open %s", de->d_name);
      if (context_index_fill_tree (ix, c, err) < 0)
        return -1;
    }
  return 0;
}

/* ----------------------------------------------------------- the spool -- */

/* The client's stream lands as it comes in the raw spool: anonymous
 * memory (huge pages where the kernel gives them), then a temp file in the
 * build's work dir (spliced, mapped). A plain tar's file data is read,
 * hashed and kept where it landed, with no copy of its own. Data that is
 * not there as one piece (a compressed stream, a file across the two raw
 * segments) is copied to the copy spool (a memfd, then a temp file). */

static int
spool_open (struct context_index *ix, int which)
{
  if (which == SPOOL_RAW_MEM)
    {
      /* anonymous memory in huge pages where the kernel gives them: 50
       * MB are 25 faults, not 12800 page allocations of a memfd */
      if (ix->raw_map[which])
        return 0;
      void *m = mmap (NULL, ix->raw_mem_max, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (m == MAP_FAILED)
        return -1;
      madvise (m, ix->raw_mem_max, MADV_HUGEPAGE);
      ix->raw_map[which] = m;
      ix->raw_map_size[which] = ix->raw_mem_max;
      return 0;
    }
  if (ix->spool[which] >= 0)
    return 0;
  bool disk = which == SPOOL_RAW_DISK || which == SPOOL_COPY_DISK;
  ix->spool[which] = disk ? openat (ix->tmpdirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)
                          : memfd_create ("berth-build-context", MFD_CLOEXEC);
  if (ix->spool[which] < 0)
    return -1;
  if (which == SPOOL_RAW_DISK)
    {
      size_t size = RAW_DISK_MAP;
      void *m = mmap (NULL, size, PROT_READ, MAP_SHARED | MAP_NORESERVE, ix->spool[which], 0);
      if (m == MAP_FAILED)
        {
          close (ix->spool[which]);
          ix->spool[which] = -1;
          return -1;
        }
      ix->raw_map[which] = m;
      ix->raw_map_size[which] = size;
    }
  return 0;
}

/* Read the next piece of the stream into the raw spool; *out points at it
 * in the map. -1 with errno 0: no raw spool (read into buf instead). */
ssize_t
context_spool_read (struct context_index *ix, int fd, char *buf, size_t len, const char **out)
{
  int which = ix->spool_len[SPOOL_RAW_MEM] < ix->raw_mem_max ? SPOOL_RAW_MEM
              : ix->tmpdirfd >= 0 && ix->spool_len[SPOOL_RAW_DISK] < RAW_DISK_MAP ? SPOOL_RAW_DISK
                                                                                  : -1;
  if (which < 0 || spool_open (ix, which) < 0)
    return errno = 0, -1;
  uint64_t at = ix->spool_len[which];
  size_t want = (size_t) (ix->raw_map_size[which] - at < (1u << 20) ? ix->raw_map_size[which] - at : (1u << 20));
  ssize_t n;
  if (which == SPOOL_RAW_MEM)
    {
      do
        n = read (fd, (char *) ix->raw_map[which] + at, want);
      while (n < 0 && errno == EINTR);
      if (n < 0)
        return -2;
      ix->spool_len[which] += (uint64_t) n;
      *out = (const char *) ix->raw_map[which] + at;
      return n;
    }
  for (;;)
    {
      loff_t off = (loff_t) at;
      n = ix->raw_is_file ? -1 : splice (fd, NULL, ix->spool[which], &off, want, SPLICE_F_MOVE);
      if (n < 0 && errno == EINTR)
        continue;
      if (n >= 0 || errno != EINVAL)
        break;
      /* not a pipe (a file: tests, ADD): read and write */
      ix->raw_is_file = true;
      do
        n = read (fd, buf, len < want ? len : want);
      while (n < 0 && errno == EINTR);
      if (n > 0 && pwrite (ix->spool[which], buf, (size_t) n, (off_t) at) != n)
        n = -1;
      break;
    }
  if (n < 0)
    return -2;
  ix->spool_len[which] += (uint64_t) n;
  *out = (const char *) ix->raw_map[which] + at;
  return n;
}

/* Where p (n bytes) lies in the raw spool, if it does. */
bool
context_spool_locate (const struct context_index *ix, const void *p, size_t n, int *which, uint64_t *off)
{
  for (int w = SPOOL_RAW_MEM; w <= SPOOL_RAW_DISK; w++)
    {
      const char *m = ix->raw_map[w];
      if (m && (const char *) p >= m && (const char *) p + n <= m + ix->spool_len[w])
        {
          *which = w;
          *off = (uint64_t) ((const char *) p - m);
          return true;
        }
    }
  return false;
}

int
context_spool_copy_open (struct context_index *ix, uint64_t size, int *which, struct berth_error **err)
{
  bool disk = ix->spool_len[SPOOL_COPY_MEM] + size > COPY_MEM_MAX && ix->tmpdirfd >= 0;
  *which = disk ? SPOOL_COPY_DISK : SPOOL_COPY_MEM;
  if (spool_open (ix, *which) < 0)
    return berth_error_set (err, errno, "context: spool");
  return 0;
}

int
context_spool_write (struct context_index *ix, int which, const void *buf, size_t len,
             struct berth_error **err)
{
  if (fs_write_all (ix->spool[which], buf, len) < 0)
    return berth_error_set (err, errno, "context: spool");
  ix->spool_len[which] += len;
  return 0;
}

