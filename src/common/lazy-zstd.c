/* berth common: libzstd bound on first use (lazylib.h): zstd layers. */
#include <zstd.h>

#include "common/lazylib.h"

static struct lazylib zstd_lib = { (const char *const[]){ "libzstd.so.1", NULL }, NULL };

#define ZSTD_FN(ret, name, params, args) LAZYLIB_FN (zstd_lib, ret, name, params, args)
#define ZSTD_VOID(name, params, args) LAZYLIB_VOID (zstd_lib, name, params, args)

ZSTD_FN (size_t, ZSTD_CCtx_setParameter, (ZSTD_CCtx * a0, ZSTD_cParameter a1, int a2), (a0, a1, a2))
ZSTD_FN (size_t, ZSTD_compressStream2,
         (ZSTD_CCtx * a0, ZSTD_outBuffer *a1, ZSTD_inBuffer *a2, ZSTD_EndDirective a3),
         (a0, a1, a2, a3))
ZSTD_FN (ZSTD_CCtx *, ZSTD_createCCtx, (void), ())
ZSTD_FN (ZSTD_CStream *, ZSTD_createCStream, (void), ())
ZSTD_FN (ZSTD_DStream *, ZSTD_createDStream, (void), ())
ZSTD_FN (size_t, ZSTD_decompress, (void *a0, size_t a1, const void *a2, size_t a3),
         (a0, a1, a2, a3))
ZSTD_FN (size_t, ZSTD_decompressStream, (ZSTD_DStream * a0, ZSTD_outBuffer *a1, ZSTD_inBuffer *a2),
         (a0, a1, a2))
ZSTD_FN (size_t, ZSTD_freeCCtx, (ZSTD_CCtx * a0), (a0))
ZSTD_FN (size_t, ZSTD_freeCStream, (ZSTD_CStream * a0), (a0))
ZSTD_FN (size_t, ZSTD_freeDStream, (ZSTD_DStream * a0), (a0))
ZSTD_FN (const char *, ZSTD_getErrorName, (size_t a0), (a0))
ZSTD_FN (unsigned long long, ZSTD_getFrameContentSize, (const void *a0, size_t a1), (a0, a1))
ZSTD_FN (size_t, ZSTD_initDStream, (ZSTD_DStream * a0), (a0))
ZSTD_FN (unsigned, ZSTD_isError, (size_t a0), (a0))
