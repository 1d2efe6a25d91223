/* berth common: libnftables bound on first use (lazylib.h): the network
 * area's NAT and published-port rules. It brings libnftnl, libxtables
 * and libgmp, and its context reads the iproute2 tables when made. */
#include <nftables/libnftables.h>

#include "common/lazylib.h"

static struct lazylib nftables_lib = { (const char *const[]){ "libnftables.so.1", NULL }, NULL };

#define NFT_FN(ret, name, params, args) LAZYLIB_FN (nftables_lib, ret, name, params, args)
#define NFT_VOID(name, params, args) LAZYLIB_VOID (nftables_lib, name, params, args)

NFT_FN (int, nft_ctx_buffer_error, (struct nft_ctx * a0), (a0))
NFT_FN (int, nft_ctx_buffer_output, (struct nft_ctx * a0), (a0))
NFT_VOID (nft_ctx_free, (struct nft_ctx * a0), (a0))
NFT_FN (const char *, nft_ctx_get_error_buffer, (struct nft_ctx * a0), (a0))
NFT_FN (const char *, nft_ctx_get_output_buffer, (struct nft_ctx * a0), (a0))
NFT_FN (struct nft_ctx *, nft_ctx_new, (uint32_t a0), (a0))
NFT_FN (int, nft_run_cmd_from_buffer, (struct nft_ctx * a0, const char *a1), (a0, a1))
