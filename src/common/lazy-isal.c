/* berth common: ISA-L bound on first use (lazylib.h): gzip layers. */
#include <isa-l.h>

#include "common/lazylib.h"

static struct lazylib isal_lib = { (const char *const[]){ "libisal.so.2", NULL }, NULL };

#define ISAL_FN(ret, name, params, args) LAZYLIB_FN (isal_lib, ret, name, params, args)
#define ISAL_VOID(name, params, args) LAZYLIB_VOID (isal_lib, name, params, args)

ISAL_FN (uint64_t, crc64_ecma_refl, (uint64_t a0, const unsigned char *a1, uint64_t a2),
         (a0, a1, a2))
ISAL_FN (int, isal_deflate, (struct isal_zstream * a0), (a0))
ISAL_VOID (isal_deflate_init, (struct isal_zstream * a0), (a0))
ISAL_FN (int, isal_inflate, (struct inflate_state * a0), (a0))
ISAL_VOID (isal_inflate_init, (struct inflate_state * a0), (a0))
