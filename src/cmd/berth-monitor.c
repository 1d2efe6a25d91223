/* berth-monitor: the per-container monitor berthd starts (src/daemon/monitor.c). */
#include "daemon/monitor.h"
#include "runtime/runtime.h"

int
main (int argc, char **argv)
{
  /* CVE-2019-5736: this process turns into the container's parent and
   * calls the runtime; its executable must not be writable from inside */
  _cleanup_error_ struct berth_error *err = NULL;
  if (runtime_exe_protect (argv, &err) < 0)
    return 1;
  return monitor_main (argc, argv);
}
