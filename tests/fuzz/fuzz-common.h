/* Shared by the libFuzzer targets in tests/fuzz: NUL-terminated copies of
 * the input, splitting an input into fields, and a private temp directory
 * (removed at exit) for the targets that must touch the filesystem. */
#pragma once

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/common.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The input as a C string (embedded NULs end it early, as they would for
 * any caller that got the text from a header, argv or a JSON string). */
static inline char *
fuzz_strndup (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);
  if (s == NULL)
    abort ();
  memcpy (s, data, size);
  s[size] = '\0';
  return s;
}

/* Split the input at '\n' into a NULL-terminated vector (the fields a
 * target passes to several arguments). */
static inline char **
fuzz_split_lines (const uint8_t *data, size_t size, size_t *n_out)
{
  size_t n = 1;
  for (size_t i = 0; i < size; i++)
    n += data[i] == '\n';
  char **v = calloc (n + 1, sizeof *v);
  if (v == NULL)
    abort ();
  size_t k = 0, start = 0;
  for (size_t i = 0; i <= size; i++)
    if (i == size || data[i] == '\n')
      {
        v[k++] = fuzz_strndup (data + start, i - start);
        start = i + 1;
      }
  *n_out = k;
  return v;
}

static inline void
fuzz_strv_free (char **v)
{
  for (char **p = v; p && *p; p++)
    free (*p);
  free (v);
}

/* A fuzz target's failure of an invariant: print and abort, so libFuzzer
 * records the input as a crash. */
#define FUZZ_ASSERT(cond)                                                                          \
  do                                                                                               \
    {                                                                                              \
      if (!(cond))                                                                                 \
        {                                                                                          \
          fprintf (stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);     \
          abort ();                                                                                \
        }                                                                                          \
    }                                                                                              \
  while (0)

static char fuzz_tmpdir_path[64];

static void
fuzz_tmpdir_remove (void)
{
  if (fuzz_tmpdir_path[0] == '\0')
    return;
  int tmp = open ("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (tmp >= 0)
    {
      fs_rm_rf_at (tmp, fuzz_tmpdir_path + strlen ("/tmp/"), NULL);
      close (tmp);
    }
  fuzz_tmpdir_path[0] = '\0';
}

/* This process's own temp directory under /tmp (created once, removed at
 * exit); every file a target writes lives below it. */
static inline const char *
fuzz_tmpdir (void)
{
  if (fuzz_tmpdir_path[0] == '\0')
    {
      snprintf (fuzz_tmpdir_path, sizeof fuzz_tmpdir_path, "/tmp/berth-fuzz-%d-XXXXXX",
                (int) getpid ());
      if (mkdtemp (fuzz_tmpdir_path) == NULL)
        abort ();
      atexit (fuzz_tmpdir_remove);
    }
  return fuzz_tmpdir_path;
}

/* Replace dirfd/name with data (plain write: no fsync, the file is
 * scratch). */
static inline void
fuzz_write_file (int dirfd, const char *name, const uint8_t *data, size_t size)
{
  int fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  FUZZ_ASSERT (fd >= 0);
  FUZZ_ASSERT (size == 0 || write (fd, data, size) == (ssize_t) size);
  close (fd);
}
