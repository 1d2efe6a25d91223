/* Capabilities: names ↔ numbers (libcap's table, upper-cased as OCI spells
 * them) and applying the five sets of a process: the bounding set is dropped
 * before the uid changes, the others set after it (PR_SET_KEEPCAPS keeps the
 * permitted set across setresuid). */
#include "runtime/runtime-internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#define CAPS_MAX 64

static char *cap_names[CAPS_MAX];

static void
caps_names_init (void)
{
  if (cap_names[0])
    return;
  for (int i = 0; i < CAPS_MAX; i++)
    {
      char *n = cap_to_name ((cap_value_t)i);
      if (n == NULL)
        abort ();
      /* libcap returns a number for capabilities it has no name for. */
      if (!isdigit ((unsigned char)n[0]))
        for (char *p = n; *p; p++)
          *p = (char)toupper ((unsigned char)*p);
      cap_names[i] = xstrdup (n);
      cap_free (n);
    }
}

int
caps_from_name (const char *name)
{
  caps_names_init ();
  if (!str_has_prefix (name, "CAP_") && !str_has_prefix (name, "cap_"))
    return -1;
  for (int i = 0; i < CAPS_MAX; i++)
    if (strcasecmp (cap_names[i], name) == 0)
      return i;
  return -1;
}

const char *
caps_name (int cap)
{
  caps_names_init ();
  return cap >= 0 && cap < CAPS_MAX ? cap_names[cap] : NULL;
}

int
caps_last_cap (void)
{
  static int last = -1;
  if (last < 0)
    {
      char buf[16] = "";
      int fd = open ("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
      if (fd >= 0)
        {
          ssize_t n = read (fd, buf, sizeof buf - 1);
          buf[n > 0 ? n : 0] = '\0';
          close (fd);
        }
      last = buf[0] ? atoi (buf) : CAP_LAST_CAP;
    }
  return last;
}

int
caps_apply_bounding (const struct spec_caps *caps, struct berth_error **err)
{
  int last = caps_last_cap ();
  for (int c = 0; c <= last; c++)
    if (!(caps->sets[CAP_SET_BOUNDING] & (UINT64_C (1) << c))
        && prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      return berth_error_set (err, errno, "drop %s from the bounding set", caps_name (c));
  return 0;
}

int
caps_apply (const struct spec_caps *caps, struct berth_error **err)
{
  cap_t c = cap_init ();
  if (c == NULL)
    return berth_error_set (err, errno, "cap_init");
  int last = caps_last_cap ();
  static const struct
  {
    enum cap_set set;
    cap_flag_t flag;
  } map[] = { { CAP_SET_EFFECTIVE, CAP_EFFECTIVE },
              { CAP_SET_PERMITTED, CAP_PERMITTED },
              { CAP_SET_INHERITABLE, CAP_INHERITABLE } };
  for (size_t m = 0; m < 3; m++)
    for (int i = 0; i <= last; i++)
      if (caps->sets[map[m].set] & (UINT64_C (1) << i))
        {
          cap_value_t v = i;
          cap_set_flag (c, map[m].flag, 1, &v, CAP_SET);
        }
  int r = cap_set_proc (c);
  int saved = errno;
  cap_free (c);
  if (r < 0)
    return berth_error_set (err, saved, "set capabilities (effective, permitted, inheritable)");
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return berth_error_set (err, errno, "clear the ambient capabilities");
  for (int i = 0; i <= last; i++)
    if ((caps->sets[CAP_SET_AMBIENT] & (UINT64_C (1) << i))
        && prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
      return berth_error_set (err, errno,
                              "raise ambient capability %s (it must also be permitted and "
                              "inheritable)",
                              caps_name (i));
  return 0;
}
