/* berth-registry-tool: an internal test driver (not installed, not a user
 * command) that runs the registry library against an image store so the
 * integration tests can pull, push, log in and out without berthd.
 *
 *   berth-registry-tool [options] pull REF | push REF | login SERVER |
 *                       logout SERVER | catalog SERVER | tags REF | images
 * Progress events go to stdout as docker's JSON lines; the last line is
 * {"result": …}. Errors go to stderr, exit status 1. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "image/image.h"
#include "registry/registry.h"

/* --cancel-after N: the callback asks to stop after N events, as berthd's
 * does when the API client goes away. */
static long cancel_after = -1;

static int
print_event (const struct registry_progress *ev, void *opaque)
{
  if (cancel_after >= 0 && cancel_after-- == 0)
    return 1;
  _cleanup_json_ json_t *j = registry_progress_json (ev);
  _cleanup_free_ char *s = json_dumps (j, JSON_COMPACT);
  printf ("%s\n", s);
  fflush (stdout);
  return 0;
}

static void
print_result (json_t *result)
{
  _cleanup_json_ json_t *j = json_pack ("{s:O}", "result", result);
  _cleanup_free_ char *s = json_dumps (j, JSON_COMPACT);
  printf ("%s\n", s);
}

static int
fail (struct berth_error *err)
{
  fprintf (stderr, "berth-registry-tool: %s\n", err ? err->msg : "error");
  berth_error_free (err);
  return 1;
}

static void
usage (void)
{
  fprintf (stderr,
           "usage: berth-registry-tool [--root DIR] [--config-dir DIR] [--certs-dir DIR]\n"
           "         [--insecure-registry HOST]... [--platform P] [--registry-auth B64]\n"
           "         [--max-downloads N] [--max-uploads N] [--chunk-bytes N] [--compression "
           "gzip|zstd] [--quiet]\n"
           "         [-u USER] [-p PASSWORD | --password-stdin]\n"
           "         pull REF | push REF | login SERVER | logout SERVER | catalog SERVER |\n"
           "         tags REF | search TERM | images | tag SRC TARGET | check | unpack FILE\n");
}

static json_t *
strv_json (char **v)
{
  json_t *a = json_array ();
  for (char **p = v; p && *p; p++)
    json_array_append_new (a, json_string (*p));
  return a;
}

static struct image_store *
open_store (const char *root, struct berth_error **err)
{
  struct image_store_options so = { .root = root, .wait_for_lock = true };
  return image_store_open (&so, err);
}

int
main (int argc, char **argv)
{
  const char *root = NULL, *auth_header = NULL, *user = NULL, *password = NULL;
  bool password_stdin = false, quiet = false;
  _cleanup_strv_ char **insecure = calloc (1, sizeof (char *));
  struct registry_options opts = { 0 };
  static const struct option longopts[] = {
    { "root", required_argument, NULL, 'r' },
    { "config-dir", required_argument, NULL, 'c' },
    { "certs-dir", required_argument, NULL, 'C' },
    { "insecure-registry", required_argument, NULL, 'i' },
    { "platform", required_argument, NULL, 'P' },
    { "registry-auth", required_argument, NULL, 'a' },
    { "max-downloads", required_argument, NULL, 'm' },
    { "max-uploads", required_argument, NULL, 'U' },
    { "chunk-bytes", required_argument, NULL, 'k' },
    { "compression", required_argument, NULL, 'z' },
    { "retries", required_argument, NULL, 'R' },
    { "password-stdin", no_argument, NULL, 's' },
    { "username", required_argument, NULL, 'u' },
    { "password", required_argument, NULL, 'p' },
    { "quiet", no_argument, NULL, 'q' },
    { "cancel-after", required_argument, NULL, 'x' },
    { NULL, 0, NULL, 0 },
  };
  int ch;
  while ((ch = getopt_long (argc, argv, "+u:p:q", longopts, NULL)) != -1)
    switch (ch)
      {
      case 'r':
        root = optarg;
        break;
      case 'c':
        opts.config_dir = optarg;
        break;
      case 'C':
        opts.certs_dir = optarg;
        break;
      case 'i':
        strv_append (&insecure, optarg);
        break;
      case 'P':
        opts.platform = optarg;
        break;
      case 'a':
        auth_header = optarg;
        break;
      case 'm':
        opts.max_concurrent_downloads = (unsigned)atoi (optarg);
        break;
      case 'U':
        opts.max_concurrent_uploads = (unsigned)atoi (optarg);
        break;
      case 'k':
        opts.upload_chunk_bytes = atoll (optarg);
        break;
      case 'z':
        opts.compression = optarg;
        break;
      case 'R':
        opts.max_retries = (unsigned)atoi (optarg);
        break;
      case 's':
        password_stdin = true;
        break;
      case 'u':
        user = optarg;
        break;
      case 'p':
        password = optarg;
        break;
      case 'q':
        quiet = true;
        break;
      case 'x':
        cancel_after = atol (optarg);
        break;
      default:
        usage ();
        return 2;
      }
  if (optind + 1 > argc)
    {
      usage ();
      return 2;
    }
  const char *cmd = argv[optind];
  const char *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
  berth_log_configure (STDERR_FILENO, false,
                       getenv ("BERTH_DEBUG") ? BERTH_LOG_DEBUG : BERTH_LOG_WARNING);
  opts.insecure_registries = insecure;
  if (!quiet)
    opts.progress = print_event;
  struct berth_error *err = NULL;
  _cleanup_registry_auth_ struct registry_auth auth = { 0 };
  if (auth_header && registry_auth_decode_header (auth_header, &auth, &err) < 0)
    return fail (err);
  char pwbuf[4096];
  if (password_stdin)
    {
      if (fgets (pwbuf, sizeof pwbuf, stdin) == NULL)
        pwbuf[0] = '\0';
      pwbuf[strcspn (pwbuf, "\r\n")] = '\0';
      password = pwbuf;
    }
  if (user || password)
    {
      registry_auth_clear (&auth);
      auth.username = user ? xstrdup (user) : NULL;
      auth.password = password ? xstrdup (password) : NULL;
    }
  if (!registry_auth_is_empty (&auth))
    opts.auth = &auth;

  if ((!strcmp (cmd, "pull") || !strcmp (cmd, "push")) && arg)
    {
      _cleanup_image_store_ struct image_store *store = open_store (root, &err);
      if (store == NULL)
        return fail (err);
      _cleanup_json_ json_t *res = NULL;
      if (!strcmp (cmd, "pull"))
        {
          struct registry_pull_result r;
          if (registry_pull (store, arg, &opts, &r, &err) < 0)
            return fail (err);
          res = json_pack ("{s:s,s:s,s:s,s:b}", "reference", r.reference, "digest",
                           r.manifest_digest, "image_id", r.image_id, "up_to_date",
                           r.was_up_to_date);
          registry_pull_result_clear (&r);
        }
      else
        {
          struct registry_push_result r;
          if (registry_push (store, arg, &opts, &r, &err) < 0)
            return fail (err);
          res = json_pack ("{s:s,s:s,s:I}", "reference", r.reference, "digest", r.manifest_digest,
                           "size", (json_int_t)r.manifest_size);
          registry_push_result_clear (&r);
        }
      print_result (res);
      return 0;
    }
  if (!strcmp (cmd, "login") && arg)
    {
      _cleanup_free_ char *host = registry_server_normalize (arg, &err);
      if (host == NULL)
        return fail (err);
      _cleanup_free_ char *identity = NULL;
      if (registry_login (arg, &auth, &opts, &identity, &err) < 0)
        return fail (err);
      if (identity)
        {
          free (auth.identity_token);
          auth.identity_token = xstrdup (identity);
        }
      if (!registry_auth_is_empty (&auth)
          && registry_credentials_store (opts.config_dir, host, &auth, &err) < 0)
        return fail (err);
      _cleanup_json_ json_t *res
          = json_pack ("{s:s,s:s?}", "Status", "Login Succeeded", "IdentityToken", identity);
      print_result (res);
      return 0;
    }
  if (!strcmp (cmd, "logout") && arg)
    {
      _cleanup_free_ char *host = registry_server_normalize (arg, &err);
      if (host == NULL)
        return fail (err);
      int r = registry_credentials_erase (opts.config_dir, host, &err);
      if (r < 0)
        return fail (err);
      _cleanup_json_ json_t *res = json_pack ("{s:s,s:b}", "server", host, "removed", r == 1);
      print_result (res);
      return 0;
    }
  if ((!strcmp (cmd, "catalog") || !strcmp (cmd, "tags")) && arg)
    {
      _cleanup_strv_ char **list = !strcmp (cmd, "catalog") ? registry_catalog (arg, &opts, &err)
                                                            : registry_tags_list (arg, &opts, &err);
      if (list == NULL)
        return fail (err);
      _cleanup_json_ json_t *res = strv_json (list);
      print_result (res);
      return 0;
    }
  if (!strcmp (cmd, "search") && arg)
    {
      _cleanup_json_ json_t *res = registry_search (arg, 25, &opts, &err);
      if (res == NULL)
        return fail (err);
      print_result (res);
      return 0;
    }
  if (!strcmp (cmd, "tag") && arg && optind + 2 < argc)
    {
      _cleanup_image_store_ struct image_store *store = open_store (root, &err);
      if (store == NULL || image_tag (store, arg, argv[optind + 2], &err) < 0)
        return fail (err);
      _cleanup_json_ json_t *res = json_pack ("{s:s}", "tagged", argv[optind + 2]);
      print_result (res);
      return 0;
    }
  if (!strcmp (cmd, "unpack") && arg)
    {
      /* The store's unpack alone (no network): what bench/pull compares
       * pull against to see where the time goes. */
      _cleanup_image_store_ struct image_store *store = open_store (root, &err);
      _cleanup_close_ int fd = open (arg, O_RDONLY | O_CLOEXEC);
      _cleanup_free_ char *diff_id = NULL;
      if (fd < 0)
        {
          perror (arg);
          return 1;
        }
      if (store == NULL || image_layer_unpack_fd (store, fd, NULL, NULL, &diff_id, &err) < 0)
        return fail (err);
      _cleanup_json_ json_t *res = json_pack ("{s:s}", "diff_id", diff_id);
      print_result (res);
      return 0;
    }
  if (!strcmp (cmd, "check"))
    {
      _cleanup_image_store_ struct image_store *store = open_store (root, &err);
      _cleanup_strv_ char **problems = NULL;
      if (store == NULL || image_store_check (store, &problems, &err) < 0)
        return fail (err);
      _cleanup_json_ json_t *res = strv_json (problems);
      print_result (res);
      return 0;
    }
  if (!strcmp (cmd, "images"))
    {
      _cleanup_image_store_ struct image_store *store = open_store (root, &err);
      if (store == NULL)
        return fail (err);
      struct image_info **list = NULL;
      size_t n = 0;
      if (image_list (store, &list, &n, &err) < 0)
        return fail (err);
      _cleanup_json_ json_t *res = json_array ();
      for (size_t i = 0; i < n; i++)
        {
          json_t *diff_ids = json_array ();
          for (size_t k = 0; k < list[i]->n_layers; k++)
            json_array_append_new (diff_ids, json_string (list[i]->diff_ids[k]));
          json_array_append_new (res, json_pack ("{s:s,s:o,s:o,s:o}", "id", list[i]->id,
                                                 "repo_tags", strv_json (list[i]->repo_tags),
                                                 "repo_digests", strv_json (list[i]->repo_digests),
                                                 "diff_ids", diff_ids));
        }
      image_info_list_free (list, n);
      print_result (res);
      return 0;
    }
  usage ();
  return 2;
}
