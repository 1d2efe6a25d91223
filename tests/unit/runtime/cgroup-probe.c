/* cgroup-probe: drives src/runtime/cgroup*.c on the real kernel for the
 * integration tests (tests/integration/runtime/test_cgroup_*.py). Not a
 * product binary. Each subcommand is one step the runtime takes:
 *
 *   cgroup-probe layout
 *   cgroup-probe run   --id ID [--path P] [--systemd] [--resources F] [--state F] -- CMD...
 *   cgroup-probe create --id ID [--path P] [--systemd] [--resources F] --state F
 *   cgroup-probe spawn --state F -- CMD...   (start CMD inside, print its pid, do not wait)
 *   cgroup-probe exec --state F -- CMD...    (run CMD inside, print "exit N" / "signal N")
 *   cgroup-probe freeze|thaw|is-frozen|pids|stats|destroy --state F
 *   cgroup-probe kill --state F --signal N
 *   cgroup-probe update --state F --resources F
 *   cgroup-probe v2-freeze|v2-thaw|v2-kill|v2-devices --state F [--resources F]
 *        (force the cgroup v2 code path on the unified dir, for hybrid hosts)
 *   cgroup-probe mount-into --state F [--ro]   (in a new mount namespace)
 *   cgroup-probe v2-mount-into|v2-bind-into --state F [--ro]
 *        (the pure-v2 cgroup mount: with a cgroup namespace / without) */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/cgroup-internal.h"

struct opts
{
  const char *id, *path, *resources, *state;
  bool systemd, readonly;
  int signo;
  char **cmd;
};

static int
fail (struct berth_error *err)
{
  fprintf (stderr, "cgroup-probe: %s\n", err ? err->msg : "failed");
  berth_error_free (err);
  return 1;
}

static json_t *
load_resources (const char *path, struct berth_error **err)
{
  if (path == NULL)
    return NULL;
  return json_load_path (AT_FDCWD, path, err);
}

static struct cgroup *
load_state (const struct opts *o, struct berth_error **err)
{
  if (o->state == NULL)
    return berth_error_set (err, EINVAL, "--state is required"), NULL;
  _cleanup_json_ json_t *j = json_load_path (AT_FDCWD, o->state, err);
  return j ? cgroup_from_json (j, err) : NULL;
}

static int
save_state (const struct opts *o, struct cgroup *cg, struct berth_error **err)
{
  if (o->state == NULL)
    return 0;
  _cleanup_json_ json_t *j = cgroup_to_json (cg);
  return json_dump_file (j, o->state, JSON_COMPACT) == 0
             ? 0
             : berth_error_set (err, errno, "write %s", o->state);
}

/* fork CMD stopped on a pipe, move it into the cgroup, then let it exec. */
static pid_t
spawn_in (struct cgroup *cg, char **cmd, bool detach_stdio, struct berth_error **err)
{
  int go[2];
  if (pipe2 (go, O_CLOEXEC) < 0)
    return berth_error_set (err, errno, "pipe"), -1;
  pid_t pid = fork ();
  if (pid < 0)
    return berth_error_set (err, errno, "fork"), -1;
  if (pid == 0)
    {
      char c;
      close (go[1]);
      if (read (go[0], &c, 1) != 1)
        _exit (126);
      if (detach_stdio)
        {
          /* A detached child must not hold the test's output pipes. */
          int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
          dup2 (null, 0), dup2 (null, 1), dup2 (null, 2);
        }
      execvp (cmd[0], cmd);
      fprintf (stderr, "exec %s: %s\n", cmd[0], strerror (errno));
      _exit (127);
    }
  close (go[0]);
  int rc = cgroup_enter (cg, pid, err);
  if (rc < 0)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      close (go[1]);
      return -1;
    }
  if (write (go[1], "x", 1) != 1)
    berth_error_set (err, errno, "release child");
  close (go[1]);
  return pid;
}

static int
cmd_run (const struct opts *o)
{
  struct berth_error *err = NULL;
  _cleanup_json_ json_t *res = load_resources (o->resources, &err);
  if (err)
    return fail (err);
  struct cgroup *cg = cgroup_create (o->id, o->path, o->systemd, res, &err);
  if (cg == NULL)
    return fail (err);
  save_state (o, cg, NULL);
  pid_t pid = spawn_in (cg, o->cmd, false, &err);
  int status = 0;
  if (pid > 0)
    waitpid (pid, &status, 0);
  json_t *stats = cgroup_stats (cg, NULL);
  json_t *out = json_pack (
      "{s:i,s:i,s:o*,s:o}", "exit", WIFEXITED (status) ? WEXITSTATUS (status) : -1, "signal",
      WIFSIGNALED (status) ? WTERMSIG (status) : 0, "stats", stats, "cgroup", cgroup_to_json (cg));
  int rc = pid > 0 ? 0 : 1;
  if (pid < 0)
    fprintf (stderr, "cgroup-probe: %s\n", err->msg), berth_error_freep (&err);
  if (cgroup_destroy (cg, &err) < 0)
    rc = fail (err), err = NULL;
  json_dumpf (out, stdout, JSON_COMPACT);
  putchar ('\n');
  json_decref (out);
  cgroup_free (cg);
  return rc;
}

static int
cmd_create (const struct opts *o)
{
  struct berth_error *err = NULL;
  _cleanup_json_ json_t *res = load_resources (o->resources, &err);
  if (err)
    return fail (err);
  struct cgroup *cg = cgroup_create (o->id, o->path, o->systemd, res, &err);
  if (cg == NULL)
    return fail (err);
  int rc = save_state (o, cg, &err) < 0 ? fail (err) : 0;
  cgroup_free (cg);
  return rc;
}

/* The handle limited to its v2 dir, so freeze/kill/devices take the v2
 * code path even where v1 drives those controllers. */
static struct cgroup *
only_v2 (struct cgroup *cg, struct berth_error **err)
{
  for (size_t i = 0; i < cg->n_dirs; i++)
    if (cg->dirs[i].is_v2)
      {
        struct cgroup *v2 = calloc (1, sizeof *v2);
        v2->layout = CGROUP_LAYOUT_V2;
        v2->dirs = calloc (1, sizeof *v2->dirs);
        v2->dirs[0] = (struct cgroup_dir){ .mountpoint = xstrdup (cg->dirs[i].mountpoint),
                                           .hier_name = xstrdup (cg->dirs[i].hier_name),
                                           .is_v2 = true,
                                           .controllers = CG_BIT (CG_FREEZER) | CG_BIT (CG_DEVICES),
                                           .path = xstrdup (cg->dirs[i].path) };
        v2->n_dirs = 1;
        return v2;
      }
  berth_error_set (err, ENOENT, "no cgroup v2 hierarchy on this host");
  return NULL;
}

static int
mount_into (struct cgroup *cg, bool readonly, struct berth_error **err)
{
  if (unshare (CLONE_NEWNS) < 0)
    return berth_error_set (err, errno, "unshare");
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return berth_error_set (err, errno, "make / private");
  char target[] = "/tmp/berth-cgmount-XXXXXX";
  if (mkdtemp (target) == NULL)
    return berth_error_set (err, errno, "mkdtemp");
  int fd = open (target, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int rc = cgroup_mount_into (cg, fd, readonly, err);
  close (fd);
  if (rc == 0)
    {
      /* Show the test what the container would see. */
      _cleanup_free_ char *cmd = xasprintf (
          "cd %s && for e in $(ls -A | sort); do if [ -L \"$e\" ]; then echo \"$e -> $(readlink "
          "\"$e\")\"; else echo \"$e\"; fi; done; echo ---; awk -v t=%s '$5 == t || index($5, t "
          "\"/\") "
          "== 1 { for (i = 7; i <= NF; i++) if ($i == \"-\") { print $4, $5, $6, $(i + 1); break } "
          "}' "
          "/proc/self/mountinfo; echo ---; for d in *; do [ -L \"$d\" ] && continue; if "
          "mkdir \"$d/probe-w\" 2>/dev/null; then rmdir \"$d/probe-w\"; echo \"$d rw\"; else "
          "echo \"$d ro\"; fi; done; echo ---; cat */cgroup.procs 2>/dev/null | sort -u | wc -l",
          target, target);
      rc = system (cmd) == 0 ? 0 : berth_error_set (err, EIO, "list %s", target);
    }
  umount2 (target, MNT_DETACH);
  rmdir (target);
  return rc;
}

/* The pure-v2 path of cgroup_mount_into on the cgroup2 mount: with a
 * cgroup namespace rooted at the container's cgroup (a fresh cgroup2
 * mount) or without one (a bind of the container's directory). */
static int
v2_mount_into (struct cgroup *v2, bool with_cgroupns, bool readonly, struct berth_error **err)
{
  if (with_cgroupns && (cgroup_enter (v2, getpid (), err) < 0 || unshare (CLONE_NEWCGROUP) < 0))
    return *err ? -1 : berth_error_set (err, errno, "unshare cgroupns");
  if (unshare (CLONE_NEWNS) < 0)
    return berth_error_set (err, errno, "unshare");
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return berth_error_set (err, errno, "make / private");
  char target[] = "/tmp/berth-cgmount-XXXXXX";
  if (mkdtemp (target) == NULL)
    return berth_error_set (err, errno, "mkdtemp");
  int fd = open (target, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int rc = cgroup_mount_into (v2, fd, readonly, err);
  close (fd);
  if (rc == 0)
    {
      _cleanup_free_ char *cmd = xasprintf (
          "awk -v t=%s '$5 == t { for (i = 7; i <= NF; i++) if ($i == \"-\") { print $4, $6, "
          "$(i + 1); break } }' /proc/self/mountinfo; test -e %s/cgroup.procs && echo has-procs; "
          "if mkdir %s/probe-w 2>/dev/null; then rmdir %s/probe-w; echo rw; else echo ro; fi",
          target, target, target, target);
      rc = system (cmd) == 0 ? 0 : berth_error_set (err, EIO, "list %s", target);
    }
  umount2 (target, MNT_DETACH);
  rmdir (target);
  return rc;
}

static int
cmd_on_state (const char *name, const struct opts *o)
{
  struct berth_error *err = NULL;
  struct cgroup *cg = load_state (o, &err);
  if (cg == NULL)
    return fail (err);
  int rc = 0;
  if (strcmp (name, "freeze") == 0 || strcmp (name, "thaw") == 0)
    rc = cgroup_freeze (cg, strcmp (name, "freeze") == 0, &err);
  else if (strcmp (name, "is-frozen") == 0)
    {
      bool frozen = false;
      rc = cgroup_is_frozen (cg, &frozen, &err);
      if (rc == 0)
        printf ("%s\n", frozen ? "paused" : "running");
    }
  else if (strcmp (name, "pids") == 0)
    {
      _cleanup_free_ pid_t *pids = NULL;
      size_t n = 0;
      rc = cgroup_pids (cg, &pids, &n, &err);
      for (size_t i = 0; rc == 0 && i < n; i++)
        printf ("%d\n", (int)pids[i]);
    }
  else if (strcmp (name, "kill") == 0)
    rc = cgroup_kill_all (cg, o->signo, &err);
  else if (strcmp (name, "stats") == 0)
    {
      json_t *s = cgroup_stats (cg, &err);
      rc = s ? 0 : -1;
      if (s)
        json_dumpf (s, stdout, JSON_COMPACT), putchar ('\n'), json_decref (s);
    }
  else if (strcmp (name, "update") == 0)
    {
      _cleanup_json_ json_t *res = load_resources (o->resources, &err);
      rc = err ? -1 : cgroup_update (cg, res, &err);
    }
  else if (strcmp (name, "destroy") == 0)
    rc = cgroup_destroy (cg, &err);
  else if (strcmp (name, "spawn") == 0)
    {
      pid_t pid = spawn_in (cg, o->cmd, true, &err);
      rc = pid > 0 ? 0 : -1;
      if (pid > 0)
        printf ("%d\n", (int)pid);
    }
  else if (strcmp (name, "exec") == 0)
    {
      fflush (stdout);
      pid_t pid = spawn_in (cg, o->cmd, false, &err);
      int status = 0;
      rc = pid > 0 ? 0 : -1;
      if (pid > 0 && waitpid (pid, &status, 0) == pid)
        printf ("%s %d\n", WIFSIGNALED (status) ? "signal" : "exit",
                WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
    }
  else if (strcmp (name, "mount-into") == 0)
    {
      fflush (stdout);
      rc = mount_into (cg, o->readonly, &err);
    }
  else if (str_has_prefix (name, "v2-"))
    {
      struct cgroup *v2 = only_v2 (cg, &err);
      if (v2 == NULL)
        rc = -1;
      else if (strcmp (name, "v2-freeze") == 0 || strcmp (name, "v2-thaw") == 0)
        rc = cgroup_freeze (v2, strcmp (name, "v2-freeze") == 0, &err);
      else if (strcmp (name, "v2-mount-into") == 0 || strcmp (name, "v2-bind-into") == 0)
        {
          fflush (stdout);
          rc = v2_mount_into (v2, strcmp (name, "v2-mount-into") == 0, o->readonly, &err);
        }
      else if (strcmp (name, "v2-kill") == 0)
        rc = cgroup_kill_all (v2, SIGKILL, &err);
      else if (strcmp (name, "v2-devices") == 0)
        {
          _cleanup_json_ json_t *res = load_resources (o->resources, &err);
          struct cgroup_resources r;
          rc = err ? -1 : cgroup_resources_parse (res, &r, &err);
          if (rc == 0)
            {
              int dfd = cgroup_dir_open (&v2->dirs[0], &err);
              rc = dfd < 0 ? -1 : cgroup_devices_bpf_apply (dfd, r.devices, r.n_devices, &err);
              if (dfd >= 0)
                close (dfd);
              cgroup_resources_clear (&r);
            }
        }
      else
        rc = berth_error_set (&err, EINVAL, "unknown command %s", name);
      cgroup_free (v2);
    }
  else
    rc = berth_error_set (&err, EINVAL, "unknown command %s", name);
  cgroup_free (cg);
  return rc < 0 ? fail (err) : 0;
}

static int
cmd_layout (void)
{
  struct berth_error *err = NULL;
  struct cgroup_hosts h;
  if (cgroup_hosts_detect (&h, &err) < 0)
    return fail (err);
  printf ("layout %s\n", cgroup_layout_name (h.layout));
  for (size_t i = 0; i < h.n_hiers; i++)
    {
      printf ("%s %s %s", h.hiers[i].is_v2 ? "v2" : "v1", h.hiers[i].name, h.hiers[i].mountpoint);
      for (int c = 0; c < CG_N_CONTROLLERS; c++)
        if (h.hiers[i].controllers & CG_BIT (c))
          printf (" %s", cgroup_controller_v1_name (c));
      putchar ('\n');
    }
  cgroup_hosts_clear (&h);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: cgroup-probe COMMAND [options] [-- CMD...]\n");
      return 2;
    }
  const char *name = argv[1];
  struct opts o = { .signo = SIGTERM };
  static const struct option longopts[]
      = { { "id", required_argument, NULL, 'i' },        { "path", required_argument, NULL, 'p' },
          { "resources", required_argument, NULL, 'r' }, { "state", required_argument, NULL, 's' },
          { "systemd", no_argument, NULL, 'S' },         { "ro", no_argument, NULL, 'R' },
          { "signal", required_argument, NULL, 'k' },    { NULL, 0, NULL, 0 } };
  int c;
  optind = 2;
  while ((c = getopt_long (argc, argv, "+", longopts, NULL)) != -1)
    switch (c)
      {
      case 'i':
        o.id = optarg;
        break;
      case 'p':
        o.path = optarg;
        break;
      case 'r':
        o.resources = optarg;
        break;
      case 's':
        o.state = optarg;
        break;
      case 'S':
        o.systemd = true;
        break;
      case 'R':
        o.readonly = true;
        break;
      case 'k':
        o.signo = atoi (optarg);
        break;
      default:
        return 2;
      }
  o.cmd = argv + optind;
  berth_log_configure (2, false, BERTH_LOG_WARNING);
  if (strcmp (name, "layout") == 0)
    return cmd_layout ();
  if (strcmp (name, "run") == 0)
    return o.cmd[0] ? cmd_run (&o) : 2;
  if (strcmp (name, "create") == 0)
    return cmd_create (&o);
  return cmd_on_state (name, &o);
}
