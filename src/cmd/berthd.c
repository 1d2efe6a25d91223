/* berthd: the Docker-compatible engine daemon (src/daemon). */
#include "daemon/daemon.h"

int
main (int argc, char **argv)
{
  return berthd_main (argc, argv);
}
