/* The build context and COPY's source rules on a real temp directory:
 * hostile tar entries never leave the context root (openat2
 * RESOLVE_IN_ROOT), .dockerignore removal, streamed content sums equal a
 * re-read, docker's COPY source errors, and copy into a root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <dirent.h>

#include "build/build-internal.h"

struct entry
{
  const char *path;
  char type; /* f d l h */
  const char *data; /* content, or link target */
};

static int
make_tar (const struct entry *e, size_t n, bool gzip)
{
  int fd = memfd_create ("tar", MFD_CLOEXEC);
  struct archive *a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  if (gzip)
    archive_write_add_filter_gzip (a);
  archive_write_open_fd (a, fd);
  for (size_t i = 0; i < n; i++)
    {
      struct archive_entry *ae = archive_entry_new ();
      archive_entry_set_pathname (ae, e[i].path);
      archive_entry_set_mtime (ae, 1000, 0);
      if (e[i].type == 'd')
        {
          archive_entry_set_filetype (ae, AE_IFDIR);
          archive_entry_set_perm (ae, 0755);
        }
      else if (e[i].type == 'l')
        {
          archive_entry_set_filetype (ae, AE_IFLNK);
          archive_entry_set_symlink (ae, e[i].data);
          archive_entry_set_perm (ae, 0777);
        }
      else if (e[i].type == 'h')
        {
          archive_entry_set_filetype (ae, AE_IFREG);
          archive_entry_set_hardlink (ae, e[i].data);
        }
      else
        {
          archive_entry_set_filetype (ae, AE_IFREG);
          archive_entry_set_perm (ae, 0644);
          archive_entry_set_size (ae, (la_int64_t) strlen (e[i].data));
        }
      archive_write_header (a, ae);
      if (e[i].type == 'f')
        archive_write_data (a, e[i].data, strlen (e[i].data));
      archive_entry_free (ae);
    }
  archive_write_close (a);
  archive_write_free (a);
  lseek (fd, 0, SEEK_SET);
  return fd;
}

static char *
mkroot (void)
{
  char tmpl[] = "/tmp/berth-unit-build-XXXXXX";
  char *d = mkdtemp (tmpl);
  assert_non_null (d);
  char *outer = xstrdup (d);
  char *ctx = xasprintf ("%s/ctx", outer);
  assert_int_equal (mkdir (ctx, 0755), 0);
  free (ctx);
  return outer;
}

static void
rmroot (char *outer)
{
  struct berth_error *err = NULL;
  fs_rm_rf_at (AT_FDCWD, outer, &err);
  berth_error_free (err);
  free (outer);
}

static char *
read_at (int dirfd, const char *p)
{
  char *out = NULL;
  struct berth_error *err = NULL;
  if (fs_read_file (dirfd, p, &out, NULL, &err) < 0)
    {
      berth_error_free (err);
      return NULL;
    }
  return out;
}

static void
test_hostile_entries_stay_inside (void **state)
{
  (void) state;
  char *outer = mkroot ();
  _cleanup_free_ char *ctx = xasprintf ("%s/ctx", outer);
  int dfd = open (ctx, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const struct entry es[] = {
    { "../escape.txt", 'f', "dotdot" },       /* above the root: lands inside */
    { "/abs.txt", 'f', "abs" },               /* absolute: relative to the root */
    { "link", 'l', ".." },                    /* a symlink pointing out … */
    { "link/through.txt", 'f', "through" },   /* … is resolved inside the root */
    { "dir/", 'd', NULL },
    { "dir/a.txt", 'f', "a" },
    { "dir/a.txt", 'f', "second" },           /* a later entry replaces */
    { "hard", 'h', "dir/a.txt" },
  };
  int tfd = make_tar (es, sizeof es / sizeof es[0], true);
  struct context_index ix;
  context_index_init (&ix, -1);
  struct berth_error *err = NULL;
  if (context_receive (tfd, dfd, &ix, &err) < 0)
    fail_msg ("%s", err->msg);
  /* received, not written: the files have their sizes and no data yet */
  struct stat sb;
  assert_int_equal (fstatat (dfd, "dir/a.txt", &sb, 0), 0);
  assert_int_equal (sb.st_size, 6);
  assert_int_equal (sb.st_blocks, 0);
  /* the streamed sum is the content's sha256, under every name */
  char hex[SHA256_HEX_LEN + 1];
  sha256_hex ("second", 6, hex);
  assert_string_equal (context_index_sum (&ix, &sb), hex);
  assert_int_equal (fstatat (dfd, "hard", &sb, 0), 0);
  assert_string_equal (context_index_sum (&ix, &sb), hex);
  {
    /* copied straight from the spool, the file itself untouched */
    int out = memfd_create ("out", MFD_CLOEXEC);
    bool done = false;
    assert_int_equal (context_index_copy (&ix, &sb, out, &done, &err), 0);
    assert_true (done);
    char buf[16] = { 0 };
    assert_int_equal (pread (out, buf, sizeof buf, 0), 6);
    assert_string_equal (buf, "second");
    close (out);
  }
  /* filled before reading */
  int all = openat (dfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (context_index_fill_tree (&ix, all, &err) < 0)
    fail_msg ("%s", err->msg);
  close (all);
  assert_int_equal (fstatat (dfd, "dir/a.txt", &sb, 0), 0);
  assert_int_equal (sb.st_mtim.tv_sec, 1000); /* the mtime it came with */
  /* nothing was written next to the context dir */
  _cleanup_free_ char *esc = xasprintf ("%s/escape.txt", outer);
  _cleanup_free_ char *thr = xasprintf ("%s/through.txt", outer);
  assert_int_not_equal (access (esc, F_OK), 0);
  assert_int_not_equal (access (thr, F_OK), 0);
  _cleanup_free_ char *a = read_at (dfd, "escape.txt");
  _cleanup_free_ char *b = read_at (dfd, "abs.txt");
  _cleanup_free_ char *c = read_at (dfd, "through.txt");
  _cleanup_free_ char *d = read_at (dfd, "dir/a.txt");
  _cleanup_free_ char *h = read_at (dfd, "hard");
  assert_string_equal (a, "dotdot");
  assert_string_equal (b, "abs");
  assert_string_equal (c, "through");
  assert_string_equal (d, "second");
  assert_string_equal (h, "second");
  context_index_free (&ix);
  close (tfd);
  close (dfd);
  rmroot (outer);
}

/* What the docker CLI sends with -f outside the context: no padding after
 * the last entry's data and no end-of-archive blocks (dockerd accepts it). */
/* A context larger than the spool's memory: the rest of the stream goes
 * to a temp file; a file across the two is copied whole; every byte and
 * sum comes back, plain and gzipped. */
static void
test_spool_spills_to_disk (void **state)
{
  (void) state;
  for (int gz = 0; gz < 2; gz++)
    {
      char *outer = mkroot ();
      _cleanup_free_ char *ctx = xasprintf ("%s/ctx", outer);
      int dfd = open (ctx, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      int tmpd = open (outer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      char *big[4];
      struct entry es[4];
      for (int i = 0; i < 4; i++)
        {
          big[i] = malloc (5000);
          for (int k = 0; k < 4999; k++)
            big[i][k] = (char) ('a' + (k * 7 + i) % 26);
          big[i][4999] = '\0';
          es[i] = (struct entry){ xasprintf ("f%d", i), 'f', big[i] };
        }
      int tfd = make_tar (es, 4, gz);
      struct context_index ix;
      context_index_init (&ix, tmpd);
      ix.raw_mem_max = 8192; /* the second file straddles memory and disk */
      struct berth_error *err = NULL;
      if (context_receive (tfd, dfd, &ix, &err) < 0)
        fail_msg ("%s", err->msg);
      if (!gz)
        assert_true (ix.spool_len[SPOOL_RAW_DISK] > 0);
      for (int i = 0; i < 4; i++)
        {
          struct stat sb;
          assert_int_equal (fstatat (dfd, es[i].path, &sb, 0), 0);
          char hex[SHA256_HEX_LEN + 1];
          sha256_hex (big[i], 4999, hex);
          assert_string_equal (context_index_sum (&ix, &sb), hex);
          int out = memfd_create ("out", MFD_CLOEXEC);
          bool done = false;
          assert_int_equal (context_index_copy (&ix, &sb, out, &done, &err), 0);
          assert_true (done);
          char *back = calloc (1, 5000);
          assert_int_equal (pread (out, back, 4999, 0), 4999);
          assert_memory_equal (back, big[i], 4999);
          free (back);
          close (out);
          free ((char *) es[i].path);
          free (big[i]);
        }
      context_index_release (&ix);
      close (tfd);
      close (tmpd);
      close (dfd);
      rmroot (outer);
    }
}

static void
test_unterminated_tar_from_the_cli (void **state)
{
  (void) state;
  char *outer = mkroot ();
  _cleanup_free_ char *ctx = xasprintf ("%s/ctx", outer);
  int dfd = open (ctx, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const struct entry es[] = { { "a", 'f', "first" }, { ".dockerignore", 'f', "last entry, 26 bytes long\n" } };
  int tfd = make_tar (es, 2, false);
  struct stat st;
  fstat (tfd, &st);
  /* pax_restricted: 512 header + 512 data per entry, then the end blocks
   * (libarchive pads the archive to 10240 bytes) */
  assert_int_equal (ftruncate (tfd, 512 * 3 + 27), 0);
  struct berth_error *err = NULL;
  if (context_extract (tfd, dfd, false, &err) < 0)
    fail_msg ("%s", err->msg);
  _cleanup_free_ char *c = read_at (dfd, ".dockerignore");
  assert_string_equal (c, "last entry, 26 bytes long\n");
  /* cut inside the data (a client gone mid-upload): an error, never a
   * file completed with zeros */
  _cleanup_free_ char *ctx2 = xasprintf ("%s/ctx2", outer);
  mkdir (ctx2, 0755);
  int dfd2 = open (ctx2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_int_equal (ftruncate (tfd, 512 * 3 + 10), 0);
  lseek (tfd, 0, SEEK_SET);
  assert_int_equal (context_extract (tfd, dfd2, false, &err), -1);
  berth_error_free (err);
  err = NULL;
  /* cut inside a header */
  assert_int_equal (ftruncate (tfd, 512 * 2 + 100), 0);
  lseek (tfd, 0, SEEK_SET);
  assert_int_equal (context_extract (tfd, dfd2, false, &err), -1);
  berth_error_free (err);
  close (dfd2);
  close (tfd);
  close (dfd);
  rmroot (outer);
}

static void
test_not_a_tar (void **state)
{
  (void) state;
  char *outer = mkroot ();
  _cleanup_free_ char *ctx = xasprintf ("%s/ctx", outer);
  int dfd = open (ctx, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd = memfd_create ("junk", MFD_CLOEXEC);
  for (int i = 0; i < 64; i++)
    write (fd, "this is not a tar archive, no header here\n", 43);
  lseek (fd, 0, SEEK_SET);
  struct berth_error *err = NULL;
  assert_int_equal (context_extract (fd, dfd, false, &err), -1);
  assert_int_equal (err->kind, BERTH_E_INVALID);
  berth_error_free (err);
  close (fd);
  close (dfd);
  rmroot (outer);
}

static void
test_ignore_and_copy_sources (void **state)
{
  (void) state;
  char *outer = mkroot ();
  _cleanup_free_ char *ctx = xasprintf ("%s/ctx", outer);
  int dfd = open (ctx, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const struct entry es[] = {
    { "a.log", 'f', "x" }, { "keep.log", 'f', "k" }, { "src/main.c", 'f', "m" },
    { "src/tmp/x", 'f', "t" }, { "one.txt", 'f', "1" }, { "two.txt", 'f', "2" },
  };
  int tfd = make_tar (es, sizeof es / sizeof es[0], false);
  struct berth_error *err = NULL;
  assert_int_equal (context_extract (tfd, dfd, false, &err), 0);
  struct build_ignore *ig = NULL;
  const char *pat = "*.log\n!keep.log\n**/tmp\n";
  assert_int_equal (build_ignore_parse (pat, strlen (pat), &ig, &err), 0);
  assert_int_equal (context_apply_ignore (dfd, ig, &err), 0);
  build_ignore_free (ig);
  assert_int_not_equal (faccessat (dfd, "a.log", F_OK, 0), 0);
  assert_int_equal (faccessat (dfd, "keep.log", F_OK, 0), 0);
  assert_int_not_equal (faccessat (dfd, "src/tmp", F_OK, 0), 0);
  assert_int_equal (faccessat (dfd, "src/main.c", F_OK, 0), 0);

  char *glob[] = { "*.txt", NULL };
  struct copy_request req = { .src_rootfd = dfd, .sources = glob, .dest = "/d", .what = "COPY" };
  char **paths = NULL;
  assert_int_equal (copy_sources_resolve (&req, &paths, &err), 0);
  assert_int_equal (strv_len (paths), 2);
  /* a copy into another root: directory destination, contents copied */
  _cleanup_free_ char *dst = xasprintf ("%s/dst", outer);
  mkdir (dst, 0755);
  int dst_fd = open (dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
  req.dest_is_dir = true;
  assert_int_equal (copy_run (dst_fd, paths, &req, &err), 0);
  _cleanup_free_ char *one = xasprintf ("%s/d/one.txt", dst);
  _cleanup_free_ char *content = read_at (AT_FDCWD, one);
  assert_string_equal (content, "1");
  strv_freep (&paths);

  char *missing[] = { "nope", NULL };
  req.sources = missing;
  assert_int_equal (copy_sources_resolve (&req, &paths, &err), -1);
  assert_non_null (strstr (err->msg, "file not found in build context or excluded by .dockerignore"));
  berth_error_free (err);
  err = NULL;
  char *outside[] = { "../../etc/passwd", NULL };
  req.sources = outside;
  assert_int_equal (copy_sources_resolve (&req, &paths, &err), -1);
  assert_non_null (strstr (err->msg, "forbidden path outside the build context"));
  berth_error_free (err);
  err = NULL;
  char *noglob[] = { "*.none", NULL };
  req.sources = noglob;
  assert_int_equal (copy_sources_resolve (&req, &paths, &err), -1);
  assert_non_null (strstr (err->msg, "no source files were specified"));
  berth_error_free (err);
  err = NULL;
  /* several sources need a directory destination */
  char *two[] = { "one.txt", "two.txt", NULL };
  req.sources = two;
  req.dest_is_dir = false;
  req.dest = "/file";
  assert_int_equal (copy_sources_resolve (&req, &paths, &err), 0);
  assert_int_equal (copy_run (dst_fd, paths, &req, &err), -1);
  assert_non_null (strstr (err->msg, "must be a directory and end with a /"));
  berth_error_free (err);
  strv_freep (&paths);
  close (dst_fd);
  close (tfd);
  close (dfd);
  rmroot (outer);
}

/* Mutated tars (bytes of headers and data flipped): extraction either
 * succeeds or fails with a message, and nothing ever appears next to the
 * context directory. */
static void
test_mutated_tars_stay_inside (void **state)
{
  (void) state;
  char *outer = mkroot ();
  const struct entry es[] = {
    { "dir/", 'd', NULL }, { "dir/a.txt", 'f', "aaaa" }, { "link", 'l', "../../.." },
    { "link/x", 'f', "x" }, { "h", 'h', "dir/a.txt" }, { "../up", 'f', "u" },
  };
  int tfd = make_tar (es, sizeof es / sizeof es[0], false);
  struct stat st;
  fstat (tfd, &st);
  size_t n = (size_t) st.st_size;
  unsigned char *orig = malloc (n);
  assert_int_equal (pread (tfd, orig, n, 0), (ssize_t) n);
  uint64_t r = 88172645463325252ULL;
  for (int i = 0; i < 500; i++)
    {
      unsigned char *m = malloc (n);
      memcpy (m, orig, n);
      for (int k = 0; k < 1 + i % 8; k++)
        {
          r ^= r << 13, r ^= r >> 7, r ^= r << 17;
          /* mostly the header blocks, where paths, types and sizes live */
          size_t at = (r >> 8) % (n < 4096 ? n : 4096);
          m[at] = (unsigned char) r;
        }
      int mfd = memfd_create ("m", MFD_CLOEXEC);
      write (mfd, m, n);
      lseek (mfd, 0, SEEK_SET);
      _cleanup_free_ char *ctx = xasprintf ("%s/ctx", outer);
      struct berth_error *e = NULL;
      fs_rm_rf_at (AT_FDCWD, ctx, &e);
      berth_error_free (e);
      e = NULL;
      mkdir (ctx, 0755);
      int dfd = open (ctx, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      /* odd mutations through the receiving path (spool, index), even
       * ones through ADD's extraction */
      struct context_index ix;
      context_index_init (&ix, -1);
      ix.raw_mem_max = 2048; /* no temp dir: the rest is read, not spooled raw */
      int rr = i % 2 ? context_receive (mfd, dfd, &ix, &e) : context_extract (mfd, dfd, false, &e);
      if (rr < 0)
        {
          assert_non_null (e->msg);
          berth_error_free (e);
        }
      context_index_free (&ix);
      close (dfd);
      close (mfd);
      free (m);
      /* only ctx/ exists in outer */
      DIR *d = opendir (outer);
      struct dirent *de;
      while ((de = readdir (d)))
        if (strcmp (de->d_name, ".") && strcmp (de->d_name, "..") && strcmp (de->d_name, "ctx"))
          fail_msg ("mutation %d wrote %s outside the context", i, de->d_name);
      closedir (d);
    }
  free (orig);
  close (tfd);
  rmroot (outer);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_hostile_entries_stay_inside),
    cmocka_unit_test (test_spool_spills_to_disk),
    cmocka_unit_test (test_unterminated_tar_from_the_cli),
    cmocka_unit_test (test_not_a_tar),
    cmocka_unit_test (test_ignore_and_copy_sources),
    cmocka_unit_test (test_mutated_tars_stay_inside),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
