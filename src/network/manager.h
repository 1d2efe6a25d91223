/* Private to src/network: the manager object shared by manager.c (state,
 * persistence, lookup), networks.c, bridge.c, endpoint.c and dns.c. */
#pragma once

#include "network/network-internal.h"

#include <netinet/in.h>

struct dns_pending
{
  uint16_t upstream_id; /* the id we sent upstream (random) */
  uint16_t client_id;
  int reply_fd;         /* the network socket the query came in on */
  struct sockaddr_in client;
  char qname[64];       /* first bytes of the question, to match the answer */
  size_t qname_len;
  uint8_t *query;       /* kept to retry the next upstream */
  size_t query_len;
  struct sockaddr_in *upstreams; /* this query's servers (a --dns list or the default) */
  size_t n_upstreams, next_upstream;
  uint64_t deadline_ns;
};

struct dns_state
{
  int upstream_fd; /* one unconnected UDP socket for every forwarded query */
  struct sockaddr_in *upstreams;
  size_t n_upstreams;
  struct dns_pending *pending;
  size_t n_pending;
  int timeout_ms;
};

struct network_manager
{
  char *state_dir;
  char *nft_table;
  char *default_device;
  char *bip, *fixed_cidr;
  struct ipv4_pool *pools;
  size_t n_pools;
  int default_mtu;
  bool no_ip_forward;
  int state_fd;    /* O_PATH of state_dir */
  int networks_fd; /* state_dir/networks */
  int lock_fd;
  struct network **networks;
  size_t n_networks;
  struct dns_state dns;
  void (*on_dns_fd) (int fd, bool added, void *userdata);
  void *userdata;
};

/* manager.c */
struct network *manager_find (struct network_manager *m, const char *id_or_name,
                              struct berth_error **err);
int manager_save (struct network_manager *m, struct network *n, struct berth_error **err);
int manager_sync_rules (struct network_manager *m, struct berth_error **err);

/* bridge.c: the bridge device of a network, made to match its config. */
int bridge_ensure (struct network_manager *m, struct network *n, struct berth_error **err);
int bridge_delete (struct network *n, struct berth_error **err);
/* Every IPv4 subnet the host uses plus those of berth's networks. */
int host_subnets_in_use (struct network_manager *m, struct ipv4_net **out, size_t *n_out,
                         struct berth_error **err);

/* endpoint.c */
int endpoint_remove (struct network_manager *m, struct network *n, size_t index,
                     struct berth_error **err);
bool endpoint_link_exists (const struct endpoint *e);

/* dns.c */
int dns_init (struct network_manager *m, const struct network_manager_config *cfg,
              struct berth_error **err);
void dns_fini (struct network_manager *m);
/* Open/close the listener of a user-defined network. */
int dns_network_listen (struct network_manager *m, struct network *n, struct berth_error **err);
void dns_network_close (struct network_manager *m, struct network *n);
