/* The store handle: opening a data root (layout, one-process flock, sweep of
 * interrupted tmp/ work), the images.json database, and small shared helpers
 * (incremental sha256, tmp dirs). */
#include "image/image-internal.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

static int
open_subdir (int parent, const char *name, struct berth_error **err)
{
  if (mkdirat (parent, name, 0700) < 0 && errno != EEXIST)
    return berth_error_set (err, errno, "mkdir `%s`", name);
  int fd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "open `%s`", name);
  return fd;
}

/* Work of a process that was killed mid-operation lives only under tmp/;
 * nothing in it is referenced, so it all goes. */
static int
sweep_tmp (struct image_store *s, struct berth_error **err)
{
  _cleanup_closedir_ DIR *d
      = fdopendir (openat (s->tmpfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d == NULL)
    return berth_error_set (err, errno, "read tmp/");
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (fs_rm_rf_at (s->tmpfd, de->d_name, err) < 0)
        return berth_error_prefix (err, "sweep tmp/");
    }
  return 0;
}

/* A kill -9 inside fs_write_file_atomic leaves its ".tmp-*" beside
 * images.json: never the file itself, only litter. */
static void
sweep_root_temps (struct image_store *s)
{
  _cleanup_closedir_ DIR *d
      = fdopendir (openat (s->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    if (str_has_prefix (de->d_name, ".tmp-"))
      unlinkat (s->rootfd, de->d_name, 0);
}

struct image_store *
image_store_open (const struct image_store_options *opts, struct berth_error **err)
{
  const char *root = opts && opts->root ? opts->root : IMAGE_DEFAULT_ROOT;
  struct image_store *s = calloc (1, sizeof *s);
  if (s == NULL)
    abort ();
  s->rootfd = s->blobsfd = s->layersfd = s->snapshotsfd = s->tmpfd = s->partialfd = s->lockfd
      = -1;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init (&attr);
  pthread_mutexattr_settype (&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init (&s->mutex, &attr);
  pthread_mutexattr_destroy (&attr);
  pthread_mutex_init (&s->pins_mutex, NULL);
  s->pins = json_object ();
  s->root = xstrdup (root);
  _cleanup_ (image_store_closep) struct image_store *guard = s;

  if (fs_mkdir_p (root, 0700, err) < 0)
    goto fail;
  s->rootfd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->rootfd < 0)
    {
      berth_error_set (err, errno, "open `%s`", root);
      goto fail;
    }
  s->lockfd = openat (s->rootfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->lockfd < 0)
    {
      berth_error_set (err, errno, "open lock");
      goto fail;
    }
  if (flock (s->lockfd, LOCK_EX | (opts && opts->wait_for_lock ? 0 : LOCK_NB)) < 0)
    {
      if (errno == EWOULDBLOCK)
        berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                              "data root is in use by another process (lock held on `%s/lock`)",
                              root);
      else
        berth_error_set (err, errno, "flock `%s/lock`", root);
      goto fail;
    }
  int blobs = open_subdir (s->rootfd, "blobs", err);
  if (blobs < 0)
    goto fail;
  s->blobsfd = open_subdir (blobs, "sha256", err);
  close (blobs);
  if (s->blobsfd < 0 || (s->layersfd = open_subdir (s->rootfd, "layers", err)) < 0
      || (s->snapshotsfd = open_subdir (s->rootfd, "snapshots", err)) < 0
      || (s->tmpfd = open_subdir (s->rootfd, "tmp", err)) < 0
      || (s->partialfd = open_subdir (s->rootfd, "partial", err)) < 0)
    goto fail;
  if (sweep_tmp (s, err) < 0)
    goto fail;
  sweep_root_temps (s);
  store_sweep_partials (s, PARTIAL_TTL_NS);
  return steal_pointer (&guard);

fail:
  berth_error_prefix (err, "open image store `%s`", root);
  return NULL;
}

void
image_store_close (struct image_store *s)
{
  if (s == NULL)
    return;
  int *fds[] = { &s->rootfd,  &s->blobsfd,    &s->layersfd,
                 &s->snapshotsfd, &s->tmpfd, &s->partialfd, &s->lockfd };
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
    closep (fds[i]);
  pthread_mutex_destroy (&s->mutex);
  pthread_mutex_destroy (&s->pins_mutex);
  json_decref (s->pins);
  free (s->root);
  free (s);
}

const char *
image_store_root (const struct image_store *s)
{
  return s->root;
}

void
image_store_set_in_use_hook (struct image_store *s, image_in_use_fn fn, void *data)
{
  STORE_LOCKED (s);
  s->in_use = fn;
  s->in_use_data = data;
}

const char *
digest_hex (const char *digest)
{
  return digest_is_valid (digest) ? digest + strlen ("sha256:") : NULL;
}

int
store_tmpdir_create (struct image_store *s, const char *prefix, char **name,
                     struct berth_error **err)
{
  char rnd[SHA256_HEX_LEN + 1];
  random_id_hex (rnd);
  _cleanup_free_ char *n = xasprintf ("%s-%.24s", prefix, rnd);
  if (mkdirat (s->tmpfd, n, 0700) < 0)
    return berth_error_set (err, errno, "mkdir tmp/%s", n);
  int fd = openat (s->tmpfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "open tmp/%s", n);
  *name = steal_pointer (&n);
  return fd;
}

/* ------------------------------------------------------------ sha256 -- */

struct sha256_ctx
{
  EVP_MD_CTX *md;
};

struct sha256_ctx *
sha256_ctx_new (void)
{
  struct sha256_ctx *c = malloc (sizeof *c);
  if (c == NULL || (c->md = EVP_MD_CTX_new ()) == NULL
      || EVP_DigestInit_ex (c->md, EVP_sha256 (), NULL) != 1)
    abort ();
  return c;
}

void
sha256_ctx_update (struct sha256_ctx *c, const void *buf, size_t len)
{
  if (len && EVP_DigestUpdate (c->md, buf, len) != 1)
    abort ();
}

char *
sha256_ctx_digest (struct sha256_ctx *c)
{
  unsigned char md[32];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex (c->md, md, &n) != 1 || n != 32)
    abort ();
  char hex[SHA256_HEX_LEN + 1];
  for (unsigned i = 0; i < 32; i++)
    sprintf (hex + 2 * i, "%02x", md[i]);
  return xasprintf ("sha256:%s", hex);
}

void
sha256_ctx_free (struct sha256_ctx *c)
{
  EVP_MD_CTX_free (c->md);
  free (c);
}

/* ------------------------------------------------------- images.json -- */

json_t *
images_db_load (struct image_store *s, struct berth_error **err)
{
  _cleanup_error_ struct berth_error *local = NULL;
  json_t *db = json_load_path (s->rootfd, IMAGES_FILE, &local);
  if (db == NULL && local->kind == BERTH_E_NOT_FOUND)
    return json_pack ("{s:{},s:{}}", "images", "tags");
  if (db == NULL)
    {
      berth_error_set_kind (err, local->kind, local->errnum, "%s", local->msg);
      return NULL;
    }
  if (!json_is_object (json_object_get (db, "images")))
    json_object_set_new (db, "images", json_object ());
  if (!json_is_object (json_object_get (db, "tags")))
    json_object_set_new (db, "tags", json_object ());
  return db;
}

int
images_db_save (struct image_store *s, json_t *db, struct berth_error **err)
{
  _cleanup_free_ char *text = json_dumps (db, JSON_INDENT (1) | JSON_SORT_KEYS);
  if (text == NULL)
    return berth_error_set (err, ENOMEM, "serialize %s", IMAGES_FILE);
  return fs_write_file_atomic (s->rootfd, IMAGES_FILE, text, strlen (text), 0600, err);
}

/* Each pin gets a stamp no other pin has (strictly increasing), so a
 * claim can tell whether anyone pinned the same digest after it. */
uint64_t
store_pin_locked (struct image_store *s, const char *digest)
{
  uint64_t now = time_now_ns ();
  if (now <= s->last_pin)
    now = s->last_pin + 1;
  s->last_pin = now;
  json_object_set_new (s->pins, digest, json_integer ((json_int_t)now));
  return now;
}

uint64_t
store_pin (struct image_store *s, const char *digest)
{
  pthread_mutex_lock (&s->pins_mutex);
  uint64_t stamp = store_pin_locked (s, digest);
  pthread_mutex_unlock (&s->pins_mutex);
  return stamp;
}

void
store_unpin (struct image_store *s, const char *digest)
{
  pthread_mutex_lock (&s->pins_mutex);
  json_object_del (s->pins, digest);
  pthread_mutex_unlock (&s->pins_mutex);
}

uint64_t
store_pin_stamp_locked (struct image_store *s, const char *digest)
{
  return (uint64_t)json_integer_value (json_object_get (s->pins, digest));
}

bool
store_is_pinned_locked (struct image_store *s, const char *digest)
{
  uint64_t t = store_pin_stamp_locked (s, digest);
  return t && time_now_ns () - t < PIN_TTL_NS;
}

bool
store_is_pinned (struct image_store *s, const char *digest)
{
  pthread_mutex_lock (&s->pins_mutex);
  bool pinned = store_is_pinned_locked (s, digest);
  pthread_mutex_unlock (&s->pins_mutex);
  return pinned;
}
