/* berth-monitor: the per-container monitor berthd starts (src/daemon/monitor.c). */
#include <string.h>

#include "daemon/monitor-internal.h"
#include "runtime/runtime.h"

int
main (int argc, char **argv)
{
  /* CVE-2019-5736: this process turns into the container's parent and
   * calls the runtime; its executable must not be writable from inside */
  /* the last step after the container exited: nothing runs from here */
  if (argc > 1 && strcmp (argv[1], "--finish") == 0)
    return monitor_finish_main (argc, argv);
  _cleanup_error_ struct berth_error *err = NULL;
  if (runtime_exe_protect (argv, &err) < 0)
    return 1;
  if (argc > 1 && strcmp (argv[1], "--exec") == 0)
    return monitor_exec_helper_main (argc, argv);
  return monitor_main (argc, argv);
}
