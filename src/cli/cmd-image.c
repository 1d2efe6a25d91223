/* berth cli: image commands: pull and push (progress as docker draws it),
 * rmi, tag, save, load, import, history, prune, search, and login/logout
 * with credentials in ~/.docker/config.json like the docker CLI. */
#include "cli/cli-internal.h"
#include "cli/rows.h"

#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

const struct cli_opt cli_pull_opts[] = {
  { "all-tags", 'a', CLI_OPT_BOOL, "Download all tagged images in the repository", NULL },
  { "platform", 0, CLI_OPT_STRING, "Set platform if server is multi-platform capable", NULL },
  { "quiet", 'q', CLI_OPT_BOOL, "Suppress verbose output", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_push_opts[] = {
  { "all-tags", 'a', CLI_OPT_BOOL, "Push all tags of an image to the repository", NULL },
  { "quiet", 'q', CLI_OPT_BOOL, "Suppress verbose output", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_rmi_opts[] = {
  { "force", 'f', CLI_OPT_BOOL, "Force removal of the image", NULL },
  { "no-prune", 0, CLI_OPT_BOOL, "Do not delete untagged parents", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_save_opts[] = {
  { "output", 'o', CLI_OPT_STRING, "Write to a file, instead of STDOUT", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_load_opts[] = {
  { "input", 'i', CLI_OPT_STRING, "Read from tar archive file, instead of STDIN", NULL },
  { "quiet", 'q', CLI_OPT_BOOL, "Suppress the load output", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_import_opts[] = {
  { "change", 'c', CLI_OPT_LIST, "Apply Dockerfile instruction to the created image", NULL },
  { "message", 'm', CLI_OPT_STRING, "Set commit message for imported image", NULL },
  { "platform", 0, CLI_OPT_STRING, "Set platform if server is multi-platform capable", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_history_opts[] = {
  { "format", 0, CLI_OPT_STRING, "Format output using a custom template", NULL },
  { "human", 'H', CLI_OPT_BOOL, "Print sizes and dates in human readable format", "true" },
  { "no-trunc", 0, CLI_OPT_BOOL, "Don't truncate output", NULL },
  { "quiet", 'q', CLI_OPT_BOOL, "Only show image IDs", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_image_prune_opts[] = {
  { "all", 'a', CLI_OPT_BOOL, "Remove all unused images, not just dangling ones", NULL },
  { "filter", 0, CLI_OPT_LIST, "Provide filter values (e.g. \"until=<timestamp>\")", NULL },
  { "force", 'f', CLI_OPT_BOOL, "Do not prompt for confirmation", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_login_opts[] = {
  { "password", 'p', CLI_OPT_STRING, "Password", NULL },
  { "password-stdin", 0, CLI_OPT_BOOL, "Take the password from stdin", NULL },
  { "username", 'u', CLI_OPT_STRING, "Username", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_search_opts[] = {
  { "filter", 'f', CLI_OPT_LIST, "Filter output based on conditions provided", NULL },
  { "format", 0, CLI_OPT_STRING, "Pretty-print search using a Go template", NULL },
  { "limit", 0, CLI_OPT_STRING, "Max number of search results", NULL },
  { "no-trunc", 0, CLI_OPT_BOOL, "Don't truncate output", NULL },
  { NULL, 0, 0, NULL, NULL },
};

/* ----------------------------------------------------------- base64 -- */

char *
base64_encode (const void *data, size_t len)
{
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *in = data;
  char *out = malloc ((len + 2) / 3 * 4 + 1);
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3)
    {
      unsigned v = (unsigned) in[i] << 16;
      if (i + 1 < len)
        v |= (unsigned) in[i + 1] << 8;
      if (i + 2 < len)
        v |= in[i + 2];
      out[o++] = tbl[(v >> 18) & 63];
      out[o++] = tbl[(v >> 12) & 63];
      out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
      out[o++] = i + 2 < len ? tbl[v & 63] : '=';
    }
  out[o] = '\0';
  return out;
}

unsigned char *
base64_decode (const char *s, size_t *len)
{
  size_t n = strlen (s);
  unsigned char *out = malloc (n / 4 * 3 + 3);
  size_t o = 0;
  unsigned v = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++)
    {
      char ch = s[i];
      int d;
      if (ch >= 'A' && ch <= 'Z')
        d = ch - 'A';
      else if (ch >= 'a' && ch <= 'z')
        d = ch - 'a' + 26;
      else if (ch >= '0' && ch <= '9')
        d = ch - '0' + 52;
      else if (ch == '+' || ch == '-')
        d = 62;
      else if (ch == '/' || ch == '_')
        d = 63;
      else if (ch == '=')
        break;
      else
        {
          free (out);
          return NULL;
        }
      v = (v << 6) | (unsigned) d;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          out[o++] = (unsigned char) (v >> bits);
        }
    }
  *len = o;
  out[o] = 0;
  return out;
}

/* -------------------------------------------------------- credentials -- */

#define DOCKER_HUB_SERVER "https://index.docker.io/v1/"

static char *
docker_config_path (void)
{
  const char *dir = getenv ("DOCKER_CONFIG");
  if (dir && *dir)
    return xasprintf ("%s/config.json", dir);
  const char *home = getenv ("HOME");
  return xasprintf ("%s/.docker/config.json", home ? home : "/root");
}

static json_t *
docker_config_load (void)
{
  _cleanup_free_ char *path = docker_config_path ();
  _cleanup_error_ struct berth_error *err = NULL;
  json_t *cfg = json_load_path (AT_FDCWD, path, &err);
  if (cfg == NULL || !json_is_object (cfg))
    {
      json_decref (cfg);
      cfg = json_object ();
    }
  return cfg;
}

static int
docker_config_save (json_t *cfg, struct berth_error **err)
{
  _cleanup_free_ char *path = docker_config_path ();
  _cleanup_free_ char *dir = xstrdup (path);
  *strrchr (dir, '/') = '\0';
  if (fs_mkdir_p (dir, 0700, err) < 0)
    return -1;
  _cleanup_close_ int dfd = open (dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (dfd < 0)
    return berth_error_set (err, errno, "open %s", dir);
  _cleanup_free_ char *s = json_dumps (cfg, JSON_INDENT (1) | JSON_SORT_KEYS);
  return fs_write_file_atomic (dfd, "config.json", s, strlen (s), 0600, err);
}

/* The registry a repository lives in, as docker keys credentials. */
static char *
registry_of (const char *repo)
{
  const char *slash = strchr (repo, '/');
  _cleanup_free_ char *domain = slash ? strndup (repo, (size_t) (slash - repo)) : xstrdup ("docker.io");
  if (strcmp (domain, "docker.io") == 0 || strcmp (domain, "index.docker.io") == 0)
    return xstrdup (DOCKER_HUB_SERVER);
  return steal_pointer (&domain);
}

char *
cli_registry_auth_header (const char *repo)
{
  _cleanup_free_ char *server = registry_of (repo);
  _cleanup_json_ json_t *cfg = docker_config_load ();
  json_t *entry = json_object_get (json_object_get (cfg, "auths"), server);
  const char *auth = json_string_value (json_object_get (entry, "auth"));
  if (auth == NULL)
    return xstrdup ("e30="); /* {} */
  size_t len;
  _cleanup_free_ unsigned char *raw = base64_decode (auth, &len);
  char *colon = raw ? strchr ((char *) raw, ':') : NULL;
  if (colon == NULL)
    return xstrdup ("e30=");
  *colon = '\0';
  _cleanup_json_ json_t *j = json_pack ("{s:s, s:s, s:s}", "username", (char *) raw, "password",
                                        colon + 1, "serveraddress", server);
  _cleanup_free_ char *s = json_dumps (j, JSON_COMPACT);
  char *b = base64_encode (s, strlen (s));
  /* docker uses base64url for this header */
  for (char *p = b; *p; p++)
    *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
  return b;
}

char *
cli_registry_config_header (void)
{
  _cleanup_json_ json_t *cfg = docker_config_load ();
  _cleanup_json_ json_t *out = json_object ();
  const char *server;
  json_t *entry;
  json_object_foreach (json_object_get (cfg, "auths"), server, entry)
    {
      const char *auth = json_string_value (json_object_get (entry, "auth"));
      size_t len;
      _cleanup_free_ unsigned char *raw = auth ? base64_decode (auth, &len) : NULL;
      char *colon = raw ? strchr ((char *) raw, ':') : NULL;
      if (colon == NULL)
        continue;
      *colon = '\0';
      json_object_set_new (out, server,
                           json_pack ("{s:s, s:s, s:s}", "username", (char *) raw, "password",
                                      colon + 1, "serveraddress", server));
    }
  _cleanup_free_ char *s = json_dumps (out, JSON_COMPACT | JSON_SORT_KEYS);
  char *b = base64_encode (s, strlen (s));
  for (char *p = b; *p; p++) /* base64url, as docker sends it */
    *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
  return b;
}

static char *
read_line_noecho (const char *prompt, bool echo)
{
  fputs (prompt, stderr);
  fflush (stderr);
  struct termios old, t;
  bool restore = false;
  if (!echo && tcgetattr (STDIN_FILENO, &old) == 0)
    {
      t = old;
      t.c_lflag &= ~(unsigned) ECHO;
      tcsetattr (STDIN_FILENO, TCSANOW, &t);
      restore = true;
    }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline (&line, &cap, stdin);
  if (restore)
    {
      tcsetattr (STDIN_FILENO, TCSANOW, &old);
      fputc ('\n', stderr);
    }
  if (n < 0)
    {
      free (line);
      return NULL;
    }
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  return line;
}

int
cmd_login (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("login");
  const char *server = a.n_pos ? a.pos[0] : DOCKER_HUB_SERVER;
  _cleanup_free_ char *user = cli_args_str (&a, "username") ? xstrdup (cli_args_str (&a, "username")) : NULL;
  _cleanup_free_ char *pass = NULL;
  if (cli_args_bool (&a, "password-stdin"))
    {
      if (cli_args_is_set (&a, "password"))
        return fprintf (stderr, "--password and --password-stdin are mutually exclusive\n"), 1;
      if (user == NULL)
        return fprintf (stderr, "Must provide --username with --password-stdin\n"), 1;
      char *line = NULL;
      size_t cap = 0;
      ssize_t n = getdelim (&line, &cap, '\0', stdin);
      if (n < 0)
        n = 0, line = line ? line : xstrdup ("");
      while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
      pass = line;
    }
  else if (cli_args_str (&a, "password"))
    {
      fprintf (stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
      pass = xstrdup (cli_args_str (&a, "password"));
    }
  if (user == NULL || pass == NULL)
    {
      if (!isatty (STDIN_FILENO))
        return fprintf (stderr, "Error: Cannot perform an interactive login from a non TTY device\n"), 1;
      if (user == NULL)
        user = read_line_noecho ("Username: ", true);
      if (pass == NULL)
        pass = read_line_noecho ("Password: ", false);
      if (user == NULL || pass == NULL || *user == '\0')
        return fprintf (stderr, "Error: Non-null Username Required\n"), 1;
    }
  CLI_CLIENT ();
  _cleanup_json_ json_t *body = json_pack ("{s:s, s:s, s:s}", "username", user, "password", pass,
                                           "serveraddress", server);
  _cleanup_json_ json_t *r = cli_call_json (c, "POST", "/auth", NULL, body, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  _cleanup_json_ json_t *cfg = docker_config_load ();
  json_t *auths = json_object_get (cfg, "auths");
  if (!json_is_object (auths))
    {
      auths = json_object ();
      json_object_set_new (cfg, "auths", auths);
    }
  _cleanup_free_ char *up = xasprintf ("%s:%s", user, pass);
  _cleanup_free_ char *b = base64_encode (up, strlen (up));
  json_object_set_new (auths, server, json_pack ("{s:s}", "auth", b));
  if (docker_config_save (cfg, &err) < 0)
    return cli_fail (err, 1);
  const char *status = json_string_value (json_object_get (r, "Status"));
  printf ("%s\n", status && *status ? status : "Login Succeeded");
  return 0;
}

int
cmd_logout (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("logout");
  const char *server = a.n_pos ? a.pos[0] : DOCKER_HUB_SERVER;
  _cleanup_json_ json_t *cfg = docker_config_load ();
  json_t *auths = json_object_get (cfg, "auths");
  if (json_object_get (auths, server) == NULL)
    {
      printf ("Not logged in to %s\n", server);
      return 0;
    }
  printf ("Removing login credentials for %s\n", server);
  json_object_del (auths, server);
  if (docker_config_save (cfg, &err) < 0)
    return cli_fail (err, 1);
  return 0;
}

/* ------------------------------------------------------------ pull/push -- */

int
cmd_pull (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("pull");
  CLI_CLIENT ();
  _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
  if (cli_parse_reference (a.pos[0], &repo, &tag, &digest, &err) < 0)
    return cli_fail (err, 1);
  bool quiet = cli_args_bool (&a, "quiet");
  if (!quiet && !strchr (a.pos[0], ':') && !digest)
    printf ("Using default tag: latest\n");
  fflush (stdout);
  if (cli_pull_image (c, a.pos[0], cli_args_str (&a, "platform"), quiet, stdout, &err) < 0)
    return cli_fail (err, 1);
  /* docker prints the canonical reference last */
  printf ("%s%s%s\n", repo, digest ? "@" : ":", digest ? digest : tag);
  return 0;
}

int
cmd_push (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("push");
  CLI_CLIENT ();
  _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
  if (cli_parse_reference (a.pos[0], &repo, &tag, &digest, &err) < 0)
    return cli_fail (err, 1);
  const char *familiar = repo;
  if (str_has_prefix (repo, "docker.io/library/"))
    familiar = repo + 18;
  else if (str_has_prefix (repo, "docker.io/"))
    familiar = repo + 10;
  _cleanup_free_ char *path = xasprintf ("/images/%s/push", familiar);
  _cleanup_free_ char *et = url_escape (tag ? tag : "latest");
  _cleanup_free_ char *q = cli_args_bool (&a, "all-tags") ? NULL : xasprintf ("tag=%s", et);
  _cleanup_free_ char *auth = cli_registry_auth_header (repo);
  bool quiet = cli_args_bool (&a, "quiet");
  struct jsonmsg_display *d = jsonmsg_display_new (stdout, isatty (STDOUT_FILENO), quiet);
  struct cli_request req = { .method = "POST", .path = path, .query = q, .registry_auth = auth,
                             .on_chunk = jsonmsg_display_feed, .userdata = d };
  struct cli_response resp;
  int rc = cli_call (c, &req, &resp, &err);
  cli_response_clear (&resp);
  if (rc == 0 && jsonmsg_display_error (d))
    rc = berth_error_set (&err, 0, "%s", jsonmsg_display_error (d));
  jsonmsg_display_free (d);
  if (rc < 0)
    return cli_fail (err, 1);
  if (quiet)
    printf ("%s\n", a.pos[0]);
  return 0;
}

/* -------------------------------------------------------- rmi/tag/save -- */

int
cmd_rmi (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("rmi");
  CLI_CLIENT ();
  int rc = 0;
  bool force = cli_args_bool (&a, "force"), noprune = cli_args_bool (&a, "no-prune");
  _cleanup_free_ char *q = (force || noprune) ? xasprintf ("%s%s%s", force ? "force=1" : "",
                                                           force && noprune ? "&" : "",
                                                           noprune ? "noprune=1" : "")
                                              : NULL;
  for (size_t i = 0; i < a.n_pos; i++)
    {
      _cleanup_free_ char *path = xasprintf ("/images/%s", a.pos[i]);
      _cleanup_error_ struct berth_error *e2 = NULL;
      _cleanup_json_ json_t *r = cli_call_json (c, "DELETE", path, q, NULL, &e2);
      if (r == NULL)
        {
          fprintf (stderr, "%s\n", e2->msg);
          rc = 1;
          continue;
        }
      size_t k;
      json_t *item;
      json_array_foreach (r, k, item)
        {
          const char *u = json_string_value (json_object_get (item, "Untagged"));
          const char *d = json_string_value (json_object_get (item, "Deleted"));
          if (u)
            printf ("Untagged: %s\n", u);
          if (d)
            printf ("Deleted: %s\n", d);
        }
    }
  return rc;
}

int
cmd_tag (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("tag");
  CLI_CLIENT ();
  _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
  if (cli_parse_reference (a.pos[1], &repo, &tag, &digest, &err) < 0)
    return cli_fail (err, 1);
  if (digest)
    return fprintf (stderr, "refusing to create a tag with a digest reference\n"), 1;
  _cleanup_free_ char *path = xasprintf ("/images/%s/tag", a.pos[0]);
  _cleanup_free_ char *er = url_escape (repo), *et = url_escape (tag);
  _cleanup_free_ char *q = xasprintf ("repo=%s&tag=%s", er, et);
  _cleanup_json_ json_t *r = cli_call_json (c, "POST", path, q, NULL, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  return 0;
}

int
cmd_save (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("save");
  CLI_CLIENT ();
  _cleanup_free_ char *q = xstrdup ("");
  for (size_t i = 0; i < a.n_pos; i++)
    {
      _cleanup_free_ char *e = url_escape (a.pos[i]);
      char *n = xasprintf ("%s%snames=%s", q, *q ? "&" : "", e);
      free (q);
      q = n;
    }
  if (cli_download (c, "/images/get", q, cli_args_str (&a, "output"), &err) < 0)
    return cli_fail (err, 1);
  return 0;
}

/* Upload a tar from -i FILE / stdin and display the JSON stream. */
static int
upload_with_progress (struct cli_client *c, const char *path, const char *query, const char *file,
                      const char *content_type, bool quiet, struct jsonmsg_display **out_d,
                      struct berth_error **err)
{
  _cleanup_close_ int fd = -1;
  if (file && strcmp (file, "-") != 0)
    {
      fd = open (file, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return berth_error_set (err, errno, "open %s", file);
    }
  else if (isatty (STDIN_FILENO))
    return berth_error_set (err, 0, "requested load from stdin, but stdin is empty");
  struct jsonmsg_display *d = jsonmsg_display_new (stdout, isatty (STDOUT_FILENO), quiet);
  struct cli_request req = { .method = "POST", .path = path, .query = query, .stream_body = true,
                             .body_fd = fd >= 0 ? fd : STDIN_FILENO,
                             .body_content_type = content_type, .on_chunk = jsonmsg_display_feed,
                             .userdata = d };
  struct cli_response resp;
  int rc = cli_call (c, &req, &resp, err);
  cli_response_clear (&resp);
  if (rc == 0 && jsonmsg_display_error (d))
    rc = berth_error_set (err, 0, "%s", jsonmsg_display_error (d));
  *out_d = d;
  return rc;
}

int
cmd_load (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("load");
  CLI_CLIENT ();
  bool quiet = cli_args_bool (&a, "quiet") || !isatty (STDOUT_FILENO);
  struct jsonmsg_display *d = NULL;
  int rc = upload_with_progress (c, "/images/load", quiet ? "quiet=1" : NULL,
                                 cli_args_str (&a, "input"), "application/x-tar",
                                 cli_args_bool (&a, "quiet") && false, &d, &err);
  jsonmsg_display_free (d);
  if (rc < 0)
    return cli_fail (err, 1);
  return 0;
}

int
cmd_import (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("import");
  CLI_CLIENT ();
  const char *src = a.pos[0];
  bool is_url = str_has_prefix (src, "http://") || str_has_prefix (src, "https://");
  _cleanup_free_ char *q = NULL;
  {
    _cleanup_free_ char *es = url_escape (is_url ? src : "-");
    q = xasprintf ("fromSrc=%s", es);
  }
  char **changes = cli_args_list (&a, "change");
  for (size_t i = 0; changes[i]; i++)
    {
      _cleanup_free_ char *e = url_escape (changes[i]);
      char *n = xasprintf ("%s&changes=%s", q, e);
      free (q);
      q = n;
    }
  if (cli_args_str (&a, "message"))
    {
      _cleanup_free_ char *e = url_escape (cli_args_str (&a, "message"));
      char *n = xasprintf ("%s&message=%s", q, e);
      free (q);
      q = n;
    }
  if (cli_args_str (&a, "platform"))
    {
      _cleanup_free_ char *e = url_escape (cli_args_str (&a, "platform"));
      char *n = xasprintf ("%s&platform=%s", q, e);
      free (q);
      q = n;
    }
  if (a.n_pos == 2)
    {
      _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
      if (cli_parse_reference (a.pos[1], &repo, &tag, &digest, &err) < 0)
        return cli_fail (err, 1);
      /* the familiar repository name, as the trace shows (repo=tr-imported) */
      const char *colon = strrchr (a.pos[1], ':');
      const char *slash = strrchr (a.pos[1], '/');
      _cleanup_free_ char *r = (colon && (!slash || colon > slash)) ? strndup (a.pos[1], (size_t) (colon - a.pos[1]))
                                                                     : xstrdup (a.pos[1]);
      _cleanup_free_ char *er = url_escape (r);
      char *n = (colon && (!slash || colon > slash)) ? xasprintf ("%s&repo=%s&tag=%s", q, er, colon + 1)
                                                      : xasprintf ("%s&repo=%s", q, er);
      free (q);
      q = n;
    }
  struct jsonmsg_display *d = NULL;
  int rc;
  if (is_url)
    {
      d = jsonmsg_display_new (stdout, false, true);
      struct cli_request req = { .method = "POST", .path = "/images/create", .query = q,
                                 .on_chunk = jsonmsg_display_feed, .userdata = d };
      struct cli_response resp;
      rc = cli_call (c, &req, &resp, &err);
      cli_response_clear (&resp);
      if (rc == 0 && jsonmsg_display_error (d))
        rc = berth_error_set (&err, 0, "%s", jsonmsg_display_error (d));
    }
  else
    rc = upload_with_progress (c, "/images/create", q, src, "application/x-tar", true, &d, &err);
  if (rc == 0 && jsonmsg_display_last_status (d))
    printf ("%s\n", jsonmsg_display_last_status (d));
  jsonmsg_display_free (d);
  if (rc < 0)
    return cli_fail (err, 1);
  return 0;
}

/* ------------------------------------------------------------- history -- */

int
cmd_history (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("history");
  CLI_CLIENT ();
  bool trunc = !cli_args_bool (&a, "no-trunc");
  bool human = cli_args_bool (&a, "human");
  _cleanup_free_ char *path = xasprintf ("/images/%s/history", a.pos[0]);
  _cleanup_json_ json_t *r = cli_call_json (c, "GET", path, NULL, NULL, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  _cleanup_json_ json_t *rows = json_array ();
  size_t i;
  json_t *h;
  json_array_foreach (r, i, h)
    {
      const char *id = json_string_value (json_object_get (h, "Id"));
      _cleanup_free_ char *sid = (id == NULL || strcmp (id, "<missing>") == 0) ? xstrdup ("<missing>")
                                 : trunc                                      ? short_id (id, true)
                                                                              : xstrdup (id);
      long long created = json_integer_value (json_object_get (h, "Created"));
      _cleanup_free_ char *since = human ? since_string (created) : created_at_string (created);
      const char *by = json_string_value (json_object_get (h, "CreatedBy"));
      _cleanup_free_ char *by_s = xstrdup (by ? by : "");
      for (char *p = by_s; *p; p++)
        if (*p == '\t')
          *p = ' ';
      _cleanup_free_ char *by_t = trunc ? ellipsis (by_s, 45) : xstrdup (by_s);
      long long size = json_integer_value (json_object_get (h, "Size"));
      _cleanup_free_ char *hs = human ? human_size ((double) size, 3) : xasprintf ("%lld", size);
      const char *comment = json_string_value (json_object_get (h, "Comment"));
      json_array_append_new (rows, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", sid,
                                              "CreatedSince", since, "CreatedAt", since, "CreatedBy",
                                              by_t, "Size", hs, "Comment", comment ? comment : ""));
    }
  const char *format = normalize_format (cli_args_str (&a, "format"));
  if (cli_args_bool (&a, "quiet") && format == NULL)
    format = "{{.ID}}";
  if (format == NULL)
    format = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
  _cleanup_json_ json_t *headers = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "IMAGE",
                                              "CreatedSince", "CREATED", "CreatedAt", "CREATED AT",
                                              "CreatedBy", "CREATED BY", "Size", "SIZE", "Comment",
                                              "COMMENT");
  if (cli_format_rows (stdout, format, headers, rows, &err) < 0)
    return cli_fail (err, 1);
  return 0;
}

int
cmd_image_prune (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("image prune");
  bool all = cli_args_bool (&a, "all");
  return cli_prune (ctx, &a, "/images/prune",
                    all ? "WARNING! This will remove all images without at least one container associated to them."
                        : "WARNING! This will remove all dangling images.",
                    "ImagesDeleted", all ? "dangling=false" : "dangling=true");
}

int
cmd_search (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("search");
  CLI_CLIENT ();
  _cleanup_free_ char *et = url_escape (a.pos[0]);
  _cleanup_free_ char *q = xasprintf ("term=%s", et);
  if (cli_args_str (&a, "limit"))
    {
      char *n = xasprintf ("limit=%s&%s", cli_args_str (&a, "limit"), q);
      free (q);
      q = n;
    }
  char **filters = cli_args_list (&a, "filter");
  if (filters[0])
    {
      _cleanup_json_ json_t *f = parse_filters (filters, &err);
      if (f == NULL)
        return cli_fail (err, 125);
      _cleanup_free_ char *s = json_dumps (f, JSON_COMPACT);
      _cleanup_free_ char *es = url_escape (s);
      char *n = xasprintf ("filters=%s&%s", es, q);
      free (q);
      q = n;
    }
  _cleanup_json_ json_t *r = cli_call_json (c, "GET", "/images/search", q, NULL, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  bool trunc = !cli_args_bool (&a, "no-trunc");
  _cleanup_json_ json_t *rows = json_array ();
  size_t i;
  json_t *it;
  json_array_foreach (r, i, it)
    {
      const char *desc = json_string_value (json_object_get (it, "description"));
      _cleanup_free_ char *d = trunc ? ellipsis (desc ? desc : "", 45) : xstrdup (desc ? desc : "");
      _cleanup_free_ char *stars = xasprintf ("%lld", (long long) json_integer_value (json_object_get (it, "star_count")));
      const char *name = json_string_value (json_object_get (it, "name"));
      json_array_append_new (rows, json_pack ("{s:s, s:s, s:s, s:s}", "Name", name ? name : "",
                                              "Description", d, "StarCount", stars, "IsOfficial",
                                              json_is_true (json_object_get (it, "is_official")) ? "[OK]" : ""));
    }
  const char *format = normalize_format (cli_args_str (&a, "format"));
  if (format == NULL)
    format = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";
  _cleanup_json_ json_t *headers = json_pack ("{s:s, s:s, s:s, s:s}", "Name", "NAME", "Description",
                                              "DESCRIPTION", "StarCount", "STARS", "IsOfficial", "OFFICIAL");
  if (cli_format_rows (stdout, format, headers, rows, &err) < 0)
    return cli_fail (err, 1);
  return 0;
}
