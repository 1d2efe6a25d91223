/* The Dockerfile parser (moby/buildkit frontend/dockerfile/parser): parser
 * directives, comments, line continuations with the escape char, heredocs,
 * exec (JSON) vs shell forms, instruction flags and each instruction's
 * argument shape. Substitution happens later, at build time (shell.c). */
#include "build/build.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const struct
{
  const char *name;
  enum df_kind kind;
  const char *const flags[8]; /* flags the instruction accepts (docker's) */
} instructions[] = {
  { "ADD", DF_ADD, { "chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", "platform", NULL } },
  { "ARG", DF_ARG, { NULL } },
  { "CMD", DF_CMD, { NULL } },
  { "COPY", DF_COPY, { "from", "chown", "chmod", "link", "parents", "exclude", "platform", NULL } },
  { "ENTRYPOINT", DF_ENTRYPOINT, { NULL } },
  { "ENV", DF_ENV, { NULL } },
  { "EXPOSE", DF_EXPOSE, { NULL } },
  { "FROM", DF_FROM, { "platform", NULL } },
  { "HEALTHCHECK", DF_HEALTHCHECK, { "interval", "timeout", "start-period", "start-interval", "retries", NULL } },
  { "LABEL", DF_LABEL, { NULL } },
  { "MAINTAINER", DF_MAINTAINER, { NULL } },
  { "ONBUILD", DF_ONBUILD, { NULL } },
  { "RUN", DF_RUN, { "mount", "network", "security", NULL } },
  { "SHELL", DF_SHELL, { NULL } },
  { "STOPSIGNAL", DF_STOPSIGNAL, { NULL } },
  { "USER", DF_USER, { NULL } },
  { "VOLUME", DF_VOLUME, { NULL } },
  { "WORKDIR", DF_WORKDIR, { NULL } },
};

#define N_INSTRUCTIONS (sizeof instructions / sizeof instructions[0])

/* ------------------------------------------------------------- helpers -- */

struct pos
{
  const char *filename;
  unsigned line, column;
};

__attribute__ ((format (printf, 3, 4))) static int
parse_error (struct berth_error **err, const struct pos *p, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  _cleanup_free_ char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s:%u:%u: %s", p->filename, p->line,
                               p->column, msg);
}

/* Go's unicode.IsSpace minus the newline (lines are already split). */
static const char *
skip_ws (const char *s)
{
  while (*s == ' ' || *s == '\t' || *s == '\f' || *s == '\v' || *s == '\r')
    s++;
  return s;
}

static char *
rtrim_dup (const char *s, size_t n)
{
  while (n > 0 && isspace ((unsigned char) s[n - 1]))
    n--;
  return strndup (s, n);
}

void
df_instruction_clear (struct df_instruction *inst)
{
  free (inst->original);
  for (size_t i = 0; i < inst->n_flags; i++)
    {
      free (inst->flags[i].name);
      free (inst->flags[i].value);
    }
  free (inst->flags);
  strv_freep (&inst->args);
  for (size_t i = 0; i < inst->n_heredocs; i++)
    {
      free (inst->heredocs[i].name);
      free (inst->heredocs[i].content);
    }
  free (inst->heredocs);
  if (inst->trigger)
    {
      df_instruction_clear (inst->trigger);
      free (inst->trigger);
    }
  memset (inst, 0, sizeof *inst);
}

void
dockerfile_free (struct dockerfile *df)
{
  for (size_t i = 0; i < df->n_insts; i++)
    df_instruction_clear (&df->insts[i]);
  free (df->insts);
  free (df->filename);
  free (df->syntax);
  strv_freep (&df->warnings);
  free (df);
}

const char *
df_instruction_flag (const struct df_instruction *inst, const char *name, bool *present)
{
  const char *v = NULL;
  bool found = false;
  for (size_t i = 0; i < inst->n_flags; i++)
    if (strcmp (inst->flags[i].name, name) == 0)
      {
        found = true;
        v = inst->flags[i].value; /* the last one wins */
      }
  if (present)
    *present = found;
  return v;
}

/* -------------------------------------------------------- argument shapes -- */

/* A JSON array of strings ("exec form"), as docker's parseJSON: anything
 * else (not an array, a non-string element) is the shell form. */
static char **
parse_json_array (const char *rest)
{
  if (*rest != '[')
    return NULL;
  json_error_t je;
  _cleanup_json_ json_t *j = json_loads (rest, JSON_DECODE_ANY, &je);
  if (!json_is_array (j))
    return NULL;
  char **v = calloc (1, sizeof (char *));
  if (v == NULL)
    abort ();
  size_t i;
  json_t *e;
  json_array_foreach (j, i, e)
    {
      if (!json_is_string (e))
        {
          strv_freep (&v);
          return NULL;
        }
      strv_append (&v, json_string_value (e));
    }
  return v;
}

/* Split at unquoted whitespace, keeping quotes and escapes (they are
 * processed at build time with the variables in effect). */
static int
split_words_raw (const char *s, char escape, char ***out, const struct pos *p,
                 struct berth_error **err)
{
  _cleanup_strv_ char **v = calloc (1, sizeof (char *));
  if (v == NULL)
    abort ();
  while (*s)
    {
      /* Every space separates words (\v, \f, \r too, as Go's
       * unicode.IsSpace in docker's parseWords); skipping only ' ' and '\t'
       * here while the scan below stops at any isspace() made a "\v"
       * append empty words forever. */
      while (*s != '\n' && isspace ((unsigned char) *s))
        s++;
      if (*s == '\0' || *s == '\n')
        break;
      const char *start = s;
      char quote = 0;
      while (*s)
        {
          if (quote)
            {
              if (*s == escape && quote == '"' && s[1])
                s++;
              else if (*s == quote)
                quote = 0;
            }
          else if (*s == escape && s[1])
            s++;
          else if (*s == '\'' || *s == '"')
            quote = *s;
          else if (isspace ((unsigned char) *s))
            break;
          s++;
        }
      if (quote)
        return parse_error (err, p, "unexpected end of statement while looking for matching %c", quote);
      if (s == start)
        {
          s++; /* a whitespace char skip_ws does not know: never loop on it */
          continue;
        }
      _cleanup_free_ char *w = strndup (start, (size_t) (s - start));
      strv_append (&v, w);
    }
  *out = steal_pointer (&v);
  return 0;
}

/* ENV and LABEL: "k=v k2='v 2'" (the new form) or "k v w" (the legacy
 * single-pair form, only without '=' in the first word). */
static int
parse_name_values (const struct df_instruction *inst, const char *rest, char escape, char ***out,
                   const struct pos *p, struct berth_error **err)
{
  _cleanup_strv_ char **words = NULL;
  if (split_words_raw (rest, escape, &words, p, err) < 0)
    return -1;
  if (words[0] == NULL)
    return parse_error (err, p, "%s requires at least one argument", inst->name);
  _cleanup_strv_ char **kv = calloc (1, sizeof (char *));
  if (kv == NULL)
    abort ();
  if (strchr (words[0], '=') == NULL)
    {
      /* legacy "ENV key value with spaces": the rest of the line, verbatim */
      const char *after = skip_ws (rest);
      after += strlen (words[0]);
      after = skip_ws (after);
      if (inst->kind == DF_LABEL || *after == '\0')
        return parse_error (err, p, "%s names can not be blank", inst->name);
      _cleanup_free_ char *val = rtrim_dup (after, strlen (after));
      strv_append (&kv, words[0]);
      strv_append (&kv, val);
      *out = steal_pointer (&kv);
      return 0;
    }
  for (char **w = words; *w; w++)
    {
      char *eq = strchr (*w, '=');
      if (eq == NULL)
        return parse_error (err, p, "Syntax error - can't find = in \"%s\". Must be of the form: name=value", *w);
      if (eq == *w)
        return parse_error (err, p, "%s names can not be blank", inst->name);
      _cleanup_free_ char *k = strndup (*w, (size_t) (eq - *w));
      strv_append (&kv, k);
      strv_append (&kv, eq + 1);
    }
  *out = steal_pointer (&kv);
  return 0;
}

/* "--name=value" words at the start of the arguments. */
static const char *
extract_flags (struct df_instruction *inst, const char *rest, int table_idx, const struct pos *p,
               struct berth_error **err)
{
  for (;;)
    {
      rest = skip_ws (rest);
      if (strncmp (rest, "--", 2) != 0)
        return rest;
      const char *start = rest + 2;
      const char *end = start;
      /* flag values may be quoted: --chown="a b" is rare; split at space */
      while (*end && !isspace ((unsigned char) *end))
        end++;
      if (end == start)
        return rest; /* "--" alone: not a flag (docker passes it on) */
      _cleanup_free_ char *word = strndup (start, (size_t) (end - start));
      char *eq = strchr (word, '=');
      char *value = NULL;
      if (eq)
        {
          *eq = '\0';
          value = xstrdup (eq + 1);
        }
      bool known = false;
      for (const char *const *f = instructions[table_idx].flags; *f; f++)
        known |= strcmp (*f, word) == 0;
      if (!known)
        {
          free (value);
          return parse_error (err, p, "unknown flag: %s", word), NULL;
        }
      inst->flags = realloc (inst->flags, (inst->n_flags + 1) * sizeof *inst->flags);
      if (inst->flags == NULL)
        abort ();
      inst->flags[inst->n_flags].name = xstrdup (word);
      inst->flags[inst->n_flags].value = value;
      inst->n_flags++;
      rest = end;
    }
}

/* Heredoc markers ("<<EOF", "<<-'EOF'", "<<\"EOF\"") in a RUN/COPY/ADD
 * line, in order. *strip[i] tells "<<-". */
static size_t
find_heredocs (const char *rest, char ***names, bool **strip, bool **expand)
{
  size_t n = 0;
  const char *s = rest;
  char quote = 0;
  *names = calloc (1, sizeof (char *));
  *strip = NULL;
  *expand = NULL;
  if (*names == NULL)
    abort ();
  for (; *s; s++)
    {
      if (quote)
        {
          if (*s == quote)
            quote = 0;
          continue;
        }
      if (*s == '\'' || *s == '"')
        {
          quote = *s;
          continue;
        }
      if (s[0] != '<' || s[1] != '<' || s[2] == '<')
        continue;
      const char *q = s + 2;
      bool dash = *q == '-';
      if (dash)
        q++;
      char wq = 0;
      if (*q == '\'' || *q == '"')
        wq = *q++;
      const char *start = q;
      while (isalnum ((unsigned char) *q) || *q == '_' || *q == '-' || *q == '.')
        q++;
      if (q == start || (wq && *q != wq))
        continue;
      _cleanup_free_ char *name = strndup (start, (size_t) (q - start));
      strv_append (names, name);
      *strip = realloc (*strip, (n + 1) * sizeof (bool));
      *expand = realloc (*expand, (n + 1) * sizeof (bool));
      if (*strip == NULL || *expand == NULL)
        abort ();
      (*strip)[n] = dash;
      (*expand)[n] = wq == 0;
      n++;
      s = wq ? q : q - 1;
    }
  return n;
}

static int
lookup_instruction (const char *word, const struct pos *p, struct berth_error **err)
{
  for (size_t i = 0; i < N_INSTRUCTIONS; i++)
    if (strcasecmp (instructions[i].name, word) == 0)
      return (int) i;
  return parse_error (err, p, "unknown instruction: %s", word);
}

/* Fill inst from the joined instruction text (without heredoc bodies). */
static int
parse_instruction (const char *text, char escape, const struct pos *pos, struct df_instruction *inst,
                   struct berth_error **err)
{
  const char *s = skip_ws (text);
  const char *kw_end = s;
  while (*kw_end && !isspace ((unsigned char) *kw_end))
    kw_end++;
  _cleanup_free_ char *kw = strndup (s, (size_t) (kw_end - s));
  int idx = lookup_instruction (kw, pos, err);
  if (idx < 0)
    return -1;
  inst->kind = instructions[idx].kind;
  inst->name = instructions[idx].name;
  inst->line = pos->line;
  inst->column = pos->column;
  inst->original = rtrim_dup (s, strlen (s));
  struct pos apos = *pos;
  apos.column = pos->column + (unsigned) (kw_end - s) + 1;
  const char *rest = extract_flags (inst, kw_end, idx, &apos, err);
  if (rest == NULL)
    return -1;
  _cleanup_free_ char *body = rtrim_dup (rest, strlen (rest));

  switch (inst->kind)
    {
    case DF_RUN:
    case DF_CMD:
    case DF_ENTRYPOINT:
    case DF_SHELL:
      inst->args = parse_json_array (body);
      if (inst->args)
        inst->is_json = true;
      else if (inst->kind == DF_SHELL)
        return parse_error (err, &apos, "SHELL requires the arguments to be in JSON form");
      else
        {
          inst->args = calloc (1, sizeof (char *));
          if (inst->args == NULL)
            abort ();
          strv_append (&inst->args, body);
        }
      if (inst->kind == DF_RUN && body[0] == '\0')
        return parse_error (err, &apos, "RUN requires at least one argument");
      if (inst->kind == DF_SHELL && inst->args[0] == NULL)
        return parse_error (err, &apos, "SHELL requires at least one argument");
      return 0;
    case DF_ENV:
    case DF_LABEL:
      return parse_name_values (inst, body, escape, &inst->args, &apos, err);
    case DF_COPY:
    case DF_ADD:
    case DF_VOLUME:
      inst->args = parse_json_array (body);
      if (inst->args)
        inst->is_json = true;
      else if (split_words_raw (body, escape, &inst->args, &apos, err) < 0)
        return -1;
      if (inst->kind == DF_VOLUME && inst->args[0] == NULL)
        return parse_error (err, &apos, "VOLUME requires at least one argument");
      if (inst->kind != DF_VOLUME && strv_len (inst->args) < 2)
        return parse_error (err, &apos, "%s requires at least two arguments, but only %zu provided",
                            inst->name, strv_len (inst->args));
      return 0;
    case DF_FROM:
      if (split_words_raw (body, escape, &inst->args, &apos, err) < 0)
        return -1;
      {
        size_t n = strv_len (inst->args);
        if (n != 1 && !(n == 3 && strcasecmp (inst->args[1], "as") == 0))
          return parse_error (err, &apos, "FROM requires either one or three arguments");
      }
      return 0;
    case DF_ARG:
    case DF_EXPOSE:
      if (split_words_raw (body, escape, &inst->args, &apos, err) < 0)
        return -1;
      if (inst->args[0] == NULL)
        return parse_error (err, &apos, "%s requires at least one argument", inst->name);
      return 0;
    case DF_USER:
    case DF_WORKDIR:
    case DF_MAINTAINER:
    case DF_STOPSIGNAL:
      if (body[0] == '\0')
        return parse_error (err, &apos, "%s requires exactly one argument", inst->name);
      inst->args = calloc (1, sizeof (char *));
      if (inst->args == NULL)
        abort ();
      strv_append (&inst->args, body);
      return 0;
    case DF_HEALTHCHECK:
      {
        const char *b = body;
        const char *e = b;
        while (*e && !isspace ((unsigned char) *e))
          e++;
        _cleanup_free_ char *typ = strndup (b, (size_t) (e - b));
        inst->args = calloc (1, sizeof (char *));
        if (inst->args == NULL)
          abort ();
        if (strcasecmp (typ, "NONE") == 0)
          {
            if (*skip_ws (e))
              return parse_error (err, &apos, "HEALTHCHECK NONE takes no arguments");
            strv_append (&inst->args, "NONE");
            return 0;
          }
        if (strcasecmp (typ, "CMD") != 0)
          return parse_error (err, &apos, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", typ);
        strv_append (&inst->args, "CMD");
        const char *cmd = skip_ws (e);
        if (*cmd == '\0')
          return parse_error (err, &apos, "Missing command after HEALTHCHECK CMD");
        _cleanup_strv_ char **j = parse_json_array (cmd);
        if (j)
          {
            inst->is_json = true;
            for (char **x = j; *x; x++)
              strv_append (&inst->args, *x);
          }
        else
          strv_append (&inst->args, cmd);
        return 0;
      }
    case DF_ONBUILD:
      {
        if (body[0] == '\0')
          return parse_error (err, &apos, "ONBUILD requires at least one argument");
        const char *e = body;
        while (*e && !isspace ((unsigned char) *e))
          e++;
        _cleanup_free_ char *w = strndup (body, (size_t) (e - body));
        if (strcasecmp (w, "ONBUILD") == 0)
          return parse_error (err, &apos, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (strcasecmp (w, "FROM") == 0 || strcasecmp (w, "MAINTAINER") == 0)
          return parse_error (err, &apos, "%s isn't allowed as an ONBUILD trigger", w);
        inst->trigger = calloc (1, sizeof *inst->trigger);
        if (inst->trigger == NULL)
          abort ();
        if (parse_instruction (body, escape, &apos, inst->trigger, err) < 0)
          return -1;
        inst->args = calloc (1, sizeof (char *));
        if (inst->args == NULL)
          abort ();
        strv_append (&inst->args, body);
        return 0;
      }
    }
  return 0;
}

int
dockerfile_parse_line (const char *line, char escape, const char *filename, unsigned lineno,
                       struct df_instruction *out, struct berth_error **err)
{
  memset (out, 0, sizeof *out);
  struct pos p = { filename, lineno, 1 };
  if (parse_instruction (line, escape, &p, out, err) < 0)
    {
      df_instruction_clear (out);
      return -1;
    }
  return 0;
}

/* ------------------------------------------------------------ the file -- */

struct lines
{
  char **v;
  size_t n;
};

static void
split_lines (const char *text, size_t len, struct lines *out)
{
  out->v = NULL;
  out->n = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++)
    if (i == len || text[i] == '\n')
      {
        if (i == len && start == len)
          break;
        size_t e = i;
        if (e > start && text[e - 1] == '\r')
          e--;
        out->v = realloc (out->v, (out->n + 1) * sizeof (char *));
        if (out->v == NULL)
          abort ();
        out->v[out->n++] = strndup (text + start, e - start);
        start = i + 1;
      }
}

static bool
is_comment (const char *line)
{
  return *skip_ws (line) == '#';
}

static bool
is_blank (const char *line)
{
  for (; *line; line++)
    if (!isspace ((unsigned char) *line))
      return false;
  return true;
}

/* Ends with the escape char (trailing whitespace allowed, docker's
 * `\\[ \t]*$`)? Then *cut is where the escape sits. */
static bool
has_continuation (const char *line, char escape, size_t *cut)
{
  size_t n = strlen (line);
  while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
    n--;
  if (n == 0 || line[n - 1] != escape)
    return false;
  *cut = n - 1;
  return true;
}

/* "# name=value" at the top of the file. */
static bool
parse_directive (const char *line, char **name, char **value)
{
  const char *s = skip_ws (line);
  if (*s != '#')
    return false;
  s = skip_ws (s + 1);
  const char *n = s;
  if (!isalpha ((unsigned char) *s))
    return false;
  while (isalnum ((unsigned char) *s))
    s++;
  const char *ne = s;
  s = skip_ws (s);
  if (*s != '=')
    return false;
  s = skip_ws (s + 1);
  *name = strndup (n, (size_t) (ne - n));
  *value = rtrim_dup (s, strlen (s));
  for (char *p = *name; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  return true;
}

static int
read_directives (struct dockerfile *df, struct lines *L, size_t *i, struct berth_error **err)
{
  bool seen_escape = false, seen_syntax = false;
  for (; *i < L->n; (*i)++)
    {
      _cleanup_free_ char *name = NULL, *value = NULL;
      if (!parse_directive (L->v[*i], &name, &value))
        return 0;
      struct pos p = { df->filename, (unsigned) *i + 1, 1 };
      if (strcmp (name, "escape") == 0)
        {
          if (seen_escape)
            return parse_error (err, &p, "only one escape parser directive can be used");
          seen_escape = true;
          if (strcmp (value, "`") != 0 && strcmp (value, "\\") != 0)
            return parse_error (err, &p, "invalid escape token '%s' does not match ` or \\", value);
          df->escape = value[0];
        }
      else if (strcmp (name, "syntax") == 0)
        {
          if (seen_syntax)
            return parse_error (err, &p, "only one syntax parser directive can be used");
          seen_syntax = true;
          free (df->syntax);
          df->syntax = steal_pointer (&value);
        }
      /* unknown directives ("check" and others) are comments, as docker does */
    }
  return 0;
}

static void
add_heredoc (struct df_instruction *inst, const char *name, char *content, bool expand)
{
  inst->heredocs = realloc (inst->heredocs, (inst->n_heredocs + 1) * sizeof *inst->heredocs);
  if (inst->heredocs == NULL)
    abort ();
  inst->heredocs[inst->n_heredocs].name = xstrdup (name);
  inst->heredocs[inst->n_heredocs].content = content;
  inst->heredocs[inst->n_heredocs].expand = expand;
  inst->n_heredocs++;
}

/* Read the bodies of the heredocs the instruction line names, from line *i. */
static int
read_heredocs (struct dockerfile *df, struct lines *L, size_t *i, struct df_instruction *inst,
               struct berth_error **err)
{
  if (inst->kind != DF_RUN && inst->kind != DF_COPY && inst->kind != DF_ADD)
    return 0;
  if (inst->is_json)
    return 0;
  _cleanup_strv_ char **names = NULL;
  _cleanup_free_ bool *strip = NULL, *expand = NULL;
  size_t n = find_heredocs (inst->original, &names, &strip, &expand);
  for (size_t h = 0; h < n; h++)
    {
      size_t cap = 256, len = 0;
      char *content = malloc (cap);
      if (content == NULL)
        abort ();
      content[0] = '\0';
      bool closed = false;
      unsigned start_line = inst->line;
      for (; *i < L->n; (*i)++)
        {
          const char *l = L->v[*i];
          if (strip[h])
            while (*l == '\t')
              l++;
          if (strcmp (l, names[h]) == 0)
            {
              closed = true;
              (*i)++;
              break;
            }
          size_t ll = strlen (l);
          while (len + ll + 2 > cap)
            {
              cap *= 2;
              content = realloc (content, cap);
              if (content == NULL)
                abort ();
            }
          memcpy (content + len, l, ll);
          len += ll;
          content[len++] = '\n';
          content[len] = '\0';
        }
      if (!closed)
        {
          free (content);
          struct pos p = { df->filename, start_line, 1 };
          return parse_error (err, &p, "unterminated heredoc %s", names[h]);
        }
      add_heredoc (inst, names[h], content, expand[h]);
    }
  return 0;
}

int
dockerfile_parse (const char *text, size_t len, const char *filename, struct dockerfile **out,
                  struct berth_error **err)
{
  struct dockerfile *df = calloc (1, sizeof *df);
  if (df == NULL)
    abort ();
  _cleanup_dockerfile_ struct dockerfile *owned = df;
  df->filename = xstrdup (filename ? filename : "Dockerfile");
  df->escape = '\\';
  df->warnings = calloc (1, sizeof (char *));
  /* a UTF-8 byte order mark is skipped, as docker does */
  if (len >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0)
    {
      text += 3;
      len -= 3;
    }
  struct lines L;
  split_lines (text, len, &L);
  int r = 0;
  size_t i = 0;
  if (read_directives (df, &L, &i, err) < 0)
    r = -1;
  while (r == 0 && i < L.n)
    {
      const char *line = L.v[i];
      if (is_blank (line) || is_comment (line))
        {
          i++;
          continue;
        }
      unsigned first = (unsigned) i + 1;
      unsigned col = (unsigned) (skip_ws (line) - line) + 1;
      /* join continuation lines; comment lines inside are dropped, and
       * empty ones too (docker warns about those) */
      size_t cap = strlen (line) + 64, jl = 0;
      _cleanup_free_ char *joined = malloc (cap);
      if (joined == NULL)
        abort ();
      joined[0] = '\0';
      const char *cur = line;
      i++;
      for (;;)
        {
          size_t cut;
          bool cont = has_continuation (cur, df->escape, &cut);
          size_t cl = cont ? cut : strlen (cur);
          while (jl + cl + 2 > cap)
            {
              cap *= 2;
              joined = realloc (joined, cap);
              if (joined == NULL)
                abort ();
            }
          memcpy (joined + jl, cur, cl);
          jl += cl;
          joined[jl] = '\0';
          if (!cont)
            break;
          /* next meaningful line */
          while (i < L.n && (is_comment (L.v[i]) || is_blank (L.v[i])))
            {
              if (is_blank (L.v[i]))
                {
                  _cleanup_free_ char *w = xasprintf ("%s:%zu: empty continuation line", df->filename, i + 1);
                  strv_append (&df->warnings, w);
                }
              i++;
            }
          if (i >= L.n)
            break;
          cur = L.v[i++];
        }
      df->insts = realloc (df->insts, (df->n_insts + 1) * sizeof *df->insts);
      if (df->insts == NULL)
        abort ();
      struct df_instruction *inst = &df->insts[df->n_insts];
      memset (inst, 0, sizeof *inst);
      df->n_insts++;
      struct pos p = { df->filename, first, col };
      if (parse_instruction (joined, df->escape, &p, inst, err) < 0
          || read_heredocs (df, &L, &i, inst, err) < 0)
        r = -1;
    }
  for (size_t k = 0; k < L.n; k++)
    free (L.v[k]);
  free (L.v);
  if (r < 0)
    return -1;
  if (df->n_insts == 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: the Dockerfile cannot be empty", df->filename);
  /* docker: the first instruction must be FROM (ARGs may come before) */
  for (size_t k = 0; k < df->n_insts; k++)
    {
      if (df->insts[k].kind == DF_FROM)
        break;
      if (df->insts[k].kind != DF_ARG)
        {
          struct pos p = { df->filename, df->insts[k].line, df->insts[k].column };
          return parse_error (err, &p, "no build stage in current context");
        }
    }
  *out = steal_pointer (&owned);
  return 0;
}
