/* Shared validation helpers for the create body (types against a field
 * table, port specs), and docker's spellings of sizes and signals. */
#include "daemon/container-config-internal.h"

#include <ctype.h>
#include <signal.h>
#include <string.h>

static const char *
type_name (enum field_type t)
{
  switch (t)
    {
    case F_STR:
      return "a string";
    case F_BOOL:
      return "a boolean";
    case F_INT:
      return "an integer";
    case F_STRV:
      return "an array of strings";
    case F_STRSLICE:
      return "a string or an array of strings";
    case F_STRMAP:
      return "an object of strings";
    case F_OBJ:
      return "an object";
    case F_ARR:
      return "an array";
    }
  return "?";
}

bool
is_integral (const json_t *v)
{
  if (json_is_integer (v))
    return true;
  if (json_is_real (v))
    {
      double d = json_real_value (v);
      return d == (double)(json_int_t)d;
    }
  return false;
}

bool
is_strv (const json_t *v)
{
  if (!json_is_array (v))
    return false;
  size_t i;
  json_t *e;
  json_array_foreach (v, i, e) if (!json_is_string (e)) return false;
  return true;
}

bool
is_strmap (const json_t *v)
{
  if (!json_is_object (v))
    return false;
  const char *k;
  json_t *e;
  json_object_foreach ((json_t *)v, k, e) if (!json_is_string (e)) return false;
  return true;
}

bool
value_has_type (const json_t *v, enum field_type t)
{
  switch (t)
    {
    case F_STR:
      return json_is_string (v);
    case F_BOOL:
      return json_is_boolean (v);
    case F_INT:
      return is_integral (v);
    case F_STRV:
      return is_strv (v);
    case F_STRSLICE:
      return json_is_string (v) || is_strv (v);
    case F_STRMAP:
      return is_strmap (v);
    case F_OBJ:
      return json_is_object (v);
    case F_ARR:
      return json_is_array (v);
    }
  return false;
}

int
config_invalid (struct berth_error **err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  _cleanup_free_ char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s", msg ? msg : "invalid input");
}

/* Known fields must have their type (null allowed, as Go decodes it to the
 * zero value); unknown fields are ignored as Go's decoder does. Integral
 * reals become integers so inner code reads json_integer_value. */
int
check_types (json_t *obj, const char *where, const struct field *fields, size_t n,
             struct berth_error **err)
{
  for (size_t i = 0; i < n; i++)
    {
      json_t *v = json_object_get (obj, fields[i].name);
      if (v == NULL || json_is_null (v))
        continue;
      if (!value_has_type (v, fields[i].type))
        return config_invalid (err, "%s.%s: must be %s", where, fields[i].name,
                               type_name (fields[i].type));
      if (fields[i].type == F_INT && json_is_real (v))
        json_object_set_new (obj, fields[i].name, json_integer ((json_int_t)json_real_value (v)));
    }
  return 0;
}

void
fill_zero_values (json_t *obj, const struct field *fields, size_t n, const char *const *omitempty)
{
  for (size_t i = 0; i < n; i++)
    {
      if (json_object_get (obj, fields[i].name) != NULL
          || strv_contains ((char *const *)omitempty, fields[i].name))
        continue;
      json_t *zero = fields[i].type == F_STR    ? json_string ("")
                     : fields[i].type == F_BOOL ? json_false ()
                     : fields[i].type == F_INT  ? json_integer (0)
                                                : json_null ();
      json_object_set_new (obj, fields[i].name, zero);
    }
}

json_int_t
int_field (const json_t *obj, const char *name)
{
  json_t *v = json_object_get (obj, name);
  return json_is_integer (v) ? json_integer_value (v) : 0;
}

const char *
str_field (const json_t *obj, const char *name)
{
  json_t *v = json_object_get (obj, name);
  return json_is_string (v) ? json_string_value (v) : "";
}

/* Strslice fields (Cmd, Entrypoint) are arrays from here on; null stays null. */
void
normalize_strslice (json_t *obj, const char *name)
{
  json_t *v = json_object_get (obj, name);
  if (json_is_string (v))
    {
      json_t *a = json_array ();
      json_array_append_new (a, json_string (json_string_value (v)));
      json_object_set_new (obj, name, a);
    }
}

bool
is_decimal (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!isdigit ((unsigned char)*s))
      return false;
  return true;
}

/* "80", "8000-8010": each in 1..65535 (0 allowed for host ports = any). */
bool
port_range_is_valid (const char *s, bool allow_zero)
{
  _cleanup_free_ char *copy = xstrdup (s);
  char *dash = strchr (copy, '-');
  if (dash)
    *dash = '\0';
  if (!is_decimal (copy) || (dash && !is_decimal (dash + 1)))
    return false;
  long lo = strtol (copy, NULL, 10);
  long hi = dash ? strtol (dash + 1, NULL, 10) : lo;
  if (lo > 65535 || hi > 65535 || hi < lo || (!allow_zero && lo == 0))
    return false;
  return true;
}

/* "80/tcp", "53/udp", "8080" (tcp implied). */
bool
port_key_is_valid (const char *key)
{
  _cleanup_free_ char *copy = xstrdup (key);
  char *slash = strchr (copy, '/');
  if (slash)
    {
      *slash = '\0';
      const char *proto = slash + 1;
      if (strcmp (proto, "tcp") != 0 && strcmp (proto, "udp") != 0 && strcmp (proto, "sctp") != 0)
        return false;
    }
  return port_range_is_valid (copy, false);
}

/* --------------------------------------------------------------- sizes -- */

int
size_parse_bytes (const char *s, int64_t *bytes)
{
  if (s == NULL || *s == '\0')
    return -1;
  char *end = NULL;
  errno = 0;
  double v = strtod (s, &end);
  if (errno != 0 || end == s || v < 0)
    return -1;
  while (*end == ' ')
    end++;
  double mult = 1;
  switch (tolower ((unsigned char)*end))
    {
    case '\0':
      break;
    case 'b':
      break;
    case 'k':
      mult = 1024.0;
      break;
    case 'm':
      mult = 1024.0 * 1024;
      break;
    case 'g':
      mult = 1024.0 * 1024 * 1024;
      break;
    case 't':
      mult = 1024.0 * 1024 * 1024 * 1024;
      break;
    default:
      return -1;
    }
  if (*end != '\0')
    {
      end++;
      if (tolower ((unsigned char)*end) == 'i')
        end++;
      if (tolower ((unsigned char)*end) == 'b')
        end++;
      if (*end != '\0')
        return -1;
    }
  *bytes = (int64_t)(v * mult);
  return 0;
}

/* ------------------------------------------------------------- signals -- */

static const struct
{
  const char *name;
  int signo;
} signal_names[] = {
  { "ABRT", SIGABRT }, { "ALRM", SIGALRM }, { "BUS", SIGBUS },       { "CHLD", SIGCHLD },
  { "CLD", SIGCHLD },  { "CONT", SIGCONT }, { "FPE", SIGFPE },       { "HUP", SIGHUP },
  { "ILL", SIGILL },   { "INT", SIGINT },   { "IO", SIGIO },         { "IOT", SIGIOT },
  { "KILL", SIGKILL }, { "PIPE", SIGPIPE }, { "POLL", SIGPOLL },     { "PROF", SIGPROF },
  { "PWR", SIGPWR },   { "QUIT", SIGQUIT }, { "SEGV", SIGSEGV },     { "STKFLT", SIGSTKFLT },
  { "STOP", SIGSTOP }, { "SYS", SIGSYS },   { "TERM", SIGTERM },     { "TRAP", SIGTRAP },
  { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
  { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "VTALRM", SIGVTALRM }, { "WINCH", SIGWINCH },
  { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
};

int
signal_parse (const char *s, int *signo)
{
  if (s == NULL || *s == '\0')
    return -1;
  char *end = NULL;
  long n = strtol (s, &end, 10);
  if (*end == '\0')
    {
      if (n <= 0 || n > SIGRTMAX)
        return -1;
      *signo = (int)n;
      return 0;
    }
  const char *name = s;
  if (strncasecmp (name, "SIG", 3) == 0)
    name += 3;
  for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
    if (strcasecmp (name, signal_names[i].name) == 0)
      {
        *signo = signal_names[i].signo;
        return 0;
      }
  if (strncasecmp (name, "RTMIN", 5) == 0)
    {
      long off = 0;
      if (name[5] == '+')
        off = strtol (name + 6, &end, 10);
      else if (name[5] != '\0' || (end = (char *)name + 5, 0))
        return -1;
      else
        end = (char *)name + 5;
      /* Range-check the offset itself: SIGRTMIN + off overflowed (UB) for
       * huge values, and a negative one named an ordinary signal. */
      if (*end != '\0' || off < 0 || off > SIGRTMAX - SIGRTMIN)
        return -1;
      *signo = SIGRTMIN + (int)off;
      return 0;
    }
  if (strncasecmp (name, "RTMAX", 5) == 0)
    {
      long off = 0;
      if (name[5] == '-')
        off = strtol (name + 6, &end, 10);
      else if (name[5] != '\0')
        return -1;
      else
        end = (char *)name + 5;
      if (*end != '\0' || off < 0 || off > SIGRTMAX - SIGRTMIN)
        return -1;
      *signo = SIGRTMAX - (int)off;
      return 0;
    }
  return -1;
}
