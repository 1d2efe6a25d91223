/* `check`: every blob re-hashed against its name, every layer's files
 * re-listed against the listing recorded at unpack, every image's and tag's
 * references. Runs beside pulls and removals: the store's lock is taken only
 * for a consistent look at one item, never while content is read. */
#include "image/image-internal.h"
#include "image/tar-internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

struct check
{
  struct image_store *s;
  image_check_fn fn;
  void *data;
  size_t n_problems;
  bool is_stopped;
};

const char *
image_check_kind_name (enum image_check_kind kind)
{
  switch (kind)
    {
    case IMAGE_CHECK_BLOB:
      return "blob";
    case IMAGE_CHECK_LAYER:
      return "layer";
    case IMAGE_CHECK_IMAGE:
      return "image";
    case IMAGE_CHECK_TAG:
      return "tag";
    }
  return "?";
}

static void
report (struct check *c, enum image_check_kind kind, const char *name, int64_t bytes,
        const char *problem)
{
  if (problem)
    c->n_problems++;
  struct image_check_item item = { .kind = kind, .name = name, .bytes = bytes, .problem = problem };
  if (c->fn && !c->is_stopped && c->fn (&item, c->data) != 0)
    c->is_stopped = true;
}

/* "a; b": several problems of one item in one line. Takes m. */
static void
problem_add (char **acc, char *m)
{
  if (*acc == NULL)
    {
      *acc = m;
      return;
    }
  char *joined = xasprintf ("%s; %s", *acc, m);
  free (*acc);
  free (m);
  *acc = joined;
}

/* ------------------------------------------------------------- blobs -- */

/* Blobs never change once linked in, so an fd is a stable view: a gc that
 * unlinks the name meanwhile does not change what is read. */
static void
check_blob (struct check *c, const char *hex)
{
  _cleanup_free_ char *digest = xasprintf ("sha256:%s", hex);
  _cleanup_close_ int fd = openat (c->s->blobsfd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return; /* removed since the directory was read */
  if (fd < 0)
    {
      _cleanup_free_ char *p = xasprintf ("blobs/sha256/%s: open: %s", hex, strerror (errno));
      report (c, IMAGE_CHECK_BLOB, digest, 0, p);
      return;
    }
  posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  _cleanup_sha256_ struct sha256_ctx *sha = sha256_ctx_new ();
  /* heap, not TLS: a __thread buffer costs every thread its size */
  const size_t buf_size = 1 << 18;
  _cleanup_free_ unsigned char *buf = malloc (buf_size);
  if (buf == NULL)
    abort ();
  int64_t total = 0;
  ssize_t n;
  while ((n = read (fd, buf, buf_size)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      {
        sha256_ctx_update (sha, buf, (size_t)n);
        total += n;
      }
  _cleanup_free_ char *got = sha256_ctx_digest (sha);
  _cleanup_free_ char *p = NULL;
  if (n < 0)
    p = xasprintf ("blobs/sha256/%s: read: %s", hex, strerror (errno));
  else if (!digest_is_valid (digest))
    p = xasprintf ("blobs/sha256/%s: not a sha256 digest name", hex);
  else if (strcmp (got, digest) != 0)
    p = xasprintf ("blobs/sha256/%s: content hashes to %s (corrupt)", hex, got);
  report (c, IMAGE_CHECK_BLOB, digest, total, p);
}

/* ------------------------------------------------------------ layers -- */

/* Compare two listing lines by their path (the field before the first
 * tab), in the order the listing is sorted in. */
static int
path_cmp (const char *a, const char *b)
{
  size_t pa = strcspn (a, "\t\n"), pb = strcspn (b, "\t\n");
  size_t n = pa < pb ? pa : pb;
  int r = memcmp (a, b, n);
  if (r != 0)
    return r;
  return pa == pb ? 0 : pa < pb ? -1 : 1;
}

/* The first difference of two sorted listings, for a message a human can
 * act on: a changed, missing or unexpected entry, and how many more. */
static char *
listing_diff (const char *want, const char *got)
{
  char *first = NULL;
  size_t n = 0;
  while (*want || *got)
    {
      size_t a = strcspn (want, "\n"), b = strcspn (got, "\n");
      int c = !*want ? 1 : !*got ? -1 : path_cmp (want, got);
      char *m = NULL;
      if (c == 0 && (a != b || memcmp (want, got, a) != 0))
        m = xasprintf ("changed `%.*s` (recorded `%.*s`, found `%.*s`)",
                       (int)strcspn (want, "\t"), want, (int)a, want, (int)b, got);
      else if (c < 0)
        m = xasprintf ("missing `%.*s`", (int)a, want);
      else if (c > 0)
        m = xasprintf ("unexpected `%.*s`", (int)b, got);
      if (m && n++ == 0)
        first = m;
      else
        free (m);
      if (c <= 0)
        want += a + (want[a] != 0);
      if (c >= 0)
        got += b + (got[b] != 0);
    }
  if (n <= 1)
    return first ? first : xstrdup ("listings differ");
  char *all = xasprintf ("%s and %zu more difference%s", first, n - 1, n == 2 ? "" : "s");
  free (first);
  return all;
}

static bool
same_dir (int dirfd, const char *path, const struct stat *was)
{
  struct stat st;
  return fstatat (dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == was->st_ino
         && st.st_dev == was->st_dev;
}

static void
check_layer (struct check *c, const char *hex)
{
  struct image_store *s = c->s;
  _cleanup_free_ char *diff_id = xasprintf ("sha256:%s", hex);
  _cleanup_free_ char *diff_path = xasprintf ("%s/diff", hex);
  _cleanup_free_ char *problem = NULL;
  _cleanup_free_ char *want = NULL;
  _cleanup_close_ int diff = -1;
  struct stat diff_st = { 0 };
  int64_t size = 0;
  {
    /* A consistent look: removals (rmi's gc) hold the lock. */
    STORE_LOCKED (s);
    struct stat st;
    if (fstatat (s->layersfd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
      return; /* removed since the directory was read */
    _cleanup_error_ struct berth_error *e = NULL;
    _cleanup_json_ json_t *meta = NULL;
    if (!digest_is_valid (diff_id))
      problem_add (&problem, xasprintf ("layers/%s: not a diff id", hex));
    else if ((meta = layer_meta_load (s, diff_id, &e)) == NULL)
      problem_add (&problem, xasprintf ("layers/%s/meta.json: %s", hex, e->msg));
    else
      {
        size = json_integer_value (json_object_get (meta, "size"));
        const char *bd
            = json_string_value (json_object_get (json_object_get (meta, "blob"), "digest"));
        if (bd && !image_blob_exists (s, bd))
          problem_add (&problem, xasprintf ("its blob %s is missing", bd));
      }
    _cleanup_free_ char *tree_path = xasprintf ("%s/tree", hex);
    berth_error_freep (&e);
    if (fs_read_file (s->layersfd, tree_path, &want, NULL, &e) < 0)
      problem_add (&problem, xasprintf ("layers/%s/tree: %s", hex, e->msg));
    diff = openat (s->layersfd, diff_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (diff < 0 || fstat (diff, &diff_st) < 0)
      problem_add (&problem, xasprintf ("layers/%s/diff: %s", hex, strerror (errno)));
  }
  if (diff >= 0 && want)
    {
      /* The walk runs unlocked: an rmi may take the layer away meanwhile,
       * which only counts if the layer is still there afterwards. */
      _cleanup_error_ struct berth_error *e = NULL;
      _cleanup_free_ char *got = NULL;
      bool bad = false;
      if (tree_listing (diff, NULL, &got, NULL, &e) < 0)
        {
          _cleanup_free_ char *m = xasprintf ("layers/%s/diff: %s", hex, e->msg);
          bad = true;
          STORE_LOCKED (s);
          if (same_dir (s->layersfd, diff_path, &diff_st))
            problem_add (&problem, steal_pointer (&m));
        }
      else if (strcmp (want, got) != 0)
        {
          _cleanup_free_ char *d = listing_diff (want, got);
          bad = true;
          STORE_LOCKED (s);
          if (same_dir (s->layersfd, diff_path, &diff_st))
            problem_add (&problem, xasprintf ("files differ from the unpacked layer: %s", d));
        }
      if (bad && problem == NULL)
        return; /* removed or replaced while it was read */
    }
  report (c, IMAGE_CHECK_LAYER, diff_id, size, problem);
}

/* ------------------------------------------------------ images, tags -- */

static int
check_records (struct check *c, struct berth_error **err)
{
  struct image_store *s = c->s;
  _cleanup_json_ json_t *db = NULL;
  {
    STORE_LOCKED (s);
    db = images_db_load (s, err);
    if (db == NULL)
      return berth_error_prefix (err, "read %s", IMAGES_FILE);
    /* what an image names must exist; looked at under the lock, so a
     * removal half-way is not mistaken for damage */
    const char *id;
    json_t *rec;
    json_object_foreach (json_object_get (db, "images"), id, rec)
    {
      char *p = NULL;
      if (!image_blob_exists (s, id))
        problem_add (&p, xasprintf ("config blob %s missing", id));
      const char *m = json_string_value (json_object_get (rec, "manifest"));
      if (m && !image_blob_exists (s, m))
        problem_add (&p, xasprintf ("manifest %s missing", m));
      size_t i;
      json_t *v;
      json_array_foreach (json_object_get (rec, "layers"), i, v)
      {
        const char *l = json_string_value (v);
        if (l == NULL || !layer_present (s, l))
          problem_add (&p, xasprintf ("layer %s missing", l ? l : "(not a string)"));
      }
      json_object_set_new (rec, "__problem", p ? json_string (p) : json_null ());
      free (p);
    }
  }
  const char *id;
  json_t *rec;
  json_object_foreach (json_object_get (db, "images"), id, rec)
      report (c, IMAGE_CHECK_IMAGE, id, 0, json_string_value (json_object_get (rec, "__problem")));
  const char *tag;
  json_t *v;
  json_object_foreach (json_object_get (db, "tags"), tag, v)
  {
    const char *target = json_string_value (v);
    _cleanup_free_ char *p
        = target && json_object_get (json_object_get (db, "images"), target)
              ? NULL
              : xasprintf ("points to missing image %s", target ? target : "(not a string)");
    report (c, IMAGE_CHECK_TAG, tag, 0, p);
  }
  return 0;
}

/* --------------------------------------------------------------- all -- */

static int
check_dir (struct check *c, int dirfd, const char *what, void (*one) (struct check *, const char *),
           struct berth_error **err)
{
  _cleanup_closedir_ DIR *d = fdopendir (openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d == NULL)
    return berth_error_set (err, errno, "read %s", what);
  struct dirent *de;
  while (!c->is_stopped && (de = readdir (d)) != NULL)
    if (de->d_name[0] != '.')
      one (c, de->d_name);
  return 0;
}

int
image_store_check_each (struct image_store *s, image_check_fn fn, void *data, size_t *n_problems,
                        struct berth_error **err)
{
  struct check c = { .s = s, .fn = fn, .data = data };
  if (check_dir (&c, s->blobsfd, "blobs/sha256/", check_blob, err) < 0
      || check_dir (&c, s->layersfd, "layers/", check_layer, err) < 0
      || (!c.is_stopped && check_records (&c, err) < 0))
    return berth_error_prefix (err, "check");
  if (c.is_stopped)
    return berth_error_set_kind (err, BERTH_E_INTERNAL, ECANCELED, "check canceled");
  if (n_problems)
    *n_problems = c.n_problems;
  return 0;
}

static int
collect (const struct image_check_item *item, void *data)
{
  if (item->problem)
    {
      _cleanup_free_ char *line
          = xasprintf ("%s %s: %s", image_check_kind_name (item->kind), item->name, item->problem);
      strv_append (data, line);
    }
  return 0;
}

int
image_store_check (struct image_store *s, char ***problems_out, struct berth_error **err)
{
  _cleanup_strv_ char **problems = calloc (1, sizeof (char *));
  if (problems == NULL)
    abort ();
  if (image_store_check_each (s, collect, &problems, NULL, err) < 0)
    return -1;
  *problems_out = steal_pointer (&problems);
  return 0;
}
