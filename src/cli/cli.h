/* berth cli: the public header of src/cli. The `berth` command line is an
 * Engine API client with docker's commands, flags, output and exit codes; it
 * never touches daemon state directly. src/cmd/berth.c only calls this. */
#pragma once

/* Run the berth command line; returns the process exit code (docker's rules:
 * 125 when the daemon or the request fails for run/create, 126 when the
 * command cannot be invoked, 127 when it is not found, 1 for other command
 * errors, otherwise the container's own exit status). */
int berth_cli_main (int argc, char **argv);
