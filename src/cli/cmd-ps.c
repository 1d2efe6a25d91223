/* berth cli: `ps` and `images`: the list endpoints turned into docker's
 * rows ({{.ID}}, {{.Names}}, {{.Status}}, {{.Ports}}, {{.Repository}},
 * {{.Tag}}, {{.Size}} …), printed as docker's default tables, -q ids, or
 * any --format template. */
#include "cli/cli-internal.h"
#include "cli/rows.h"

#include <string.h>
#include <time.h>

const struct cli_opt cli_ps_opts[] = {
  { "all", 'a', CLI_OPT_BOOL, "Show all containers (default shows just running)", NULL },
  { "filter", 'f', CLI_OPT_LIST, "Filter output based on conditions provided", NULL },
  { "format", 0, CLI_OPT_STRING, "Format output using a custom template", NULL },
  { "last", 'n', CLI_OPT_STRING, "Show n last created containers (includes all states)", "-1" },
  { "latest", 'l', CLI_OPT_BOOL, "Show the latest created container (includes all states)", NULL },
  { "no-trunc", 0, CLI_OPT_BOOL, "Don't truncate output", NULL },
  { "quiet", 'q', CLI_OPT_BOOL, "Only display container IDs", NULL },
  { "size", 's', CLI_OPT_BOOL, "Display total file sizes", NULL },
  { NULL, 0, 0, NULL, NULL },
};

const struct cli_opt cli_images_opts[] = {
  { "all", 'a', CLI_OPT_BOOL, "Show all images (default hides intermediate images)", NULL },
  { "digests", 0, CLI_OPT_BOOL, "Show digests", NULL },
  { "filter", 'f', CLI_OPT_LIST, "Filter output based on conditions provided", NULL },
  { "format", 0, CLI_OPT_STRING, "Format output using a custom template", NULL },
  { "no-trunc", 0, CLI_OPT_BOOL, "Don't truncate output", NULL },
  { "quiet", 'q', CLI_OPT_BOOL, "Only show image IDs", NULL },
  { NULL, 0, 0, NULL, NULL },
};

char *
ellipsis (const char *s, size_t max_runes)
{
  size_t runes = 0, i = 0, cut = 0;
  for (i = 0; s[i]; i++)
    if (((unsigned char) s[i] & 0xc0) != 0x80)
      {
        if (runes == max_runes - 1)
          cut = i;
        runes++;
      }
  if (runes <= max_runes)
    return xstrdup (s);
  return xasprintf ("%.*s…", (int) cut, s);
}

char *
short_id (const char *id, bool trunc)
{
  if (id == NULL)
    return xstrdup ("");
  const char *hex = str_has_prefix (id, "sha256:") ? id + 7 : id;
  if (!trunc)
    return xstrdup (id);
  return strndup (hex, 12);
}

char *
created_at_string (long long unix_secs)
{
  time_t t = (time_t) unix_secs;
  struct tm tm;
  localtime_r (&t, &tm);
  char buf[64];
  strftime (buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
  return xstrdup (buf);
}

char *
since_string (long long unix_secs)
{
  double d = difftime (time (NULL), (time_t) unix_secs);
  _cleanup_free_ char *h = human_duration (d);
  return xasprintf ("%s ago", h);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

struct port_entry
{
  const char *ip, *type;
  long long priv, pub;
};

static int
cmp_ports (const void *a, const void *b)
{
  const struct port_entry *x = a, *y = b;
  if (x->priv != y->priv)
    return x->priv < y->priv ? -1 : 1;
  int c = strcmp (x->ip, y->ip);
  if (c)
    return c;
  if (x->pub != y->pub)
    return x->pub < y->pub ? -1 : 1;
  return strcmp (x->type, y->type);
}

static char *
form_group (const char *key, long long first, long long last)
{
  /* docker's formGroup: key is "type" or "ip/type" */
  const char *slash = strchr (key, '/');
  _cleanup_free_ char *ip = slash ? strndup (key, (size_t) (slash - key)) : NULL;
  const char *type = slash ? slash + 1 : key;
  _cleanup_free_ char *group = first == last ? xasprintf ("%lld", first) : xasprintf ("%lld-%lld", first, last);
  if (ip && *ip)
    return xasprintf ("%s:%s->%s/%s", ip, group, group, type);
  return xasprintf ("%s/%s", group, type);
}

/* docker's api.DisplayablePorts: sorted, consecutive ports of one ip/type
 * folded into ranges, host mappings with another public port listed last. */
char *
displayable_ports (json_t *ports)
{
  size_t n = json_array_size (ports);
  _cleanup_free_ struct port_entry *e = calloc (n + 1, sizeof *e);
  for (size_t i = 0; i < n; i++)
    {
      json_t *p = json_array_get (ports, i);
      const char *ip = json_string_value (json_object_get (p, "IP"));
      const char *type = json_string_value (json_object_get (p, "Type"));
      e[i] = (struct port_entry){ ip ? ip : "", type ? type : "tcp",
                                  json_integer_value (json_object_get (p, "PrivatePort")),
                                  json_integer_value (json_object_get (p, "PublicPort")) };
    }
  qsort (e, n, sizeof *e, cmp_ports);
  _cleanup_strv_ char **result = calloc (1, sizeof (char *));
  _cleanup_strv_ char **mappings = calloc (1, sizeof (char *));
  _cleanup_strv_ char **keys = calloc (1, sizeof (char *));
  long long *first = calloc (n + 1, sizeof *first), *last = calloc (n + 1, sizeof *last);
  for (size_t i = 0; i < n; i++)
    {
      long long cur = e[i].priv;
      _cleanup_free_ char *key = NULL;
      if (*e[i].ip)
        {
          if (e[i].pub != cur)
            {
              _cleanup_free_ char *m = strchr (e[i].ip, ':')
                                           ? xasprintf ("[%s]:%lld->%lld/%s", e[i].ip, e[i].pub, cur, e[i].type)
                                           : xasprintf ("%s:%lld->%lld/%s", e[i].ip, e[i].pub, cur, e[i].type);
              strv_append (&mappings, m);
              continue;
            }
          key = xasprintf ("%s/%s", e[i].ip, e[i].type);
        }
      else
        key = xstrdup (e[i].type);
      size_t k = 0, nk = strv_len (keys);
      while (k < nk && strcmp (keys[k], key) != 0)
        k++;
      if (k == nk)
        {
          strv_append (&keys, key);
          first[k] = last[k] = cur;
          continue;
        }
      if (cur == last[k] + 1)
        {
          last[k] = cur;
          continue;
        }
      _cleanup_free_ char *g = form_group (key, first[k], last[k]);
      strv_append (&result, g);
      first[k] = last[k] = cur;
    }
  for (size_t k = 0; keys[k]; k++)
    {
      _cleanup_free_ char *g = form_group (keys[k], first[k], last[k]);
      strv_append (&result, g);
    }
  for (size_t k = 0; mappings[k]; k++)
    strv_append (&result, mappings[k]);
  free (first);
  free (last);
  return strv_join (result, ", ");
}

static char *
labels_string (json_t *labels)
{
  _cleanup_strv_ char **parts = calloc (1, sizeof (char *));
  const char *k;
  json_t *v;
  json_object_foreach (labels, k, v)
    {
      _cleanup_free_ char *s = xasprintf ("%s=%s", k, json_string_value (v) ? json_string_value (v) : "");
      strv_append (&parts, s);
    }
  qsort (parts, strv_len (parts), sizeof (char *), cmp_str);
  return strv_join (parts, ",");
}

json_t *
ps_row (json_t *c, bool trunc)
{
  json_t *row = json_object ();
  const char *cmd = json_string_value (json_object_get (c, "Command"));
  _cleanup_free_ char *cmd_t = trunc ? ellipsis (cmd ? cmd : "", 20) : xstrdup (cmd ? cmd : "");
  _cleanup_json_ json_t *quoted = json_string (cmd_t);
  _cleanup_free_ char *cmd_q = json_dumps (quoted, JSON_ENCODE_ANY);
  json_object_set_new (row, "Command", json_string (cmd_q));
  long long created = json_integer_value (json_object_get (c, "Created"));
  _cleanup_free_ char *created_at = created_at_string (created);
  json_object_set_new (row, "CreatedAt", json_string (created_at));
  _cleanup_free_ char *id = short_id (json_string_value (json_object_get (c, "Id")), trunc);
  json_object_set_new (row, "ID", json_string (id));
  const char *image = json_string_value (json_object_get (c, "Image"));
  _cleanup_free_ char *img = (image && str_has_prefix (image, "sha256:")) ? short_id (image, trunc)
                                                                          : xstrdup (image ? image : "");
  json_object_set_new (row, "Image", json_string (img));
  _cleanup_free_ char *labels = labels_string (json_object_get (c, "Labels"));
  json_object_set_new (row, "Labels", json_string (labels));
  size_t i;
  json_t *m;
  int local = 0;
  _cleanup_strv_ char **mounts = calloc (1, sizeof (char *));
  json_array_foreach (json_object_get (c, "Mounts"), i, m)
    {
      const char *driver = json_string_value (json_object_get (m, "Driver"));
      if (driver && strcmp (driver, "local") == 0)
        local++;
      const char *name = json_string_value (json_object_get (m, "Name"));
      if (name == NULL || *name == '\0')
        name = json_string_value (json_object_get (m, "Source"));
      _cleanup_free_ char *n = trunc ? ellipsis (name ? name : "", 15) : xstrdup (name ? name : "");
      strv_append (&mounts, n);
    }
  {
    char buf[12];
    snprintf (buf, sizeof buf, "%d", local);
    json_object_set_new (row, "LocalVolumes", json_string (buf));
  }
  _cleanup_free_ char *mj = strv_join (mounts, ",");
  json_object_set_new (row, "Mounts", json_string (mj));
  _cleanup_strv_ char **names = calloc (1, sizeof (char *));
  json_t *n;
  json_array_foreach (json_object_get (c, "Names"), i, n)
    {
      const char *s = json_string_value (n);
      if (s == NULL)
        continue;
      if (*s == '/')
        s++;
      if (trunc && strchr (s, '/'))
        continue; /* legacy link names */
      strv_append (&names, s);
    }
  _cleanup_free_ char *nj = strv_join (names, ",");
  json_object_set_new (row, "Names", json_string (nj));
  _cleanup_strv_ char **nets = calloc (1, sizeof (char *));
  const char *k;
  json_t *v;
  json_object_foreach (json_object_get (json_object_get (c, "NetworkSettings"), "Networks"), k, v)
    strv_append (&nets, k);
  qsort (nets, strv_len (nets), sizeof (char *), cmp_str);
  _cleanup_free_ char *netj = strv_join (nets, ",");
  json_object_set_new (row, "Networks", json_string (netj));
  json_object_set_new (row, "Platform", json_null ());
  _cleanup_free_ char *ports = displayable_ports (json_object_get (c, "Ports"));
  json_object_set_new (row, "Ports", json_string (ports));
  _cleanup_free_ char *since = since_string (created);
  json_object_set_new (row, "RunningFor", json_string (since));
  json_t *srw = json_object_get (c, "SizeRw"), *sroot = json_object_get (c, "SizeRootFs");
  _cleanup_free_ char *rw = human_size ((double) json_integer_value (srw), 3);
  _cleanup_free_ char *virt = human_size ((double) json_integer_value (sroot), 3);
  _cleanup_free_ char *size = srw || sroot ? xasprintf ("%s (virtual %s)", rw, virt) : xstrdup ("0B");
  json_object_set_new (row, "Size", json_string (size));
  const char *state = json_string_value (json_object_get (c, "State"));
  json_object_set_new (row, "State", json_string (state ? state : ""));
  const char *status = json_string_value (json_object_get (c, "Status"));
  json_object_set_new (row, "Status", json_string (status ? status : ""));
  return row;
}

json_t *
ps_headers (void)
{
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                    "ID", "CONTAINER ID", "Image", "IMAGE", "Command", "COMMAND", "CreatedAt",
                    "CREATED AT", "RunningFor", "CREATED", "Ports", "PORTS", "State", "STATE",
                    "Status", "STATUS", "Size", "SIZE", "Names", "NAMES", "Labels", "LABELS",
                    "Mounts", "MOUNTS", "LocalVolumes", "LOCAL VOLUMES", "Networks", "NETWORKS",
                    "Platform", "PLATFORM");
}

/* "--format json" is docker's shorthand for {{json .}}. */
const char *
normalize_format (const char *f)
{
  if (f && strcmp (f, "json") == 0)
    return "{{json .}}";
  return f;
}

static char *
filters_query (char *const *specs, struct berth_error **err, int *rc)
{
  *rc = 0;
  if (specs == NULL || specs[0] == NULL)
    return NULL;
  _cleanup_json_ json_t *f = parse_filters (specs, err);
  if (f == NULL)
    {
      *rc = -1;
      return NULL;
    }
  _cleanup_free_ char *s = json_dumps (f, JSON_COMPACT);
  _cleanup_free_ char *e = url_escape (s);
  return xasprintf ("filters=%s", e);
}

static void
query_add (char **q, const char *part)
{
  if (part == NULL)
    return;
  char *n = *q ? xasprintf ("%s&%s", *q, part) : xstrdup (part);
  free (*q);
  *q = n;
}

int
cmd_ps (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE_ARGS ("ps");
  _cleanup_error_ struct berth_error *err = NULL;
  bool trunc = !cli_args_bool (&a, "no-trunc");
  const char *format = normalize_format (cli_args_str (&a, "format"));
  long long last = -1;
  if (cli_args_int (&a, "last", &last, &err) < 0)
    return cli_fail (err, 125);
  if (cli_args_bool (&a, "latest"))
    last = 1;
  bool want_size = cli_args_bool (&a, "size")
                   || (format && (strstr (format, ".Size") || strstr (format, "json .")));
  _cleanup_free_ char *q = NULL;
  if (cli_args_bool (&a, "all") || last > 0)
    query_add (&q, "all=1");
  int frc;
  _cleanup_free_ char *fq = filters_query (cli_args_list (&a, "filter"), &err, &frc);
  if (frc < 0)
    return cli_fail (err, 125);
  query_add (&q, fq);
  if (last > 0)
    {
      _cleanup_free_ char *l = xasprintf ("limit=%lld", last);
      query_add (&q, l);
    }
  if (want_size && !cli_args_bool (&a, "quiet"))
    query_add (&q, "size=1");
  struct cli_client *c = cli_ctx_client (ctx, &err);
  if (c == NULL)
    return cli_fail (err, 1);
  _cleanup_json_ json_t *list = cli_call_json (c, "GET", "/containers/json", q, NULL, &err);
  if (list == NULL)
    return cli_fail (err, 1);
  if (cli_args_bool (&a, "quiet") && format == NULL)
    {
      size_t i;
      json_t *ct;
      json_array_foreach (list, i, ct)
        {
          _cleanup_free_ char *id = short_id (json_string_value (json_object_get (ct, "Id")), trunc);
          printf ("%s\n", id);
        }
      return 0;
    }
  if (format == NULL)
    format = cli_args_bool (&a, "size")
                 ? "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
                 : "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
  _cleanup_json_ json_t *rows = json_array ();
  size_t i;
  json_t *ct;
  json_array_foreach (list, i, ct)
    json_array_append_new (rows, ps_row (ct, trunc));
  _cleanup_json_ json_t *headers = ps_headers ();
  if (cli_format_rows (stdout, format, headers, rows, &err) < 0)
    return cli_fail (err, 1);
  return 0;
}

/* ---------------------------------------------------------------- images -- */

static void
split_repo_tag (const char *rt, char **repo, char **tag)
{
  const char *slash = strrchr (rt, '/');
  const char *colon = strrchr (slash ? slash : rt, ':');
  if (colon)
    {
      *repo = strndup (rt, (size_t) (colon - rt));
      *tag = xstrdup (colon + 1);
    }
  else
    {
      *repo = xstrdup (rt);
      *tag = xstrdup ("<none>");
    }
}

static json_t *
image_row (json_t *img, const char *repo, const char *tag, const char *digest, bool trunc)
{
  json_t *row = json_object ();
  long long created = json_integer_value (json_object_get (img, "Created"));
  _cleanup_free_ char *id = short_id (json_string_value (json_object_get (img, "Id")), trunc);
  if (!trunc)
    {
      free (id);
      id = xstrdup (json_string_value (json_object_get (img, "Id")));
    }
  _cleanup_free_ char *since = since_string (created);
  _cleanup_free_ char *at = created_at_string (created);
  double size = (double) json_integer_value (json_object_get (img, "Size"));
  _cleanup_free_ char *hs = human_size (size, 3);
  long long shared = json_integer_value (json_object_get (img, "SharedSize"));
  _cleanup_free_ char *hshared = shared < 0 ? xstrdup ("N/A") : human_size ((double) shared, 3);
  _cleanup_free_ char *huniq = shared < 0 ? xstrdup ("N/A") : human_size (size - (double) shared, 3);
  long long containers = json_integer_value (json_object_get (img, "Containers"));
  _cleanup_free_ char *cont = containers < 0 ? xstrdup ("N/A") : xasprintf ("%lld", containers);
  json_object_set_new (row, "Containers", json_string (cont));
  json_object_set_new (row, "CreatedAt", json_string (at));
  json_object_set_new (row, "CreatedSince", json_string (since));
  json_object_set_new (row, "Digest", json_string (digest));
  json_object_set_new (row, "ID", json_string (id));
  json_object_set_new (row, "Repository", json_string (repo));
  json_object_set_new (row, "SharedSize", json_string (hshared));
  json_object_set_new (row, "Size", json_string (hs));
  json_object_set_new (row, "Tag", json_string (tag));
  json_object_set_new (row, "UniqueSize", json_string (huniq));
  /* docker: VirtualSize is units.HumanSize (precision 4), Size precision 3 */
  _cleanup_free_ char *hvs = human_size (size, 4);
  json_object_set_new (row, "VirtualSize", json_string (hvs));
  return row;
}

int
cmd_images (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE_ARGS ("images");
  _cleanup_error_ struct berth_error *err = NULL;
  bool trunc = !cli_args_bool (&a, "no-trunc");
  bool digests = cli_args_bool (&a, "digests");
  const char *format = normalize_format (cli_args_str (&a, "format"));
  _cleanup_strv_ char **filters = strv_dup (cli_args_list (&a, "filter"));
  if (a.n_pos == 1)
    {
      _cleanup_free_ char *r = xasprintf ("reference=%s", a.pos[0]);
      strv_append (&filters, r);
    }
  _cleanup_free_ char *q = NULL;
  if (cli_args_bool (&a, "all"))
    query_add (&q, "all=1");
  int frc;
  _cleanup_free_ char *fq = filters_query (filters, &err, &frc);
  if (frc < 0)
    return cli_fail (err, 125);
  query_add (&q, fq);
  struct cli_client *c = cli_ctx_client (ctx, &err);
  if (c == NULL)
    return cli_fail (err, 1);
  _cleanup_json_ json_t *list = cli_call_json (c, "GET", "/images/json", q, NULL, &err);
  if (list == NULL)
    return cli_fail (err, 1);
  if (cli_args_bool (&a, "quiet") && format == NULL)
    {
      _cleanup_strv_ char **seen = calloc (1, sizeof (char *));
      size_t i;
      json_t *img;
      json_array_foreach (list, i, img)
        {
          const char *full = json_string_value (json_object_get (img, "Id"));
          _cleanup_free_ char *id = trunc ? short_id (full, true) : xstrdup (full ? full : "");
          if (!strv_contains (seen, id))
            {
              printf ("%s\n", id);
              strv_append (&seen, id);
            }
        }
      return 0;
    }
  _cleanup_json_ json_t *rows = json_array ();
  size_t i;
  json_t *img;
  json_array_foreach (list, i, img)
    {
      json_t *tags = json_object_get (img, "RepoTags");
      json_t *rdigests = json_object_get (img, "RepoDigests");
      /* docker: one row per tag; an untagged image with digests shows
       * <none> tag rows per digest; otherwise one <none>:<none> row. */
      size_t n_tags = 0;
      size_t k;
      json_t *t;
      json_array_foreach (tags, k, t)
        {
          const char *rt = json_string_value (t);
          if (rt == NULL || strcmp (rt, "<none>:<none>") == 0)
            continue;
          n_tags++;
          _cleanup_free_ char *repo = NULL, *tag = NULL;
          split_repo_tag (rt, &repo, &tag);
          const char *dg = "<none>";
          size_t j;
          json_t *d;
          json_array_foreach (rdigests, j, d)
            {
              const char *ds = json_string_value (d);
              const char *at = ds ? strchr (ds, '@') : NULL;
              if (at && strncmp (ds, repo, (size_t) (at - ds)) == 0 && strlen (repo) == (size_t) (at - ds))
                dg = at + 1;
            }
          json_array_append_new (rows, image_row (img, repo, tag, dg, trunc));
        }
      if (n_tags == 0)
        {
          const char *dg = "<none>";
          _cleanup_free_ char *repo = xstrdup ("<none>");
          json_t *d = json_array_get (rdigests, 0);
          if (json_is_string (d))
            {
              const char *ds = json_string_value (d);
              const char *at = strchr (ds, '@');
              if (at)
                {
                  free (repo);
                  repo = strndup (ds, (size_t) (at - ds));
                  dg = at + 1;
                }
            }
          json_array_append_new (rows, image_row (img, repo, "<none>", dg, trunc));
        }
    }
  if (format == NULL)
    format = digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                     : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
  _cleanup_json_ json_t *headers = json_pack (
      "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository", "REPOSITORY", "Tag",
      "TAG", "Digest", "DIGEST", "ID", "IMAGE ID", "CreatedSince", "CREATED", "CreatedAt",
      "CREATED AT", "Size", "SIZE", "VirtualSize", "VIRTUAL SIZE", "SharedSize", "SHARED SIZE",
      "UniqueSize", "UNIQUE SIZE", "Containers", "CONTAINERS");
  if (cli_format_rows (stdout, format, headers, rows, &err) < 0)
    return cli_fail (err, 1);
  return 0;
}
