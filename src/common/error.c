/* Errors that travel up with context (libcrun_error_t's model): the first
 * failure fills the error, every caller on the way up may prefix it, and only
 * the edges print it or turn it into a status code. */
#include "common/common.h"

#include <stdio.h>
#include <string.h>

static int
error_vset (struct berth_error **err, enum berth_error_kind kind, int errnum, const char *fmt,
            va_list ap)
{
  if (err == NULL || *err != NULL)
    return -1; /* keep the first, most precise failure */

  _cleanup_free_ char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;

  struct berth_error *e = calloc (1, sizeof *e);
  if (e == NULL)
    abort ();
  e->errnum = errnum;
  e->kind = kind;
  if (errnum != 0)
    e->msg = xasprintf ("%s: %s", msg ? msg : "error", strerror (errnum));
  else
    e->msg = xstrdup (msg ? msg : "error");
  *err = e;
  return -1;
}

static enum berth_error_kind
kind_from_errno (int errnum)
{
  switch (errnum)
    {
    case EINVAL:
      return BERTH_E_INVALID;
    default:
      return BERTH_E_INTERNAL;
    }
}

int
berth_error_set (struct berth_error **err, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int r = error_vset (err, kind_from_errno (errnum), errnum, fmt, ap);
  va_end (ap);
  return r;
}

int
berth_error_set_kind (struct berth_error **err, enum berth_error_kind kind, int errnum,
                      const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int r = error_vset (err, kind, errnum, fmt, ap);
  va_end (ap);
  return r;
}

int
berth_error_prefix (struct berth_error **err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return -1;
  _cleanup_free_ char *prefix = NULL;
  va_list ap;
  va_start (ap, fmt);
  if (vasprintf (&prefix, fmt, ap) < 0)
    prefix = NULL;
  va_end (ap);
  if (prefix == NULL)
    return -1;
  char *msg = xasprintf ("%s: %s", prefix, (*err)->msg);
  free ((*err)->msg);
  (*err)->msg = msg;
  return -1;
}

void
berth_error_free (struct berth_error *err)
{
  if (err == NULL)
    return;
  free (err->msg);
  free (err);
}

int
berth_error_http_status (const struct berth_error *err)
{
  if (err == NULL)
    return 500;
  switch (err->kind)
    {
    case BERTH_E_INVALID:
      return 400;
    case BERTH_E_UNAUTHORIZED:
      return 401;
    case BERTH_E_FORBIDDEN:
      return 403;
    case BERTH_E_NOT_FOUND:
      return 404;
    case BERTH_E_CONFLICT:
      return 409;
    case BERTH_E_NOT_MODIFIED:
      return 304;
    case BERTH_E_UNAVAILABLE:
      return 503;
    case BERTH_E_INTERNAL:
    default:
      return 500;
    }
}
