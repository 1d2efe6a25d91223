/* berth cli: version, info, events, system df, system prune, system check
 * (berth's own: the image store verified, POST /berth/system/check) and
 * system dial-stdio (the far end of ssh:// endpoints: stdio <-> daemon
 * socket). */
#include "cli/cli-internal.h"
#include "cli/rows.h"

#include <ctype.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

const struct cli_opt cli_version_opts[] = {
  { "format", 'f', CLI_OPT_STRING, "Format output using a custom template", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_info_opts[] = {
  { "format", 'f', CLI_OPT_STRING, "Format output using a custom template", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_events_opts[] = {
  { "filter", 'f', CLI_OPT_LIST, "Filter output based on conditions provided", NULL },
  { "format", 0, CLI_OPT_STRING, "Format output using a custom template", NULL },
  { "since", 0, CLI_OPT_STRING, "Show all events created since timestamp", NULL },
  { "until", 0, CLI_OPT_STRING, "Stream events until this timestamp", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_df_opts[] = {
  { "format", 0, CLI_OPT_STRING, "Format output using a custom template", NULL },
  { "verbose", 'v', CLI_OPT_BOOL, "Show detailed information on space usage", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_system_prune_opts[] = {
  { "all", 'a', CLI_OPT_BOOL, "Remove all unused images not just dangling ones", NULL },
  { "filter", 0, CLI_OPT_LIST, "Provide filter values (e.g. \"label=<key>=<value>\")", NULL },
  { "force", 'f', CLI_OPT_BOOL, "Do not prompt for confirmation", NULL },
  { "volumes", 0, CLI_OPT_BOOL, "Prune anonymous volumes", NULL },
  { NULL, 0, 0, NULL, NULL },
};

const struct cli_opt cli_system_check_opts[] = {
  { "verbose", 'v', CLI_OPT_BOOL, "Show every item checked, not only the problems", NULL },
  { NULL, 0, 0, NULL, NULL },
};

static int cmp_str (const void *a, const void *b);

static json_t *
client_version_json (struct cli_ctx *ctx)
{
  _cleanup_free_ char *context = cli_current_context (&ctx->g);
  struct utsname u;
  uname (&u);
  return json_pack ("{s:{s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Platform", "Name", "berth",
                    "Version", BERTH_VERSION, "ApiVersion", ctx->client ? cli_client_api_version (ctx->client) : "1.41",
                    "DefaultAPIVersion", "1.41", "GitCommit", "", "Os", "linux", "Arch",
                    strcmp (u.machine, "x86_64") == 0 ? "amd64" : strcmp (u.machine, "aarch64") == 0 ? "arm64" : u.machine,
                    "BuildTime", __DATE__ " " __TIME__, "Context", context);
}

static const char *
js (json_t *o, const char *k)
{
  const char *s = json_string_value (json_object_get (o, k));
  return s ? s : "";
}

int
cmd_version (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("version");
  struct cli_client *c = cli_ctx_client (ctx, &err);
  _cleanup_json_ json_t *client = client_version_json (ctx);
  json_t *server = NULL;
  if (c)
    server = cli_call_json (c, "GET", "/version", NULL, NULL, &err);
  _cleanup_json_ json_t *all = json_pack ("{s:O, s:o}", "Client", client, "Server", server ? server : json_null ());
  const char *format = cli_args_str (&a, "format");
  if (format)
    {
      _cleanup_ (tmpl_freep) struct tmpl *t = tmpl_parse (strcmp (format, "json") ? format : "{{json .}}", &err);
      if (t == NULL || tmpl_execute (t, all, stdout, &err) < 0)
        return cli_fail (err, 1);
      fputc ('\n', stdout);
      return server ? 0 : cli_fail (err, 1);
    }
  printf ("Client:\n Version:           %s\n API version:       %s\n OS/Arch:           %s/%s\n Context:           %s\n",
          js (client, "Version"), js (client, "ApiVersion"), js (client, "Os"), js (client, "Arch"),
          js (client, "Context"));
  if (server == NULL)
    {
      fflush (stdout);
      return cli_fail (err, 1);
    }
  printf ("\nServer:\n");
  size_t i;
  json_t *comp;
  json_t *comps = json_object_get (server, "Components");
  if (json_array_size (comps) == 0)
    {
      printf (" Engine:\n  Version:          %s\n  API version:      %s (minimum version %s)\n  OS/Arch:          %s/%s\n",
              js (server, "Version"), js (server, "ApiVersion"), js (server, "MinAPIVersion"),
              js (server, "Os"), js (server, "Arch"));
      return 0;
    }
  json_array_foreach (comps, i, comp)
    {
      const char *name = js (comp, "Name");
      json_t *d = json_object_get (comp, "Details");
      if (strcmp (name, "Engine") == 0)
        {
          printf (" Engine:\n  Version:          %s\n  API version:      %s (minimum version %s)\n",
                  js (comp, "Version"), js (d, "ApiVersion"), js (d, "MinAPIVersion"));
          if (*js (d, "GoVersion"))
            printf ("  Go version:       %s\n", js (d, "GoVersion"));
          if (*js (d, "GitCommit"))
            printf ("  Git commit:       %s\n", js (d, "GitCommit"));
          if (*js (d, "BuildTime"))
            printf ("  Built:            %s\n", js (d, "BuildTime"));
          printf ("  OS/Arch:          %s/%s\n  Experimental:     %s\n", js (d, "Os"), js (d, "Arch"),
                  *js (d, "Experimental") ? js (d, "Experimental") : "false");
        }
      else
        {
          printf (" %s:\n  Version:          %s\n", name, js (comp, "Version"));
          const char *k;
          json_t *v;
          json_object_foreach (d, k, v)
            printf ("  %s:%*s%s\n", k, (int) (17 - strlen (k) > 0 ? 17 - strlen (k) : 1), "",
                    json_string_value (v) ? json_string_value (v) : "");
        }
    }
  return 0;
}

int
cmd_info (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("info");
  CLI_CLIENT ();
  _cleanup_json_ json_t *info = cli_call_json (c, "GET", "/info", NULL, NULL, &err);
  const char *format = cli_args_str (&a, "format");
  if (format)
    {
      if (info == NULL)
        return cli_fail (err, 1);
      json_object_set_new (info, "ClientInfo", client_version_json (ctx));
      _cleanup_ (tmpl_freep) struct tmpl *t = tmpl_parse (strcmp (format, "json") ? format : "{{json .}}", &err);
      if (t == NULL || tmpl_execute (t, info, stdout, &err) < 0)
        return cli_fail (err, 1);
      fputc ('\n', stdout);
      return 0;
    }
  _cleanup_free_ char *context = cli_current_context (&ctx->g);
  printf ("Client:\n Version:    %s\n Context:    %s\n Debug Mode: false\n\n", BERTH_VERSION, context);
  if (info == NULL)
    {
      printf ("Server:\n");
      fflush (stdout);
      fprintf (stderr, "ERROR: %s\n", err->msg);
      return 1;
    }
  printf ("Server:\n");
  printf (" Containers: %lld\n  Running: %lld\n  Paused: %lld\n  Stopped: %lld\n",
          (long long) json_integer_value (json_object_get (info, "Containers")),
          (long long) json_integer_value (json_object_get (info, "ContainersRunning")),
          (long long) json_integer_value (json_object_get (info, "ContainersPaused")),
          (long long) json_integer_value (json_object_get (info, "ContainersStopped")));
  printf (" Images: %lld\n", (long long) json_integer_value (json_object_get (info, "Images")));
  printf (" Server Version: %s\n", js (info, "ServerVersion"));
  printf (" Storage Driver: %s\n", js (info, "Driver"));
  size_t i;
  json_t *pair;
  json_array_foreach (json_object_get (info, "DriverStatus"), i, pair)
    printf ("  %s: %s\n", json_string_value (json_array_get (pair, 0)),
            json_string_value (json_array_get (pair, 1)));
  printf (" Logging Driver: %s\n", js (info, "LoggingDriver"));
  printf (" Cgroup Driver: %s\n", js (info, "CgroupDriver"));
  printf (" Cgroup Version: %s\n", js (info, "CgroupVersion"));
  json_t *plugins = json_object_get (info, "Plugins");
  if (json_is_object (plugins))
    {
      printf (" Plugins:\n");
      static const char *const kinds[] = { "Volume", "Network", "Authorization", "Log", NULL };
      for (size_t k = 0; kinds[k]; k++)
        {
          json_t *list = json_object_get (plugins, kinds[k]);
          if (json_array_size (list) == 0)
            continue;
          printf ("  %s:", kinds[k]);
          json_t *v;
          json_array_foreach (list, i, v)
            printf (" %s", json_string_value (v));
          printf ("\n");
        }
    }
  json_t *swarm = json_object_get (info, "Swarm");
  if (json_is_object (swarm))
    printf (" Swarm: %s\n", *js (swarm, "LocalNodeState") ? js (swarm, "LocalNodeState") : "inactive");
  json_t *runtimes = json_object_get (info, "Runtimes");
  if (json_object_size (runtimes))
    {
      printf (" Runtimes:");
      size_t n;
      _cleanup_strv_ char **names = calloc (1, sizeof (char *));
      const char *k;
      json_t *v;
      json_object_foreach (runtimes, k, v)
        strv_append (&names, k);
      n = strv_len (names);
      qsort (names, n, sizeof (char *), cmp_str);
      for (size_t r = 0; r < n; r++)
        printf (" %s", names[r]);
      printf ("\n");
    }
  if (*js (info, "DefaultRuntime"))
    printf (" Default Runtime: %s\n", js (info, "DefaultRuntime"));
  if (*js (info, "InitBinary"))
    printf (" Init Binary: %s\n", js (info, "InitBinary"));
  json_t *so = json_object_get (info, "SecurityOptions");
  if (json_array_size (so))
    {
      printf (" Security Options:\n");
      json_t *v;
      json_array_foreach (so, i, v)
        {
          /* "name=seccomp,profile=default" → "seccomp" / "Profile: default" */
          _cleanup_strv_ char **kv = strv_split (json_string_value (v) ? json_string_value (v) : "", ',');
          for (size_t f = 0; kv[f]; f++)
            {
              char *eq = strchr (kv[f], '=');
              if (eq == NULL)
                continue;
              *eq = '\0';
              if (strcmp (kv[f], "name") == 0)
                printf ("  %s\n", eq + 1);
              else
                printf ("   %c%s: %s\n", toupper ((unsigned char) kv[f][0]), kv[f] + 1, eq + 1);
            }
        }
    }
  printf (" Kernel Version: %s\n", js (info, "KernelVersion"));
  printf (" Operating System: %s\n", js (info, "OperatingSystem"));
  printf (" OSType: %s\n", js (info, "OSType"));
  printf (" Architecture: %s\n", js (info, "Architecture"));
  printf (" CPUs: %lld\n", (long long) json_integer_value (json_object_get (info, "NCPU")));
  _cleanup_free_ char *mem = human_bytes ((double) json_integer_value (json_object_get (info, "MemTotal")));
  printf (" Total Memory: %s\n", mem);
  printf (" Name: %s\n", js (info, "Name"));
  printf (" ID: %s\n", js (info, "ID"));
  printf (" Docker Root Dir: %s\n", js (info, "DockerRootDir"));
  printf (" Debug Mode: %s\n", json_is_true (json_object_get (info, "Debug")) ? "true" : "false");
  printf (" Experimental: %s\n", json_is_true (json_object_get (info, "ExperimentalBuild")) ? "true" : "false");
  json_t *cidrs = json_object_get (json_object_get (info, "RegistryConfig"), "InsecureRegistryCIDRs");
  if (json_array_size (cidrs))
    {
      printf (" Insecure Registries:\n");
      json_t *v;
      json_array_foreach (cidrs, i, v)
        printf ("  %s\n", json_string_value (v));
    }
  printf (" Live Restore Enabled: %s\n", json_is_true (json_object_get (info, "LiveRestoreEnabled")) ? "true" : "false");
  json_t *warnings = json_object_get (info, "Warnings");
  json_t *w;
  json_array_foreach (warnings, i, w)
    fprintf (stderr, "%s\n", json_string_value (w));
  return 0;
}

/* ------------------------------------------------------------- events -- */

struct events_state
{
  struct tmpl *t;
  struct line_splitter ls;
};

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
event_line (void *ud, const char *line, size_t len)
{
  struct events_state *st = ud;
  json_error_t jerr;
  _cleanup_json_ json_t *ev = json_loadb (line, len, 0, &jerr);
  if (ev == NULL)
    return 0;
  _cleanup_error_ struct berth_error *err = NULL;
  if (st->t)
    {
      if (tmpl_execute (st->t, ev, stdout, &err) < 0)
        {
          fprintf (stderr, "%s\n", err->msg);
          return -1;
        }
      fputc ('\n', stdout);
      fflush (stdout);
      return 0;
    }
  long long tn = json_integer_value (json_object_get (ev, "timeNano"));
  if (tn == 0)
    tn = json_integer_value (json_object_get (ev, "time")) * 1000000000LL;
  time_t secs = (time_t) (tn / 1000000000LL);
  struct tm tm;
  localtime_r (&secs, &tm);
  char date[40], tz[8];
  strftime (date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  strftime (tz, sizeof tz, "%z", &tm);
  /* Go's Z07:00 layout */
  _cleanup_free_ char *zone = strcmp (tz, "+0000") == 0 ? xstrdup ("Z") : xasprintf ("%.3s:%.2s", tz, tz + 3);
  json_t *actor = json_object_get (ev, "Actor");
  printf ("%s.%09lld%s %s %s %s", date, tn % 1000000000LL, zone, js (ev, "Type"), js (ev, "Action"),
          js (actor, "ID"));
  json_t *attrs = json_object_get (actor, "Attributes");
  if (json_object_size (attrs))
    {
      _cleanup_strv_ char **parts = calloc (1, sizeof (char *));
      const char *k;
      json_t *v;
      json_object_foreach (attrs, k, v)
        {
          _cleanup_free_ char *kv = xasprintf ("%s=%s", k, json_string_value (v) ? json_string_value (v) : "");
          strv_append (&parts, kv);
        }
      qsort (parts, strv_len (parts), sizeof (char *), cmp_str);
      _cleanup_free_ char *j = strv_join (parts, ", ");
      printf (" (%s)", j);
    }
  printf ("\n");
  fflush (stdout);
  return 0;
}

int
cmd_events (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("events");
  CLI_CLIENT ();
  time_t now = time (NULL);
  _cleanup_free_ char *q = xstrdup ("");
  char **filters = cli_args_list (&a, "filter");
  if (filters[0])
    {
      _cleanup_json_ json_t *f = parse_filters (filters, &err);
      if (f == NULL)
        return cli_fail (err, 1);
      _cleanup_free_ char *s = json_dumps (f, JSON_COMPACT);
      _cleanup_free_ char *e = url_escape (s);
      free (q);
      q = xasprintf ("filters=%s", e);
    }
  const char *which[] = { "since", "until" };
  for (size_t i = 0; i < 2; i++)
    if (cli_args_str (&a, which[i]))
      {
        _cleanup_free_ char *ts = parse_timestamp_arg (cli_args_str (&a, which[i]), now, &err);
        if (ts == NULL)
          return cli_fail (err, 1);
        char *n = xasprintf ("%s%s%s=%s", q, *q ? "&" : "", which[i], ts);
        free (q);
        q = n;
      }
  struct events_state st = { 0 };
  const char *format = normalize_format (cli_args_str (&a, "format"));
  if (format)
    {
      st.t = tmpl_parse (format, &err);
      if (st.t == NULL)
        return cli_fail (err, 1);
    }
  st.ls.fn = event_line;
  st.ls.ud = &st;
  struct cli_request req = { .method = "GET", .path = "/events", .query = *q ? q : NULL,
                             .on_chunk = line_splitter_feed, .userdata = &st.ls };
  struct cli_response resp;
  int rc = cli_call (c, &req, &resp, &err);
  cli_response_clear (&resp);
  line_splitter_free (&st.ls);
  if (st.t)
    tmpl_free (st.t);
  if (rc < 0)
    return cli_fail (err, 1);
  return 0;
}

/* ------------------------------------------------------------ system df -- */

static char *
reclaim_string (double reclaimable, double total, bool pct)
{
  _cleanup_free_ char *h = human_size (reclaimable, 4);
  if (!pct)
    return xstrdup (h);
  int p = total > 0 ? (int) (reclaimable * 100 / total) : 0;
  return xasprintf ("%s (%d%%)", h, p);
}

int
cmd_system_df (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("system df");
  CLI_CLIENT ();
  _cleanup_json_ json_t *df = cli_call_json (c, "GET", "/system/df", NULL, NULL, &err);
  if (df == NULL)
    return cli_fail (err, 1);
  _cleanup_json_ json_t *rows = json_array ();
  size_t i;
  json_t *it;
  /* Images */
  long long n = 0, active = 0;
  double reclaim = 0;
  json_array_foreach (json_object_get (df, "Images"), i, it)
    {
      n++;
      if (json_integer_value (json_object_get (it, "Containers")) > 0)
        active++;
      else
        {
          double sz = (double) json_integer_value (json_object_get (it, "Size"));
          double shared = (double) json_integer_value (json_object_get (it, "SharedSize"));
          reclaim += shared > 0 ? sz - shared : sz;
        }
    }
  double layers = (double) json_integer_value (json_object_get (df, "LayersSize"));
  _cleanup_free_ char *s1 = human_size (layers, 4), *r1 = reclaim_string (reclaim, layers, true);
  json_array_append_new (rows, json_pack ("{s:s, s:I, s:I, s:s, s:s}", "Type", "Images", "TotalCount",
                                          (json_int_t) n, "Active", (json_int_t) active, "Size", s1,
                                          "Reclaimable", r1));
  n = active = 0;
  double size = 0;
  reclaim = 0;
  json_array_foreach (json_object_get (df, "Containers"), i, it)
    {
      n++;
      double sz = (double) json_integer_value (json_object_get (it, "SizeRw"));
      size += sz;
      const char *state = json_string_value (json_object_get (it, "State"));
      if (state && (strcmp (state, "running") == 0 || strcmp (state, "paused") == 0
                    || strcmp (state, "restarting") == 0))
        active++;
      else
        reclaim += sz;
    }
  _cleanup_free_ char *s2 = human_size (size, 4), *r2 = reclaim_string (reclaim, size, size > 0);
  json_array_append_new (rows, json_pack ("{s:s, s:I, s:I, s:s, s:s}", "Type", "Containers",
                                          "TotalCount", (json_int_t) n, "Active", (json_int_t) active,
                                          "Size", s2, "Reclaimable", r2));
  n = active = 0;
  size = reclaim = 0;
  json_array_foreach (json_object_get (df, "Volumes"), i, it)
    {
      n++;
      json_t *u = json_object_get (it, "UsageData");
      double sz = (double) json_integer_value (json_object_get (u, "Size"));
      if (sz > 0)
        size += sz;
      if (json_integer_value (json_object_get (u, "RefCount")) > 0)
        active++;
      else if (sz > 0)
        reclaim += sz;
    }
  _cleanup_free_ char *s3 = human_size (size, 4), *r3 = reclaim_string (reclaim, size, size > 0);
  json_array_append_new (rows, json_pack ("{s:s, s:I, s:I, s:s, s:s}", "Type", "Local Volumes",
                                          "TotalCount", (json_int_t) n, "Active", (json_int_t) active,
                                          "Size", s3, "Reclaimable", r3));
  n = active = 0;
  size = reclaim = 0;
  json_array_foreach (json_object_get (df, "BuildCache"), i, it)
    {
      n++;
      double sz = (double) json_integer_value (json_object_get (it, "Size"));
      size += sz;
      if (json_is_true (json_object_get (it, "InUse")))
        active++;
      else if (!json_is_true (json_object_get (it, "Shared")))
        reclaim += sz;
    }
  _cleanup_free_ char *s4 = human_size (size, 4), *r4 = human_size (reclaim, 4);
  json_array_append_new (rows, json_pack ("{s:s, s:I, s:I, s:s, s:s}", "Type", "Build Cache",
                                          "TotalCount", (json_int_t) n, "Active", (json_int_t) active,
                                          "Size", s4, "Reclaimable", r4));
  const char *format = normalize_format (cli_args_str (&a, "format"));
  if (format == NULL)
    format = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
  _cleanup_json_ json_t *headers = json_pack ("{s:s, s:s, s:s, s:s, s:s}", "Type", "TYPE", "TotalCount",
                                              "TOTAL", "Active", "ACTIVE", "Size", "SIZE", "Reclaimable",
                                              "RECLAIMABLE");
  if (cli_format_rows (stdout, format, headers, rows, &err) < 0)
    return cli_fail (err, 1);
  return 0;
}

int
cmd_system_prune (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("system prune");
  bool all = cli_args_bool (&a, "all"), vols = cli_args_bool (&a, "volumes");
  if (!cli_args_bool (&a, "force"))
    {
      printf ("WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n");
      if (vols)
        printf ("  - all anonymous volumes not used by at least one container\n");
      printf (all ? "  - all images without at least one container associated to them\n"
                  : "  - all dangling images\n");
      printf ("  - unused build cache\n\nAre you sure you want to continue? [y/N] ");
      fflush (stdout);
      char line[16] = "";
      if (fgets (line, sizeof line, stdin) == NULL || (line[0] != 'y' && line[0] != 'Y'))
        return 0;
    }
  CLI_CLIENT ();
  struct
  {
    const char *path, *key, *title;
  } steps[] = {
    { "/containers/prune", "ContainersDeleted", "Deleted Containers:" },
    { "/networks/prune", "NetworksDeleted", "Deleted Networks:" },
    { "/volumes/prune", "VolumesDeleted", "Deleted Volumes:" },
    { "/images/prune", "ImagesDeleted", "Deleted Images:" },
  };
  double total = 0;
  for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++)
    {
      if (s == 2 && !vols)
        continue;
      _cleanup_free_ char *q = NULL;
      if (s == 3)
        {
          _cleanup_free_ char *e = url_escape (all ? "{\"dangling\":{\"false\":true}}" : "{\"dangling\":{\"true\":true}}");
          q = xasprintf ("filters=%s", e);
        }
      _cleanup_json_ json_t *r = cli_call_json (c, "POST", steps[s].path, q, NULL, &err);
      if (r == NULL)
        return cli_fail (err, 1);
      json_t *del = json_object_get (r, steps[s].key);
      if (json_array_size (del))
        {
          printf ("%s\n", steps[s].title);
          size_t i;
          json_t *d;
          json_array_foreach (del, i, d)
            {
              if (json_is_string (d))
                printf ("%s\n", json_string_value (d));
              else
                {
                  if (json_object_get (d, "Untagged"))
                    printf ("untagged: %s\n", js (d, "Untagged"));
                  if (json_object_get (d, "Deleted"))
                    printf ("deleted: %s\n", js (d, "Deleted"));
                }
            }
          printf ("\n");
        }
      total += (double) json_integer_value (json_object_get (r, "SpaceReclaimed"));
    }
  _cleanup_free_ char *hs = human_size (total, 4);
  printf ("Total reclaimed space: %s\n", hs);
  return 0;
}

/* --------------------------------------------------------- system check -- */

struct check_state
{
  struct line_splitter ls;
  bool is_verbose;
  bool has_summary;
  long long n_problems;
  char *error;
};

static int
check_line (void *ud, const char *line, size_t len)
{
  struct check_state *st = ud;
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loadb (line, len, 0, &jerr);
  if (j == NULL)
    return 0;
  json_t *detail = json_object_get (j, "errorDetail");
  json_t *checked = json_object_get (j, "Checked");
  if (detail)
    {
      free (st->error);
      st->error = xstrdup (js (detail, "message"));
    }
  else if (checked)
    {
      st->has_summary = true;
      st->n_problems = json_integer_value (json_object_get (j, "Problems"));
      _cleanup_free_ char *bytes
          = human_size ((double)json_integer_value (json_object_get (j, "Bytes")), 4);
      printf ("Checked %lld blobs, %lld layers (%s read), %lld images, %lld tags: ",
              json_integer_value (json_object_get (checked, "Blobs")),
              json_integer_value (json_object_get (checked, "Layers")), bytes,
              json_integer_value (json_object_get (checked, "Images")),
              json_integer_value (json_object_get (checked, "Tags")));
      if (st->n_problems == 0)
        printf ("no problems\n");
      else
        printf ("%lld problem%s\n", st->n_problems, st->n_problems == 1 ? "" : "s");
    }
  else if (json_object_get (j, "Problem"))
    printf ("%s %s %s: %s\n", js (j, "Status"), js (j, "Type"), js (j, "ID"), js (j, "Problem"));
  else if (st->is_verbose)
    printf ("%s %s %s\n", js (j, "Status"), js (j, "Type"), js (j, "ID"));
  fflush (stdout);
  return 0;
}

int
cmd_system_check (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("system check");
  CLI_CLIENT ();
  struct check_state st = { .is_verbose = cli_args_bool (&a, "verbose") };
  st.ls.fn = check_line;
  st.ls.ud = &st;
  struct cli_request req = { .method = "POST", .path = "/berth/system/check",
                             .on_chunk = line_splitter_feed, .userdata = &st.ls };
  struct cli_response resp;
  int rc = cli_call (c, &req, &resp, &err);
  cli_response_clear (&resp);
  line_splitter_free (&st.ls);
  _cleanup_free_ char *error = steal_pointer (&st.error);
  if (rc < 0)
    return cli_fail (err, 1);
  if (error)
    {
      fprintf (stderr, "Error: %s\n", error);
      return 1;
    }
  if (!st.has_summary)
    {
      fprintf (stderr, "Error: the check ended without its summary\n");
      return 1;
    }
  return st.n_problems ? 1 : 0;
}

/* --------------------------------------------------------- dial-stdio -- */

static int
dial_endpoint (const struct cli_endpoint *ep, struct berth_error **err)
{
  if (ep->kind == CLI_EP_UNIX)
    {
      int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      struct sockaddr_un sa = { .sun_family = AF_UNIX };
      if (strlen (ep->unix_path) >= sizeof sa.sun_path)
        return berth_error_set (err, ENAMETOOLONG, "%s", ep->unix_path);
      strcpy (sa.sun_path, ep->unix_path);
      if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
        {
          int e = errno;
          close (fd);
          return berth_error_set (err, e, "dial %s", ep->unix_path);
        }
      return fd;
    }
  if (ep->kind == CLI_EP_TCP && !ep->tls)
    {
      char port[16];
      snprintf (port, sizeof port, "%d", ep->tcp_port);
      struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
      _cleanup_free_ char *host = xstrdup (ep->tcp_host);
      if (host[0] == '[')
        {
          memmove (host, host + 1, strlen (host));
          host[strlen (host) - 1] = '\0';
        }
      if (getaddrinfo (host, port, &hints, &res) != 0 || res == NULL)
        return berth_error_set (err, 0, "dial %s: cannot resolve", ep->host);
      int fd = socket (res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int rc = connect (fd, res->ai_addr, res->ai_addrlen);
      freeaddrinfo (res);
      if (rc < 0)
        {
          int e = errno;
          close (fd);
          return berth_error_set (err, e, "dial %s", ep->host);
        }
      return fd;
    }
  return berth_error_set (err, 0, "dial-stdio supports unix:// and plain tcp:// endpoints only");
}

int
cmd_dial_stdio (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("system dial-stdio");
  if (cli_endpoint_discover (&ctx->g, &ctx->ep, &err) < 0)
    return cli_fail (err, 1);
  _cleanup_close_ int fd = dial_endpoint (&ctx->ep, &err);
  if (fd < 0)
    return cli_fail (err, 1);
  bool in_open = true, out_open = true;
  char buf[65536];
  while (out_open)
    {
      struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = STDIN_FILENO, .events = in_open ? POLLIN : 0 } };
      if (poll (p, in_open ? 2 : 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t n = read (fd, buf, sizeof buf);
          if (n <= 0 || fs_write_all (STDOUT_FILENO, buf, (size_t) n) < 0)
            out_open = false;
        }
      if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          ssize_t n = read (STDIN_FILENO, buf, sizeof buf);
          if (n <= 0)
            {
              in_open = false;
              shutdown (fd, SHUT_WR);
            }
          else if (fs_write_all (fd, buf, (size_t) n) < 0)
            in_open = false;
        }
    }
  return 0;
}
