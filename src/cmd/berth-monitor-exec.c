/* berth-monitor-exec: the exec helper a container's monitor starts for each
 * exec process (src/daemon/monitor-exec-helper.c); static, so that it
 * starts without the dynamic loader. */
#include <sys/socket.h>

#include "daemon/monitor-internal.h"
#include "runtime/runtime.h"

int
main (int argc, char **argv)
{
  /* CVE-2019-5736: our clone runs in the container's pid namespace until
   * it execs; started from berthd's read-only view this returns at once */
  _cleanup_error_ struct berth_error *err = NULL;
  if (runtime_exe_protect (argv, &err) < 0)
    return 1;
  if (argc != 3)
    {
      static const char msg[] = "error berth-monitor-exec: bad arguments";
      send (4, msg, sizeof msg - 1, MSG_NOSIGNAL);
      return 2;
    }
  return monitor_exec_helper_run (argv[1], argv[2]);
}
