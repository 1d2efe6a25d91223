/* berth-runtime (the CLI) private header: what its two files share. Not
 * part of any area's API. */
#pragma once

#include <stdbool.h>

#include "runtime/runtime.h"

struct globals
{
  struct runtime_context ctx;
  char **argv; /* the whole command line, for runtime_exe_protect */
  const char *log_path;
  bool log_json;
  bool debug;
};

enum
{
  OPT_BUNDLE = 1000,
  OPT_CONSOLE_SOCKET,
  OPT_PID_FILE,
  OPT_PRESERVE_FDS,
  OPT_NO_PIVOT,
  OPT_NO_NEW_KEYRING,
  OPT_DETACH,
  OPT_KEEP,
  OPT_NO_SUBREAPER,
  OPT_PROCESS,
  OPT_TTY,
  OPT_CWD,
  OPT_ENV,
  OPT_USER,
  OPT_CAP,
  OPT_ADDITIONAL_GIDS,
  OPT_NO_NEW_PRIVS,
  OPT_FORMAT,
  OPT_RESOURCES,
  OPT_ALL,
  OPT_FORCE,
  OPT_QUIET,
  OPT_IGNORED,
  OPT_IGNORED_ARG,
  OPT_UPDATE_BASE,
};

/* Print the error (stderr and the --log line), free it, return 1. */
int fail (struct berth_error *err, const char *cmd);
int usage_error (const char *cmd, const char *fmt, const char *arg)
    __attribute__ ((format (printf, 2, 0)));
void reset_getopt (void);
int print_json (json_t *j);

/* berth-runtime-process.c */
int cmd_create_or_run (struct globals *g, int argc, char **argv, bool run);
int cmd_exec (struct globals *g, int argc, char **argv);

/* berth-runtime-events.c */
int cmd_events (struct globals *g, int argc, char **argv);
