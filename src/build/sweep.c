/* Crash cleanup: a builder killed mid-build (berthd SIGKILLed) leaves a
 * build container, its network namespace, a mounted "build-*" snapshot and
 * a context dir (a tmpfs); the next start removes them, so a build never
 * leaves anything behind for long. */
#include "build/build-internal.h"
#include "runtime/runtime.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>

void
build_sweep (struct image_store *store, const char *run_root)
{
  struct berth_error *err = NULL;
  _cleanup_free_ char *run_state = run_root ? xasprintf ("%s/state", run_root) : NULL;
  struct runtime_context ctx = { .state_root = run_state };
  json_t *list = run_state ? runtime_container_list (&ctx, &err) : NULL;
  berth_error_free (err);
  err = NULL;
  size_t i;
  json_t *c;
  json_array_foreach (list, i, c)
    {
      const char *id = json_string_value (json_object_get (c, "id"));
      if (id && runtime_container_delete (&ctx, id, true, &err) < 0)
        {
          berth_log (BERTH_LOG_WARNING, "build sweep: container %s: %s", id, err->msg);
          berth_error_free (err);
          err = NULL;
        }
    }
  json_decref (list);
  /* the RUNs' network namespaces (their endpoints go with the network
   * manager's orphan cleanup) */
  _cleanup_free_ char *nsdir = run_root ? xasprintf ("%s/netns", run_root) : NULL;
  _cleanup_closedir_ DIR *nd = nsdir ? opendir (nsdir) : NULL;
  struct dirent *ne;
  while (nd && (ne = readdir (nd)))
    if (ne->d_name[0] != '.')
      {
        _cleanup_free_ char *p = xasprintf ("%s/%s", nsdir, ne->d_name);
        umount2 (p, MNT_DETACH);
        unlink (p);
      }
  _cleanup_free_ char *snaps = xasprintf ("%s/snapshots", image_store_root (store));
  _cleanup_closedir_ DIR *d = opendir (snaps);
  _cleanup_strv_ char **ids = calloc (1, sizeof (char *));
  struct dirent *de;
  while (d && (de = readdir (d)))
    if (str_has_prefix (de->d_name, "build-"))
      strv_append (&ids, de->d_name);
  for (char **s = ids; *s; s++)
    if (image_snapshot_remove (store, *s, &err) < 0)
      {
        berth_log (BERTH_LOG_WARNING, "build sweep: snapshot %s: %s", *s, err->msg);
        berth_error_free (err);
        err = NULL;
      }
  _cleanup_free_ char *tmp = xasprintf ("%s/build/tmp", image_store_root (store));
  /* each build's context tmpfs first: removal must not cross a mount */
  _cleanup_closedir_ DIR *td = opendir (tmp);
  while (td && (de = readdir (td)))
    if (de->d_name[0] != '.')
      {
        _cleanup_free_ char *cdir = xasprintf ("%s/%s/context", tmp, de->d_name);
        umount2 (cdir, MNT_DETACH);
      }
  if (fs_rm_rf_at (AT_FDCWD, tmp, &err) < 0)
    {
      berth_log (BERTH_LOG_WARNING, "build sweep: %s", err->msg);
      berth_error_free (err);
    }
}
