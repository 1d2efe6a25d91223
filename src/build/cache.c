/* The build cache: a step's key is the sha256 of its parent image, its
 * instruction (expanded), the build args in effect and the checksum of the
 * files it reads; the index maps keys to the image the step produced, one
 * small file per key under <data-root>/build/cache/, written crash-safely. */
#include "build/build-internal.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>

static void
add_field (EVP_MD_CTX *ctx, const char *tag, const char *s)
{
  /* length-prefixed so that no two field splits hash alike */
  char head[64];
  size_t n = s ? strlen (s) : 0;
  int hl = snprintf (head, sizeof head, "%s:%d:%zu:", tag, s != NULL, n);
  EVP_DigestUpdate (ctx, head, (size_t) hl);
  if (n)
    EVP_DigestUpdate (ctx, s, n);
}

char *
build_cache_key (const char *parent_id, const char *instruction, char *const *build_args,
                 const char *content_sum)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  if (ctx == NULL)
    abort ();
  EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL);
  add_field (ctx, "v", "berth-build-cache-1");
  add_field (ctx, "parent", parent_id);
  add_field (ctx, "inst", instruction);
  for (char *const *a = build_args; a && *a; a++)
    add_field (ctx, "arg", *a);
  add_field (ctx, "sum", content_sum);
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex (ctx, md, &len);
  EVP_MD_CTX_free (ctx);
  char *hex = malloc (SHA256_HEX_LEN + 1);
  if (hex == NULL)
    abort ();
  for (unsigned i = 0; i < 32; i++)
    sprintf (hex + 2 * i, "%02x", md[i]);
  return hex;
}

int
cache_open (struct image_store *store, struct berth_error **err)
{
  _cleanup_free_ char *dir = xasprintf ("%s/build/cache", image_store_root (store));
  if (fs_mkdir_p (dir, 0700, err) < 0)
    return -1;
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "open build cache %s", dir);
  return fd;
}

char *
cache_lookup (int cachefd, struct image_store *store, const char *key)
{
  _cleanup_free_ char *id = NULL;
  size_t len = 0;
  struct berth_error *err = NULL;
  if (fs_read_file (cachefd, key, &id, &len, &err) < 0)
    {
      berth_error_free (err);
      return NULL;
    }
  while (len > 0 && (id[len - 1] == '\n' || id[len - 1] == ' '))
    id[--len] = '\0';
  /* an entry whose image was removed since is a miss */
  struct image_info *info = NULL;
  if (!digest_is_valid (id) || image_get (store, id, &info, &err) < 0)
    {
      berth_error_free (err);
      unlinkat (cachefd, key, 0);
      return NULL;
    }
  image_info_free (info);
  return steal_pointer (&id);
}

void
cache_store (int cachefd, const char *key, const char *image_id)
{
  struct berth_error *err = NULL;
  /* a cache that cannot be written only costs time next build */
  if (fs_write_file_atomic (cachefd, key, image_id, strlen (image_id), 0600, &err) < 0)
    {
      berth_log (BERTH_LOG_WARNING, "build cache: %s", err->msg);
      berth_error_free (err);
    }
}
