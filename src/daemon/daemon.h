/* berthd, the Docker-compatible engine daemon: the one entry point its thin
 * main calls. Everything else of src/daemon is internal (api.h for route
 * modules, daemon-internal.h for the core). */
#pragma once

/* Parse dockerd-style flags and daemon.json, prepare the data and exec
 * roots, serve the Engine API until SIGTERM/SIGINT, then clean up (socket,
 * pidfile). Returns the process exit code. */
int berthd_main (int argc, char **argv);
