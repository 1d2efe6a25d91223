/* Private to src/network: the manager object shared by manager.c (state,
 * persistence, lookup), networks.c, bridge.c, endpoint.c and dns.c. */
#pragma once

#include "network/network-internal.h"

#include <netinet/in.h>

/* Where an answer goes: a UDP client (through the network's socket) or a
 * TCP connection (by id: its fd number may be reused once it closes). */
struct dns_sink
{
  int udp_fd;
  struct sockaddr_in to;
  uint64_t conn_id; /* 0 for UDP */
};

struct dns_conn
{
  int fd;
  uint64_t id;
  struct network *n;
  struct sockaddr_in peer;
  uint8_t *buf; /* 2-byte length + message */
  size_t have;
  uint64_t deadline_ns;
};

struct dns_pending
{
  uint16_t upstream_id; /* the id we sent upstream (random) */
  uint16_t client_id;
  struct dns_sink sink;
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
  struct dns_conn *conns;
  size_t n_conns;
  uint64_t next_conn_id;
  int job_fds[2];  /* TCP upstream queries report here (socketpair) */
  unsigned n_jobs; /* in flight */
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
  int run_fd;      /* run_dir (endpoints), -1: in networks/ */
  char *run_dir;
  int lock_fd;
  struct network **networks;
  size_t n_networks;
  struct dns_state dns;
  struct nft_ctx *nft; /* libnftables context, made on first use */
  char nft_owner[17];  /* marks our table: 16 hex of sha256(state dir), made on first use */
  bool nft_owner_checked;
  char *nft_applied;   /* the ruleset script applied last */
  void (*on_dns_fd) (int fd, bool added, void *userdata);
  void *userdata;
};

/* manager.c */
struct network *manager_find (struct network_manager *m, const char *id_or_name,
                              struct berth_error **err);
int manager_save (struct network_manager *m, struct network *n, struct berth_error **err);
/* Endpoint changes (connect, disconnect): with a run dir, only the
 * volatile <run_dir>/<id>.json (no fsync); without, the network's file
 * without the directory's fsync. A power loss that undoes either brings
 * back the endpoints of before (or none), and cleanup_orphans releases
 * those of containers that do not run at the next start (nothing runs
 * after a power loss). */
int manager_save_endpoints (struct network_manager *m, struct network *n, struct berth_error **err);
int manager_save_flags (struct network_manager *m, struct network *n, unsigned flags,
                        struct berth_error **err);
/* Remove the network's files (definition and endpoints). */
void manager_unlink_state (struct network_manager *m, const struct network *n);
int manager_sync_rules (struct network_manager *m, struct berth_error **err);
/* The same in a short-lived child while this process has no nftables
 * context yet (for syncs that happen once, not per container). */
int manager_sync_rules_one_off (struct network_manager *m, struct berth_error **err);

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
void dns_fd_notify (struct network_manager *m, int fd, bool added);
/* Answer (or forward) one query that came in through sink. */
void dns_query_handle (struct network_manager *m, struct network *rx, const struct dns_sink *sink,
                       const uint8_t *msg, size_t len);
void dns_sink_send (struct network_manager *m, const struct dns_sink *sink, const uint8_t *msg,
                    size_t len);

/* dns-tcp.c: DNS over TCP on the same addresses (clients retry there when
 * a UDP answer was truncated). */
int dns_tcp_listen (struct network_manager *m, struct network *n, struct berth_error **err);
void dns_tcp_close_network (struct network_manager *m, struct network *n);
bool dns_tcp_handle_readable (struct network_manager *m, int fd);
void dns_tcp_send (struct network_manager *m, uint64_t conn_id, const uint8_t *msg, size_t len);
size_t dns_tcp_fds (struct network_manager *m, int *fds, size_t max);
uint64_t dns_tcp_next_deadline (struct network_manager *m);
void dns_tcp_expire (struct network_manager *m, uint64_t now);
void dns_tcp_fini (struct network_manager *m);
/* A truncated upstream answer for a TCP client: ask asked again over TCP
 * from a short-lived thread; the result comes back through job_fds[0].
 * Returns -1 (and the caller relays what it has) when no job can start. */
int dns_tcp_upstream_init (struct network_manager *m, struct berth_error **err);
int dns_tcp_upstream_start (struct network_manager *m, const struct dns_pending *p,
                            const struct sockaddr_in *asked, const uint8_t *truncated,
                            size_t len);
