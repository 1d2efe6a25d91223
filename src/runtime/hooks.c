/* OCI hooks: parsing the six kinds, and running one kind in order with the
 * container state JSON on stdin, each under its timeout. A failing hook
 * reports its exit status and the tail of its output. */
#include "runtime/runtime-internal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

static const char *const hook_names[HOOK_KIND_COUNT] = {
  "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

const char *
hook_kind_name (enum hook_kind kind)
{
  return hook_names[kind];
}

static int
strv_from_json (const json_t *a, const char *where, char ***out, struct berth_error **err)
{
  *out = NULL;
  if (a == NULL || json_is_null (a))
    return 0;
  if (!json_is_array (a))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: must be an array", where);
  char **v = calloc (json_array_size (a) + 1, sizeof *v);
  if (v == NULL)
    abort ();
  size_t i;
  json_t *e;
  json_array_foreach (a, i, e)
  {
    if (!json_is_string (e))
      {
        strv_freep (&v);
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s[%zu]: must be a string", where,
                                     i);
      }
    v[i] = xstrdup (json_string_value (e));
  }
  *out = v;
  return 0;
}

int
hooks_parse (const json_t *hooks, struct spec *s, struct berth_error **err)
{
  if (!json_is_object (hooks))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "hooks: must be an object");
  for (int k = 0; k < HOOK_KIND_COUNT; k++)
    {
      json_t *list = json_object_get (hooks, hook_names[k]);
      if (list == NULL || json_is_null (list))
        continue;
      if (!json_is_array (list))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "hooks.%s: must be an array",
                                     hook_names[k]);
      s->hooks[k] = calloc (json_array_size (list) + 1, sizeof *s->hooks[k]);
      if (s->hooks[k] == NULL)
        abort ();
      size_t i;
      json_t *e;
      json_array_foreach (list, i, e)
      {
        _cleanup_free_ char *where = xasprintf ("hooks.%s[%zu]", hook_names[k], i);
        struct spec_hook *h = &s->hooks[k][s->n_hooks[k]++];
        const char *path = json_string_value (json_object_get (e, "path"));
        if (path == NULL || path[0] != '/')
          return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s.path: must be an absolute path",
                                       where);
        h->path = xstrdup (path);
        _cleanup_free_ char *wa = xasprintf ("%s.args", where);
        _cleanup_free_ char *we = xasprintf ("%s.env", where);
        if (strv_from_json (json_object_get (e, "args"), wa, &h->args, err) < 0
            || strv_from_json (json_object_get (e, "env"), we, &h->env, err) < 0)
          return -1;
        json_t *t = json_object_get (e, "timeout");
        if (t && !json_is_null (t))
          {
            if (!json_is_integer (t) || json_integer_value (t) <= 0
                || json_integer_value (t) > 86400)
              return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                           "%s.timeout: must be a positive number of seconds",
                                           where);
            h->timeout_s = (int)json_integer_value (t);
          }
      }
    }
  return 0;
}

static int
hook_run_one (const struct spec_hook *h, const char *kind, size_t idx, const char *state_json,
              struct berth_error **err)
{
  int in[2], out[2];
  /* A socket for stdin so a hook that does not read it cannot SIGPIPE us. */
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
    return berth_error_set (err, errno, "hook %s[%zu]: socketpair", kind, idx);
  if (pipe2 (out, O_CLOEXEC) < 0)
    {
      close (in[0]);
      close (in[1]);
      return berth_error_set (err, errno, "hook %s[%zu]: pipe", kind, idx);
    }
  pid_t pid = fork ();
  if (pid < 0)
    {
      int saved = errno;
      close (in[0]), close (in[1]), close (out[0]), close (out[1]);
      return berth_error_set (err, saved, "hook %s[%zu]: fork", kind, idx);
    }
  if (pid == 0)
    {
      dup2 (in[1], 0);
      dup2 (out[1], 1);
      dup2 (out[1], 2);
      shutdown (0, SHUT_WR);
      char *const fallback[] = { h->path, NULL };
      char *const empty_env[] = { NULL };
      execve (h->path, h->args && h->args[0] ? h->args : fallback, h->env ? h->env : empty_env);
      dprintf (2, "exec %s: %s", h->path, strerror (errno));
      _exit (127);
    }
  close (in[1]);
  close (out[1]);
  _cleanup_close_ int sin = in[0];
  _cleanup_close_ int sout = out[0];
  _cleanup_close_ int pidfd = (int)syscall (SYS_pidfd_open, pid, 0);

  send (sin, state_json, strlen (state_json), MSG_NOSIGNAL);
  shutdown (sin, SHUT_WR);

  char output[2048];
  size_t used = 0;
  struct timespec start;
  clock_gettime (CLOCK_MONOTONIC, &start);
  bool timed_out = false, out_open = true;
  int status = 0;
  for (;;)
    {
      struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = sout, .events = POLLIN } };
      int timeout_ms = -1;
      if (h->timeout_s > 0)
        {
          struct timespec now;
          clock_gettime (CLOCK_MONOTONIC, &now);
          long elapsed
              = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
          timeout_ms = (int)((long)h->timeout_s * 1000 - elapsed);
          if (timeout_ms <= 0)
            {
              timed_out = true;
              kill (pid, SIGKILL);
              break;
            }
        }
      int n = poll (p, out_open ? 2 : 1, timeout_ms);
      if (n < 0 && errno == EINTR)
        continue;
      if (out_open && (p[1].revents & (POLLIN | POLLHUP)))
        {
          char buf[512];
          ssize_t r = read (sout, buf, sizeof buf);
          if (r <= 0)
            out_open = false;
          else
            {
              size_t take = (size_t)r;
              if (take > sizeof output - 1 - used)
                take = sizeof output - 1 - used;
              memcpy (output + used, buf, take);
              used += take;
            }
        }
      if (p[0].revents & POLLIN)
        break;
    }
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  output[used] = '\0';
  while (used > 0 && (output[used - 1] == '\n'))
    output[--used] = '\0';
  if (timed_out)
    return berth_error_set (err, ETIMEDOUT, "hook %s[%zu] `%s`: timed out after %d s", kind, idx,
                            h->path, h->timeout_s);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  if (WIFSIGNALED (status))
    return berth_error_set (err, 0, "hook %s[%zu] `%s`: killed by signal %d%s%s", kind, idx,
                            h->path, WTERMSIG (status), used ? ": " : "", output);
  return berth_error_set (err, 0, "hook %s[%zu] `%s`: exited with status %d%s%s", kind, idx,
                          h->path, WEXITSTATUS (status), used ? ": " : "", output);
}

int
hooks_run (const struct spec *s, enum hook_kind kind, const char *state_json,
           struct berth_error **err)
{
  for (size_t i = 0; i < s->n_hooks[kind]; i++)
    if (hook_run_one (&s->hooks[kind][i], hook_names[kind], i, state_json, err) < 0)
      return -1;
  return 0;
}

void
hooks_run_warn (const struct spec *s, enum hook_kind kind, const char *state_json)
{
  for (size_t i = 0; i < s->n_hooks[kind]; i++)
    {
      struct berth_error *err = NULL;
      if (hook_run_one (&s->hooks[kind][i], hook_names[kind], i, state_json, &err) < 0)
        berth_log (BERTH_LOG_WARNING, "%s", err->msg);
      berth_error_free (err);
    }
}
