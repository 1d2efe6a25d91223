/* Strings and NULL-terminated string vectors. Allocation failure aborts:
 * berth cannot do anything useful without memory, and checking every small
 * allocation buries the real error paths. */
#include "common/common.h"

#include <stdio.h>
#include <string.h>

static void *
xrealloc (void *p, size_t n)
{
  void *r = realloc (p, n ? n : 1);
  if (r == NULL)
    abort ();
  return r;
}

char *
xstrdup (const char *s)
{
  if (s == NULL)
    return NULL;
  char *r = strdup (s);
  if (r == NULL)
    abort ();
  return r;
}

char *
xasprintf (const char *fmt, ...)
{
  char *r = NULL;
  va_list ap;
  va_start (ap, fmt);
  if (vasprintf (&r, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return r;
}

bool
str_has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

bool
str_has_suffix (const char *s, const char *suffix)
{
  size_t ls = strlen (s), lx = strlen (suffix);
  return ls >= lx && memcmp (s + ls - lx, suffix, lx) == 0;
}

size_t
strv_len (char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

void
strv_append (char ***v, const char *s)
{
  size_t n = strv_len (*v);
  *v = xrealloc (*v, (n + 2) * sizeof (char *));
  (*v)[n] = xstrdup (s);
  (*v)[n + 1] = NULL;
}

char **
strv_split (const char *s, char sep)
{
  char **v = xrealloc (NULL, sizeof (char *));
  v[0] = NULL;
  const char *start = s;
  for (const char *p = s;; p++)
    {
      if (*p == sep || *p == '\0')
        {
          _cleanup_free_ char *field = strndup (start, (size_t) (p - start));
          if (field == NULL)
            abort ();
          strv_append (&v, field);
          if (*p == '\0')
            break;
          start = p + 1;
        }
    }
  return v;
}

char *
strv_join (char *const *v, const char *sep)
{
  size_t total = 1, lsep = strlen (sep);
  for (size_t i = 0; v && v[i]; i++)
    total += strlen (v[i]) + (i ? lsep : 0);
  char *r = xrealloc (NULL, total);
  char *p = r;
  for (size_t i = 0; v && v[i]; i++)
    {
      if (i)
        p = stpcpy (p, sep);
      p = stpcpy (p, v[i]);
    }
  *p = '\0';
  return r;
}

bool
strv_contains (char *const *v, const char *s)
{
  for (size_t i = 0; v && v[i]; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

char **
strv_dup (char *const *v)
{
  char **r = xrealloc (NULL, sizeof (char *));
  r[0] = NULL;
  for (size_t i = 0; v && v[i]; i++)
    strv_append (&r, v[i]);
  return r;
}
