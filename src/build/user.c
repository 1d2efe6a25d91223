/* USER and --chown as docker resolves them: names looked up in the
 * image's own /etc/passwd and /etc/group (read inside the root, never the
 * host's), numbers taken as they are. */
#include "build/build-internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <string.h>

static bool
is_number (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!isdigit ((unsigned char) *s))
      return false;
  return true;
}

static char *
read_etc (int rootfd, const char *name)
{
  struct berth_error *err = NULL;
  _cleanup_close_ int fd = fs_open_in_root (rootfd, name, O_RDONLY, 0, &err);
  if (fd < 0)
    {
      berth_error_free (err);
      return NULL;
    }
  size_t cap = 4096, len = 0;
  char *buf = malloc (cap);
  if (buf == NULL)
    abort ();
  for (;;)
    {
      if (len + 1 >= cap)
        {
          cap *= 2;
          buf = realloc (buf, cap);
          if (buf == NULL)
            abort ();
        }
      ssize_t n = read (fd, buf + len, cap - len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += (size_t) n;
    }
  buf[len] = '\0';
  return buf;
}

/* Find a line whose field 0 (name) or field 2 (id) matches. */
static char **
etc_find (const char *data, const char *key, bool by_id)
{
  if (data == NULL)
    return NULL;
  _cleanup_strv_ char **lines = strv_split (data, '\n');
  for (char **l = lines; *l; l++)
    {
      char **f = strv_split (*l, ':');
      if (strv_len (f) >= 3 && strcmp (by_id ? f[2] : f[0], key) == 0)
        return f;
      strv_freep (&f);
    }
  return NULL;
}

int
user_resolve (int rootfd, const char *spec, uid_t *uid, gid_t *gid, gid_t **gids, size_t *n_gids,
              struct berth_error **err)
{
  *uid = 0;
  *gid = 0;
  *gids = NULL;
  *n_gids = 0;
  if (spec == NULL || spec[0] == '\0')
    return 0;
  _cleanup_free_ char *u = xstrdup (spec);
  char *g = strchr (u, ':');
  if (g)
    *g++ = '\0';
  _cleanup_free_ char *passwd = read_etc (rootfd, "/etc/passwd");
  _cleanup_free_ char *group = read_etc (rootfd, "/etc/group");
  const char *uname = NULL;
  _cleanup_strv_ char **pw = etc_find (passwd, u, is_number (u));
  if (is_number (u))
    {
      *uid = (uid_t) strtoul (u, NULL, 10);
      if (pw)
        {
          *gid = (gid_t) strtoul (pw[3] ? pw[3] : "0", NULL, 10);
          uname = pw[0];
        }
    }
  else
    {
      if (pw == NULL || strv_len (pw) < 4)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "unable to find user %s: no matching entries in passwd file", u);
      *uid = (uid_t) strtoul (pw[2], NULL, 10);
      *gid = (gid_t) strtoul (pw[3], NULL, 10);
      uname = pw[0];
    }
  if (g && *g)
    {
      if (is_number (g))
        *gid = (gid_t) strtoul (g, NULL, 10);
      else
        {
          _cleanup_strv_ char **gr = etc_find (group, g, false);
          if (gr == NULL)
            return berth_error_set_kind (err, BERTH_E_INVALID, 0, "unable to find group %s: no matching entries in group file", g);
          *gid = (gid_t) strtoul (gr[2], NULL, 10);
        }
      return 0;
    }
  /* supplementary groups: every group that lists the user */
  if (uname && group)
    {
      _cleanup_strv_ char **lines = strv_split (group, '\n');
      for (char **l = lines; *l; l++)
        {
          _cleanup_strv_ char **f = strv_split (*l, ':');
          if (strv_len (f) < 4)
            continue;
          _cleanup_strv_ char **members = strv_split (f[3], ',');
          if (!strv_contains (members, uname))
            continue;
          *gids = realloc (*gids, (*n_gids + 1) * sizeof (gid_t));
          if (*gids == NULL)
            abort ();
          (*gids)[(*n_gids)++] = (gid_t) strtoul (f[2], NULL, 10);
        }
    }
  return 0;
}

int
user_resolve_chown (int rootfd, const char *spec, uid_t *uid, gid_t *gid, struct berth_error **err)
{
  _cleanup_free_ char *u = xstrdup (spec);
  char *g = strchr (u, ':');
  if (g)
    *g++ = '\0';
  _cleanup_free_ char *passwd = read_etc (rootfd, "/etc/passwd");
  _cleanup_free_ char *group = read_etc (rootfd, "/etc/group");
  if (is_number (u))
    *uid = (uid_t) strtoul (u, NULL, 10);
  else
    {
      _cleanup_strv_ char **pw = etc_find (passwd, u, false);
      if (pw == NULL)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "unable to convert uid/gid chown string to host mapping: can't find uid for user %s: no such user: %s", u, u);
      *uid = (uid_t) strtoul (pw[2], NULL, 10);
    }
  /* docker: without a group, the gid is the uid (not the user's group) */
  if (g == NULL || *g == '\0')
    {
      *gid = (gid_t) *uid;
      return 0;
    }
  if (is_number (g))
    *gid = (gid_t) strtoul (g, NULL, 10);
  else
    {
      _cleanup_strv_ char **gr = etc_find (group, g, false);
      if (gr == NULL)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "unable to convert uid/gid chown string to host mapping: can't find gid for group %s: no such group: %s", g, g);
      *gid = (gid_t) strtoul (gr[2], NULL, 10);
    }
  return 0;
}
