/* berth-monitor-hold: the serving half of the per-container monitor
 * (src/daemon/monitor-hold.c), statically linked to stay small. */
#include "daemon/monitor-internal.h"

int
main (int argc, char **argv)
{
  return monitor_hold_main (argc, argv);
}
