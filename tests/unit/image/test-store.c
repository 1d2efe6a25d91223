/* The store in one long-lived process, as berthd uses it: a pull's pieces
 * are safe from a concurrent rmi's gc until its image is recorded (pins),
 * and once recorded an rmi frees them at once (no lingering pins). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"

static char root[64];

static size_t
count_entries (const char *sub)
{
  char path[128];
  snprintf (path, sizeof path, "%s/%s", root, sub);
  DIR *d = opendir (path);
  size_t n = 0;
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    n += de->d_name[0] != '.';
  if (d)
    closedir (d);
  return n;
}

/* A one-file tar in a temp file, rewound. */
static int
small_tar (const char *name, const char *content)
{
  char path[128];
  snprintf (path, sizeof path, "%s-in.tar", root);
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  unlink (path);
  struct archive *a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  archive_write_open_fd (a, fd);
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_size (e, (la_int64_t)strlen (content));
  archive_write_header (a, e);
  archive_write_data (a, content, strlen (content));
  archive_entry_free (e);
  archive_write_close (a);
  archive_write_free (a);
  lseek (fd, 0, SEEK_SET);
  return fd;
}

static void
test_store_pins_and_release (void **state)
{
  struct berth_error *err = NULL;
  struct image_store_options opts = { .root = root };
  struct image_store *s = image_store_open (&opts, &err);
  assert_non_null (s);

  /* a second open of the same root is refused while this one lives */
  struct image_store *s2 = image_store_open (&opts, &err);
  assert_null (s2);
  assert_int_equal (err->kind, BERTH_E_CONFLICT);
  berth_error_free (err);
  err = NULL;

  /* "pull": a layer arrives, its image is not recorded yet */
  int fd = small_tar ("a", "aaaa");
  char *diff_a = NULL;
  assert_int_equal (image_layer_unpack_fd (s, fd, NULL, NULL, &diff_a, &err), 0);
  close (fd);
  assert_int_equal (count_entries ("layers"), 1);
  int64_t freed = -1;
  assert_int_equal (image_store_gc (s, &freed, &err), 0); /* a concurrent rmi */
  assert_int_equal (count_entries ("layers"), 1);         /* pinned: kept */
  assert_true (image_layer_exists (s, diff_a));

  /* a recorded image: rmi frees it right away */
  fd = small_tar ("b", "bbbb");
  struct image_ref *ref = NULL;
  assert_int_equal (image_ref_parse ("pinned:1", IMAGE_REF_DEFAULT_TAG, &ref, &err), 0);
  char *id = NULL;
  assert_int_equal (image_import (s, fd, ref, NULL, NULL, &id, &err), 0);
  close (fd);
  image_ref_free (ref);
  assert_int_equal (count_entries ("layers"), 2);
  json_t *report = NULL;
  assert_int_equal (image_remove (s, "pinned:1", false, &report, &err), 0);
  assert_int_equal (json_array_size (report), 3); /* Untagged, Deleted image, Deleted layer */
  json_decref (report);
  assert_int_equal (count_entries ("layers"), 1); /* only the pull's pinned layer */
  /* the unrecorded layer's blob stays, the removed image's blobs are gone */
  assert_int_equal (count_entries ("blobs/sha256"), 1);
  assert_false (image_blob_exists (s, id));

  char **problems = NULL;
  assert_int_equal (image_store_check (s, &problems, &err), 0);
  assert_int_equal (strv_len (problems), 0);
  strv_freep (&problems);
  free (id);
  free (diff_a);
  image_store_close (s);
}

static char *
unpack_claimed (struct image_store *s, const char *name, struct image_layer_claim *claim)
{
  struct berth_error *err = NULL;
  int fd = small_tar (name, "claimed");
  char buf[8192];
  ssize_t n = read (fd, buf, sizeof buf);
  close (fd);
  assert_true (n > 0);
  struct image_layer_unpack *u = image_layer_unpack_begin (s, NULL, -1, NULL, &err);
  assert_non_null (u);
  assert_int_equal (image_layer_unpack_write (u, buf, (size_t)n, &err), 0);
  char *diff_id = NULL;
  assert_int_equal (image_layer_unpack_finish_claim (u, &diff_id, claim, &err), 0);
  return diff_id;
}

/* A pull whose image fails takes back what it committed (its claims), but
 * never what another pull found or committed after it. */
static void
test_store_claims_and_discard (void **state)
{
  struct berth_error *err = NULL;
  struct image_store_options opts = { .root = root };
  struct image_store *s = image_store_open (&opts, &err);
  assert_non_null (s);

  struct image_layer_claim claim;
  char *diff = unpack_claimed (s, "c", &claim);
  assert_true (claim.layer_pin != 0 && claim.blob_pin != 0);
  assert_int_equal (image_layer_discard (s, diff, &claim, &err), 0);
  assert_int_equal (count_entries ("layers"), 0);
  assert_int_equal (count_entries ("blobs/sha256"), 0);
  free (diff);

  /* another pull finds the layer after the claim: it stays */
  diff = unpack_claimed (s, "c", &claim);
  assert_true (image_layer_exists (s, diff));
  assert_int_equal (image_layer_discard (s, diff, &claim, &err), 0);
  assert_int_equal (count_entries ("layers"), 1);
  assert_int_equal (count_entries ("blobs/sha256"), 1);

  /* an unpack of a layer that is there already claims nothing */
  struct image_layer_claim second;
  char *again = unpack_claimed (s, "c", &second);
  assert_string_equal (again, diff);
  assert_true (second.layer_pin == 0 && second.blob_pin == 0);
  assert_int_equal (image_layer_discard (s, again, &second, &err), 0);
  assert_int_equal (count_entries ("layers"), 1);
  assert_int_equal (count_entries ("tmp"), 0);
  free (again);
  free (diff);
  image_store_close (s);
}

/* Everything a daemon does, several times in one process: each round must
 * leave the store exactly as empty as it found it. */
static void
test_store_repeated_rounds (void **state)
{
  if (geteuid () != 0)
    skip (); /* overlay mounts */
  struct berth_error *err = NULL;
  struct image_store_options opts = { .root = root };
  struct image_store *s = image_store_open (&opts, &err);
  assert_non_null (s);
  for (int round = 0; round < 3; round++)
    {
      int fd = small_tar ("f", "round");
      struct image_ref *ref = NULL;
      assert_int_equal (image_ref_parse ("base:1", IMAGE_REF_DEFAULT_TAG, &ref, &err), 0);
      char *id = NULL;
      assert_int_equal (image_import (s, fd, ref, NULL, NULL, &id, &err), 0);
      close (fd);
      image_ref_free (ref);
      assert_int_equal (image_snapshot_create (s, "ctr", id, &err), 0);
      char *mp = NULL;
      if (image_snapshot_mount (s, "ctr", NULL, &mp, &err) < 0)
        fail_msg ("mount: %s", err->msg);
      char file[256];
      snprintf (file, sizeof file, "%s/new", mp);
      int nf = open (file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      assert_true (nf >= 0);
      close (nf);
      struct image_change *ch = NULL;
      size_t n = 0;
      assert_int_equal (image_snapshot_changes (s, "ctr", &ch, &n, &err), 0);
      assert_int_equal (n, 1);
      assert_string_equal (ch[0].path, "/new");
      image_changes_free (ch, n);
      struct image_commit_options co = { 0 };
      char *cid = NULL;
      assert_int_equal (image_commit (s, "ctr", &co, &cid, &err), 0);
      char **snaps = NULL;
      assert_int_equal (image_snapshot_list (s, &snaps, &err), 0);
      assert_int_equal (strv_len (snaps), 1);
      strv_freep (&snaps);
      assert_int_equal (image_snapshot_remove (s, "ctr", &err), 0);
      free (mp);
      json_t *report = NULL;
      /* the committed (untagged) child first, then its tagged parent */
      assert_int_equal (image_remove (s, cid, false, &report, &err), 0);
      json_decref (report);
      assert_int_equal (image_remove (s, "base:1", false, &report, &err), 0);
      json_decref (report);
      struct image_info **list = NULL;
      size_t nl = 0;
      assert_int_equal (image_list (s, &list, &nl, &err), 0);
      assert_int_equal (nl, 0);
      image_info_list_free (list, nl);
      assert_int_equal (count_entries ("layers"), 0);
      assert_int_equal (count_entries ("blobs/sha256"), 0);
      assert_int_equal (count_entries ("snapshots"), 0);
      assert_int_equal (count_entries ("tmp"), 0);
      free (id);
      free (cid);
    }
  image_store_close (s);
}

static int
setup (void **state)
{
  strcpy (root, "/tmp/berth-test-store-XXXXXX");
  return mkdtemp (root) ? 0 : -1;
}

static int
teardown (void **state)
{
  int tmp = open ("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  fs_rm_rf_at (tmp, root + 5, NULL);
  close (tmp);
  return 0;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_store_pins_and_release, setup, teardown),
    cmocka_unit_test_setup_teardown (test_store_repeated_rounds, setup, teardown),
    cmocka_unit_test_setup_teardown (test_store_claims_and_discard, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
