/* runtime-internal: the OCI `linux.seccomp` object compiled to a BPF
 * program (in the parent, before clone, so errors are reported cleanly and
 * nothing is parsed inside the container) and installed in the container's
 * init or exec'd process right before execve. */
#pragma once

#include <stdbool.h>

#include "common/common.h"

struct seccomp_filter;

/* Validate and compile: defaultAction, defaultErrnoRet, architectures,
 * flags, syscalls[].{names, action, errnoRet, args[] with ops}; unknown
 * syscall names are skipped as runc/crun do, unknown actions or ops are an
 * error naming the field ("linux.seccomp.syscalls[3].action: ..."). */
struct seccomp_filter *seccomp_filter_compile (const json_t *seccomp, struct berth_error **err);
/* seccomp_filter_compile through a cache of compiled programs in cache_dir
 * (created 0700 when missing; NULL or "" means no cache): the key is the
 * profile's canonical JSON, the native arch and the libseccomp version
 * (stored in the entry and compared in full); an entry that does not
 * validate (sizes, header, key, checksum of the program, owner, mode) is
 * ignored and rewritten. *hit (may be NULL) tells whether the program came
 * from the cache. */
struct seccomp_filter *seccomp_filter_compile_cached (const json_t *seccomp, const char *cache_dir,
                                                      bool *hit, struct berth_error **err);
/* The same for a profile in a file (RUNTIME_SECCOMP_PROFILE_ANNOTATION):
 * its text is the key, so a cached program is found without parsing it.
 * *profile_out gets the parsed profile when it had to be parsed (a miss,
 * or a program that wants a listener, whose path is in the profile), else
 * NULL. Errors name the file. */
struct seccomp_filter *seccomp_filter_compile_cached_file (const char *path, const char *cache_dir,
                                                           json_t **profile_out,
                                                           struct berth_error **err);
/* True when the profile uses SCMP_ACT_NOTIFY (needs listenerPath). */
bool seccomp_filter_wants_listener (const struct seccomp_filter *f);
/* Install in the calling process (async-signal-safe apart from the
 * preloaded program). *listener_fd gets the notify fd or -1. */
int seccomp_filter_install (struct seccomp_filter *f, int *listener_fd, struct berth_error **err);
void seccomp_filter_free (struct seccomp_filter *f);

/* berth's default profile (equivalent in effect to Docker's default) as an
 * OCI `linux.seccomp` object; syscalls gated on capabilities are allowed
 * when `caps` (the bounding set, e.g. "CAP_SYS_ADMIN") contains them. */
json_t *seccomp_default_profile (char *const *caps);
