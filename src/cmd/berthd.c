/* berthd: the Docker-compatible engine daemon (src/daemon). */
#include <stdio.h>

#include "daemon/daemon.h"
#include "runtime/runtime.h"

int
main (int argc, char **argv)
{
  /* berthd joins containers in-process (docker exec, health checks), so its
   * own binary must never be reachable writable from one (CVE-2019-5736):
   * re-execute from a read-only view before anything else. */
  berthd_exe_dir_remember ();
  struct berth_error *err = NULL;
  if (runtime_exe_protect (argv, &err) < 0)
    {
      fprintf (stderr, "berthd: protect own executable: %s\n", err->msg);
      berth_error_free (err);
      return 1;
    }
  return berthd_main (argc, argv);
}
