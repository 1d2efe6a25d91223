/* berth: the docker-style command line (an Engine API client). All of it
 * lives in src/cli; this is only the entry point. */
#include "cli/cli.h"

int
main (int argc, char **argv)
{
  return berth_cli_main (argc, argv);
}
