/* What a container process does to itself right before execve, shared by
 * the init and exec: identity (groups, gid, uid, capabilities, umask), a
 * cwd resolved inside the container and never through a magic link
 * (CVE-2024-21626), the executable looked up in the container's PATH
 * (refusing /proc/self/exe and friends, CVE-2019-5736), and fds closed. */
#include "runtime/runtime-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int
process_apply_identity (const struct spec_process *p, struct berth_error **err)
{
  /* While CAP_SYS_NICE is still there (SCHED_FIFO, negative nice). */
  if (process_apply_scheduler (p, err) < 0)
    return -1;
  if (setgroups (p->n_additional_gids, p->additional_gids) < 0
      && !(errno == EPERM && p->n_additional_gids == 0))
    return berth_error_set (err, errno, "setgroups (process.user.additionalGids)");
  if (p->caps.present && caps_apply_bounding (&p->caps, err) < 0)
    return -1;
  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return berth_error_set (err, errno, "prctl PR_SET_KEEPCAPS");
  if (setresgid (p->gid, p->gid, p->gid) < 0)
    return berth_error_set (err, errno, "setresgid %u (process.user.gid)", p->gid);
  if (setresuid (p->uid, p->uid, p->uid) < 0)
    return berth_error_set (err, errno, "setresuid %u (process.user.uid)", p->uid);
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return berth_error_set (err, errno, "prctl PR_SET_KEEPCAPS");
  if (p->caps.present && caps_apply (&p->caps, err) < 0)
    return -1;
  umask (p->has_umask ? p->umask : 0022);
  /* ioprio_set(IOPRIO_WHO_PROCESS, self): before the uid change would be
   * friendlier for RT, but the kernel checks CAP_SYS_ADMIN/NICE either way. */
  if (p->has_io_priority && syscall (SYS_ioprio_set, 1, 0, p->io_priority) < 0)
    return berth_error_set (err, errno, "process.ioPriority");
  return 0;
}

int
process_chdir (const struct spec_process *p, struct berth_error **err)
{
  _cleanup_close_ int root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return berth_error_set (err, errno, "open /");
  /* RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: a cwd of /proc/self/fd/N can
   * never reach a directory fd inherited from the host. */
  _cleanup_close_ int fd = fs_open_in_root (root, p->cwd, O_PATH | O_DIRECTORY, 0, err);
  if (fd < 0)
    return berth_error_prefix (err, "process.cwd `%s`", p->cwd);
  if (fchdir (fd) < 0)
    return berth_error_set (err, errno, "chdir to process.cwd `%s`", p->cwd);
  /* glibc's getcwd fails with ENOENT when the cwd is not below the root
   * ("(unreachable)"): a cwd outside the container is an error. */
  char buf[4096];
  if (getcwd (buf, sizeof buf) == NULL)
    return berth_error_set (err, errno, "process.cwd `%s` is outside the container", p->cwd);
  return 0;
}

static bool
is_executable_file (int rootfd, const char *path)
{
  _cleanup_close_ int fd = fs_open_in_root (rootfd, path, O_PATH, 0, NULL);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    return false;
  return faccessat (fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) == 0;
}

char *
process_find_executable (const struct spec_process *p, struct berth_error **err)
{
  const char *name = p->args[0];
  _cleanup_close_ int root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return berth_error_set (err, errno, "open /"), NULL;
  if (strchr (name, '/'))
    {
      _cleanup_free_ char *abs
          = name[0] == '/' ? xstrdup (name) : xasprintf ("%s/%s", p->cwd, name);
      if (!is_executable_file (root, abs))
        return berth_error_set_kind (err, BERTH_E_NOT_FOUND, ENOENT, "exec: \"%s\"", name), NULL;
      return xstrdup (name);
    }
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char **e = p->env; e && *e; e++)
    if (str_has_prefix (*e, "PATH="))
      path = *e + 5;
  _cleanup_strv_ char **dirs = strv_split (path, ':');
  for (char **d = dirs; d && *d; d++)
    {
      _cleanup_free_ char *cand = xasprintf ("%s/%s", (*d)[0] ? *d : ".", name);
      if (is_executable_file (root, cand))
        return steal_pointer (&cand);
    }
  /* runc's wording: containerd and docker match on it (exit code 127). */
  berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0,
                        "exec: \"%s\": executable file not found in $PATH", name);
  return NULL;
}

int
process_close_fds (unsigned int preserve_fds, struct berth_error **err)
{
  for (unsigned int fd = 3; fd < 3 + preserve_fds; fd++)
    {
      int flags = fcntl ((int)fd, F_GETFD);
      if (flags >= 0)
        fcntl ((int)fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
  /* Everything else closes at execve: no fd of the runtime reaches the
   * container (CVE-2024-21626). */
  if (syscall (SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return berth_error_set (err, errno, "close_range");
  return 0;
}

int
process_send_seccomp_listener (const struct spec *s, int listener_sock, int listener_fd,
                               const char *state_json, struct berth_error **err)
{
  /* runc's containerProcessState: the agent gets the state and the fd. */
  _cleanup_json_ json_t *state = json_loads (state_json, 0, NULL);
  _cleanup_json_ json_t *msg = json_pack (
      "{s:s,s:[s],s:i,s:s,s:O}", "ociVersion", "1.2.0", "fds", "seccompFd", "pid", (int)getpid (),
      "metadata", s->seccomp_listener_metadata ?: "", "state", state ? state : json_null ());
  _cleanup_free_ char *text = json_dumps (msg, JSON_COMPACT);
  if (text == NULL || unix_send_fds (listener_sock, text, strlen (text), &listener_fd, 1) < 0)
    return berth_error_set (err, errno, "send the seccomp listener fd to `%s`",
                            s->seccomp_listener_path);
  return 0;
}

/* runc sets HOME from the container's /etc/passwd when the config does not
 * (Docker images rely on it); "/" when the user has no entry. */
char **
process_env_with_home (const struct spec_process *p)
{
  char **env = strv_dup (p->env ? p->env : (char *[]){ NULL });
  for (char **e = env; *e; e++)
    if (str_has_prefix (*e, "HOME="))
      return env;
  _cleanup_free_ char *home = NULL;
  _cleanup_close_ int root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int fd
      = root >= 0 ? fs_open_in_root (root, "/etc/passwd", O_RDONLY, 0, NULL) : -1;
  _cleanup_fclose_ FILE *f = fd >= 0 ? fdopen (fd, "r") : NULL;
  if (f)
    fd = -1; /* the FILE owns it now */
  char line[1024];
  while (f && home == NULL && fgets (line, sizeof line, f))
    {
      /* name:password:uid:gid:gecos:home:shell */
      _cleanup_strv_ char **fields = strv_split (line, ':');
      if (strv_len (fields) >= 6 && strtoul (fields[2], NULL, 10) == p->uid && fields[2][0])
        home = xstrdup (fields[5]);
    }
  _cleanup_free_ char *entry = xasprintf ("HOME=%s", home && home[0] ? home : "/");
  strv_append (&env, entry);
  return env;
}

bool
process_is_multithreaded (void)
{
  /* /proc/self/task has one entry per thread. */
  _cleanup_closedir_ DIR *d = opendir ("/proc/self/task");
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir (d)))
    if (e->d_name[0] != '.' && ++n > 1)
      return true;
  return false;
}
