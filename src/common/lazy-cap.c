/* berth common: libcap bound on first use (lazylib.h): capability names
 * and sets in the runtime and the daemon's OCI config. */
#include <sys/capability.h>

#include "common/lazylib.h"

static struct lazylib cap_lib = { (const char *const[]){ "libcap.so.2", NULL }, NULL };

#define CAP_FN(ret, name, params, args) LAZYLIB_FN (cap_lib, ret, name, params, args)
#define CAP_VOID(name, params, args) LAZYLIB_VOID (cap_lib, name, params, args)

CAP_FN (int, cap_free, (void *a0), (a0))
CAP_FN (int, cap_from_name, (const char *a0, cap_value_t *a1), (a0, a1))
CAP_FN (cap_t, cap_init, (void), ())
CAP_FN (int, cap_set_flag,
        (cap_t a0, cap_flag_t a1, int a2, const cap_value_t *a3, cap_flag_value_t a4),
        (a0, a1, a2, a3, a4))
CAP_FN (int, cap_set_proc, (cap_t a0), (a0))
CAP_FN (char *, cap_to_name, (cap_value_t a0), (a0))
