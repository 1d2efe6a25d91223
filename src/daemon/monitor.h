/* daemon-private: the per-container monitor, and the protocol berthd speaks
 * with it. One small process per running container (berth-monitor), forked
 * and exec'd by berthd: it becomes a child subreaper, creates and starts the
 * container through the runtime library with pipes or a pty as stdio, holds
 * them, writes the logs, serves attach on <exec-dir>/attach.sock, records
 * the exit status to <exec-dir>/exit.json, removes the runtime state
 * and exits. It does not depend on berthd staying alive (live restore).
 *
 * Start handshake on fd 3 (a SOCK_SEQPACKET pair with berthd):
 *   berthd  → "go" (monitor.json and config.json are written; the monitor
 *             was spawned before, and its end of the pair closing before
 *             "go" ends it)
 *   monitor → "cloned <init pid>" (its namespaces exist: berthd connects
 *             the network while the runtime sets up the root)
 *   monitor → "created <init pid>" | "error <message>"
 *   berthd  → "start" (after connecting the attach clients that wait)
 *   monitor → "started" | "error <message>"
 * Attach connections (SOCK_STREAM on attach.sock): the client's first byte
 * says what it wants (MONITOR_ATTACH_*). Then client → monitor bytes are
 * the container's stdin (a half-close is stdin EOF) and monitor → client
 * bytes are the output: docker's 8-byte frames without a tty, raw with one.
 * MONITOR_ATTACH_RESIZE is followed by rows and cols (2 bytes each, big
 * endian) and nothing else.
 *
 * Exec processes belong to the monitor too, so that they outlive berthd
 * as the container does: MONITOR_EXEC is followed by struct
 * monitor_exec_request. 'S' starts the process described by
 * execs/<id>.json (berthd wrote it; a `berth-monitor --exec` child makes it
 * through the runtime library and exits, the monitor being a subreaper
 * inherits the process); 'W' watches a running one; 'R' resizes its pty.
 * The monitor answers 'S' and 'W' with one line, "pid <n>\n" or
 * "error <message>\n", then (S only) the exec's output as on attach and
 * takes the connection's bytes as its stdin (a half-close is stdin EOF).
 * When the process exited it writes execs/<id>.exit ("<code>\n") and only
 * then closes the connections: EOF means the exit code is on disk. */
#pragma once

#include <stdint.h>

#define MONITOR_ATTACH_STDIN 0x01
#define MONITOR_ATTACH_STDOUT 0x02
#define MONITOR_ATTACH_STDERR 0x04
#define MONITOR_ATTACH_RESIZE 0x80
#define MONITOR_EXEC 0x40

#define MONITOR_EXEC_TTY 0x01
#define MONITOR_EXEC_STDIN 0x02
#define MONITOR_EXEC_STDOUT 0x04
#define MONITOR_EXEC_STDERR 0x08
#define MONITOR_EXEC_ID_LEN 64
#define MONITOR_EXEC_DIR "execs"

struct monitor_exec_request
{
  uint8_t op;    /* 'S' start, 'W' watch, 'R' resize */
  uint8_t flags; /* MONITOR_EXEC_* (start) */
  uint8_t rows[2], cols[2]; /* big endian; 0: leave the pty's size */
  char id[MONITOR_EXEC_ID_LEN];
};

#define MONITOR_SYNC_FD 3
/* berthd spawns the monitor before it writes monitor.json and config.json
 * and says this once they are there: the monitor's exec and loading
 * overlap the root's mount */
#define MONITOR_GO "go"
/* berthd may pass berth-monitor-exec (an O_PATH fd of a read-only view) */
#define MONITOR_EXEC_HELPER_FD 4
#define MONITOR_ATTACH_SOCKET "attach.sock"
#define MONITOR_EXIT_FILE "exit.json"
#define MONITOR_CONFIG_FILE "monitor.json"

/* berth-monitor's main: argv[1] is the exec dir holding monitor.json and
 * config.json. */
int monitor_main (int argc, char **argv);
/* berth-monitor --exec EXEC_DIR ID, or berth-monitor-exec EXEC_DIR ID
 * (monitor_exec_helper_run): make exec ID's process (stdio on fds 0-2, or
 * the console socket on fd 3) and report "pid <n>" or "error <message>"
 * on fd 4. */
int monitor_exec_helper_main (int argc, char **argv);
int monitor_exec_helper_run (const char *exec_dir, const char *exec_id);
