/* berth cli: what http.c and hijack.c share about a client (private). */
#pragma once

#include <curl/curl.h>
#include <pthread.h>
#include <sys/types.h>

#include "cli/cli-internal.h"

struct cli_client
{
  CURL *h; /* the kept-alive connection for ordinary requests */
  struct cli_endpoint ep;
  char *base;
  char *api_version;
  pid_t ssh_pids[64];
  size_t n_ssh_pids;
  int ssh_listen_fd;  /* ssh://: the private abstract socket curl dials */
  char *ssh_abstract;
  pthread_t ssh_thread;
  pthread_mutex_t ssh_lock;
};

char *cli_client_url (struct cli_client *c, const char *path, const char *query);
void cli_client_setup_handle (struct cli_client *c, CURL *h);
int cli_connect_error (struct cli_client *c, CURLcode code, const char *errbuf,
                       struct berth_error **err);
