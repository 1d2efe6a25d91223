/* ADD <url>: the file is fetched with libcurl (redirects followed, HTTP
 * errors are errors) into a private directory of the context, mode 0600
 * and the server's Last-Modified as mtime, as docker does; it is then
 * copied like a local file (never extracted) and the directory removed. */
#include "build/build-internal.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

struct sink
{
  int fd;
  int64_t bytes;
};

static size_t
on_data (char *ptr, size_t size, size_t n, void *data)
{
  struct sink *s = data;
  if (fs_write_all (s->fd, ptr, size * n) < 0)
    return 0;
  s->bytes += (int64_t) (size * n);
  return size * n;
}

/* docker: the file name is the last segment of the URL's path. */
static char *
url_file_name (const char *url)
{
  const char *p = strstr (url, "://");
  p = p ? strchr (p + 3, '/') : NULL;
  if (p == NULL)
    return NULL;
  _cleanup_free_ char *path = strndup (p, strcspn (p, "?#"));
  const char *slash = strrchr (path, '/');
  const char *base = slash ? slash + 1 : path;
  if (base[0] == '\0' || strcmp (base, ".") == 0 || strcmp (base, "..") == 0)
    return NULL;
  return xstrdup (base);
}

int
url_fetch (const char *url, int ctx_dirfd, char **dir_out, char **rel_out, struct berth_error **err)
{
  _cleanup_free_ char *name = url_file_name (url);
  if (name == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "ADD %s: cannot determine a file name from the URL", url);
  char hex[SHA256_HEX_LEN + 1];
  random_id_hex (hex);
  _cleanup_free_ char *dir = xasprintf (".berth-url-%.16s", hex);
  if (mkdirat (ctx_dirfd, dir, 0700) < 0)
    return berth_error_set (err, errno, "ADD %s: temp dir", url);
  _cleanup_close_ int dfd = openat (ctx_dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_close_ int fd = dfd < 0 ? -1 : openat (dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      berth_error_set (err, errno, "ADD %s: create", url);
      fs_rm_rf_at (ctx_dirfd, dir, NULL);
      return -1;
    }
  CURL *c = curl_easy_init ();
  if (c == NULL)
    abort ();
  struct sink s = { fd, 0 };
  char ebuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt (c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 15L);
  curl_easy_setopt (c, CURLOPT_TIMEOUT, 600L);
  curl_easy_setopt (c, CURLOPT_FILETIME, 1L);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, ebuf);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &s);
  CURLcode rc = curl_easy_perform (c);
  long filetime = -1;
  curl_easy_getinfo (c, CURLINFO_FILETIME, &filetime);
  curl_easy_cleanup (c);
  if (rc != CURLE_OK)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "ADD failed: fetch %s: %s", url, ebuf[0] ? ebuf : curl_easy_strerror (rc));
      close (fd);
      fd = -1;
      fs_rm_rf_at (ctx_dirfd, dir, NULL);
      return -1;
    }
  if (filetime > 0)
    {
      struct timespec ts[2] = { { filetime, 0 }, { filetime, 0 } };
      futimens (fd, ts);
    }
  *rel_out = xasprintf ("%s/%s", dir, name);
  *dir_out = steal_pointer (&dir);
  return 0;
}
