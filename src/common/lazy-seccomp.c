/* berth common: libseccomp bound on first use (lazylib.h): the runtime
 * compiles a container's filter with it. */
#include <seccomp.h>

#include "common/lazylib.h"

static struct lazylib seccomp_lib = { (const char *const[]){ "libseccomp.so.2", NULL }, NULL };

#define SECCOMP_FN(ret, name, params, args) LAZYLIB_FN (seccomp_lib, ret, name, params, args)
#define SECCOMP_VOID(name, params, args) LAZYLIB_VOID (seccomp_lib, name, params, args)

SECCOMP_FN (int, seccomp_arch_add, (scmp_filter_ctx a0, uint32_t a1), (a0, a1))
SECCOMP_FN (uint32_t, seccomp_arch_native, (void), ())
SECCOMP_FN (uint32_t, seccomp_arch_resolve_name, (const char *a0), (a0))
SECCOMP_FN (int, seccomp_attr_set, (scmp_filter_ctx a0, enum scmp_filter_attr a1, uint32_t a2),
            (a0, a1, a2))
SECCOMP_FN (int, seccomp_export_bpf, (const scmp_filter_ctx a0, int a1), (a0, a1))
SECCOMP_FN (scmp_filter_ctx, seccomp_init, (uint32_t a0), (a0))
SECCOMP_VOID (seccomp_release, (scmp_filter_ctx a0), (a0))
SECCOMP_FN (int, seccomp_rule_add_array,
            (scmp_filter_ctx a0, uint32_t a1, int a2, unsigned int a3,
             const struct scmp_arg_cmp *a4),
            (a0, a1, a2, a3, a4))
SECCOMP_FN (int, seccomp_syscall_resolve_name, (const char *a0), (a0))
SECCOMP_FN (const struct scmp_version *, seccomp_version, (void), ())
