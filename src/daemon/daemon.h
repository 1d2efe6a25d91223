/* berthd, the Docker-compatible engine daemon: the one entry point its thin
 * main calls. Everything else of src/daemon is internal (api.h for route
 * modules, daemon-internal.h for the core). */
#pragma once

/* Parse dockerd-style flags and daemon.json, prepare the data and exec
 * roots, serve the Engine API until SIGTERM/SIGINT, then clean up (socket,
 * pidfile). Returns the process exit code. */
int berthd_main (int argc, char **argv);

/* berthd runs from a read-only view of its binary (CVE-2019-5736), where
 * /proc/self/exe no longer names its directory. main() calls this first,
 * before that re-exec: it records the directory in the environment
 * (BERTHD_EXE_DIR), which the re-exec keeps. */
void berthd_exe_dir_remember (void);
/* <berthd's directory>/<name> when that is executable (berth-monitor,
 * berth-runtime live next to berthd in the build tree and in installs),
 * else NULL. */
char *berthd_helper_path (const char *name);
