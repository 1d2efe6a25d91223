/* Which cgroup hierarchies this host has and which controllers each one
 * drives, from /proc/self/mountinfo and /proc/self/cgroup (never from a
 * hard-coded layout): pure v1, pure v2, or hybrid, where every controller
 * is driven in whichever hierarchy has it. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "runtime/cgroup-internal.h"

const char *
cgroup_layout_name (enum cgroup_layout l)
{
  switch (l)
    {
    case CGROUP_LAYOUT_V1:
      return "v1";
    case CGROUP_LAYOUT_V2:
      return "v2";
    case CGROUP_LAYOUT_HYBRID:
      return "hybrid";
    }
  return "unknown";
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *
unescape_octal (const char *s)
{
  char *out = malloc (strlen (s) + 1), *o = out;
  while (*s)
    {
      if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0'
          && s[3] <= '7')
        {
          *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
          s += 4;
        }
      else
        *o++ = *s++;
    }
  *o = '\0';
  return out;
}

static void
hier_clear (struct cgroup_hier *h)
{
  free (h->mountpoint);
  free (h->mount_root);
  free (h->name);
  free (h->self_path);
}

void
cgroup_hosts_clear (struct cgroup_hosts *h)
{
  for (size_t i = 0; i < h->n_hiers; i++)
    hier_clear (&h->hiers[i]);
  free (h->hiers);
  h->hiers = NULL;
  h->n_hiers = 0;
}

/* The /proc/self/cgroup line "id:ctrl1,ctrl2:path" whose controller set is
 * exactly the set named in the mount's super options. */
static const char *
self_line_for (char **self_lines, char *const *opts, char **name_out)
{
  for (char **l = self_lines; l && *l; l++)
    {
      char *c1 = strchr (*l, ':');
      char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (c1 == NULL || c2 == NULL || c2 == c1 + 1)
        continue;
      _cleanup_free_ char *ctrls = strndup (c1 + 1, (size_t)(c2 - c1 - 1));
      _cleanup_strv_ char **names = strv_split (ctrls, ',');
      bool all = true;
      for (char **n = names; *n && all; n++)
        all = strv_contains (opts, *n);
      if (!all)
        continue;
      *name_out = steal_pointer (&ctrls);
      return c2 + 1;
    }
  return NULL;
}

static void
hosts_add (struct cgroup_hosts *out, struct cgroup_hier *h)
{
  for (size_t i = 0; i < out->n_hiers; i++)
    if (strcmp (out->hiers[i].name, h->name) == 0)
      {
        hier_clear (h); /* the same hierarchy mounted twice: keep the first */
        return;
      }
  out->hiers = realloc (out->hiers, (out->n_hiers + 1) * sizeof *out->hiers);
  out->hiers[out->n_hiers++] = *h;
}

static unsigned
v2_mask_from (const char *controllers)
{
  unsigned m = 0;
  _cleanup_strv_ char **names = strv_split (controllers ? controllers : "", ' ');
  for (char **n = names; *n; n++)
    {
      (*n)[strcspn (*n, "\n")] = '\0';
      int c = cgroup_controller_from_v2_name (*n);
      if (c >= 0)
        m |= CG_BIT (c);
    }
  return m;
}

static int
parse_mount_line (char *line, char **self_lines, const char *v2_controllers,
                  struct cgroup_hosts *out, struct berth_error **err)
{
  /* most lines are other file systems: " - " then the type ends the
   * optional fields (a space in a path is escaped as \040), so a cgroup
   * line has " - cgroup" and any other is skipped before splitting */
  if (strstr (line, " - cgroup") == NULL)
    return 0;
  _cleanup_strv_ char **f = strv_split (line, ' ');
  size_t n = strv_len (f), sep = 0;
  for (size_t i = 6; i < n; i++)
    if (strcmp (f[i], "-") == 0)
      {
        sep = i;
        break;
      }
  if (sep == 0 || sep + 3 >= n + 1 || sep + 2 >= n)
    return 0;
  const char *fstype = f[sep + 1];
  bool is_v2 = strcmp (fstype, "cgroup2") == 0;
  if (!is_v2 && strcmp (fstype, "cgroup") != 0)
    return 0;
  struct cgroup_hier h = { .is_v2 = is_v2 };
  h.mountpoint = unescape_octal (f[4]);
  h.mount_root = unescape_octal (f[3]);
  if (is_v2)
    {
      h.name = xstrdup ("unified");
      const char *path = NULL;
      for (char **l = self_lines; l && *l; l++)
        if (str_has_prefix (*l, "0::"))
          path = *l + 3;
      h.self_path = xstrdup (path ? path : "/");
      _cleanup_free_ char *ctrls = NULL;
      if (v2_controllers == NULL)
        {
          _cleanup_free_ char *file = xasprintf ("%s/cgroup.controllers", h.mountpoint);
          fs_read_file (AT_FDCWD, file, &ctrls, NULL, NULL);
        }
      h.controllers = v2_mask_from (v2_controllers ? v2_controllers : ctrls);
    }
  else
    {
      _cleanup_strv_ char **opts = strv_split (f[n - 1], ',');
      const char *path = self_line_for (self_lines, opts, &h.name);
      if (path == NULL)
        {
          hier_clear (&h); /* a hierarchy this process is not in (another namespace's) */
          return 0;
        }
      h.self_path = xstrdup (*path ? path : "/");
      _cleanup_strv_ char **names = strv_split (h.name, ',');
      for (char **c = names; *c; c++)
        {
          int id = cgroup_controller_from_v1_name (*c);
          if (id >= 0)
            h.controllers |= CG_BIT (id);
        }
    }
  hosts_add (out, &h);
  (void)err;
  return 0;
}

int
cgroup_hosts_parse (const char *mountinfo, const char *self_cgroup, const char *v2_controllers,
                    struct cgroup_hosts *out, struct berth_error **err)
{
  memset (out, 0, sizeof *out);
  _cleanup_strv_ char **self_lines = strv_split (self_cgroup, '\n');
  _cleanup_strv_ char **lines = strv_split (mountinfo, '\n');
  for (char **l = lines; *l; l++)
    if (**l && parse_mount_line (*l, self_lines, v2_controllers, out, err) < 0)
      {
        cgroup_hosts_clear (out);
        return -1;
      }
  bool has_v1 = false, has_v2 = false;
  unsigned v1_mask = 0;
  for (size_t i = 0; i < out->n_hiers; i++)
    {
      if (out->hiers[i].is_v2)
        has_v2 = true;
      else
        has_v1 = true, v1_mask |= out->hiers[i].controllers;
    }
  if (!has_v1 && !has_v2)
    return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0,
                                 "cgroups: no cgroup or cgroup2 file system is mounted "
                                 "(/proc/self/mountinfo)");
  out->layout = has_v1 && has_v2 ? CGROUP_LAYOUT_HYBRID
                : has_v2         ? CGROUP_LAYOUT_V2
                                 : CGROUP_LAYOUT_V1;
  /* The devices (eBPF), freezer (cgroup.freeze) and cpu usage (cpu.stat)
   * of v2 are core features: v2 drives them when no v1 hierarchy does. A v2 controller a
   * v1 hierarchy also claims is not possible (the kernel binds each to one). */
  for (size_t i = 0; i < out->n_hiers; i++)
    if (out->hiers[i].is_v2)
      {
        out->hiers[i].controllers &= ~v1_mask;
        out->hiers[i].controllers
            |= (CG_BIT (CG_DEVICES) | CG_BIT (CG_FREEZER) | CG_BIT (CG_CPUACCT)) & ~v1_mask;
      }
  return 0;
}

int
cgroup_hosts_detect (struct cgroup_hosts *out, struct berth_error **err)
{
  _cleanup_free_ char *mountinfo = NULL, *self = NULL;
  if (fs_read_file (AT_FDCWD, "/proc/self/mountinfo", &mountinfo, NULL, err) < 0
      || fs_read_file (AT_FDCWD, "/proc/self/cgroup", &self, NULL, err) < 0)
    return berth_error_prefix (err, "detect cgroup layout");
  return cgroup_hosts_parse (mountinfo, self, NULL, out, err);
}

int
cgroup_detect_layout (enum cgroup_layout *layout, struct berth_error **err)
{
  struct cgroup_hosts h;
  if (cgroup_hosts_detect (&h, err) < 0)
    return -1;
  *layout = h.layout;
  cgroup_hosts_clear (&h);
  return 0;
}
