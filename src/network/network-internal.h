/* Private to src/network: the in-memory model of networks and endpoints that
 * every module of the area shares, and the pure helpers (IPv4 arithmetic,
 * IPAM, ruleset text) that unit tests call directly. */
#pragma once

#include "network/network.h"

#include <stdint.h>

/* ----------------------------------------------------------- IPv4 (addr.c) */

/* Addresses are kept in host byte order: arithmetic on them is then plain. */
struct ipv4_net
{
  uint32_t addr; /* the network address (host bits zero) */
  int prefix;    /* 0..32 */
};

uint32_t ipv4_mask (int prefix);
int ipv4_parse (const char *s, uint32_t *out);
void ipv4_format (uint32_t addr, char out[INET_ADDRSTRLEN]);
/* "a.b.c.d/n". Host bits set is an error unless allow_host_bits (then *host
 * gets the full address and out->addr the network). what names the field in
 * messages ("subnet", "--bip"). */
int ipv4_cidr_parse (const char *s, const char *what, bool allow_host_bits, struct ipv4_net *out,
                     uint32_t *host, struct berth_error **err);
char *ipv4_cidr_format (const struct ipv4_net *n);
bool ipv4_net_contains (const struct ipv4_net *n, uint32_t addr);
bool ipv4_net_overlaps (const struct ipv4_net *a, const struct ipv4_net *b);
uint32_t ipv4_net_broadcast (const struct ipv4_net *n);

/* An address pool (--default-address-pool base=...,size=...). */
struct ipv4_pool
{
  struct ipv4_net base;
  int size;
};
int ipv4_pool_parse (const char *s, struct ipv4_pool *out, struct berth_error **err);
/* The first subnet of the pools, in order, that overlaps none of `taken`. */
int ipv4_pools_pick (const struct ipv4_pool *pools, size_t n_pools, const struct ipv4_net *taken,
                     size_t n_taken, struct ipv4_net *out, struct berth_error **err);

/* ----------------------------------------------------------- IPAM (ipam.c) */

struct ipam
{
  struct ipv4_net subnet;
  uint32_t gateway;
  uint32_t lo, hi;   /* allocatable range, inclusive */
  uint32_t *used;    /* sorted */
  size_t n_used;
  uint32_t last;     /* last address handed out: allocation goes round */
};

int ipam_init (struct ipam *ipam, const struct ipv4_net *subnet, uint32_t gateway,
               const struct ipv4_net *range, struct berth_error **err);
void ipam_fini (struct ipam *ipam);
bool ipam_is_used (const struct ipam *ipam, uint32_t addr);
/* Next free address after the last one given (docker hands addresses out
 * round-robin so a released one is not reused at once). EXHAUSTED → CONFLICT. */
int ipam_allocate (struct ipam *ipam, uint32_t *out, struct berth_error **err);
/* A specific address (--ip, or reloading state). */
int ipam_reserve (struct ipam *ipam, uint32_t addr, struct berth_error **err);
void ipam_release (struct ipam *ipam, uint32_t addr);

/* --------------------------------------------------------- the model ----- */

struct port_mapping
{
  int proto;
  uint16_t container_port;
  uint32_t host_ip; /* 0 = every address */
  uint16_t host_port;
  int reserve_fd;   /* bound socket holding the host port, -1 if none */
};

struct endpoint
{
  char id[NETWORK_ID_LEN + 1];
  char container_id[NETWORK_ID_LEN + 1];
  char *container_name;
  char ifname[NETWORK_IFNAME_MAX];
  char host_ifname[NETWORK_IFNAME_MAX];
  uint32_t ip;
  uint8_t mac[6];
  char **aliases;
  char **dns_servers;
  struct port_mapping *ports;
  size_t n_ports;
};

enum network_kind
{
  NETWORK_KIND_BRIDGE = 0,
  NETWORK_KIND_HOST,
  NETWORK_KIND_NULL,
};

struct network
{
  char id[NETWORK_ID_LEN + 1];
  char *name;
  enum network_kind kind;
  bool is_default; /* the predefined `bridge` network: no embedded DNS */
  char *created;   /* RFC 3339 */
  char bridge[NETWORK_IFNAME_MAX];
  struct ipv4_net subnet;
  uint32_t gateway;
  bool has_range;
  struct ipv4_net range;
  bool internal, attachable;
  bool icc, masquerade;
  uint32_t host_binding_ip;
  int mtu;
  json_t *labels, *options;
  struct ipam ipam;
  struct endpoint **endpoints;
  size_t n_endpoints;
  int dns_udp_fd;    /* -1 when not listening */
  uint16_t dns_port; /* 53, or where 53/udp to the gateway is redirected
                        when something else on the host holds it */
  int dns_tcp_fd;    /* the same over TCP */
  uint16_t dns_tcp_port;
};

/* ------------------------------------------------------- mac addresses --- */

void mac_from_ipv4 (uint32_t ip, uint8_t mac[6]);
int mac_parse (const char *s, uint8_t mac[6], struct berth_error **err);
void mac_format (const uint8_t mac[6], char out[18]);

/* --------------------------------------------------- nftables (nat.c) --- */

/* The whole table as nft script: a pure function of the networks, so every
 * change is one atomic "replace the table" transaction and a crash can never
 * leave a rule that the state does not explain. With no bridge network the
 * script only deletes the table. */
struct nft_ctx;
char *nat_ruleset_render (const char *table, const char *owner, struct network *const *networks,
                          size_t n);
/* The first apply of a manager checks that an existing table carries our
 * owner mark (a hash of the state dir). *applied keeps the last script
 * applied: the same script again is not sent (NULL: always send). */
int nat_ruleset_apply (struct nft_ctx **cache, bool *owner_checked, char **applied, const char *table,
                       const char *owner, struct network *const *networks, size_t n,
                       struct berth_error **err);
/* Delete the table (and only it). */
int nat_table_delete (struct nft_ctx **cache, const char *table, struct berth_error **err);
void nat_ctx_free (struct nft_ctx **cache);

/* ------------------------------------------------ host ports (ports.c) --- */

/* Reserve a host port for a mapping by binding it (TCP: bound, never
 * listening, so nobody else can take it; the DNAT rule sends the traffic to
 * the container before it could reach this socket). */
int port_reserve (struct port_mapping *pm, const struct network_port_binding *b,
                  uint32_t default_host_ip, struct berth_error **err);
int port_rebind (struct port_mapping *pm, struct berth_error **err);
void port_release (struct port_mapping *pm);
int port_local_range (uint16_t *lo, uint16_t *hi);

/* ---------------------------------------------- persistence (store.c) --- */

json_t *store_network_to_json (const struct network *n);
struct network *store_network_from_json (const json_t *j, const char *file,
                                         struct berth_error **err);
void network_free (struct network *n);
void endpoint_free (struct endpoint *e);
