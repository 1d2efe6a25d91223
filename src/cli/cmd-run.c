/* berth cli: run, create, start, attach and exec: the commands that create
 * containers or connect a terminal to them, with docker's request order
 * (create → attach → wait → start; trace 02), the implicit pull when the
 * image is missing (trace 17) and docker's exit codes. */
#include "cli/cli-internal.h"
#include "cli/attach.h"

#include <string.h>
#include <unistd.h>

const struct cli_opt cli_start_opts[] = {
  { "attach", 'a', CLI_OPT_BOOL, "Attach STDOUT/STDERR and forward signals", NULL },
  { "detach-keys", 0, CLI_OPT_STRING, "Override the key sequence for detaching a container", NULL },
  { "interactive", 'i', CLI_OPT_BOOL, "Attach container's STDIN", NULL },
  { NULL, 0, 0, NULL, NULL },
};

const struct cli_opt cli_attach_opts[] = {
  { "detach-keys", 0, CLI_OPT_STRING, "Override the key sequence for detaching a container", NULL },
  { "no-stdin", 0, CLI_OPT_BOOL, "Do not attach STDIN", NULL },
  { "sig-proxy", 0, CLI_OPT_BOOL, "Proxy all received signals to the process", "true" },
  { NULL, 0, 0, NULL, NULL },
};

const struct cli_opt cli_exec_opts[] = {
  { "detach", 'd', CLI_OPT_BOOL, "Detached mode: run command in the background", NULL },
  { "detach-keys", 0, CLI_OPT_STRING, "Override the key sequence for detaching a container", NULL },
  { "env", 'e', CLI_OPT_LIST, "Set environment variables", NULL },
  { "env-file", 0, CLI_OPT_LIST, "Read in a file of environment variables", NULL },
  { "interactive", 'i', CLI_OPT_BOOL, "Keep STDIN open even if not attached", NULL },
  { "privileged", 0, CLI_OPT_BOOL, "Give extended privileges to the command", NULL },
  { "tty", 't', CLI_OPT_BOOL, "Allocate a pseudo-TTY", NULL },
  { "user", 'u', CLI_OPT_STRING, "Username or UID (format: \"<name|uid>[:<group|gid>]\")", NULL },
  { "workdir", 'w', CLI_OPT_STRING, "Working directory inside the container", NULL },
  { NULL, 0, 0, NULL, NULL },
};

/* "berth: msg" + docker's hint, as reportError does for run/create. */
static int
run_fail (const char *cmd, struct berth_error *err, int code)
{
  fprintf (stderr, "berth: %s\n\nRun 'berth %s --help' for more information\n",
           err ? err->msg : "error", cmd);
  return code;
}

static int
setup_detach_keys (const char *spec, struct detach_matcher *m, struct berth_error **err)
{
  const char *keys = spec ? spec : getenv ("BERTH_DETACH_KEYS");
  if (keys == NULL || *keys == '\0')
    keys = "ctrl-p,ctrl-q";
  int n = parse_detach_keys (keys, m->keys, sizeof m->keys, err);
  if (n < 0)
    return -1;
  m->n_keys = (size_t) n;
  return 0;
}

int
cli_pull_image (struct cli_client *c, const char *ref, const char *platform, bool quiet,
                FILE *out, struct berth_error **err)
{
  _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
  if (cli_parse_reference (ref, &repo, &tag, &digest, err) < 0)
    return -1;
  /* fromImage is the familiar name (trace 17: "127.0.0.1:5055/team/app") */
  const char *familiar = repo;
  if (str_has_prefix (repo, "docker.io/library/"))
    familiar = repo + strlen ("docker.io/library/");
  else if (str_has_prefix (repo, "docker.io/"))
    familiar = repo + strlen ("docker.io/");
  _cleanup_free_ char *e_img = url_escape (familiar);
  _cleanup_free_ char *e_tag = url_escape (digest ? digest : tag);
  _cleanup_free_ char *e_plat = platform ? url_escape (platform) : NULL;
  _cleanup_free_ char *q = e_plat ? xasprintf ("fromImage=%s&platform=%s&tag=%s", e_img, e_plat, e_tag)
                                  : xasprintf ("fromImage=%s&tag=%s", e_img, e_tag);
  _cleanup_free_ char *auth = cli_registry_auth_header (repo);
  struct jsonmsg_display *d = jsonmsg_display_new (out, isatty (fileno (out)), quiet);
  struct cli_request req = { .method = "POST", .path = "/images/create", .query = q,
                             .registry_auth = auth, .on_chunk = jsonmsg_display_feed,
                             .userdata = d };
  struct cli_response resp;
  int rc = cli_call (c, &req, &resp, err);
  cli_response_clear (&resp);
  if (rc == 0 && jsonmsg_display_error (d))
    rc = berth_error_set (err, 0, "%s", jsonmsg_display_error (d));
  jsonmsg_display_free (d);
  return rc;
}

/* POST /containers/create, pulling once when the image is missing. */
static char *
create_container (struct cli_ctx *ctx, struct cli_args *a, const char *cmdname,
                  struct berth_error **err)
{
  struct cli_client *c = cli_ctx_client (ctx, err);
  if (c == NULL)
    return NULL;
  char cwd[4096];
  if (getcwd (cwd, sizeof cwd) == NULL)
    strcpy (cwd, "/");
  _cleanup_json_ json_t *body = cli_build_create_body (a, cwd, err);
  if (body == NULL)
    return NULL;
  const char *image = a->pos[0];
  const char *pull = cli_args_str (a, "pull");
  const char *platform = cli_args_str (a, "platform");
  bool quiet = cli_args_bool (a, "quiet");
  if (pull && strcmp (pull, "always") && strcmp (pull, "missing") && strcmp (pull, "never"))
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"",
                            pull);
      return NULL;
    }
  if (pull && strcmp (pull, "always") == 0
      && cli_pull_image (c, image, platform, quiet, stderr, err) < 0)
    return NULL;
  _cleanup_free_ char *json = json_dumps (body, JSON_COMPACT);
  const char *name = cli_args_str (a, "name");
  _cleanup_free_ char *e_name = name ? url_escape (name) : NULL;
  _cleanup_free_ char *e_plat = platform ? url_escape (platform) : NULL;
  _cleanup_free_ char *q = NULL;
  if (e_name && e_plat)
    q = xasprintf ("name=%s&platform=%s", e_name, e_plat);
  else if (e_name)
    q = xasprintf ("name=%s", e_name);
  else if (e_plat)
    q = xasprintf ("platform=%s", e_plat);
  struct cli_request req = { .method = "POST", .path = "/containers/create", .query = q,
                             .json_body = json };
  struct cli_response resp;
  if (cli_http (c, &req, &resp, err) < 0)
    return NULL;
  if (resp.status == 404 && (pull == NULL || strcmp (pull, "never") != 0))
    {
      _cleanup_free_ char *msg = cli_error_message (&resp);
      if (strstr (msg, "No such image") || strstr (msg, "no such image"))
        {
          cli_response_clear (&resp);
          fprintf (stderr, "Unable to find image '%s' locally\n", image);
          if (cli_pull_image (c, image, platform, quiet, stderr, err) < 0)
            return NULL;
          if (cli_http (c, &req, &resp, err) < 0)
            return NULL;
        }
    }
  if (resp.status >= 400)
    {
      _cleanup_free_ char *msg = cli_error_message (&resp);
      cli_response_clear (&resp);
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "Error response from daemon: %s", msg);
      return NULL;
    }
  json_error_t jerr;
  _cleanup_json_ json_t *r = json_loadb (resp.body, resp.len, 0, &jerr);
  cli_response_clear (&resp);
  const char *id = json_string_value (json_object_get (r, "Id"));
  if (id == NULL)
    {
      berth_error_set (err, 0, "%s: the daemon's answer has no Id", cmdname);
      return NULL;
    }
  size_t i;
  json_t *w;
  json_array_foreach (json_object_get (r, "Warnings"), i, w)
    if (json_is_string (w))
      fprintf (stderr, "WARNING: %s\n", json_string_value (w));
  const char *cidfile = cli_args_str (a, "cidfile");
  if (cidfile)
    {
      _cleanup_fclose_ FILE *f = fopen (cidfile, "wxe");
      if (f == NULL)
        {
          berth_error_set (err, errno, "failed to create the container ID file %s", cidfile);
          return NULL;
        }
      fputs (id, f);
    }
  return xstrdup (id);
}

int
cmd_create (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE_ARGS ("create");
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_free_ char *id = create_container (ctx, &a, "create", &err);
  if (id == NULL)
    return run_fail ("create", err, 125);
  printf ("%s\n", id);
  return 0;
}

static int
wait_status (struct cli_async *w, struct berth_error **err)
{
  struct cli_response resp;
  if (cli_async_finish (w, &resp, err) < 0)
    {
      cli_response_clear (&resp);
      return -1;
    }
  if (resp.status >= 400)
    {
      _cleanup_free_ char *msg = cli_error_message (&resp);
      cli_response_clear (&resp);
      berth_error_set (err, 0, "Error response from daemon: %s", msg);
      return -1;
    }
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loadb (resp.body, resp.len, JSON_DISABLE_EOF_CHECK, &jerr);
  cli_response_clear (&resp);
  if (j == NULL)
    {
      berth_error_set (err, 0, "wait: bad answer from daemon: %s", jerr.text);
      return -1;
    }
  const char *emsg = json_string_value (json_object_get (json_object_get (j, "Error"), "Message"));
  if (emsg && *emsg)
    fprintf (stderr, "%s\n", emsg);
  return (int) json_integer_value (json_object_get (j, "StatusCode"));
}

static bool
is_attached (char *const *attach, const char *which, bool dflt)
{
  if (attach[0] == NULL)
    return dflt;
  for (size_t i = 0; attach[i]; i++)
    if (strcasecmp (attach[i], which) == 0)
      return true;
  return false;
}

int
cmd_run (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE_ARGS ("run");
  _cleanup_error_ struct berth_error *err = NULL;
  bool detach = cli_args_bool (&a, "detach");
  bool tty = cli_args_bool (&a, "tty");
  bool interactive = cli_args_bool (&a, "interactive");
  bool auto_remove = cli_args_bool (&a, "rm");
  struct attach_opts ao = { 0 };
  if (!detach && setup_detach_keys (cli_args_str (&a, "detach-keys"), &ao.detach, &err) < 0)
    return run_fail ("run", err, 125);
  if (tty && interactive && !isatty (STDIN_FILENO) && !detach)
    {
      fprintf (stderr, "the input device is not a TTY\n");
      return 1;
    }
  _cleanup_free_ char *id = create_container (ctx, &a, "run", &err);
  if (id == NULL)
    return run_fail ("run", err, 125);
  struct cli_client *c = ctx->client;
  _cleanup_free_ char *start_path = xasprintf ("/containers/%s/start", id);
  struct cli_request start_req = { .method = "POST", .path = start_path };
  struct cli_response resp;
  if (detach)
    {
      int rc = cli_call (c, &start_req, &resp, &err);
      cli_response_clear (&resp);
      if (rc < 0)
        return run_fail ("run", err, cli_run_error_exit_code (err->msg));
      printf ("%s\n", id);
      return 0;
    }
  char **attach = cli_args_list (&a, "attach");
  bool att_in = is_attached (attach, "stdin", interactive);
  bool att_out = is_attached (attach, "stdout", true);
  bool att_err = is_attached (attach, "stderr", true);
  _cleanup_free_ char *attach_path = xasprintf ("/containers/%s/attach", id);
  const char *dk = cli_args_str (&a, "detach-keys");
  _cleanup_free_ char *e_dk = dk ? url_escape (dk) : NULL;
  _cleanup_free_ char *aq = xasprintf ("%s%s%s%s%sstream=1", e_dk ? "detachKeys=" : "",
                                       e_dk ? e_dk : "", e_dk ? "&" : "",
                                       att_err ? "stderr=1&" : "",
                                       att_in ? (att_out ? "stdin=1&stdout=1&" : "stdin=1&")
                                              : (att_out ? "stdout=1&" : ""));
  struct cli_hijack *hj = NULL;
  if (att_in || att_out || att_err)
    {
      hj = cli_hijack_open (c, attach_path, aq, NULL, &err);
      if (hj == NULL)
        return run_fail ("run", err, 125);
    }
  _cleanup_free_ char *wait_path = xasprintf ("/containers/%s/wait", id);
  struct cli_async *w = cli_async_begin (c, "POST", wait_path,
                                         auto_remove ? "condition=removed" : "condition=next-exit",
                                         &err);
  if (w == NULL)
    {
      cli_hijack_free (hj);
      return run_fail ("run", err, 125);
    }
  if (cli_call (c, &start_req, &resp, &err) < 0)
    {
      cli_response_clear (&resp);
      cli_hijack_free (hj);
      cli_async_free (w);
      return run_fail ("run", err, cli_run_error_exit_code (err->msg));
    }
  cli_response_clear (&resp);
  bool detached = false;
  if (hj)
    {
      _cleanup_free_ char *resize_path = xasprintf ("/containers/%s/resize", id);
      ao.client = c;
      ao.hj = hj;
      ao.tty = tty;
      ao.send_stdin = att_in;
      ao.sig_proxy = cli_args_bool (&a, "sig-proxy");
      ao.container_id = id;
      ao.resize_path = tty && isatty (STDOUT_FILENO) ? resize_path : NULL;
      int rc = attach_pump (&ao, &detached, &err);
      cli_hijack_free (hj);
      if (rc < 0)
        {
          cli_async_free (w);
          return cli_fail (err, 1);
        }
    }
  if (detached)
    {
      cli_async_free (w);
      return 0;
    }
  int status = wait_status (w, &err);
  cli_async_free (w);
  if (status < 0)
    return run_fail ("run", err, 125);
  return status;
}

/* The container's inspect JSON (docker resolves names this way). */
json_t *
cli_inspect_container (struct cli_client *c, const char *name, struct berth_error **err)
{
  _cleanup_free_ char *e = url_escape (name);
  _cleanup_free_ char *path = xasprintf ("/containers/%s/json", e);
  return cli_call_json (c, "GET", path, NULL, NULL, err);
}

/* attach + (start) + wait for one container; returns its exit code. */
static int
attach_container (struct cli_ctx *ctx, const char *name, bool with_stdin, bool do_start,
                  bool sig_proxy, const char *detach_keys, struct berth_error **err)
{
  struct cli_client *c = cli_ctx_client (ctx, err);
  if (c == NULL)
    return -1;
  _cleanup_json_ json_t *info = cli_inspect_container (c, name, err);
  if (info == NULL)
    return -1;
  const char *id = json_string_value (json_object_get (info, "Id"));
  json_t *cfg = json_object_get (info, "Config");
  json_t *state = json_object_get (info, "State");
  bool tty = json_is_true (json_object_get (cfg, "Tty"));
  bool open_stdin = json_is_true (json_object_get (cfg, "OpenStdin"));
  if (!do_start)
    {
      if (!json_is_true (json_object_get (state, "Running")))
        return berth_error_set (err, 0, "You cannot attach to a stopped container, start it first");
      if (json_is_true (json_object_get (state, "Paused")))
        return berth_error_set (err, 0, "You cannot attach to a paused container, unpause it first");
    }
  with_stdin = with_stdin && open_stdin;
  struct attach_opts ao = { 0 };
  if (setup_detach_keys (detach_keys, &ao.detach, err) < 0)
    return -1;
  if (tty && with_stdin && !isatty (STDIN_FILENO))
    return berth_error_set (err, 0, "the input device is not a TTY");
  _cleanup_free_ char *attach_path = xasprintf ("/containers/%s/attach", id);
  _cleanup_free_ char *e_dk = detach_keys ? url_escape (detach_keys) : NULL;
  _cleanup_free_ char *aq = xasprintf ("%s%s%s%s", e_dk ? "detachKeys=" : "", e_dk ? e_dk : "",
                                       e_dk ? "&" : "",
                                       with_stdin ? "stderr=1&stdin=1&stdout=1&stream=1"
                                                  : "stderr=1&stdout=1&stream=1");
  struct cli_hijack *hj = cli_hijack_open (c, attach_path, aq, NULL, err);
  if (hj == NULL)
    return -1;
  _cleanup_free_ char *wait_path = xasprintf ("/containers/%s/wait", id);
  struct cli_async *w = NULL;
  if (do_start)
    {
      w = cli_async_begin (c, "POST", wait_path, "condition=next-exit", err);
      if (w == NULL)
        {
          cli_hijack_free (hj);
          return -1;
        }
      _cleanup_free_ char *start_path = xasprintf ("/containers/%s/start", id);
      struct cli_request req = { .method = "POST", .path = start_path };
      struct cli_response resp;
      int rc = cli_call (c, &req, &resp, err);
      cli_response_clear (&resp);
      if (rc < 0)
        {
          cli_hijack_free (hj);
          cli_async_free (w);
          return -1;
        }
    }
  _cleanup_free_ char *resize_path = xasprintf ("/containers/%s/resize", id);
  ao.client = c;
  ao.hj = hj;
  ao.tty = tty;
  ao.send_stdin = with_stdin;
  ao.sig_proxy = sig_proxy;
  ao.container_id = id;
  ao.resize_path = tty && isatty (STDOUT_FILENO) ? resize_path : NULL;
  bool detached = false;
  int rc = attach_pump (&ao, &detached, err);
  cli_hijack_free (hj);
  if (rc < 0 || detached)
    {
      cli_async_free (w);
      return rc < 0 ? -1 : 0;
    }
  if (w)
    {
      int status = wait_status (w, err);
      cli_async_free (w);
      return status;
    }
  /* attach: the exit code of the container once its stream has ended */
  _cleanup_json_ json_t *after = cli_inspect_container (c, id, err);
  if (after == NULL)
    return -1;
  json_t *st = json_object_get (after, "State");
  if (json_is_true (json_object_get (st, "Running")))
    return 0;
  return (int) json_integer_value (json_object_get (st, "ExitCode"));
}

int
cmd_start (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE_ARGS ("start");
  _cleanup_error_ struct berth_error *err = NULL;
  bool attach = cli_args_bool (&a, "attach");
  bool interactive = cli_args_bool (&a, "interactive");
  if (attach || interactive)
    {
      if (a.n_pos > 1)
        {
          fprintf (stderr, "you cannot start and attach multiple containers at once\n");
          return 1;
        }
      int rc = attach_container (ctx, a.pos[0], interactive, true, true,
                                 cli_args_str (&a, "detach-keys"), &err);
      if (rc < 0)
        return cli_fail (err, 1);
      return rc;
    }
  struct cli_client *c = cli_ctx_client (ctx, &err);
  if (c == NULL)
    return cli_fail (err, 1);
  _cleanup_strv_ char **failed = NULL;
  for (size_t i = 0; i < a.n_pos; i++)
    {
      _cleanup_free_ char *e = url_escape (a.pos[i]);
      _cleanup_free_ char *path = xasprintf ("/containers/%s/start", e);
      struct cli_request req = { .method = "POST", .path = path };
      struct cli_response resp;
      _cleanup_error_ struct berth_error *e2 = NULL;
      if (cli_call (c, &req, &resp, &e2) < 0)
        {
          fprintf (stderr, "%s\n", e2->msg);
          strv_append (&failed, a.pos[i]);
        }
      else
        printf ("%s\n", a.pos[i]);
      cli_response_clear (&resp);
    }
  if (failed)
    {
      _cleanup_free_ char *j = strv_join (failed, ", ");
      fprintf (stderr, "Error: failed to start containers: %s\n", j);
      return 1;
    }
  return 0;
}

int
cmd_attach (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE_ARGS ("attach");
  _cleanup_error_ struct berth_error *err = NULL;
  int rc = attach_container (ctx, a.pos[0], !cli_args_bool (&a, "no-stdin"), false,
                             cli_args_bool (&a, "sig-proxy"), cli_args_str (&a, "detach-keys"), &err);
  if (rc < 0)
    return cli_fail (err, 1);
  return rc;
}

int
cmd_exec (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE_ARGS ("exec");
  _cleanup_error_ struct berth_error *err = NULL;
  bool tty = cli_args_bool (&a, "tty");
  bool interactive = cli_args_bool (&a, "interactive");
  bool detach = cli_args_bool (&a, "detach");
  struct attach_opts ao = { 0 };
  if (setup_detach_keys (cli_args_str (&a, "detach-keys"), &ao.detach, &err) < 0)
    return cli_fail (err, 125);
  if (tty && interactive && !isatty (STDIN_FILENO) && !detach)
    {
      fprintf (stderr, "the input device is not a TTY\n");
      return 1;
    }
  _cleanup_strv_ char **env = NULL;
  char **files = cli_args_list (&a, "env-file");
  for (size_t i = 0; files[i]; i++)
    {
      _cleanup_strv_ char **lines = NULL;
      if (parse_env_file (files[i], true, &lines, &err) < 0)
        return cli_fail (err, 125);
      for (size_t j = 0; lines[j]; j++)
        strv_append (&env, lines[j]);
    }
  char **envs = cli_args_list (&a, "env");
  for (size_t i = 0; envs[i]; i++)
    {
      _cleanup_free_ char *e = parse_env_opt (envs[i]);
      strv_append (&env, e);
    }
  struct cli_client *c = cli_ctx_client (ctx, &err);
  if (c == NULL)
    return cli_fail (err, 1);
  json_t *cmd = json_array ();
  for (size_t i = 1; i < a.n_pos; i++)
    json_array_append_new (cmd, json_string (a.pos[i]));
  json_t *jenv = json_null ();
  if (env)
    {
      jenv = json_array ();
      for (size_t i = 0; env[i]; i++)
        json_array_append_new (jenv, json_string (env[i]));
    }
  const char *user = cli_args_str (&a, "user");
  const char *wd = cli_args_str (&a, "workdir");
  const char *dk = cli_args_str (&a, "detach-keys");
  _cleanup_json_ json_t *body = json_pack (
      "{s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:s, s:o, s:s, s:o}", "User", user ? user : "",
      "Privileged", cli_args_bool (&a, "privileged"), "Tty", tty, "AttachStdin",
      interactive && !detach, "AttachStderr", !detach, "AttachStdout", !detach, "Detach", detach,
      "DetachKeys", dk ? dk : "", "Env", jenv, "WorkingDir", wd ? wd : "", "Cmd", cmd);
  _cleanup_free_ char *e = url_escape (a.pos[0]);
  _cleanup_free_ char *path = xasprintf ("/containers/%s/exec", e);
  _cleanup_json_ json_t *created = cli_call_json (c, "POST", path, NULL, body, &err);
  if (created == NULL)
    return cli_fail (err, 1);
  const char *exec_id = json_string_value (json_object_get (created, "Id"));
  if (exec_id == NULL)
    return fprintf (stderr, "exec: the daemon's answer has no Id\n"), 1;
  _cleanup_free_ char *start_path = xasprintf ("/exec/%s/start", exec_id);
  if (detach)
    {
      _cleanup_json_ json_t *sb = json_pack ("{s:b, s:b}", "Detach", true, "Tty", tty);
      _cleanup_json_ json_t *r = cli_call_json (c, "POST", start_path, NULL, sb, &err);
      if (r == NULL)
        return cli_fail (err, 1);
      return 0;
    }
  _cleanup_free_ char *sbody = xasprintf ("{\"Detach\":false,\"Tty\":%s}", tty ? "true" : "false");
  struct cli_hijack *hj = cli_hijack_open (c, start_path, NULL, sbody, &err);
  if (hj == NULL)
    return cli_fail (err, 1);
  _cleanup_free_ char *resize_path = xasprintf ("/exec/%s/resize", exec_id);
  ao.client = c;
  ao.hj = hj;
  ao.tty = tty;
  ao.send_stdin = interactive;
  ao.sig_proxy = false;
  ao.resize_path = tty && isatty (STDOUT_FILENO) ? resize_path : NULL;
  bool detached = false;
  int rc = attach_pump (&ao, &detached, &err);
  cli_hijack_free (hj);
  if (rc < 0)
    return cli_fail (err, 1);
  if (detached)
    return 0;
  _cleanup_free_ char *ipath = xasprintf ("/exec/%s/json", exec_id);
  _cleanup_json_ json_t *info = cli_call_json (c, "GET", ipath, NULL, NULL, &err);
  if (info == NULL)
    return cli_fail (err, 1);
  return (int) json_integer_value (json_object_get (info, "ExitCode"));
}
