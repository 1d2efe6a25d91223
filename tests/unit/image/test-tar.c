/* The push-driven tar reader and the path/whiteout rules of extraction:
 * numeric fields (octal, base-256), checksums, PAX and GNU long names fed
 * one byte at a time, hostile headers refused, path cleaning as docker's
 * breakout check, whiteout names (OCI image spec "Representing Changes"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <string.h>

#include "image/tar-internal.h"

/* --------------------------------------------------------- fields -- */

static void
test_tar_numbers (void **state)
{
  int64_t v;
  assert_int_equal (tar_parse_number ((const unsigned char *)"0000644\0", 8, &v), 0);
  assert_int_equal (v, 0644);
  assert_int_equal (tar_parse_number ((const unsigned char *)"  755 \0\0", 8, &v), 0);
  assert_int_equal (v, 0755);
  assert_int_equal (tar_parse_number ((const unsigned char *)"\0\0\0\0\0\0\0\0", 8, &v), 0);
  assert_int_equal (v, 0);
  /* base-256 (GNU): 0x80 then big-endian */
  const unsigned char b256[12] = { 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34 };
  assert_int_equal (tar_parse_number (b256, 12, &v), 0);
  assert_int_equal (v, 0x1234);
  const unsigned char neg[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };
  assert_int_equal (tar_parse_number (neg, 8, &v), -1);
  assert_int_equal (tar_parse_number ((const unsigned char *)"0009\0\0\0\0", 8, &v), -1);
  assert_int_equal (tar_parse_number ((const unsigned char *)"12x4\0\0\0\0", 8, &v), -1);
  assert_int_equal (tar_parse_number ((const unsigned char *)"777777777777777777777777", 24, &v),
                    -1); /* overflows int64 */
}

struct clean_case
{
  const char *in, *out; /* out NULL: refused */
};

static const struct clean_case clean_cases[] = {
  { "./a/b", "a/b" },
  { "/etc/passwd", "etc/passwd" },
  { "a//b/./c/", "a/b/c" },
  { "a/../b", "b" },
  { "./", "" },
  { "/", "" },
  { "", "" },
  { "a/b/../../c", "c" },
  { "...", "..." },
  { "../x", NULL },
  { "a/../../x", NULL },
  { "/../etc", NULL },
  { "./../../etc", NULL },
  { "..", NULL },
};

static void
test_tar_path_clean (void **state)
{
  for (size_t i = 0; i < sizeof clean_cases / sizeof clean_cases[0]; i++)
    {
      struct berth_error *err = NULL;
      char *got = tar_path_clean (clean_cases[i].in, &err);
      if (clean_cases[i].out == NULL)
        {
          if (got)
            fail_msg ("`%s` cleaned to `%s`, must be refused", clean_cases[i].in, got);
          assert_non_null (strstr (err->msg, "escapes the layer root"));
          berth_error_free (err);
        }
      else
        {
          if (got == NULL || strcmp (got, clean_cases[i].out) != 0)
            fail_msg ("`%s` -> `%s`, want `%s`", clean_cases[i].in, got ? got : "(error)",
                      clean_cases[i].out);
          free (got);
        }
    }
}

static void
test_whiteout_names (void **state)
{
  struct
  {
    const char *base;
    enum whiteout_kind kind;
    const char *target;
    bool refused;
  } cases[] = {
    { "file", WHITEOUT_NONE, NULL, false },
    { ".whatever", WHITEOUT_NONE, NULL, false },
    { ".wh.file", WHITEOUT_FILE, "file", false },
    { ".wh..hidden", WHITEOUT_FILE, ".hidden", false },
    { ".wh..wh..opq", WHITEOUT_OPAQUE_DIR, NULL, false },
    { ".wh..wh.plnk", WHITEOUT_META, NULL, false },
    { ".wh..wh.aufs", WHITEOUT_META, NULL, false },
    { ".wh.", WHITEOUT_NONE, NULL, true },
    { ".wh..", WHITEOUT_NONE, NULL, true },
    { ".wh...", WHITEOUT_NONE, NULL, true },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct berth_error *err = NULL;
      enum whiteout_kind k;
      const char *t;
      int r = whiteout_classify (cases[i].base, &k, &t, &err);
      if (cases[i].refused)
        {
          assert_int_equal (r, -1);
          assert_non_null (strstr (err->msg, "names a parent"));
          berth_error_free (err);
          continue;
        }
      assert_int_equal (r, 0);
      assert_int_equal (k, cases[i].kind);
      if (cases[i].target)
        assert_string_equal (t, cases[i].target);
    }
}

/* --------------------------------------------------------- parser -- */

struct seen
{
  char log[8192];
  size_t len;
  int64_t data;
};

static int
cb_begin (void *data, const struct tar_entry *e, struct berth_error **err)
{
  struct seen *s = data;
  s->len += (size_t)snprintf (s->log + s->len, sizeof s->log - s->len, "%c %s %o %u:%u %lld%s%s",
                              e->type, e->path, e->mode, e->uid, e->gid, (long long)e->size,
                              *e->linkname ? " -> " : "", e->linkname);
  for (size_t i = 0; i < e->n_xattrs; i++)
    s->len += (size_t)snprintf (s->log + s->len, sizeof s->log - s->len, " [%s=%s]",
                                e->xattrs[i].name, e->xattrs[i].value);
  s->len += (size_t)snprintf (s->log + s->len, sizeof s->log - s->len, "\n");
  return 0;
}

static int
cb_data (void *data, const void *buf, size_t len, struct berth_error **err)
{
  ((struct seen *)data)->data += (int64_t)len;
  return 0;
}

static int
cb_end (void *data, struct berth_error **err)
{
  return 0;
}

static const struct tar_callbacks cbs = { cb_begin, cb_data, cb_end };

static size_t
make_tar (unsigned char *buf, size_t cap, int format)
{
  struct archive *a = archive_write_new ();
  archive_write_set_format (a, format);
  archive_write_set_bytes_in_last_block (a, 1);
  size_t used = 0;
  archive_write_open_memory (a, buf, cap, &used);
  char longname[300];
  memset (longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  longname[100] = '/';
  struct
  {
    const char *path;
    mode_t type;
    mode_t perm;
    const char *link;
    size_t size;
  } ents[] = {
    { "dir/", AE_IFDIR, 0755, NULL, 0 },
    { "dir/file", AE_IFREG, 04755, NULL, 3000 },
    { longname, AE_IFREG, 0600, NULL, 10 },
    { "sym", AE_IFLNK, 0777, "dir/file", 0 },
  };
  static char payload[4096];
  memset (payload, 'p', sizeof payload);
  for (size_t i = 0; i < 4; i++)
    {
      struct archive_entry *e = archive_entry_new ();
      archive_entry_set_pathname (e, ents[i].path);
      archive_entry_set_filetype (e, ents[i].type);
      archive_entry_set_perm (e, ents[i].perm);
      archive_entry_set_uid (e, 1000);
      archive_entry_set_gid (e, 100);
      archive_entry_set_size (e, (la_int64_t)ents[i].size);
      if (ents[i].link)
        archive_entry_set_symlink (e, ents[i].link);
      if (i == 1 && format == ARCHIVE_FORMAT_TAR_PAX_RESTRICTED)
        archive_entry_xattr_add_entry (e, "user.k", "v", 1);
      archive_write_header (a, e);
      if (ents[i].size)
        archive_write_data (a, payload, ents[i].size);
      archive_entry_free (e);
    }
  archive_write_close (a);
  archive_write_free (a);
  return used;
}

static void
parse_all (const unsigned char *buf, size_t len, size_t step, struct seen *s)
{
  memset (s, 0, sizeof *s);
  struct tar_parser *p = tar_parser_new (&cbs, s);
  struct berth_error *err = NULL;
  for (size_t off = 0; off < len; off += step)
    if (tar_parser_feed (p, buf + off, len - off < step ? len - off : step, &err) < 0)
      fail_msg ("feed at %zu: %s", off, err->msg);
  if (tar_parser_finish (p, &err) < 0)
    fail_msg ("finish: %s", err->msg);
  tar_parser_free (p);
}

static void
test_tar_parser_formats_and_chunking (void **state)
{
  static unsigned char buf[1 << 16];
  int formats[] = { ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FORMAT_TAR_GNUTAR };
  for (size_t f = 0; f < 2; f++)
    {
      size_t len = make_tar (buf, sizeof buf, formats[f]);
      struct seen whole, bytewise;
      parse_all (buf, len, len, &whole);
      parse_all (buf, len, 1, &bytewise);
      assert_string_equal (whole.log, bytewise.log);
      assert_int_equal (whole.data, 3010);
      assert_non_null (strstr (whole.log, "5 dir/ 755 1000:100 0\n"));
      assert_non_null (strstr (whole.log, "0 dir/file 4755 1000:100 3000"));
      assert_non_null (strstr (whole.log, "2 sym 777 1000:100 0 -> dir/file"));
      char longname[300];
      memset (longname, 'n', sizeof longname - 1);
      longname[sizeof longname - 1] = '\0';
      longname[100] = '/';
      assert_non_null (strstr (whole.log, longname));
      if (formats[f] == ARCHIVE_FORMAT_TAR_PAX_RESTRICTED)
        assert_non_null (strstr (whole.log, "[user.k=v]"));
    }
}

static int
parse_error (const unsigned char *buf, size_t len, char *msg, size_t msglen)
{
  struct seen s = { 0 };
  struct tar_parser *p = tar_parser_new (&cbs, &s);
  struct berth_error *err = NULL;
  int r = tar_parser_feed (p, buf, len, &err);
  if (r == 0)
    r = tar_parser_finish (p, &err);
  if (r < 0)
    {
      snprintf (msg, msglen, "%s", err->msg);
      berth_error_free (err);
    }
  tar_parser_free (p);
  return r;
}

static void
header_checksum_fix (unsigned char *h)
{
  memset (h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++)
    sum += h[i];
  snprintf ((char *)h + 148, 8, "%06o", sum);
}

static void
test_tar_parser_hostile (void **state)
{
  static unsigned char buf[1 << 16];
  char msg[512];
  size_t len = make_tar (buf, sizeof buf, ARCHIVE_FORMAT_TAR_USTAR);
  /* truncated inside an entry's data */
  assert_int_equal (parse_error (buf, 512 + 512 + 100, msg, sizeof msg), -1);
  assert_non_null (strstr (msg, "truncated"));
  /* no end-of-archive blocks: accepted, as Go's archive/tar does */
  static unsigned char copy[1 << 16];
  memcpy (copy, buf, len);
  assert_int_equal (parse_error (copy, 512 * 2, msg, sizeof msg), -1); /* mid data */
  /* corrupt checksum */
  memcpy (copy, buf, len);
  copy[0] ^= 1;
  assert_int_equal (parse_error (copy, len, msg, sizeof msg), -1);
  assert_non_null (strstr (msg, "checksum"));
  /* bad octal size */
  memcpy (copy, buf, len);
  memcpy (copy + 512 + 124, "9999", 4);
  header_checksum_fix (copy + 512);
  assert_int_equal (parse_error (copy, len, msg, sizeof msg), -1);
  assert_non_null (strstr (msg, "numeric"));
  /* unsupported type (GNU sparse) */
  memcpy (copy, buf, len);
  copy[512 + 156] = 'S';
  header_checksum_fix (copy + 512);
  assert_int_equal (parse_error (copy, len, msg, sizeof msg), -1);
  assert_non_null (strstr (msg, "unsupported type 'S'"));
  /* a PAX header larger than 1 MiB */
  memcpy (copy, buf, 512);
  copy[156] = 'x';
  snprintf ((char *)copy + 124, 12, "%011o", 2u << 20);
  header_checksum_fix (copy);
  assert_int_equal (parse_error (copy, 512, msg, sizeof msg), -1);
  assert_non_null (strstr (msg, "larger than 1 MiB"));
  /* a malformed PAX record */
  memset (copy, 0, 2048);
  memcpy (copy, buf, 512);
  copy[156] = 'x';
  snprintf ((char *)copy + 124, 12, "%011o", 12u);
  header_checksum_fix (copy);
  memcpy (copy + 512, "99 path=abc\n", 12);
  assert_int_equal (parse_error (copy, 1024, msg, sizeof msg), -1);
  assert_non_null (strstr (msg, "malformed PAX record"));
  /* data after the end-of-archive marker's first block is refused */
  memset (copy, 0, 2048);
  memcpy (copy + 512, buf, 512);
  assert_int_equal (parse_error (copy, 1024, msg, sizeof msg), -1);
  assert_non_null (strstr (msg, "after an end-of-archive block"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_tar_numbers),
    cmocka_unit_test (test_tar_path_clean),
    cmocka_unit_test (test_whiteout_names),
    cmocka_unit_test (test_tar_parser_formats_and_chunking),
    cmocka_unit_test (test_tar_parser_hostile),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
