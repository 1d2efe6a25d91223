/* HostConfig.IpcMode "container:<name|id>": the donor named by its full
 * id at create, and at start dockerd's checks that it runs and shares its
 * IPC namespace (the other modes are the OCI config's, container-oci.c). */
#include "daemon/containers-internal.h"

#include <string.h>

int
container_ipc_donor_resolve (struct containers *cs, json_t *hc, struct berth_error **err)
{
  const char *mode = json_string_value (json_object_get (hc, "IpcMode"));
  if (mode == NULL || !str_has_prefix (mode, "container:"))
    return 0;
  struct container *other = containers_lookup (cs, mode + 10, err);
  if (other == NULL)
    {
      if (err && *err)
        (*err)->kind = BERTH_E_INVALID; /* dockerd: 400 (a 404 makes the CLI pull) */
      return -1;
    }
  _cleanup_free_ char *resolved = xasprintf ("container:%s", other->id);
  json_object_set_new (hc, "IpcMode", json_string (resolved));
  return 0;
}

/* dockerd's getIPCContainer: the donor runs and shares its IPC namespace
 * (IpcMode shareable or host, or joined from one that does); the path of
 * that namespace into *ns_path. */
int
container_ipc_donor_check (struct containers *cs, const char *ref, char **ns_path,
                           struct berth_error **err)
{
  struct container *other = containers_lookup (cs, ref, err);
  if (other == NULL)
    return berth_error_prefix (err, "can't join IPC of container %s", ref);
  const char *mode = json_string_value (json_object_get (other->host_config, "IpcMode"));
  if (mode == NULL)
    mode = ""; /* a record of an older berth: private */
  enum container_status s = other->state.status;
  if (s == CONTAINER_RESTARTING)
    return berth_error_set (err, 0,
                            "can't join IPC of container %s: Container %s is restarting, wait "
                            "until the container is running",
                            other->id, other->id);
  if ((s != CONTAINER_RUNNING && s != CONTAINER_PAUSED) || other->state.pid <= 0)
    return berth_error_set (err, 0, "can't join IPC of container %s: container %s is not running",
                            other->id, other->id);
  if (strcmp (mode, "shareable") != 0 && strcmp (mode, "host") != 0
      && !str_has_prefix (mode, "container:"))
    return berth_error_set (err, 0,
                            "can't join IPC of container %s: non-shareable IPC (hint: use "
                            "IpcMode:shareable for the donor container)",
                            other->id);
  *ns_path = xasprintf ("/proc/%d/ns/ipc", (int)other->state.pid);
  return 0;
}
