/* daemon-private: restart policies as moby's restartmanager decides them:
 * whether to restart after an exit, and the backoff (100 ms doubling per
 * quick restart, reset once the container ran 10 s, capped at 1 minute). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define RESTART_BACKOFF_INITIAL_MS 100
#define RESTART_BACKOFF_MAX_MS 60000
#define RESTART_RESET_AFTER_NS (10ull * 1000000000ull)

struct restart_decision_input
{
  const char *policy; /* "no", "always", "on-failure", "unless-stopped" */
  int max_retries;    /* on-failure:N, 0 = unlimited */
  int restart_count;  /* restarts so far */
  int exit_code;
  bool manually_stopped; /* docker stop/kill, or the daemon shutting down */
};

bool restart_should_restart (const struct restart_decision_input *in);
/* The next delay from the previous one and how long the container ran. */
uint64_t restart_next_backoff_ms (uint64_t previous_ms, uint64_t ran_ns);
