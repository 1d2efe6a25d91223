/* The build context's tar (src/cli/build-tar.c) on a real temporary tree,
 * read back with libarchive: every entry type, names ustar splits or only
 * pax can carry, non-ASCII names, the extra Dockerfile and .dockerignore,
 * the end of the archive, and a file that shrinks while it is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli-internal.h"

/* A body that collects into memory (what the transport would send). */
struct mem
{
  char *data;
  size_t len;
  int stop_after; /* answer 1 after this many writes (0: never) */
  int writes;
};

static void
mem_append (struct mem *m, const void *p, size_t n)
{
  m->data = realloc (m->data, m->len + n);
  memcpy (m->data + m->len, p, n);
  m->len += n;
}

static int
mem_write (void *ud, const void *p, size_t n, struct berth_error **err)
{
  struct mem *m = ud;
  if (m->stop_after && ++m->writes > m->stop_after)
    return 1;
  mem_append (m, p, n);
  return 0;
}

static int
mem_send_file (void *ud, int fd, uint64_t len, struct berth_error **err)
{
  struct mem *m = ud;
  char buf[4096];
  while (len > 0)
    {
      ssize_t n = read (fd, buf, len < sizeof buf ? (size_t) len : sizeof buf);
      if (n <= 0)
        return berth_error_set (err, 0, "the file shrank while it was sent");
      mem_append (m, buf, (size_t) n);
      len -= (uint64_t) n;
    }
  return 0;
}

static void
put_file (int dfd, const char *name, const char *content)
{
  int fd = openat (dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, content, strlen (content)), (ssize_t) strlen (content));
  close (fd);
}

/* libarchive reading the bytes (through a memfd: the CLI binds only
 * libarchive's fd reader) */
static struct archive *
read_back (const struct mem *m)
{
  int fd = memfd_create ("tar", MFD_CLOEXEC);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, m->data, m->len), (ssize_t) m->len);
  assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
  struct archive *a = archive_read_new ();
  archive_read_support_format_tar (a);
  assert_int_equal (archive_read_open_fd (a, fd, 65536), ARCHIVE_OK);
  return a; /* the fd lives as long as the test: a few bytes */
}

struct seen
{
  const char *path;
  int type;         /* AE_IFREG, ... */
  const char *data; /* a file's content, or a link's target */
};

/* Read the archive back; every expected entry in order, nothing else. */
static void
check_archive (const struct mem *m, const struct seen *want, size_t n_want)
{
  assert_int_equal (m->len % 512, 0);
  static const char zeros[1024];
  assert_true (m->len >= 1024);
  assert_memory_equal (m->data + m->len - 1024, zeros, 1024);
  struct archive *a = read_back (m);
  struct archive_entry *e;
  size_t i = 0;
  while (archive_read_next_header (a, &e) == ARCHIVE_OK)
    {
      assert_true (i < n_want);
      assert_string_equal (archive_entry_pathname (e), want[i].path);
      if (want[i].type == AE_IFREG && archive_entry_hardlink (e))
        fail_msg ("%s: a hard link", want[i].path);
      if (want[i].type == 0) /* a hard link */
        assert_string_equal (archive_entry_hardlink (e), want[i].data);
      else
        assert_int_equal (archive_entry_filetype (e), want[i].type);
      assert_int_equal (archive_entry_uid (e), 0);
      assert_int_equal (archive_entry_gid (e), 0);
      if (want[i].type == AE_IFREG)
        {
          char buf[512] = "";
          ssize_t n = archive_read_data (a, buf, sizeof buf - 1);
          assert_true (n >= 0);
          buf[n] = '\0';
          assert_string_equal (buf, want[i].data);
        }
      if (want[i].type == AE_IFLNK)
        assert_string_equal (archive_entry_symlink (e), want[i].data);
      i++;
    }
  assert_int_equal (i, n_want);
  archive_read_free (a);
}

static void
test_context_tar (void **state)
{
  char dir[] = "/tmp/berth-test-build-tar-XXXXXX";
  assert_non_null (mkdtemp (dir));
  int root = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* a 120-byte path that ustar splits into prefix + name, a 300-byte one
   * only pax can carry, a non-ASCII name, a long symlink target */
  char mid[80], deep[300];
  memset (mid, 'm', sizeof mid - 1);
  mid[sizeof mid - 1] = '\0';
  assert_int_equal (mkdirat (root, mid, 0755), 0);
  _cleanup_free_ char *split = xasprintf ("%s/%s", mid, "file-with-a-name-of-forty-bytes-abcdefgh");
  put_file (root, split, "split");
  memset (deep, 'd', sizeof deep - 1);
  deep[sizeof deep - 1] = '\0';
  _cleanup_free_ char *long_name = xasprintf ("%.250s", deep);
  put_file (root, long_name, "long");
  put_file (root, "Dockerfile", "FROM scratch\n");
  put_file (root, "caf\xc3\xa9.txt", "utf-8");
  put_file (root, "a.txt", "hello");
  assert_int_equal (linkat (root, "a.txt", root, "b-hard.txt", 0), 0);
  assert_int_equal (symlinkat ("a.txt", root, "c-link"), 0);
  assert_int_equal (symlinkat (deep, root, "d-far"), 0);

  struct cli_build_context ctx;
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (cli_build_context_select (root, NULL, 0, "Dockerfile", &ctx, &err), 0);
  struct cli_build_tar t = { .rootfd = root, .ctx = &ctx };
  struct mem m = { 0 };
  struct cli_body_out out = { .write = mem_write, .send_file = mem_send_file, .ud = &m };
  assert_int_equal (cli_build_tar_write (&t, &out, &err), 0);
  _cleanup_free_ char *mid_dir = xasprintf ("%s/", mid);
  const struct seen want[] = {
    { "Dockerfile", AE_IFREG, "FROM scratch\n" },
    { "a.txt", AE_IFREG, "hello" },
    { "b-hard.txt", 0, "a.txt" },
    { "c-link", AE_IFLNK, "a.txt" },
    { "caf\xc3\xa9.txt", AE_IFREG, "utf-8" },
    { "d-far", AE_IFLNK, deep },
    { long_name, AE_IFREG, "long" },
    { mid_dir, AE_IFDIR, NULL },
    { split, AE_IFREG, "split" },
  };
  check_archive (&m, want, sizeof want / sizeof want[0]);
  free (m.data);

  /* -f outside the context: the Dockerfile under its own name, named in a
   * rewritten .dockerignore */
  t.extra_name = ".dockerfile.0123";
  t.extra_data = "FROM busybox\n";
  t.extra_len = strlen (t.extra_data);
  t.ignore_data = "*.log";
  t.ignore_len = 5;
  m = (struct mem){ 0 };
  assert_int_equal (cli_build_tar_write (&t, &out, &err), 0);
  struct archive *a = read_back (&m);
  struct archive_entry *e;
  const char *last2[2] = { NULL, NULL };
  char ign[64] = "";
  while (archive_read_next_header (a, &e) == ARCHIVE_OK)
    {
      free ((char *) last2[0]);
      last2[0] = last2[1];
      last2[1] = xstrdup (archive_entry_pathname (e));
      if (strcmp (last2[1], ".dockerignore") == 0)
        archive_read_data (a, ign, sizeof ign - 1);
    }
  assert_string_equal (last2[0], ".dockerfile.0123");
  assert_string_equal (last2[1], ".dockerignore");
  assert_string_equal (ign, "*.log\n.dockerfile.0123\n");
  free ((char *) last2[0]);
  free ((char *) last2[1]);
  archive_read_free (a);
  free (m.data);

  /* the receiver stops taking (the daemon answered): writing stops too */
  m = (struct mem){ .stop_after = 2 };
  assert_int_equal (cli_build_tar_write (&t, &out, &err), 1);
  free (m.data);

  /* a file that shrank since the walk saw it */
  for (size_t i = 0; i < ctx.n; i++)
    if (strcmp (ctx.entries[i].path, "a.txt") == 0)
      ctx.entries[i].st.st_size = 4096;
  m = (struct mem){ 0 };
  t.extra_name = NULL;
  assert_int_equal (cli_build_tar_write (&t, &out, &err), -1);
  assert_non_null (err);
  assert_string_equal (err->msg, "read a.txt: the file shrank while it was sent");
  free (m.data);

  cli_build_context_clear (&ctx);
  close (root);
  _cleanup_free_ char *rm = xasprintf ("rm -rf %s", dir);
  assert_int_equal (system (rm), 0);
}

static void
test_pax_record_lengths (void **state)
{
  /* a pax record's length counts its own digits: 98 + 2 digits = 100
   * would need 3 digits; the record is then 101 bytes (Go's rule) */
  struct mem m = { 0 };
  struct cli_body_out out = { .write = mem_write, .send_file = mem_send_file, .ud = &m };
  _cleanup_error_ struct berth_error *err = NULL;
  char name[92];
  memset (name, 'n', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  name[0] = (char) 0xc3; /* non-ASCII: a pax path record */
  name[1] = (char) 0xa9;
  assert_int_equal (cli_tar_write_header (&out, name, 0644, 0, 0, '0', NULL, &err), 0);
  assert_int_equal (m.len, 3 * 512);
  /* "101 path=<91 bytes>\n" */
  assert_memory_equal (m.data + 512, "101 path=", 9);
  assert_int_equal (m.data[512 + 100], '\n');
  free (m.data);
}

int
main (void)
{
  /* libarchive converts pax's UTF-8 names to the locale's charset */
  setlocale (LC_ALL, "C.UTF-8");
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_context_tar),
    cmocka_unit_test (test_pax_record_lengths),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
