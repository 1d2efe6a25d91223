/* .dockerignore as docker reads it (moby/patternmatcher, ignorefile):
 * cleaned patterns, '!' exceptions where the last match wins, Go's
 * filepath.Match syntax within a segment and "**" across segments, and a
 * pattern matching a directory also matching everything below it. */
#include "build/build.h"

#include <ctype.h>
#include <string.h>

struct pattern
{
  char *text;
  bool exclusion;
};

struct build_ignore
{
  struct pattern *v;
  size_t n;
  bool has_exceptions;
};

void
build_ignore_free (struct build_ignore *ig)
{
  if (ig == NULL)
    return;
  for (size_t i = 0; i < ig->n; i++)
    free (ig->v[i].text);
  free (ig->v);
  free (ig);
}

bool
build_ignore_has_exceptions (const struct build_ignore *ig)
{
  return ig && ig->has_exceptions;
}

/* Go's filepath.Clean for "/"-separated paths. */
static char *
path_clean (const char *p)
{
  bool rooted = p[0] == '/';
  _cleanup_strv_ char **parts = strv_split (p, '/');
  _cleanup_strv_ char **out = calloc (1, sizeof (char *));
  if (out == NULL)
    abort ();
  for (char **s = parts; *s; s++)
    {
      if ((*s)[0] == '\0' || strcmp (*s, ".") == 0)
        continue;
      if (strcmp (*s, "..") == 0)
        {
          size_t n = strv_len (out);
          if (n > 0 && strcmp (out[n - 1], "..") != 0)
            {
              free (out[n - 1]);
              out[n - 1] = NULL;
              continue;
            }
          if (rooted)
            continue;
        }
      strv_append (&out, *s);
    }
  _cleanup_free_ char *j = strv_join (out, "/");
  if (rooted)
    return xasprintf ("/%s", j);
  return j[0] ? xstrdup (j) : xstrdup (".");
}

int
build_ignore_parse (const char *text, size_t len, struct build_ignore **out,
                    struct berth_error **err)
{
  struct build_ignore *ig = calloc (1, sizeof *ig);
  if (ig == NULL)
    abort ();
  _cleanup_free_ char *copy = strndup (text, len);
  _cleanup_strv_ char **lines = strv_split (copy, '\n');
  for (char **l = lines; *l; l++)
    {
      char *s = *l;
      /* docker: a line starting with '#' is a comment (no trimming first) */
      if (s[0] == '#')
        continue;
      while (isspace ((unsigned char) *s))
        s++;
      size_t n = strlen (s);
      while (n > 0 && isspace ((unsigned char) s[n - 1]))
        s[--n] = '\0';
      if (n == 0)
        continue;
      bool invert = s[0] == '!';
      if (invert)
        {
          s++;
          while (isspace ((unsigned char) *s))
            s++;
        }
      _cleanup_free_ char *clean = s[0] ? path_clean (s) : xstrdup ("");
      const char *p = clean;
      if (strlen (p) > 1 && p[0] == '/')
        p++;
      ig->v = realloc (ig->v, (ig->n + 1) * sizeof *ig->v);
      if (ig->v == NULL)
        abort ();
      ig->v[ig->n].text = xstrdup (p);
      ig->v[ig->n].exclusion = invert;
      ig->has_exceptions |= invert;
      ig->n++;
    }
  (void) err;
  *out = ig;
  return 0;
}

/* [...] class at *pp (after '['); advances *pp past ']'. */
static bool
match_class (const char **pp, char c, bool *ok)
{
  const char *p = *pp;
  bool neg = false, matched = false;
  if (*p == '^' || *p == '!')
    {
      neg = true;
      p++;
    }
  bool first = true;
  while (*p && (*p != ']' || first))
    {
      first = false;
      char lo = *p;
      if (lo == '\\' && p[1])
        lo = *++p;
      p++;
      char hi = lo;
      if (*p == '-' && p[1] && p[1] != ']')
        {
          p++;
          hi = *p;
          if (hi == '\\' && p[1])
            hi = *++p;
          p++;
        }
      if (c >= lo && c <= hi)
        matched = true;
    }
  if (*p != ']')
    {
      *ok = false; /* malformed: Go's ErrBadPattern, nothing matches */
      return false;
    }
  *pp = p + 1;
  return matched != neg;
}

static bool
glob_match (const char *p, const char *s)
{
  while (*p)
    {
      if (p[0] == '*' && p[1] == '*')
        {
          p += 2;
          while (*p == '*')
            p++;
          if (*p == '/')
            {
              /* double star then slash: zero or more whole directories */
              p++;
              if (glob_match (p, s))
                return true;
              for (const char *t = s; *t; t++)
                if (*t == '/' && glob_match (p, t + 1))
                  return true;
              return false;
            }
          for (const char *t = s;; t++)
            {
              if (glob_match (p, t))
                return true;
              if (*t == '\0')
                return false;
            }
        }
      if (*p == '*')
        {
          p++;
          for (const char *t = s;; t++)
            {
              if (glob_match (p, t))
                return true;
              if (*t == '\0' || *t == '/')
                return false;
            }
        }
      if (*s == '\0')
        return false;
      if (*p == '?')
        {
          if (*s == '/')
            return false;
          p++;
          s++;
          continue;
        }
      if (*p == '[')
        {
          if (*s == '/')
            return false;
          p++;
          bool ok = true;
          bool m = match_class (&p, *s, &ok);
          if (!ok || !m)
            return false;
          s++;
          continue;
        }
      if (*p == '\\' && p[1])
        p++;
      if (*p != *s)
        return false;
      p++;
      s++;
    }
  return *s == '\0';
}

/* MatchesOrParentMatches: the path or one of its parent directories. */
static bool
pattern_matches (const struct pattern *pt, const char *path)
{
  if (glob_match (pt->text, path))
    return true;
  _cleanup_free_ char *copy = xstrdup (path);
  for (char *slash = strrchr (copy, '/'); slash; slash = strrchr (copy, '/'))
    {
      *slash = '\0';
      if (glob_match (pt->text, copy))
        return true;
    }
  return false;
}

bool
build_ignore_match (const struct build_ignore *ig, const char *path)
{
  if (ig == NULL)
    return false;
  bool matched = false;
  for (size_t i = 0; i < ig->n; i++)
    {
      const struct pattern *pt = &ig->v[i];
      /* an exception can only flip a match, a pattern only set one */
      if (pt->exclusion != matched)
        continue;
      if (pattern_matches (pt, path))
        matched = !pt->exclusion;
    }
  return matched;
}
