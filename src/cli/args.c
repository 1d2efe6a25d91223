/* berth cli: docker's flag syntax (spf13/pflag as the docker CLI configures
 * it): long and short flags, values attached or separate, combined short
 * booleans, repeated flags, `--`, and the help text of a flag table. */
#include "cli/cli-internal.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static size_t
opts_count (const struct cli_opt *opts)
{
  size_t n = 0;
  while (opts && opts[n].name)
    n++;
  return n;
}

static ssize_t
opt_find_long (const struct cli_args *a, const char *name, size_t len)
{
  for (size_t i = 0; i < a->n_opts; i++)
    if (strlen (a->opts[i].name) == len && strncmp (a->opts[i].name, name, len) == 0)
      return (ssize_t) i;
  return -1;
}

static ssize_t
opt_find_short (const struct cli_args *a, char c)
{
  for (size_t i = 0; i < a->n_opts; i++)
    if (a->opts[i].shorthand == c)
      return (ssize_t) i;
  return -1;
}

static int
parse_bool_value (const char *v, bool *out)
{
  /* strconv.ParseBool */
  static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
  static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
  for (size_t i = 0; i < 6; i++)
    {
      if (strcmp (v, yes[i]) == 0)
        return *out = true, 0;
      if (strcmp (v, no[i]) == 0)
        return *out = false, 0;
    }
  return -1;
}

static int
opt_set (struct cli_args *a, size_t i, const char *value, const char *shown,
         struct berth_error **err)
{
  const struct cli_opt *o = &a->opts[i];
  struct cli_optval *v = &a->vals[i];
  v->is_set = true;
  switch (o->type)
    {
    case CLI_OPT_BOOL:
      if (value == NULL)
        v->b = true;
      else if (parse_bool_value (value, &v->b) < 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "invalid argument \"%s\" for \"%s\" flag: strconv.ParseBool: "
                                     "parsing \"%s\": invalid syntax",
                                     value, shown, value);
      return 0;
    case CLI_OPT_STRING:
      free (v->s);
      v->s = xstrdup (value);
      return 0;
    case CLI_OPT_LIST:
      strv_append (&v->list, value);
      return 0;
    }
  return 0;
}

/* "--name[=value]" at argv[*i]. */
static int
parse_long (struct cli_args *a, int argc, char **argv, int *i, struct berth_error **err)
{
  const char *arg = argv[*i] + 2;
  const char *eq = strchr (arg, '=');
  size_t len = eq ? (size_t) (eq - arg) : strlen (arg);
  if (len == 4 && strncmp (arg, "help", 4) == 0 && opt_find_long (a, "help", 4) < 0)
    {
      a->want_help = true;
      return 0;
    }
  ssize_t idx = opt_find_long (a, arg, len);
  if (idx < 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "unknown flag: --%.*s", (int) len, arg);
  const struct cli_opt *o = &a->opts[idx];
  _cleanup_free_ char *shown = xasprintf ("--%s", o->name);
  if (eq)
    return opt_set (a, (size_t) idx, eq + 1, shown, err);
  if (o->type == CLI_OPT_BOOL)
    return opt_set (a, (size_t) idx, NULL, shown, err);
  if (*i + 1 >= argc)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "flag needs an argument: --%s",
                                 o->name);
  (*i)++;
  return opt_set (a, (size_t) idx, argv[*i], shown, err);
}

/* "-abc", "-nvalue", "-n=value", "-n value" at argv[*i]. */
static int
parse_short (struct cli_args *a, int argc, char **argv, int *i, struct berth_error **err)
{
  const char *arg = argv[*i];
  for (const char *p = arg + 1; *p; p++)
    {
      char c = *p;
      ssize_t idx = opt_find_short (a, c);
      if (idx < 0)
        {
          if (c == 'h')
            {
              a->want_help = true;
              continue;
            }
          return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                       "unknown shorthand flag: '%c' in %s", c, arg);
        }
      const struct cli_opt *o = &a->opts[idx];
      char shown[3] = { '-', c, 0 };
      if (o->type == CLI_OPT_BOOL)
        {
          if (p[1] == '=')
            return opt_set (a, (size_t) idx, p + 2, shown, err);
          if (opt_set (a, (size_t) idx, NULL, shown, err) < 0)
            return -1;
          continue;
        }
      /* A flag with a value takes the rest of this word or the next one. */
      if (p[1] == '=')
        return opt_set (a, (size_t) idx, p + 2, shown, err);
      if (p[1] != '\0')
        return opt_set (a, (size_t) idx, p + 1, shown, err);
      if (*i + 1 >= argc)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "flag needs an argument: '%c' in -%c", c, c);
      (*i)++;
      return opt_set (a, (size_t) idx, argv[*i], shown, err);
    }
  return 0;
}

int
cli_args_parse (const struct cli_opt *opts, int argc, char **argv, bool interspersed,
                struct cli_args *out, struct berth_error **err)
{
  memset (out, 0, sizeof *out);
  out->opts = opts;
  out->n_opts = opts_count (opts);
  out->vals = calloc (out->n_opts + 1, sizeof *out->vals);
  out->pos = calloc (1, sizeof (char *));
  if (out->vals == NULL || out->pos == NULL)
    abort ();
  bool flags_done = false;
  for (int i = 0; i < argc; i++)
    {
      const char *arg = argv[i];
      if (!flags_done && strcmp (arg, "--") == 0)
        {
          flags_done = true;
          continue;
        }
      if (!flags_done && arg[0] == '-' && arg[1] == '-' && arg[2] != '\0')
        {
          if (parse_long (out, argc, argv, &i, err) < 0)
            goto fail;
          continue;
        }
      if (!flags_done && arg[0] == '-' && arg[1] != '\0' && arg[1] != '-')
        {
          if (parse_short (out, argc, argv, &i, err) < 0)
            goto fail;
          continue;
        }
      strv_append (&out->pos, arg);
      out->n_pos++;
      if (!interspersed)
        flags_done = true;
    }
  return 0;

fail:
  /* Callers only print the error: leave nothing for them to free. */
  cli_args_free (out);
  return -1;
}

void
cli_args_free (struct cli_args *a)
{
  for (size_t i = 0; a->vals && i < a->n_opts; i++)
    {
      free (a->vals[i].s);
      strv_freep (&a->vals[i].list);
    }
  free (a->vals);
  strv_freep (&a->pos);
  memset (a, 0, sizeof *a);
}

static ssize_t
find (const struct cli_args *a, const char *name)
{
  ssize_t i = opt_find_long (a, name, strlen (name));
  if (i < 0)
    {
      /* A programming error: the command reads a flag its table lacks. */
      fprintf (stderr, "berth: internal error: no flag --%s\n", name);
      abort ();
    }
  return i;
}

bool
cli_args_bool (const struct cli_args *a, const char *name)
{
  ssize_t i = find (a, name);
  if (a->vals[i].is_set)
    return a->vals[i].b;
  const char *d = a->opts[i].defval;
  return d && strcmp (d, "true") == 0;
}

bool
cli_args_is_set (const struct cli_args *a, const char *name)
{
  return a->vals[find (a, name)].is_set;
}

const char *
cli_args_str (const struct cli_args *a, const char *name)
{
  ssize_t i = find (a, name);
  if (a->vals[i].is_set)
    return a->vals[i].s;
  return a->opts[i].defval;
}

char **
cli_args_list (const struct cli_args *a, const char *name)
{
  static char *empty[] = { NULL };
  ssize_t i = find (a, name);
  return a->vals[i].list ? a->vals[i].list : empty;
}

int
cli_args_int (const struct cli_args *a, const char *name, long long *out,
              struct berth_error **err)
{
  const char *s = cli_args_str (a, name);
  if (s == NULL)
    return *out = 0, 0;
  char *end = NULL;
  errno = 0;
  long long v = strtoll (s, &end, 0);
  if (errno != 0 || end == s || *end != '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "invalid argument \"%s\" for \"--%s\" flag: strconv.ParseInt: "
                                 "parsing \"%s\": invalid syntax",
                                 s, name, s);
  *out = v;
  return 0;
}

void
cli_opts_print_help (FILE *f, const struct cli_opt *opts)
{
  size_t n = opts_count (opts);
  if (n == 0)
    return;
  fprintf (f, "\nOptions:\n");
  for (size_t i = 0; i < n; i++)
    {
      const struct cli_opt *o = &opts[i];
      char left[64];
      const char *kind = o->type == CLI_OPT_BOOL ? "" : o->type == CLI_OPT_LIST ? " list" : " string";
      if (o->shorthand)
        snprintf (left, sizeof left, "  -%c, --%s%s", o->shorthand, o->name, kind);
      else
        snprintf (left, sizeof left, "      --%s%s", o->name, kind);
      fprintf (f, "%-30s %s", left, o->help ? o->help : "");
      if (o->defval && o->type != CLI_OPT_BOOL)
        fprintf (f, " (default \"%s\")", o->defval);
      else if (o->defval && strcmp (o->defval, "true") == 0)
        fprintf (f, " (default true)");
      fputc ('\n', f);
    }
}
