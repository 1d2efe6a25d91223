/* berth-runtime: the runc/crun command line over the runtime library, so
 * containerd, CRI-O and podman can drive berth unchanged. Parses flags,
 * calls runtime.h, prints, and turns errors into a message on stderr, a
 * JSON (or text) line in --log, and a non-zero exit. */
#include "cmd/berth-runtime.h"

#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

int
fail (struct berth_error *err, const char *cmd)
{
  const char *msg = err && err->msg ? err->msg : "unknown error";
  berth_log (BERTH_LOG_ERROR, "%s: %s", cmd, msg);
  fprintf (stderr, "berth-runtime %s: %s\n", cmd, msg);
  berth_error_free (err);
  return 1;
}

int
usage_error (const char *cmd, const char *fmt, const char *arg)
{
  struct berth_error *err = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  berth_error_set_kind (&err, BERTH_E_INVALID, 0, fmt, arg);
#pragma GCC diagnostic pop
  return fail (err, cmd);
}

void
reset_getopt (void)
{
  optind = 0;
}

int
print_json (json_t *j)
{
  char *s = json_dumps (j, JSON_INDENT (2));
  if (s == NULL)
    return 1;
  puts (s);
  free (s);
  return 0;
}

/* ----------------------------------------------------- simple commands -- */

static const char *
one_id (int argc, char **argv, const char *cmd, const struct option *longopts,
        const char *shortopts, int (*on_opt) (int, void *), void *data)
{
  int c;
  reset_getopt ();
  while ((c = getopt_long_only (argc, argv, shortopts, longopts, NULL)) != -1)
    if (on_opt == NULL || on_opt (c, data) < 0)
      {
        usage_error (cmd, "%s", "unknown flag");
        return NULL;
      }
  if (optind >= argc)
    {
      usage_error (cmd, "%s: missing container id", cmd);
      return NULL;
    }
  return argv[optind];
}

static int
opt_flag (int c, void *data)
{
  if (c == '?')
    return -1;
  *(int *)data = c;
  return 0;
}

static int
cmd_simple (struct globals *g, int argc, char **argv, const char *cmd)
{
  struct berth_error *err = NULL;
  static const struct option none[] = { { NULL, 0, NULL, 0 } };
  const char *id = one_id (argc, argv, cmd, none, "+", NULL, NULL);
  if (id == NULL)
    return 1;
  int r;
  if (strcmp (cmd, "start") == 0)
    r = runtime_container_start (&g->ctx, id, &err);
  else if (strcmp (cmd, "pause") == 0)
    r = runtime_container_pause (&g->ctx, id, &err);
  else if (strcmp (cmd, "resume") == 0)
    r = runtime_container_resume (&g->ctx, id, &err);
  else
    {
      json_t *st = runtime_container_state (&g->ctx, id, &err);
      if (st == NULL)
        return fail (err, cmd);
      print_json (st);
      json_decref (st);
      return 0;
    }
  return r < 0 ? fail (err, cmd) : 0;
}

static int
cmd_kill (struct globals *g, int argc, char **argv)
{
  static const struct option longopts[]
      = { { "all", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
  int flag = 0;
  const char *id = one_id (argc, argv, "kill", longopts, "+a", opt_flag, &flag);
  if (id == NULL)
    return 1;
  int signo = SIGTERM;
  if (optind + 1 < argc && runtime_signal_parse (argv[optind + 1], &signo) < 0)
    return usage_error ("kill", "unknown signal `%s`", argv[optind + 1]);
  struct berth_error *err = NULL;
  if (runtime_container_kill (&g->ctx, id, signo, flag == 'a', &err) < 0)
    return fail (err, "kill");
  return 0;
}

static int
cmd_delete (struct globals *g, int argc, char **argv)
{
  static const struct option longopts[]
      = { { "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  int flag = 0;
  const char *id = one_id (argc, argv, "delete", longopts, "+f", opt_flag, &flag);
  if (id == NULL)
    return 1;
  struct berth_error *err = NULL;
  if (runtime_container_delete (&g->ctx, id, flag == 'f', &err) < 0)
    {
      /* runc: deleting what does not exist with --force is not an error. */
      if (flag == 'f' && err && err->kind == BERTH_E_NOT_FOUND)
        {
          berth_error_free (err);
          return 0;
        }
      return fail (err, "delete");
    }
  return 0;
}

static int
cmd_ps (struct globals *g, int argc, char **argv)
{
  static const struct option longopts[]
      = { { "format", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  const char *format = "table";
  int c;
  reset_getopt ();
  while ((c = getopt_long_only (argc, argv, "+f:", longopts, NULL)) != -1)
    if (c == 'f')
      format = optarg;
    else
      return usage_error ("ps", "%s", "unknown flag");
  if (optind >= argc)
    return usage_error ("ps", "%s", "missing container id");
  struct berth_error *err = NULL;
  pid_t *pids = NULL;
  size_t n = 0;
  if (runtime_container_ps (&g->ctx, argv[optind], &pids, &n, &err) < 0)
    return fail (err, "ps");
  if (strcmp (format, "json") == 0)
    {
      json_t *a = json_array ();
      for (size_t i = 0; i < n; i++)
        json_array_append_new (a, json_integer (pids[i]));
      char *s = json_dumps (a, JSON_COMPACT);
      puts (s);
      free (s);
      json_decref (a);
    }
  else
    {
      printf ("PID\tCMD\n");
      for (size_t i = 0; i < n; i++)
        {
          char path[64], cmd[256] = "";
          snprintf (path, sizeof path, "/proc/%d/cmdline", pids[i]);
          int fd = open (path, O_RDONLY | O_CLOEXEC);
          if (fd >= 0)
            {
              ssize_t r = read (fd, cmd, sizeof cmd - 1);
              close (fd);
              for (ssize_t k = 0; k < r - 1; k++)
                if (cmd[k] == '\0')
                  cmd[k] = ' ';
              cmd[r > 0 ? r : 0] = '\0';
            }
          printf ("%d\t%s\n", pids[i], cmd);
        }
    }
  free (pids);
  return 0;
}

static int
cmd_list (struct globals *g, int argc, char **argv)
{
  static const struct option longopts[] = { { "format", required_argument, NULL, 'f' },
                                            { "quiet", no_argument, NULL, 'q' },
                                            { NULL, 0, NULL, 0 } };
  const char *format = "table";
  bool quiet = false;
  int c;
  reset_getopt ();
  while ((c = getopt_long_only (argc, argv, "+f:q", longopts, NULL)) != -1)
    if (c == 'f')
      format = optarg;
    else if (c == 'q')
      quiet = true;
    else
      return usage_error ("list", "%s", "unknown flag");
  struct berth_error *err = NULL;
  json_t *list = runtime_container_list (&g->ctx, &err);
  if (list == NULL)
    return fail (err, "list");
  if (strcmp (format, "json") == 0)
    {
      char *s = json_dumps (list, JSON_COMPACT);
      puts (s);
      free (s);
    }
  else
    {
      if (!quiet)
        printf ("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n");
      size_t i;
      json_t *e;
      json_array_foreach (list, i, e)
      {
        const char *id = json_string_value (json_object_get (e, "id"));
        if (quiet)
          printf ("%s\n", id);
        else
          printf ("%s\t%lld\t%s\t%s\t%s\t%s\n", id,
                  (long long)json_integer_value (json_object_get (e, "pid")),
                  json_string_value (json_object_get (e, "status")),
                  json_string_value (json_object_get (e, "bundle")),
                  json_string_value (json_object_get (e, "created")), "root");
      }
    }
  json_decref (list);
  return 0;
}

/* update: --resources FILE (or - for stdin) and runc's single-value flags,
 * merged into one linux.resources object. */
static int
cmd_update (struct globals *g, int argc, char **argv)
{
  enum
  {
    U_MEMORY = OPT_UPDATE_BASE,
    U_MEMORY_SWAP,
    U_MEMORY_RESERVATION,
    U_KERNEL_MEMORY,
    U_CPU_SHARES,
    U_CPU_QUOTA,
    U_CPU_PERIOD,
    U_CPU_RT_RUNTIME,
    U_CPU_RT_PERIOD,
    U_CPUSET_CPUS,
    U_CPUSET_MEMS,
    U_PIDS_LIMIT,
    U_BLKIO_WEIGHT,
  };
  static const struct option longopts[] = {
    { "resources", required_argument, NULL, 'r' },
    { "memory", required_argument, NULL, U_MEMORY },
    { "memory-swap", required_argument, NULL, U_MEMORY_SWAP },
    { "memory-reservation", required_argument, NULL, U_MEMORY_RESERVATION },
    { "kernel-memory", required_argument, NULL, U_KERNEL_MEMORY },
    { "kernel-memory-tcp", required_argument, NULL, OPT_IGNORED_ARG },
    { "cpu-shares", required_argument, NULL, U_CPU_SHARES },
    { "cpu-quota", required_argument, NULL, U_CPU_QUOTA },
    { "cpu-period", required_argument, NULL, U_CPU_PERIOD },
    { "cpu-rt-runtime", required_argument, NULL, U_CPU_RT_RUNTIME },
    { "cpu-rt-period", required_argument, NULL, U_CPU_RT_PERIOD },
    { "cpuset-cpus", required_argument, NULL, U_CPUSET_CPUS },
    { "cpuset-mems", required_argument, NULL, U_CPUSET_MEMS },
    { "pids-limit", required_argument, NULL, U_PIDS_LIMIT },
    { "blkio-weight", required_argument, NULL, U_BLKIO_WEIGHT },
    { NULL, 0, NULL, 0 },
  };
  struct berth_error *err = NULL;
  _cleanup_json_ json_t *res = NULL;
  _cleanup_json_ json_t *flags = json_object ();
  int c;
  reset_getopt ();
  while ((c = getopt_long_only (argc, argv, "+r:", longopts, NULL)) != -1)
    {
      if (c == 'r')
        {
          res = strcmp (optarg, "-") == 0 ? json_loadf (stdin, 0, NULL)
                                          : json_load_path (AT_FDCWD, optarg, &err);
          if (res == NULL)
            return err ? fail (err, "update")
                       : usage_error ("update", "--resources %s: bad JSON", optarg);
          continue;
        }
      if (c == OPT_IGNORED_ARG)
        continue;
      if (c < U_MEMORY || c > U_BLKIO_WEIGHT)
        return usage_error ("update", "%s", "unknown flag");
      static const char *const paths[][2] = {
        { "memory", "limit" },       { "memory", "swap" },
        { "memory", "reservation" }, { "memory", "kernel" },
        { "cpu", "shares" },         { "cpu", "quota" },
        { "cpu", "period" },         { "cpu", "realtimeRuntime" },
        { "cpu", "realtimePeriod" }, { "cpu", "cpus" },
        { "cpu", "mems" },           { "pids", "limit" },
        { "blockIO", "weight" },
      };
      const char *group = paths[c - U_MEMORY][0], *key = paths[c - U_MEMORY][1];
      json_t *obj = json_object_get (flags, group);
      if (obj == NULL)
        json_object_set_new (flags, group, obj = json_object ());
      if (c == U_CPUSET_CPUS || c == U_CPUSET_MEMS)
        json_object_set_new (obj, key, json_string (optarg));
      else
        {
          char *end;
          long long v = strtoll (optarg, &end, 10);
          if (*end)
            return usage_error ("update", "--%s: not a number", longopts[c - U_MEMORY + 1].name);
          json_object_set_new (obj, key, json_integer (v));
        }
    }
  if (optind >= argc)
    return usage_error ("update", "%s", "missing container id");
  if (res == NULL)
    res = json_object ();
  const char *k;
  json_t *v;
  json_object_foreach (flags, k, v)
  {
    json_t *dst = json_object_get (res, k);
    if (dst == NULL)
      json_object_set (res, k, v);
    else
      json_object_update (dst, v);
  }
  if (runtime_container_update (&g->ctx, argv[optind], res, &err) < 0)
    return fail (err, "update");
  return 0;
}

static int
cmd_spec (int argc, char **argv)
{
  static const struct option longopts[] = { { "bundle", required_argument, NULL, 'b' },
                                            { "rootless", no_argument, NULL, OPT_IGNORED },
                                            { NULL, 0, NULL, 0 } };
  const char *bundle = ".";
  int c;
  reset_getopt ();
  while ((c = getopt_long_only (argc, argv, "+b:", longopts, NULL)) != -1)
    if (c == 'b')
      bundle = optarg;
    else if (c != OPT_IGNORED)
      return usage_error ("spec", "%s", "unknown flag");
  _cleanup_free_ char *path = xasprintf ("%s/config.json", bundle);
  if (access (path, F_OK) == 0)
    return usage_error ("spec", "`%s` already exists", path);
  _cleanup_json_ json_t *j = runtime_spec_default ();
  if (json_dump_file (j, path, JSON_INDENT (2)) < 0)
    return usage_error ("spec", "write `%s` failed", path);
  return 0;
}

static void
help (void)
{
  puts (
      "usage: berth-runtime [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup]\n"
      "                     [--debug] COMMAND [OPTIONS] ID\n"
      "commands: create, start, state, kill, delete, run, exec, ps, pause, resume, update,\n"
      "          events, features, spec, list");
}

int
main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "root", required_argument, NULL, 'r' },
    { "log", required_argument, NULL, 'l' },
    { "log-format", required_argument, NULL, 'F' },
    { "systemd-cgroup", no_argument, NULL, 's' },
    { "debug", no_argument, NULL, 'D' },
    { "criu", required_argument, NULL, OPT_IGNORED_ARG },
    { "rootless", required_argument, NULL, OPT_IGNORED_ARG },
    { "version", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct globals g = { .argv = argv };
  int c;
  /* Nothing that shares a pid namespace with us may open /proc/<pid>/exe
   * or our memory (see needs_exe_protection). */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  while ((c = getopt_long_only (argc, argv, "+vh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'r':
        g.ctx.state_root = optarg;
        break;
      case 'l':
        g.log_path = optarg;
        break;
      case 'F':
        if (strcmp (optarg, "json") != 0 && strcmp (optarg, "text") != 0)
          return usage_error ("", "--log-format `%s`: use text or json", optarg);
        g.log_json = strcmp (optarg, "json") == 0;
        break;
      case 's':
        g.ctx.systemd_cgroup = true;
        break;
      case 'D':
        g.debug = true;
        break;
      case 'v':
        printf ("berth-runtime version %s\nspec: 1.2.0\n", BERTH_VERSION);
        return 0;
      case 'h':
        help ();
        return 0;
      case OPT_IGNORED_ARG:
        break;
      default:
        help ();
        return 1;
      }
  struct berth_error *err = NULL;
  if (runtime_log_open (g.log_path, g.log_json, g.debug, &err) < 0)
    return fail (err, "log");
  if (optind >= argc)
    {
      help ();
      return 1;
    }
  const char *cmd = argv[optind];
  int cargc = argc - optind;
  char **cargv = argv + optind;
  /* CVE-2019-5736: exec always puts a runtime-image process into a pid
   * namespace with the container's processes: run from a read-only view of
   * this binary (create and run decide in cmd_create_or_run). */
  if (strcmp (cmd, "exec") == 0 && runtime_exe_protect (argv, &err) < 0)
    return fail (err, cmd);

  if (strcmp (cmd, "create") == 0)
    return cmd_create_or_run (&g, cargc, cargv, false);
  if (strcmp (cmd, "run") == 0)
    return cmd_create_or_run (&g, cargc, cargv, true);
  if (strcmp (cmd, "exec") == 0)
    return cmd_exec (&g, cargc, cargv);
  if (strcmp (cmd, "start") == 0 || strcmp (cmd, "state") == 0 || strcmp (cmd, "pause") == 0
      || strcmp (cmd, "resume") == 0)
    return cmd_simple (&g, cargc, cargv, cmd);
  if (strcmp (cmd, "kill") == 0)
    return cmd_kill (&g, cargc, cargv);
  if (strcmp (cmd, "delete") == 0)
    return cmd_delete (&g, cargc, cargv);
  if (strcmp (cmd, "ps") == 0)
    return cmd_ps (&g, cargc, cargv);
  if (strcmp (cmd, "list") == 0)
    return cmd_list (&g, cargc, cargv);
  if (strcmp (cmd, "update") == 0)
    return cmd_update (&g, cargc, cargv);
  if (strcmp (cmd, "spec") == 0)
    return cmd_spec (cargc, cargv);
  if (strcmp (cmd, "events") == 0)
    return cmd_events (&g, cargc, cargv);
  if (strcmp (cmd, "features") == 0)
    {
      _cleanup_json_ json_t *f = runtime_features ();
      return print_json (f);
    }
  return usage_error (cmd, "unknown command `%s`", cmd);
}
