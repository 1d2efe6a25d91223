/* berth cli: the attach pump shared by run, start -a, attach and exec
 * (private to src/cli). */
#pragma once

#include "cli/cli-internal.h"

struct attach_opts
{
  struct cli_client *client;  /* for resize and signal requests */
  struct cli_hijack *hj;
  bool tty;                   /* raw stream (no frame headers) */
  bool send_stdin;
  bool sig_proxy;
  const char *container_id;   /* signals go to this container */
  const char *resize_path;    /* "/containers/x/resize" or "/exec/x/resize"; NULL: none */
  struct detach_matcher detach;
};

/* Pump until the stream ends (or the detach keys are typed). */
int attach_pump (struct attach_opts *o, bool *detached, struct berth_error **err);
int attach_resize (struct cli_client *c, const char *resize_path);
