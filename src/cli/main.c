/* berth cli: the entry point: global flags (-H, --context, --tls*), the
 * command table with docker's management forms (`container ls` = `ps`),
 * usage errors and --help as docker prints them. Nothing but argv parsing
 * happens before a command runs; the daemon connection is made on first
 * use. */
#include "cli/cli.h"
#include "cli/cli-internal.h"

#include <signal.h>
#include <string.h>

const struct cli_opt cli_no_opts[] = { { NULL, 0, 0, NULL, NULL } };

/* name, aliases (comma separated), function, usage, summary, options,
 * interspersed, min args, max args */
const struct cli_command cli_commands[] = {
  { "run", "container run", cmd_run, "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    "Create and run a new container from an image", cli_run_opts, false, 1, -1 },
  { "create", "container create", cmd_create, "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    "Create a new container", cli_create_opts, false, 1, -1 },
  { "start", "container start", cmd_start, "[OPTIONS] CONTAINER [CONTAINER...]",
    "Start one or more stopped containers", cli_start_opts, true, 1, -1 },
  { "attach", "container attach", cmd_attach, "[OPTIONS] CONTAINER",
    "Attach local standard input, output, and error streams to a running container",
    cli_attach_opts, true, 1, 1 },
  { "exec", "container exec", cmd_exec, "[OPTIONS] CONTAINER COMMAND [ARG...]",
    "Execute a command in a running container", cli_exec_opts, false, 2, -1 },
  { "stop", "container stop", cmd_stop, "[OPTIONS] CONTAINER [CONTAINER...]",
    "Stop one or more running containers", cli_stop_opts, true, 1, -1 },
  { "restart", "container restart", cmd_restart, "[OPTIONS] CONTAINER [CONTAINER...]",
    "Restart one or more containers", cli_restart_opts, true, 1, -1 },
  { "kill", "container kill", cmd_kill, "[OPTIONS] CONTAINER [CONTAINER...]",
    "Kill one or more running containers", cli_kill_opts, true, 1, -1 },
  { "rm", "container rm,container remove", cmd_rm, "[OPTIONS] CONTAINER [CONTAINER...]",
    "Remove one or more containers", cli_rm_opts, true, 1, -1 },
  { "ps", "container ls,container ps,container list", cmd_ps, "[OPTIONS]", "List containers",
    cli_ps_opts, true, 0, 0 },
  { "logs", "container logs", cmd_logs, "[OPTIONS] CONTAINER", "Fetch the logs of a container",
    cli_logs_opts, true, 1, 1 },
  { "inspect", NULL, cmd_inspect, "[OPTIONS] NAME|ID [NAME|ID...]",
    "Return low-level information on Docker objects", cli_inspect_opts, true, 1, -1 },
  { "container inspect", NULL, cmd_container_inspect, "[OPTIONS] CONTAINER [CONTAINER...]",
    "Display detailed information on one or more containers", cli_inspect_opts, true, 1, -1 },
  { "top", "container top", cmd_top, "CONTAINER [ps OPTIONS]",
    "Display the running processes of a container", cli_top_opts, false, 1, -1 },
  { "stats", "container stats", cmd_stats, "[OPTIONS] [CONTAINER...]",
    "Display a live stream of container(s) resource usage statistics", cli_stats_opts, true, 0, -1 },
  { "wait", "container wait", cmd_wait, "CONTAINER [CONTAINER...]",
    "Block until one or more containers stop, then print their exit codes", cli_no_opts, true, 1, -1 },
  { "pause", "container pause", cmd_pause, "CONTAINER [CONTAINER...]",
    "Pause all processes within one or more containers", cli_no_opts, true, 1, -1 },
  { "unpause", "container unpause", cmd_unpause, "CONTAINER [CONTAINER...]",
    "Unpause all processes within one or more containers", cli_no_opts, true, 1, -1 },
  { "rename", "container rename", cmd_rename, "CONTAINER NEW_NAME", "Rename a container",
    cli_no_opts, true, 2, 2 },
  { "update", "container update", cmd_update, "[OPTIONS] CONTAINER [CONTAINER...]",
    "Update configuration of one or more containers", cli_update_opts, true, 1, -1 },
  { "port", "container port", cmd_port, "CONTAINER [PRIVATE_PORT[/PROTO]]",
    "List port mappings or a specific mapping for the container", cli_no_opts, true, 1, 2 },
  { "diff", "container diff", cmd_diff, "CONTAINER",
    "Inspect changes to files or directories on a container's filesystem", cli_no_opts, true, 1, 1 },
  { "cp", "container cp", cmd_cp, "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
    "Copy files/folders between a container and the local filesystem", cli_cp_opts, true, 2, 2 },
  { "commit", "container commit", cmd_commit, "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
    "Create a new image from a container's changes", cli_commit_opts, true, 1, 2 },
  { "export", "container export", cmd_export, "[OPTIONS] CONTAINER",
    "Export a container's filesystem as a tar archive", cli_export_opts, true, 1, 1 },
  { "container prune", NULL, cmd_container_prune, "[OPTIONS]", "Remove all stopped containers",
    cli_prune_opts, true, 0, 0 },
  { "pull", "image pull", cmd_pull, "[OPTIONS] NAME[:TAG|@DIGEST]",
    "Download an image from a registry", cli_pull_opts, true, 1, 1 },
  { "push", "image push", cmd_push, "[OPTIONS] NAME[:TAG]", "Upload an image to a registry",
    cli_push_opts, true, 1, 1 },
  { "images", "image ls,image list", cmd_images, "[OPTIONS] [REPOSITORY[:TAG]]", "List images",
    cli_images_opts, true, 0, 1 },
  { "rmi", "image rm,image remove", cmd_rmi, "[OPTIONS] IMAGE [IMAGE...]",
    "Remove one or more images", cli_rmi_opts, true, 1, -1 },
  { "tag", "image tag", cmd_tag, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", cli_no_opts, true, 2, 2 },
  { "save", "image save", cmd_save, "[OPTIONS] IMAGE [IMAGE...]",
    "Save one or more images to a tar archive (streamed to STDOUT by default)", cli_save_opts, true, 1, -1 },
  { "load", "image load", cmd_load, "[OPTIONS]", "Load an image from a tar archive or STDIN",
    cli_load_opts, true, 0, 0 },
  { "import", "image import", cmd_import, "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    "Import the contents from a tarball to create a filesystem image", cli_import_opts, true, 1, 2 },
  { "build", "image build,builder build", cmd_build, "[OPTIONS] PATH | -",
    "Build an image from a Dockerfile", cli_build_opts, true, 1, 1 },
  { "builder prune", NULL, cmd_builder_prune, "[OPTIONS]", "Remove build cache",
    cli_builder_prune_opts, true, 0, 0 },
  { "history", "image history", cmd_history, "[OPTIONS] IMAGE", "Show the history of an image",
    cli_history_opts, true, 1, 1 },
  { "image inspect", NULL, cmd_image_inspect, "[OPTIONS] IMAGE [IMAGE...]",
    "Display detailed information on one or more images", cli_inspect_opts, true, 1, -1 },
  { "image prune", NULL, cmd_image_prune, "[OPTIONS]", "Remove unused images",
    cli_image_prune_opts, true, 0, 0 },
  { "login", NULL, cmd_login, "[OPTIONS] [SERVER]", "Authenticate to a registry", cli_login_opts,
    true, 0, 1 },
  { "logout", NULL, cmd_logout, "[SERVER]", "Log out from a registry", cli_no_opts, true, 0, 1 },
  { "search", NULL, cmd_search, "[OPTIONS] TERM", "Search Docker Hub for images", cli_search_opts,
    true, 1, 1 },
  { "version", NULL, cmd_version, "[OPTIONS]", "Show the berth version information",
    cli_version_opts, true, 0, 0 },
  { "info", "system info", cmd_info, "[OPTIONS]", "Display system-wide information",
    cli_info_opts, true, 0, 0 },
  { "events", "system events", cmd_events, "[OPTIONS]", "Get real time events from the server",
    cli_events_opts, true, 0, 0 },
  { "system df", NULL, cmd_system_df, "[OPTIONS]", "Show docker disk usage", cli_df_opts, true, 0, 0 },
  { "system prune", NULL, cmd_system_prune, "[OPTIONS]", "Remove unused data",
    cli_system_prune_opts, true, 0, 0 },
  { "system check", NULL, cmd_system_check, "[OPTIONS]",
    "Verify the image store: every blob's digest, every layer's files (berth)",
    cli_system_check_opts, true, 0, 0 },
  { "system dial-stdio", NULL, cmd_dial_stdio, "",
    "Proxy the stdio stream to the daemon connection", cli_no_opts, true, 0, 0 },
  { "volume create", NULL, cmd_volume_create, "[OPTIONS] [VOLUME]", "Create a volume",
    cli_volume_create_opts, true, 0, 1 },
  { "volume ls", "volume list", cmd_volume_ls, "[OPTIONS]", "List volumes", cli_volume_ls_opts,
    true, 0, 0 },
  { "volume inspect", NULL, cmd_volume_inspect, "[OPTIONS] VOLUME [VOLUME...]",
    "Display detailed information on one or more volumes", cli_format_opts, true, 1, -1 },
  { "volume rm", "volume remove", cmd_volume_rm, "[OPTIONS] VOLUME [VOLUME...]",
    "Remove one or more volumes", cli_volume_rm_opts, true, 1, -1 },
  { "volume prune", NULL, cmd_volume_prune, "[OPTIONS]", "Remove unused local volumes",
    cli_prune_opts, true, 0, 0 },
  { "network create", NULL, cmd_network_create, "[OPTIONS] NETWORK", "Create a network",
    cli_network_create_opts, true, 1, 1 },
  { "network ls", "network list", cmd_network_ls, "[OPTIONS]", "List networks",
    cli_network_ls_opts, true, 0, 0 },
  { "network inspect", NULL, cmd_network_inspect, "[OPTIONS] NETWORK [NETWORK...]",
    "Display detailed information on one or more networks", cli_format_opts, true, 1, -1 },
  { "network rm", "network remove", cmd_network_rm, "NETWORK [NETWORK...]",
    "Remove one or more networks", cli_network_rm_opts, true, 1, -1 },
  { "network connect", NULL, cmd_network_connect, "[OPTIONS] NETWORK CONTAINER",
    "Connect a container to a network", cli_network_connect_opts, true, 2, 2 },
  { "network disconnect", NULL, cmd_network_disconnect, "[OPTIONS] NETWORK CONTAINER",
    "Disconnect a container from a network", cli_network_rm_opts, true, 2, 2 },
  { "network prune", NULL, cmd_network_prune, "[OPTIONS]", "Remove all unused networks",
    cli_prune_opts, true, 0, 0 },
  { "context create", NULL, cmd_context_create, "[OPTIONS] CONTEXT", "Create a context",
    cli_context_create_opts, true, 1, 1 },
  { "context ls", "context list", cmd_context_ls, "[OPTIONS]", "List contexts",
    cli_context_ls_opts, true, 0, 0 },
  { "context use", NULL, cmd_context_use, "CONTEXT", "Set the current berth context",
    cli_no_opts, true, 1, 1 },
  { "context rm", "context remove", cmd_context_rm, "CONTEXT [CONTEXT...]",
    "Remove one or more contexts", cli_context_rm_opts, true, 1, -1 },
  { "context inspect", NULL, cmd_context_inspect, "[OPTIONS] [CONTEXT] [CONTEXT...]",
    "Display detailed information on one or more contexts", cli_format_opts, true, 0, -1 },
  { NULL, NULL, NULL, NULL, NULL, NULL, false, 0, 0 },
};

static const char *const groups[] = { "container", "image", "volume", "network", "system",
                                       "context", "builder", NULL };

static bool
name_matches (const struct cli_command *c, const char *name)
{
  if (strcmp (c->name, name) == 0)
    return true;
  if (c->alias == NULL)
    return false;
  _cleanup_strv_ char **al = strv_split (c->alias, ',');
  return strv_contains (al, name);
}

const struct cli_command *
cli_command_find (const char *name)
{
  for (const struct cli_command *c = cli_commands; c->name; c++)
    if (name_matches (c, name))
      return c;
  return NULL;
}

static void
print_usage_line (FILE *f, const struct cli_command *cmd)
{
  fprintf (f, "Usage:  berth %s %s\n", cmd->name, cmd->usage);
}

static void
print_help (const struct cli_command *cmd)
{
  FILE *f = stdout;
  print_usage_line (f, cmd);
  fprintf (f, "\n%s\n", cmd->summary);
  if (cmd->alias)
    {
      _cleanup_strv_ char **al = strv_split (cmd->alias, ',');
      fprintf (f, "\nAliases:\n  ");
      for (size_t i = 0; al[i]; i++)
        fprintf (f, "berth %s, ", al[i]);
      fprintf (f, "berth %s\n", cmd->name);
    }
  cli_opts_print_help (f, cmd->opts);
}

int
cli_cmd_parse (struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv,
               struct cli_args *a, int *exit_code)
{
  _cleanup_error_ struct berth_error *err = NULL;
  if (cli_args_parse (cmd->opts, argc, argv, cmd->interspersed, a, &err) < 0)
    {
      fprintf (stderr, "%s\n\n", err->msg);
      print_usage_line (stderr, cmd);
      fprintf (stderr, "\nRun 'berth %s --help' for more information\n", cmd->name);
      *exit_code = 125;
      return -1;
    }
  if (a->want_help)
    {
      print_help (cmd);
      *exit_code = 0;
      return -1;
    }
  const char *problem = NULL;
  char buf[128];
  if ((int) a->n_pos < cmd->min_args)
    {
      if (cmd->min_args == 1 && cmd->max_args != 1)
        problem = "requires at least 1 argument";
      else if (cmd->min_args == cmd->max_args)
        {
          snprintf (buf, sizeof buf, "requires exactly %d argument%s", cmd->min_args,
                    cmd->min_args == 1 ? "" : "s");
          problem = buf;
        }
      else
        {
          snprintf (buf, sizeof buf, "requires at least %d arguments", cmd->min_args);
          problem = buf;
        }
    }
  else if (cmd->max_args >= 0 && (int) a->n_pos > cmd->max_args)
    {
      if (cmd->max_args == 0)
        problem = "accepts no arguments";
      else if (cmd->min_args == cmd->max_args)
        {
          snprintf (buf, sizeof buf, "requires exactly %d argument%s", cmd->min_args,
                    cmd->min_args == 1 ? "" : "s");
          problem = buf;
        }
      else
        {
          snprintf (buf, sizeof buf, "accepts at most %d argument%s", cmd->max_args,
                    cmd->max_args == 1 ? "" : "s");
          problem = buf;
        }
    }
  if (problem)
    {
      fprintf (stderr, "berth: 'berth %s' %s\n\n", cmd->name, problem);
      print_usage_line (stderr, cmd);
      fprintf (stderr, "\nSee 'berth %s --help' for more information\n", cmd->name);
      *exit_code = 1;
      cli_args_free (a);
      return -1;
    }
  return 0;
}

int
cli_fail (struct berth_error *err, int code)
{
  fprintf (stderr, "%s\n", err ? err->msg : "unknown error");
  return code;
}

struct cli_client *
cli_ctx_client (struct cli_ctx *ctx, struct berth_error **err)
{
  if (ctx->client)
    return ctx->client;
  if (ctx->ep.host == NULL && cli_endpoint_discover (&ctx->g, &ctx->ep, err) < 0)
    return NULL;
  ctx->client = cli_client_new (&ctx->ep, err);
  return ctx->client;
}

static const struct cli_opt global_opts[] = {
  { "config", 0, CLI_OPT_STRING, "Location of client config files", NULL },
  { "context", 'c', CLI_OPT_STRING, "Name of the context to use to connect to the daemon", NULL },
  { "debug", 'D', CLI_OPT_BOOL, "Enable debug mode", NULL },
  { "host", 'H', CLI_OPT_STRING, "Daemon socket to connect to", NULL },
  { "log-level", 'l', CLI_OPT_STRING, "Set the logging level", "info" },
  { "tls", 0, CLI_OPT_BOOL, "Use TLS; implied by --tlsverify", NULL },
  { "tlscacert", 0, CLI_OPT_STRING, "Trust certs signed only by this CA", NULL },
  { "tlscert", 0, CLI_OPT_STRING, "Path to TLS certificate file", NULL },
  { "tlskey", 0, CLI_OPT_STRING, "Path to TLS key file", NULL },
  { "tlsverify", 0, CLI_OPT_BOOL, "Use TLS and verify the remote", NULL },
  { "version", 'v', CLI_OPT_BOOL, "Print version information and quit", NULL },
  { NULL, 0, 0, NULL, NULL },
};

static void
print_main_help (FILE *f)
{
  fprintf (f, "Usage:  berth [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n\nCommands:\n");
  for (const struct cli_command *c = cli_commands; c->name; c++)
    fprintf (f, "  %-18s %s\n", c->name, c->summary);
  fprintf (f, "\nGlobal ");
  cli_opts_print_help (f, global_opts);
  fprintf (f, "\nRun 'berth COMMAND --help' for more information on a command.\n");
}

int
berth_cli_main (int argc, char **argv)
{
  /* A closed pipe on stdout must end us quietly with EPIPE, not kill us
   * mid-request. */
  signal (SIGPIPE, SIG_IGN);
  struct cli_ctx ctx = { .prog = "berth" };
  /* Global flags come before the command word. */
  int i = 1;
  _cleanup_strv_ char **global_argv = NULL;
  while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0')
    {
      strv_append (&global_argv, argv[i]);
      const char *a = argv[i];
      bool takes_value = false;
      for (const struct cli_opt *o = global_opts; o->name; o++)
        if (o->type != CLI_OPT_BOOL
            && ((a[1] == '-' && strcmp (a + 2, o->name) == 0) || (a[1] == o->shorthand && a[2] == '\0')))
          takes_value = true;
      if (takes_value && i + 1 < argc)
        strv_append (&global_argv, argv[++i]);
      i++;
    }
  struct cli_args g = { 0 };
  _cleanup_error_ struct berth_error *err = NULL;
  if (cli_args_parse (global_opts, (int) strv_len (global_argv), global_argv, true, &g, &err) < 0)
    {
      fprintf (stderr, "%s\nSee 'berth --help'.\n", err->msg);
      return 125;
    }
  if (cli_args_bool (&g, "version"))
    {
      printf ("berth version %s\n", BERTH_VERSION);
      cli_args_free (&g);
      return 0;
    }
  if (g.want_help || i >= argc)
    {
      print_main_help (i >= argc && !g.want_help ? stderr : stdout);
      cli_args_free (&g);
      return 0;
    }
  const char *home = getenv ("HOME");
  const char *cfg = cli_args_str (&g, "config");
  if (cfg == NULL)
    cfg = getenv ("BERTH_CONFIG");
  ctx.g.config_dir = cfg ? xstrdup (cfg) : xasprintf ("%s/.berth", home ? home : "/root");
  ctx.g.host = cli_args_str (&g, "host") ? xstrdup (cli_args_str (&g, "host")) : NULL;
  ctx.g.context = cli_args_str (&g, "context") ? xstrdup (cli_args_str (&g, "context")) : NULL;
  ctx.g.tls = cli_args_bool (&g, "tls");
  ctx.g.tls_verify = cli_args_bool (&g, "tlsverify");
  ctx.g.tls_ca = cli_args_str (&g, "tlscacert") ? xstrdup (cli_args_str (&g, "tlscacert")) : NULL;
  ctx.g.tls_cert = cli_args_str (&g, "tlscert") ? xstrdup (cli_args_str (&g, "tlscert")) : NULL;
  ctx.g.tls_key = cli_args_str (&g, "tlskey") ? xstrdup (cli_args_str (&g, "tlskey")) : NULL;
  cli_args_free (&g);
  if (ctx.g.host && ctx.g.context)
    {
      fprintf (stderr, "conflicting options: either specify --host or --context, not both\n");
      return 1;
    }

  /* Find the command: "group sub" first, then a top-level word. */
  const struct cli_command *cmd = NULL;
  int consumed = 1;
  bool is_group = false;
  for (size_t k = 0; groups[k]; k++)
    if (strcmp (argv[i], groups[k]) == 0)
      is_group = true;
  if (is_group)
    {
      if (i + 1 < argc && argv[i + 1][0] != '-')
        {
          _cleanup_free_ char *name = xasprintf ("%s %s", argv[i], argv[i + 1]);
          cmd = cli_command_find (name);
          consumed = 2;
          if (cmd == NULL)
            {
              fprintf (stderr, "berth: unknown command: berth %s\n\nUsage:  berth %s\n\nRun 'berth %s --help' for more information\n",
                       name, argv[i], argv[i]);
              return 1;
            }
        }
      else
        {
          printf ("Usage:  berth %s COMMAND\n\nCommands:\n", argv[i]);
          size_t gl = strlen (argv[i]);
          for (const struct cli_command *c = cli_commands; c->name; c++)
            {
              if (strncmp (c->name, argv[i], gl) == 0 && c->name[gl] == ' ')
                printf ("  %-12s %s\n", c->name + gl + 1, c->summary);
              else if (c->alias)
                {
                  _cleanup_strv_ char **al = strv_split (c->alias, ',');
                  for (size_t k = 0; al[k]; k++)
                    if (strncmp (al[k], argv[i], gl) == 0 && al[k][gl] == ' ')
                      {
                        printf ("  %-12s %s\n", al[k] + gl + 1, c->summary);
                        break;
                      }
                }
            }
          return 0;
        }
    }
  else
    {
      cmd = cli_command_find (argv[i]);
      /* top-level names only (not "inspect" matching "container inspect") */
      if (cmd == NULL || strchr (cmd->name, ' ') != NULL)
        {
          if (strcmp (argv[i], "help") == 0)
            {
              print_main_help (stdout);
              return 0;
            }
          fprintf (stderr, "berth: unknown command: berth %s\n\nRun 'berth --help' for more information\n",
                   argv[i]);
          return 1;
        }
    }
  int rc = cmd->fn (&ctx, argc - i - consumed, argv + i + consumed);
  if (ctx.client)
    cli_client_free (ctx.client);
  cli_endpoint_clear (&ctx.ep);
  free (ctx.g.config_dir);
  free (ctx.g.host);
  free (ctx.g.context);
  free (ctx.g.tls_ca);
  free (ctx.g.tls_cert);
  free (ctx.g.tls_key);
  fflush (stdout);
  return rc;
}
