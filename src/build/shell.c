/* docker's Dockerfile shell lexer (moby/buildkit frontend/dockerfile/shell):
 * quote removal, escapes and $VAR / ${VAR…} substitution for the
 * instructions that allow it, and splitting into words. */
#include "build/build.h"

#include <ctype.h>
#include <string.h>

struct sbuf
{
  char *s;
  size_t len, cap;
};

static void
sbuf_addc (struct sbuf *b, char c)
{
  if (b->len + 2 > b->cap)
    {
      b->cap = b->cap ? b->cap * 2 : 64;
      b->s = realloc (b->s, b->cap);
      if (b->s == NULL)
        abort ();
    }
  b->s[b->len++] = c;
  b->s[b->len] = '\0';
}

static void
sbuf_adds (struct sbuf *b, const char *s)
{
  for (; s && *s; s++)
    sbuf_addc (b, *s);
}

static char *
sbuf_take (struct sbuf *b)
{
  if (b->s == NULL)
    return xstrdup ("");
  char *s = b->s;
  b->s = NULL;
  b->len = b->cap = 0;
  return s;
}

struct lexer
{
  const char *p;
  char escape;
  df_lookup_fn lookup;
  void *data;
  /* splitting: words collected at unquoted whitespace */
  bool split;
  char ***words;
  bool in_word;
};

static int process_stop_on (struct lexer *lx, char stop, struct sbuf *out, struct berth_error **err);

static bool
is_name_char (char c)
{
  return isalnum ((unsigned char) c) || c == '_';
}

static int
process_single_quote (struct lexer *lx, struct sbuf *out, struct berth_error **err)
{
  /* all chars up to the next ' are literal, even the escape char */
  lx->p++;
  while (*lx->p && *lx->p != '\'')
    sbuf_addc (out, *lx->p++);
  if (*lx->p != '\'')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "unexpected end of statement while looking for matching single-quote");
  lx->p++;
  return 0;
}

static int process_dollar (struct lexer *lx, struct sbuf *out, struct berth_error **err);

static int
process_double_quote (struct lexer *lx, struct sbuf *out, struct berth_error **err)
{
  lx->p++;
  for (;;)
    {
      char c = *lx->p;
      if (c == '\0')
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "unexpected end of statement while looking for matching double-quote");
      if (c == '"')
        {
          lx->p++;
          return 0;
        }
      if (c == '$')
        {
          if (process_dollar (lx, out, err) < 0)
            return -1;
          continue;
        }
      if (c == lx->escape)
        {
          char n = lx->p[1];
          if (n == '\0')
            {
              lx->p++;
              continue;
            }
          /* only ", $ and the escape char itself can be escaped in "…" */
          if (n == '"' || n == '$' || n == lx->escape)
            {
              sbuf_addc (out, n);
              lx->p += 2;
              continue;
            }
        }
      sbuf_addc (out, c);
      lx->p++;
    }
}

static const char *
lookup (struct lexer *lx, const char *name)
{
  return lx->lookup ? lx->lookup (name, lx->data) : NULL;
}

static int
process_dollar (struct lexer *lx, struct sbuf *out, struct berth_error **err)
{
  lx->p++; /* the $ */
  if (*lx->p != '{')
    {
      const char *start = lx->p;
      if (isdigit ((unsigned char) *lx->p))
        lx->p++; /* $1: a positional name is one digit (docker's processName) */
      else
        while (is_name_char (*lx->p))
          lx->p++;
      if (lx->p == start)
        {
          sbuf_addc (out, '$'); /* a lone $ is literal */
          return 0;
        }
      _cleanup_free_ char *name = strndup (start, (size_t) (lx->p - start));
      sbuf_adds (out, lookup (lx, name));
      return 0;
    }
  lx->p++; /* { */
  const char *start = lx->p;
  while (is_name_char (*lx->p))
    lx->p++;
  _cleanup_free_ char *name = strndup (start, (size_t) (lx->p - start));
  if (*lx->p == '}')
    {
      lx->p++;
      sbuf_adds (out, lookup (lx, name));
      return 0;
    }
  if (name[0] == '\0' || *lx->p == '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "missing ':' in substitution");
  bool colon = false;
  if (*lx->p == ':')
    {
      colon = true;
      lx->p++;
    }
  char mod = *lx->p;
  if (mod != '-' && mod != '+' && mod != '?')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "unsupported modifier (%c) in substitution", mod ? mod : ' ');
  lx->p++;
  /* the word is itself processed (quotes, nested variables), up to } */
  struct sbuf word = { 0 };
  bool saved_split = lx->split;
  lx->split = false;
  int r = process_stop_on (lx, '}', &word, err);
  lx->split = saved_split;
  if (r < 0)
    {
      free (word.s);
      return -1;
    }
  _cleanup_free_ char *w = sbuf_take (&word);
  const char *val = lookup (lx, name);
  /* with ':' an empty value counts as unset (POSIX) */
  bool set = val != NULL && (!colon || val[0] != '\0');
  switch (mod)
    {
    case '-':
      sbuf_adds (out, set ? val : w);
      break;
    case '+':
      if (set)
        sbuf_adds (out, w);
      break;
    case '?':
      if (!set)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: %s", name,
                                     w[0] ? w : "is not allowed to be unset");
      sbuf_adds (out, val);
      break;
    }
  return 0;
}

static void
word_end (struct lexer *lx, struct sbuf *out)
{
  if (lx->split && lx->in_word)
    {
      _cleanup_free_ char *w = sbuf_take (out);
      strv_append (lx->words, w);
      lx->in_word = false;
    }
}

/* moby's processStopOn: read until stop (or the end when stop is 0). */
static int
process_stop_on (struct lexer *lx, char stop, struct sbuf *out, struct berth_error **err)
{
  for (;;)
    {
      char c = *lx->p;
      if (c == '\0')
        {
          if (stop)
            return berth_error_set_kind (err, BERTH_E_INVALID, 0, "unexpected end of statement while looking for matching %c", stop);
          return 0;
        }
      if (stop && c == stop)
        {
          lx->p++;
          return 0;
        }
      if (lx->split && !stop && isspace ((unsigned char) c))
        {
          word_end (lx, out);
          lx->p++;
          continue;
        }
      lx->in_word = true;
      int r = 0;
      if (c == '\'')
        r = process_single_quote (lx, out, err);
      else if (c == '"')
        r = process_double_quote (lx, out, err);
      else if (c == '$')
        r = process_dollar (lx, out, err);
      else if (c == lx->escape)
        {
          /* the escape char makes the next char literal; at the end it is dropped */
          lx->p++;
          if (*lx->p)
            sbuf_addc (out, *lx->p++);
        }
      else
        {
          sbuf_addc (out, c);
          lx->p++;
        }
      if (r < 0)
        return -1;
    }
}

int
df_word_expand (const char *word, char escape, df_lookup_fn fn, void *data, char **out,
                struct berth_error **err)
{
  struct lexer lx = { .p = word, .escape = escape, .lookup = fn, .data = data };
  struct sbuf b = { 0 };
  if (process_stop_on (&lx, 0, &b, err) < 0)
    {
      free (b.s);
      return berth_error_prefix (err, "%s", word);
    }
  *out = sbuf_take (&b);
  return 0;
}

int
df_words_expand (const char *text, char escape, df_lookup_fn fn, void *data, char ***out,
                 struct berth_error **err)
{
  _cleanup_strv_ char **words = calloc (1, sizeof (char *));
  if (words == NULL)
    abort ();
  struct lexer lx = { .p = text, .escape = escape, .lookup = fn, .data = data, .split = true,
                      .words = &words };
  struct sbuf b = { 0 };
  if (process_stop_on (&lx, 0, &b, err) < 0)
    {
      free (b.s);
      return berth_error_prefix (err, "%s", text);
    }
  word_end (&lx, &b);
  free (b.s);
  *out = steal_pointer (&words);
  return 0;
}
