/* docker's progress events: the JSON objects POST /images/create and
 * POST /images/{name}/push stream, byte for byte as dockerd's
 * streamformatter writes them (status, progressDetail, progress, id, aux). */
#include "registry/registry.h"
#include "registry/registry-internal.h"

#include <stdio.h>
#include <string.h>

/* go-units HumanSize: decimal units, 4 significant digits ("%.4g"). */
void
registry_human_size (double size, char *out, size_t len)
{
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB" };
  size_t i = 0;
  while (size >= 1000.0 && i + 1 < sizeof units / sizeof units[0])
    {
      size /= 1000.0;
      i++;
    }
  snprintf (out, len, "%.4g%s", size, units[i]);
}

/* jsonmessage.JSONProgress.String() with the daemon's width (200): a 50
 * column bar, then "current/total" right-aligned in 8 columns. */
char *
registry_progress_bar (int64_t current, int64_t total)
{
  char cur[32], tot[32];
  if (current <= 0 && total <= 0)
    return xstrdup ("");
  registry_human_size ((double)current, cur, sizeof cur);
  if (total <= 0)
    return xasprintf ("%8s", cur);
  int pct = (int)((double)current / (double)total * 100.0) / 2;
  if (pct > 50)
    pct = 50;
  if (pct < 0)
    pct = 0;
  char bar[64];
  memset (bar, '=', (size_t)pct);
  bar[pct] = '>';
  memset (bar + pct + 1, ' ', (size_t)(50 - pct));
  bar[51] = '\0';
  registry_human_size ((double)total, tot, sizeof tot);
  if (current > total)
    return xasprintf ("[%s] %8s", bar, cur);
  return xasprintf ("[%s] %8s/%s", bar, cur, tot);
}

json_t *
registry_progress_json (const struct registry_progress *ev)
{
  json_t *j = json_object ();
  json_object_set_new (j, "status", json_string (ev->status ? ev->status : ""));
  bool has_numbers = ev->current > 0 || ev->total > 0;
  if (ev->has_detail || has_numbers)
    {
      json_t *detail = json_object ();
      if (has_numbers)
        {
          json_object_set_new (detail, "current", json_integer (ev->current > 0 ? ev->current : 0));
          if (ev->total > 0)
            json_object_set_new (detail, "total", json_integer (ev->total));
          _cleanup_free_ char *bar = registry_progress_bar (ev->current, ev->total);
          json_object_set_new (j, "progressDetail", detail);
          json_object_set_new (j, "progress", json_string (bar));
        }
      else
        json_object_set_new (j, "progressDetail", detail);
    }
  if (ev->id != NULL)
    json_object_set_new (j, "id", json_string (ev->id));
  if (ev->aux != NULL)
    json_object_set (j, "aux", (json_t *)ev->aux);
  return j;
}

int
registry_progress_emit (const struct registry_options *opts, const char *status, const char *id,
                        bool has_detail, int64_t current, int64_t total)
{
  if (opts == NULL || opts->progress == NULL)
    return 0;
  struct registry_progress ev = {
    .status = status, .id = id, .has_detail = has_detail, .current = current, .total = total
  };
  return opts->progress (&ev, opts->progress_opaque);
}

void
registry_short_id (const char *digest, char out[13])
{
  const char *hex = strchr (digest, ':');
  hex = hex ? hex + 1 : digest;
  snprintf (out, 13, "%s", hex);
}
