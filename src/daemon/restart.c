/* Restart policies (moby's restartmanager): the decision and the backoff. */
#include "daemon/restart.h"

#include <string.h>

bool
restart_should_restart (const struct restart_decision_input *in)
{
  if (in->manually_stopped || in->policy == NULL)
    return false;
  if (strcmp (in->policy, "always") == 0 || strcmp (in->policy, "unless-stopped") == 0)
    return true;
  if (strcmp (in->policy, "on-failure") == 0)
    return in->exit_code != 0 && (in->max_retries == 0 || in->restart_count < in->max_retries);
  return false;
}

uint64_t
restart_next_backoff_ms (uint64_t previous_ms, uint64_t ran_ns)
{
  if (previous_ms == 0 || ran_ns >= RESTART_RESET_AFTER_NS)
    return RESTART_BACKOFF_INITIAL_MS;
  uint64_t next = previous_ms * 2;
  return next > RESTART_BACKOFF_MAX_MS ? RESTART_BACKOFF_MAX_MS : next;
}
