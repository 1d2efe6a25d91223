/* docker credential helpers: when config.json names one ("credsStore", or
 * "credHelpers": {"host": name}), credentials live in the helper, not in
 * "auths". The helper protocol (docker-credential-helpers): run
 * docker-credential-<name> get|store|erase, the server URL or a JSON
 * {"ServerURL","Username","Secret"} on stdin; Username "<token>" marks an
 * identity token. */
#include "registry/registry-internal.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define HELPER_OUTPUT_MAX (1u << 20)

/* The helper config.json names for host_key, or NULL. */
const char *
registry_credhelper_for (json_t *cfg, const char *host)
{
  json_t *helpers = json_object_get (cfg, "credHelpers");
  const char *key;
  json_t *v;
  json_object_foreach (helpers, key, v)
  {
    if (!json_is_string (v) || json_string_length (v) == 0)
      continue;
    _cleanup_free_ char *h = registry_credentials_key_host (key);
    if (!strcmp (h, host))
      return json_string_value (v);
  }
  const char *store = json_string_value (json_object_get (cfg, "credsStore"));
  return store && *store ? store : NULL;
}

/* Run docker-credential-<helper> <action> with input on stdin; *output
 * gets stdout, *status the exit status. -1 when it cannot be run. */
static int
helper_run (const char *helper, const char *action, const char *input, char **output, int *status,
            struct berth_error **err)
{
  *output = NULL;
  for (const char *c = helper; *c; c++)
    if (*c == '/')
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "credential helper `%s`: bad name",
                                   helper);
  _cleanup_free_ char *prog = xasprintf ("docker-credential-%s", helper);
  int in[2], out[2];
  if (pipe2 (in, O_CLOEXEC) < 0)
    return berth_error_set (err, errno, "pipe");
  if (pipe2 (out, O_CLOEXEC) < 0)
    {
      close (in[0]);
      close (in[1]);
      return berth_error_set (err, errno, "pipe");
    }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2 (&fa, out[1], STDOUT_FILENO);
  char *argv[] = { prog, (char *)action, NULL };
  pid_t pid;
  int r = posix_spawnp (&pid, prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (in[0]);
  close (out[1]);
  _cleanup_close_ int wfd = in[1];
  _cleanup_close_ int rfd = out[0];
  if (r != 0)
    return berth_error_set (err, r, "credential helper %s", prog);
  /* Inputs are a few hundred bytes: well under a pipe buffer. */
  if (fs_write_all (wfd, input, strlen (input)) < 0 && errno != EPIPE)
    berth_log (BERTH_LOG_DEBUG, "%s %s: write stdin: %m", prog, action);
  close (steal_fd (&wfd));
  size_t cap = 4096, len = 0;
  char *buf = malloc (cap);
  if (buf == NULL)
    abort ();
  for (;;)
    {
      if (len + 1 >= cap)
        {
          if (cap >= HELPER_OUTPUT_MAX)
            break;
          cap *= 2;
          char *nb = realloc (buf, cap);
          if (nb == NULL)
            abort ();
          buf = nb;
        }
      ssize_t n = read (rfd, buf + len, cap - len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += (size_t)n;
    }
  buf[len] = '\0';
  int ws = 0;
  while (waitpid (pid, &ws, 0) < 0 && errno == EINTR)
    ;
  *status = WIFEXITED (ws) ? WEXITSTATUS (ws) : 128 + (WIFSIGNALED (ws) ? WTERMSIG (ws) : 0);
  *output = buf;
  return 0;
}

static char *
trim (char *s)
{
  size_t n = strlen (s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
    s[--n] = '\0';
  return s;
}

int
registry_credhelper_get (const char *helper, const char *server_url, struct registry_auth *out,
                         struct berth_error **err)
{
  _cleanup_free_ char *output = NULL;
  int status = 0;
  if (helper_run (helper, "get", server_url, &output, &status, err) < 0)
    return -1;
  if (status != 0)
    {
      /* docker-credential-helpers' ErrCredentialsNotFound */
      if (strstr (output, "credentials not found"))
        return 0;
      return berth_error_set_kind (err, BERTH_E_INTERNAL, 0,
                                   "credential helper docker-credential-%s get %s: exit %d: %s",
                                   helper, server_url, status, trim (output));
    }
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loads (output, 0, &jerr);
  const char *user = json_string_value (json_object_get (j, "Username"));
  const char *secret = json_string_value (json_object_get (j, "Secret"));
  if (!json_is_object (j) || secret == NULL)
    return berth_error_set_kind (err, BERTH_E_INTERNAL, 0,
                                 "credential helper docker-credential-%s get %s: not the "
                                 "helpers' JSON",
                                 helper, server_url);
  if (user && !strcmp (user, "<token>"))
    out->identity_token = xstrdup (secret);
  else
    {
      out->username = user && *user ? xstrdup (user) : NULL;
      out->password = *secret ? xstrdup (secret) : NULL;
    }
  out->server_address = xstrdup (server_url);
  return registry_auth_is_empty (out) ? 0 : 1;
}

int
registry_credhelper_store (const char *helper, const char *server_url,
                           const struct registry_auth *auth, struct berth_error **err)
{
  bool is_token = auth->identity_token != NULL;
  _cleanup_json_ json_t *j
      = json_pack ("{s:s,s:s,s:s}", "ServerURL", server_url, "Username",
                   is_token ? "<token>" : (auth->username ? auth->username : ""), "Secret",
                   is_token ? auth->identity_token : (auth->password ? auth->password : ""));
  _cleanup_free_ char *input = json_dumps (j, JSON_COMPACT);
  _cleanup_free_ char *output = NULL;
  int status = 0;
  int r = helper_run (helper, "store", input, &output, &status, err);
  explicit_bzero (input, strlen (input));
  if (r < 0)
    return -1;
  if (status != 0)
    return berth_error_set_kind (err, BERTH_E_INTERNAL, 0,
                                 "credential helper docker-credential-%s store %s: exit %d: %s",
                                 helper, server_url, status, trim (output));
  return 0;
}

int
registry_credhelper_erase (const char *helper, const char *server_url, struct berth_error **err)
{
  _cleanup_free_ char *output = NULL;
  int status = 0;
  if (helper_run (helper, "erase", server_url, &output, &status, err) < 0)
    return -1;
  if (status != 0 && !strstr (output, "credentials not found"))
    return berth_error_set_kind (err, BERTH_E_INTERNAL, 0,
                                 "credential helper docker-credential-%s erase %s: exit %d: %s",
                                 helper, server_url, status, trim (output));
  return 0;
}
