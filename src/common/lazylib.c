/* berth common: dlopen-on-first-use of the libraries wrapped in
 * src/common/lazy-<lib>.c (see lazylib.h). No other berth code here, so
 * every binary can link it without pulling anything else. */
#include "common/lazylib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static _Noreturn __attribute__ ((format (printf, 1, 2))) void
lazylib_die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "%s: ", program_invocation_short_name);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  exit (125);
}

static void *
lazylib_handle (struct lazylib *lib)
{
  void *h = __atomic_load_n (&lib->handle, __ATOMIC_ACQUIRE);
  if (h)
    return h;
  const char *first_error = NULL;
  char buf[512];
  /* No lock: dlopen is thread-safe and returns the same handle to threads
   * that race here (and a lock held by another thread across fork would
   * hang run_in_child's child). RTLD_LAZY: the library resolves its own
   * imports at their first call too, not all at once. */
  for (size_t i = 0; h == NULL && lib->sonames[i]; i++)
    {
      h = dlopen (lib->sonames[i], RTLD_LAZY | RTLD_LOCAL);
      if (h == NULL && first_error == NULL)
        {
          snprintf (buf, sizeof buf, "%s", dlerror ());
          first_error = buf;
        }
    }
  if (h)
    __atomic_store_n (&lib->handle, h, __ATOMIC_RELEASE);
  if (h == NULL)
    lazylib_die ("cannot load %s: %s", lib->sonames[0], first_error ? first_error : "not found");
  return h;
}

void *
lazylib_sym (struct lazylib *lib, const char *name)
{
  void *h = lazylib_handle (lib);
  void *f = dlsym (h, name);
  if (f == NULL)
    lazylib_die ("%s has no %s", lib->sonames[0], name);
  return f;
}
