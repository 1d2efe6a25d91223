/* runtime-internal: the compiled seccomp program, shared by the compiler
 * (seccomp.c) and the compiled-program cache (seccomp-cache.c). */
#pragma once

#include <linux/filter.h>
#include <stdbool.h>

struct seccomp_filter
{
  struct sock_filter *insns;
  unsigned short n_insns;
  unsigned flags; /* SECCOMP_FILTER_FLAG_* from linux.seccomp.flags */
  bool wants_listener;
};
