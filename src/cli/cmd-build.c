/* berth cli: `berth build` / `image build` (docker's classic-builder client)
 * and `builder prune`. Owns the flag → POST /build query mapping, the plan
 * of the context (selected by build-context.c, written as a tar straight
 * into the request body by build-tar.c), and the output. */
#include "cli/cli-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

const struct cli_opt cli_build_opts[] = {
  { "build-arg", 0, CLI_OPT_LIST, "Set build-time variables", NULL },
  { "cache-from", 0, CLI_OPT_LIST, "Images to consider as cache sources", NULL },
  { "file", 'f', CLI_OPT_STRING, "Name of the Dockerfile (Default is \"PATH/Dockerfile\")", NULL },
  { "force-rm", 0, CLI_OPT_BOOL, "Always remove intermediate containers", NULL },
  { "iidfile", 0, CLI_OPT_STRING, "Write the image ID to the file", NULL },
  { "label", 0, CLI_OPT_LIST, "Set metadata for an image", NULL },
  { "network", 0, CLI_OPT_STRING, "Set the networking mode for the RUN instructions during build",
    "default" },
  { "no-cache", 0, CLI_OPT_BOOL, "Do not use cache when building the image", NULL },
  { "platform", 0, CLI_OPT_STRING, "Set platform if server is multi-platform capable", NULL },
  { "pull", 0, CLI_OPT_BOOL, "Always attempt to pull a newer version of the image", NULL },
  { "quiet", 'q', CLI_OPT_BOOL, "Suppress the build output and print image ID on success", NULL },
  { "rm", 0, CLI_OPT_BOOL, "Remove intermediate containers after a successful build", "true" },
  { "tag", 't', CLI_OPT_LIST, "Name and optionally a tag in the \"name:tag\" format", NULL },
  { "target", 0, CLI_OPT_STRING, "Set the target build stage to build.", NULL },
  { NULL, 0, 0, NULL, NULL },
};

const struct cli_opt cli_builder_prune_opts[] = {
  { "all", 'a', CLI_OPT_BOOL, "Remove all unused build cache, not just dangling ones", NULL },
  { "force", 'f', CLI_OPT_BOOL, "Do not prompt for confirmation", NULL },
  { NULL, 0, 0, NULL, NULL },
};

/* ------------------------------------------------------------ query -- */

static void
query_add (char **q, const char *key, const char *value)
{
  _cleanup_free_ char *e = url_escape (value);
  char *n = *q && **q ? xasprintf ("%s&%s=%s", *q, key, e) : xasprintf ("%s=%s", key, e);
  free (*q);
  *q = n;
}

static void
query_add_json (char **q, const char *key, json_t *v)
{
  _cleanup_free_ char *s = json_dumps (v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  query_add (q, key, s);
}

/* --build-arg KEY=VALUE, or KEY alone: the environment's value, or null
 * (docker's ConvertKVStringsToMapWithNil) so the Dockerfile default holds. */
static json_t *
build_args_json (char *const *list)
{
  json_t *o = json_object ();
  for (size_t i = 0; list && list[i]; i++)
    {
      const char *eq = strchr (list[i], '=');
      if (eq)
        {
          _cleanup_free_ char *k = strndup (list[i], (size_t) (eq - list[i]));
          json_object_set_new (o, k, json_string (eq + 1));
        }
      else
        {
          const char *env = getenv (list[i]);
          json_object_set_new (o, list[i], env ? json_string (env) : json_null ());
        }
    }
  return o;
}

char *
cli_build_query (const struct cli_args *a, const char *dockerfile, struct berth_error **err)
{
  _cleanup_free_ char *q = xstrdup ("");
  char **tags = cli_args_list (a, "tag");
  for (size_t i = 0; tags && tags[i]; i++)
    {
      _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
      if (cli_parse_reference (tags[i], &repo, &tag, &digest, err) < 0)
        return berth_error_prefix (err, "invalid argument \"%s\" for \"-t, --tag\" flag", tags[i]),
               NULL;
      if (digest)
        return berth_error_set (err, 0,
                                "invalid argument \"%s\" for \"-t, --tag\" flag: a tag cannot "
                                "contain a digest", tags[i]),
               NULL;
      query_add (&q, "t", tags[i]);
    }
  if (dockerfile)
    query_add (&q, "dockerfile", dockerfile);
  if (cli_args_bool (a, "quiet"))
    query_add (&q, "q", "1");
  if (cli_args_bool (a, "no-cache"))
    query_add (&q, "nocache", "1");
  if (cli_args_bool (a, "rm"))
    query_add (&q, "rm", "1");
  else
    query_add (&q, "rm", "0");
  if (cli_args_bool (a, "force-rm"))
    query_add (&q, "forcerm", "1");
  if (cli_args_bool (a, "pull"))
    query_add (&q, "pull", "1");
  if (cli_args_str (a, "target"))
    query_add (&q, "target", cli_args_str (a, "target"));
  if (cli_args_str (a, "platform"))
    query_add (&q, "platform", cli_args_str (a, "platform"));
  query_add (&q, "networkmode", cli_args_str (a, "network"));
  char **cf = cli_args_list (a, "cache-from");
  if (cf && cf[0])
    {
      _cleanup_json_ json_t *arr = json_array ();
      for (size_t i = 0; cf[i]; i++)
        json_array_append_new (arr, json_string (cf[i]));
      query_add_json (&q, "cachefrom", arr);
    }
  _cleanup_json_ json_t *args = build_args_json (cli_args_list (a, "build-arg"));
  query_add_json (&q, "buildargs", args);
  _cleanup_json_ json_t *labels = json_object ();
  if (parse_kv_into (cli_args_list (a, "label"), labels, true, "label", err) < 0)
    return NULL;
  query_add_json (&q, "labels", labels);
  return steal_pointer (&q);
}

/* ------------------------------------------------------------ command -- */

static char *
read_fd_all (int fd, size_t *len, const char *what, struct berth_error **err)
{
  FILE *m;
  char *buf = NULL;
  size_t blen = 0;
  m = open_memstream (&buf, &blen);
  char tmp[65536];
  ssize_t n;
  while ((n = read (fd, tmp, sizeof tmp)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          fclose (m);
          free (buf);
          return berth_error_set (err, errno, "read %s", what), NULL;
        }
      fwrite (tmp, 1, (size_t) n, m);
    }
  fclose (m);
  *len = blen;
  return buf;
}


/* Everything `berth build` decided before it talks to the daemon. */
struct build_plan
{
  char *dockerfile;  /* the dockerfile= value, or NULL (daemon's default) */
  char *extra_data;  /* a Dockerfile to add to the tar */
  size_t extra_len;
  char *extra_name;
  char *ignore_data; /* the context's .dockerignore */
  size_t ignore_len;
  int rootfd;        /* the context directory, or -1 */
  struct cli_build_context ctx;
  bool is_passthrough; /* stdin is a tar, sent as it is */
  bool keep_ignore;
  char *prefix;      /* stdin tar: the bytes read to recognise it */
  size_t prefix_len;
};

static void
build_plan_clear (struct build_plan *p)
{
  free (p->dockerfile);
  free (p->extra_data);
  free (p->extra_name);
  free (p->ignore_data);
  free (p->prefix);
  if (p->rootfd >= 0)
    close (p->rootfd);
  cli_build_context_clear (&p->ctx);
}

static int
plan_local (struct build_plan *p, const char *dir, const char *file, struct berth_error **err)
{
  _cleanup_free_ char *root = realpath (dir, NULL);
  if (root == NULL)
    return berth_error_set (err, 0, "unable to prepare context: path \"%s\" not found", dir);
  p->rootfd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (p->rootfd < 0)
    return berth_error_set (err, errno, "unable to prepare context: %s", dir);
  /* the Dockerfile: -f relative to the current directory (docker's rule),
   * default PATH/Dockerfile */
  _cleanup_free_ char *rel = NULL;
  if (file && strcmp (file, "-") == 0)
    {
      if (isatty (STDIN_FILENO))
        return berth_error_set (err, 0, "the Dockerfile (-f -) is read from stdin, but stdin is a terminal");
      p->extra_data = read_fd_all (STDIN_FILENO, &p->extra_len, "the Dockerfile from stdin", err);
      if (p->extra_data == NULL)
        return -1;
    }
  else
    {
      _cleanup_free_ char *given = file ? xstrdup (file) : xasprintf ("%s/Dockerfile", root);
      _cleanup_free_ char *abs = realpath (given, NULL);
      if (abs == NULL && file == NULL)
        {
          _cleanup_free_ char *lower = xasprintf ("%s/dockerfile", root);
          abs = realpath (lower, NULL);
        }
      if (abs == NULL)
        return berth_error_set (err, 0, "unable to prepare context: unable to evaluate symlinks "
                                        "in Dockerfile path: lstat %s: no such file or directory",
                                file ? file : given);
      struct stat st;
      if (stat (abs, &st) < 0 || !S_ISREG (st.st_mode))
        return berth_error_set (err, 0, "unable to prepare context: the Dockerfile %s is not a regular file",
                                file ? file : given);
      rel = cli_build_path_below (root, abs);
      if (rel == NULL)
        {
          _cleanup_close_ int dfd = open (abs, O_RDONLY | O_CLOEXEC);
          if (dfd < 0)
            return berth_error_set (err, errno, "open %s", abs);
          p->extra_data = read_fd_all (dfd, &p->extra_len, abs, err);
          if (p->extra_data == NULL)
            return -1;
        }
    }
  /* .dockerignore: the user's own rules, read as docker reads them (a
   * symlink to a shared file is followed: it is only read here, on the
   * client; the tar still carries the link itself) */
  {
    _cleanup_close_ int ifd = openat (p->rootfd, ".dockerignore", O_RDONLY | O_CLOEXEC);
    if (ifd < 0 && errno != ENOENT)
      return berth_error_set (err, errno, "unable to prepare context: read %s/.dockerignore", root);
    if (ifd >= 0)
      {
        p->ignore_data = read_fd_all (ifd, &p->ignore_len, ".dockerignore", err);
        if (p->ignore_data == NULL)
          return -1;
      }
  }
  if (p->extra_data)
    {
      char rnd[SHA256_HEX_LEN + 1];
      random_id_hex (rnd);
      p->extra_name = xasprintf (".dockerfile.%.20s", rnd);
      p->dockerfile = xstrdup (p->extra_name);
    }
  else
    p->dockerfile = steal_pointer (&rel);
  if (cli_build_context_select (p->rootfd, p->ignore_data, p->ignore_len,
                                p->extra_name ? NULL : p->dockerfile, &p->ctx, err) < 0)
    return -1;
  return 0;
}

/* PATH "-": stdin is a tar (plain or compressed), sent as it is; or else a
 * Dockerfile, sent alone in a tar as "Dockerfile" (docker's
 * GetContextFromReader). */
static int
plan_stdin (struct build_plan *p, const char *file, struct berth_error **err)
{
  p->prefix = malloc (512);
  if (p->prefix == NULL)
    abort ();
  while (p->prefix_len < 512)
    {
      ssize_t n = cli_build_read_context (STDIN_FILENO, p->prefix + p->prefix_len,
                                          512 - p->prefix_len, err);
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      p->prefix_len += (size_t) n;
    }
  if (cli_build_is_archive ((const unsigned char *) p->prefix, p->prefix_len))
    {
      p->dockerfile = file ? xstrdup (file) : NULL;
      p->is_passthrough = true;
      return 0;
    }
  size_t rest_len;
  _cleanup_free_ char *rest = read_fd_all (STDIN_FILENO, &rest_len, "the Dockerfile from stdin", err);
  if (rest == NULL)
    return -1;
  p->extra_len = p->prefix_len + rest_len;
  p->extra_data = malloc (p->extra_len + 1);
  if (p->extra_data == NULL)
    abort ();
  memcpy (p->extra_data, p->prefix, p->prefix_len);
  memcpy (p->extra_data + p->prefix_len, rest, rest_len);
  p->extra_name = xstrdup ("Dockerfile");
  p->dockerfile = xstrdup ("Dockerfile");
  p->keep_ignore = true;
  return 0;
}

/* The docker CLI reports the context's size once it is sent; the daemon
 * answers only after it has read all of it. */
struct build_output
{
  struct jsonmsg_display *d;
  FILE *out;
  uint64_t sent;
  bool announced;
  bool is_tty;
  struct timespec last; /* the last redraw on a terminal */
};

/* On a terminal the docker CLI redraws the size every 100 ms while the
 * context is sent (elsewhere only its final state is printed). */
static void
build_output_progress (void *ud, uint64_t sent)
{
  struct build_output *o = ud;
  if (!o->is_tty || o->announced)
    return;
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  long ms = (now.tv_sec - o->last.tv_sec) * 1000 + (now.tv_nsec - o->last.tv_nsec) / 1000000;
  if (o->last.tv_sec != 0 && ms < 100)
    return;
  o->last = now;
  _cleanup_free_ char *h = human_size ((double) sent, 4);
  fprintf (o->out, "Sending build context to Docker daemon %8s\r", h);
  fflush (o->out);
}

static int
build_output_feed (void *ud, const char *data, size_t len)
{
  struct build_output *o = ud;
  if (!o->announced)
    {
      o->announced = true;
      _cleanup_free_ char *h = human_size ((double) o->sent, 4);
      /* docker's raw progress line, its final state: "%8v" then "\r\r\n" */
      fprintf (o->out, "Sending build context to Docker daemon %8s\r\r\n", h);
      fflush (o->out);
    }
  return jsonmsg_display_feed (o->d, data, len);
}

/* The request's body: the context's tar, or the tar from stdin. */
static int
build_body (void *ud, const struct cli_body_out *out, struct berth_error **err)
{
  struct build_plan *p = ud;
  if (p->is_passthrough)
    return cli_build_tar_passthrough (p->prefix, p->prefix_len, STDIN_FILENO, out, err);
  const struct cli_build_tar t = { .rootfd = p->rootfd, .ctx = &p->ctx,
                                   .extra_name = p->extra_name, .extra_data = p->extra_data,
                                   .extra_len = p->extra_len, .keep_ignore = p->keep_ignore,
                                   .ignore_data = p->ignore_data, .ignore_len = p->ignore_len };
  return cli_build_tar_write (&t, out, err);
}

/* The daemon's answer, rendered as the docker CLI does. */
static int
build_send (struct cli_client *c, const struct cli_args *a, struct build_plan *p,
           struct berth_error **err)
{
  bool quiet = cli_args_bool (a, "quiet");
  _cleanup_free_ char *q = cli_build_query (a, p->dockerfile, err);
  if (q == NULL)
    return -1;
  _cleanup_free_ char *regcfg = cli_registry_config_header ();
  FILE *out = quiet ? NULL : stdout;
  FILE *buffered = NULL;
  char *bufdata = NULL;
  size_t buflen = 0;
  if (quiet)
    out = buffered = open_memstream (&bufdata, &buflen);
  struct jsonmsg_display *d = jsonmsg_display_new (out, !quiet && isatty (STDOUT_FILENO), false);
  struct build_output o = { .d = d, .out = out, .is_tty = !quiet && isatty (STDOUT_FILENO) };
  struct cli_request req = { .method = "POST", .path = "/build", .query = q,
                             .body_fn = build_body, .body_data = p,
                             .body_content_type = "application/x-tar",
                             .registry_config = regcfg, .body_sent = &o.sent,
                             .on_body_progress = build_output_progress,
                             .on_chunk = build_output_feed, .userdata = &o };
  struct cli_response resp;
  int rc = cli_call (c, &req, &resp, err);
  cli_response_clear (&resp);
  int code = 1;
  if (rc == 0 && jsonmsg_display_error (d))
    {
      code = jsonmsg_display_error_code (d);
      if (code == 0)
        code = 1;
      rc = berth_error_set (err, 0, "%s", jsonmsg_display_error (d));
    }
  const char *id = jsonmsg_display_aux_id (d);
  if (buffered)
    fclose (buffered);
  if (rc == 0 && quiet && id)
    printf ("%s\n", id);
  else if (rc < 0 && quiet && bufdata)
    fwrite (bufdata, 1, buflen, stderr);
  free (bufdata);
  if (rc == 0 && cli_args_str (a, "iidfile") && id)
    {
      const char *path = cli_args_str (a, "iidfile");
      _cleanup_close_ int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
      if (fd < 0 || fs_write_all (fd, id, strlen (id)) < 0)
        rc = berth_error_set (err, errno, "write image ID to file %s", path);
    }
  jsonmsg_display_free (d);
  return rc < 0 ? -code : 0;
}

int
cmd_build (struct cli_ctx *ctx, int argc, char **argv)
{
  _cleanup_ (cli_args_free) struct cli_args a = { 0 };
  int ec = 0;
  if (cli_cmd_parse (ctx, cli_command_find ("build"), argc, argv, &a, &ec) < 0)
    return ec;
  _cleanup_error_ struct berth_error *err = NULL;
  /* a bad -t is a flag error (usage, exit 125), before any work */
  {
    _cleanup_free_ char *q = cli_build_query (&a, NULL, &err);
    if (q == NULL)
      {
        fprintf (stderr, "%s\n\nUsage:  berth build [OPTIONS] PATH | -\n\nRun 'berth build "
                         "--help' for more information\n", err->msg);
        return 125;
      }
  }
  const char *iid = cli_args_str (&a, "iidfile");
  if (iid && unlink (iid) < 0 && errno != ENOENT)
    {
      berth_error_set (&err, errno, "removing image ID file %s", iid);
      return cli_fail (err, 1);
    }
  const char *file = cli_args_str (&a, "file");
  const char *src = a.pos[0];
  _cleanup_ (build_plan_clear) struct build_plan p = { .rootfd = -1 };
  if (strcmp (src, "-") == 0)
    {
      if (file && strcmp (file, "-") == 0)
        {
          berth_error_set (&err, 0, "invalid argument: can't use stdin for both build context "
                                    "and dockerfile");
          return cli_fail (err, 1);
        }
      if (isatty (STDIN_FILENO))
        {
          berth_error_set (&err, 0, "the build context (-) is read from stdin (a tar or a "
                                    "Dockerfile), but stdin is a terminal");
          return cli_fail (err, 1);
        }
      if (plan_stdin (&p, file, &err) < 0)
        return cli_fail (err, 1);
    }
  else if (str_has_prefix (src, "http://") || str_has_prefix (src, "https://")
           || str_has_prefix (src, "git@") || str_has_prefix (src, "github.com/"))
    {
      berth_error_set (&err, 0, "remote build contexts (%s) are not supported by berth build: "
                                "clone or download it and build the directory", src);
      return cli_fail (err, 1);
    }
  else if (plan_local (&p, src, file, &err) < 0)
    return cli_fail (err, 1);
  signal (SIGPIPE, SIG_IGN);
  struct cli_client *c = cli_ctx_client (ctx, &err);
  if (c == NULL)
    return cli_fail (err, 1);
  int rc = build_send (c, &a, &p, &err);
  if (rc < 0)
    return cli_fail (err, -rc);
  return 0;
}

int
cmd_builder_prune (struct cli_ctx *ctx, int argc, char **argv)
{
  _cleanup_ (cli_args_free) struct cli_args a = { 0 };
  int ec = 0;
  if (cli_cmd_parse (ctx, cli_command_find ("builder prune"), argc, argv, &a, &ec) < 0)
    return ec;
  _cleanup_error_ struct berth_error *err = NULL;
  if (!cli_args_bool (&a, "force"))
    {
      printf ("WARNING! This will remove all %sbuild cache. Are you sure you want to "
              "continue? [y/N] ", cli_args_bool (&a, "all") ? "" : "dangling ");
      fflush (stdout);
      char line[64];
      if (fgets (line, sizeof line, stdin) == NULL || (line[0] != 'y' && line[0] != 'Y'))
        return 0;
    }
  struct cli_client *c = cli_ctx_client (ctx, &err);
  if (c == NULL)
    return cli_fail (err, 1);
  _cleanup_json_ json_t *r = cli_call_json (c, "POST", "/build/prune",
                                            cli_args_bool (&a, "all") ? "all=1" : NULL, NULL, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  json_t *deleted = json_object_get (r, "CachesDeleted");
  if (json_array_size (deleted) > 0)
    {
      puts ("Deleted build cache objects:");
      size_t i;
      json_t *v;
      json_array_foreach (deleted, i, v)
        puts (json_string_value (v) ? json_string_value (v) : "");
      puts ("");
    }
  json_int_t reclaimed = json_integer_value (json_object_get (r, "SpaceReclaimed"));
  _cleanup_free_ char *h = human_size ((double) reclaimed, 3);
  printf ("Total reclaimed space: %s\n", h);
  return 0;
}
