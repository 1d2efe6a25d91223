/* berth common: libcrypto bound on first use (lazylib.h): sha256 digests
 * and base64. Mapping libcrypto costs ~1.6 MiB of relocated pages, and its
 * initialisation (config, providers) as much again. */
#include <openssl/evp.h>

#include "common/lazylib.h"

static struct lazylib crypto_lib = { (const char *const[]){ "libcrypto.so.3", NULL }, NULL };

#define CRYPTO_FN(ret, name, params, args) LAZYLIB_FN (crypto_lib, ret, name, params, args)
#define CRYPTO_VOID(name, params, args) LAZYLIB_VOID (crypto_lib, name, params, args)

CRYPTO_FN (int, EVP_DecodeBlock, (unsigned char *a0, const unsigned char *a1, int a2), (a0, a1, a2))
CRYPTO_FN (int, EVP_Digest,
           (const void *a0, size_t a1, unsigned char *a2, unsigned int *a3, const EVP_MD *a4,
            ENGINE *a5),
           (a0, a1, a2, a3, a4, a5))
CRYPTO_FN (int, EVP_DigestFinal_ex, (EVP_MD_CTX * a0, unsigned char *a1, unsigned int *a2),
           (a0, a1, a2))
CRYPTO_FN (int, EVP_DigestInit_ex, (EVP_MD_CTX * a0, const EVP_MD *a1, ENGINE *a2), (a0, a1, a2))
CRYPTO_FN (int, EVP_DigestUpdate, (EVP_MD_CTX * a0, const void *a1, size_t a2), (a0, a1, a2))
CRYPTO_FN (int, EVP_EncodeBlock, (unsigned char *a0, const unsigned char *a1, int a2), (a0, a1, a2))
CRYPTO_VOID (EVP_MD_CTX_free, (EVP_MD_CTX * a0), (a0))
CRYPTO_FN (EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())
CRYPTO_FN (const EVP_MD *, EVP_sha256, (void), ())
