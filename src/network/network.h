/* berth network: the public header of src/network. Docker's bridge networking
 * for berthd: networks (bridge devices, IPAM) persisted under a state dir,
 * endpoints (veth pairs into container netns over netlink), NAT and published
 * ports (nftables table of berth's own, through libnftables), an embedded DNS
 * server driven by the caller's event loop, and the generators of a
 * container's /etc/hosts, /etc/resolv.conf and /etc/hostname.
 *
 * Network modes the library does not model as networks (the daemon's work):
 *   host          — the container joins the host netns: no endpoint; use
 *                   network_hosts_file/network_resolv_conf with no endpoint.
 *   none          — a fresh netns with only loopback: network_netns_loopback_up.
 *   container:<id>— join another container's netns: nothing to do here; copy
 *                   that container's hosts/resolv.conf/hostname files.
 * The predefined networks `bridge`, `host` and `none` appear in list/inspect
 * (docker shows all three); only `bridge` has devices behind it.
 *
 * Threads: a manager is not thread-safe; berthd calls it from its loop thread.
 * No call changes the calling thread's namespaces. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/common.h"

#define NETWORK_DEFAULT_NAME "bridge"          /* docker's default network */
#define NETWORK_DEFAULT_DEVICE "berth0"        /* its bridge device (docker: docker0) */
#define NETWORK_DEFAULT_NFT_TABLE "berth"      /* table `ip berth` */
#define NETWORK_ID_LEN 64
#define NETWORK_IFNAME_MAX 16 /* IFNAMSIZ, with the NUL */

/* Docker's bridge driver options (docker network create --opt). */
#define NETWORK_OPT_BRIDGE_NAME "com.docker.network.bridge.name"
#define NETWORK_OPT_MTU "com.docker.network.driver.mtu"
#define NETWORK_OPT_ICC "com.docker.network.bridge.enable_icc"
#define NETWORK_OPT_MASQUERADE "com.docker.network.bridge.enable_ip_masquerade"
#define NETWORK_OPT_HOST_BINDING "com.docker.network.bridge.host_binding_ipv4"

struct network_manager; /* opaque */

/* ------------------------------------------------------------ manager -- */

struct network_manager_config
{
  /* <data-root>/network: networks/<id>.json live here (created if missing).
   * One manager per state dir: open takes an exclusive lock on it. */
  const char *state_dir;
  /* Where the endpoints of each network live (<exec-root>/network, a tmpfs
   * on hosts: /run): <id>.json with the network's endpoints and its IPAM
   * cursor, written atomically without fsync. They die with the containers
   * at a reboot, as they should; a connect or disconnect then never syncs
   * the disk. NULL: endpoints are kept in networks/<id>.json (synced). */
  const char *run_dir;
  /* nftables table (family ip) that holds every rule; default "berth".
   * Tests use their own name. Other tables are never read or written. */
  const char *nft_table;
  /* The default `bridge` network (dockerd's --bridge, --bip, --fixed-cidr,
   * --default-address-pool, --mtu). NULL/0 = defaults: device "berth0", the
   * first free /16 of the pools, MTU 1500. */
  const char *default_bridge_device;
  const char *bip;        /* "192.168.7.1/24": gateway address/prefix */
  const char *fixed_cidr; /* "192.168.7.128/25": IP range inside bip */
  /* NULL-terminated "base=172.80.0.0/12,size=24" strings; NULL = docker's
   * defaults (172.17-31.0.0/16, then 192.168.0.0/16 in /20s). */
  const char *const *default_address_pools;
  int default_mtu;
  /* Where names the embedded DNS does not know are forwarded: "IP" or
   * "IP:port", NULL-terminated. NULL = the nameservers of resolv_conf minus
   * 127.0.0.0/8 ones (a resolver there is unreachable from containers). */
  const char *const *dns_upstreams;
  const char *resolv_conf; /* default "/etc/resolv.conf" */
  int dns_timeout_ms;      /* per forwarded query; 0 = 2000 */
  bool no_default_networks;/* do not create bridge/host/none (tests) */
  bool no_ip_forward;      /* leave net.ipv4.ip_forward alone */
  /* Called when a DNS socket appears or goes away, so the caller's loop
   * adds/removes it. May be NULL (then poll network_manager_dns_fds). */
  void (*on_dns_fd)(int fd, bool added, void *userdata);
  void *userdata;
};

/* Load state, recreate what a reboot removed (bridges), rebuild the nftables
 * table from state, re-reserve published ports, open DNS sockets, and create
 * the default networks unless told not to. Existing endpoints stay untouched
 * (berthd restarts under live containers). */
int network_manager_open (const struct network_manager_config *cfg, struct network_manager **out,
                          struct berth_error **err);
/* Create the predefined networks (bridge on the default device, host,
 * none) if missing; open() does it unless cfg->no_default_networks. For a
 * daemon that creates them lazily, on the first use of networking. */
int network_manager_ensure_default_networks (struct network_manager *m, struct berth_error **err);
/* Free memory and close sockets; leaves devices, rules and state in place. */
void network_manager_close (struct network_manager *m);
/* Remove everything this manager made: endpoints, bridges, the nft table,
 * allocations and state files (the default networks too). */
int network_manager_destroy_all (struct network_manager *m, struct berth_error **err);
/* After berthd was killed: drop endpoints of containers not in
 * live_container_ids (NULL-terminated, full ids), endpoints whose netns died,
 * their veths, ports and IPs; rebuild the nft table from state so rules of
 * removed networks vanish. Returns the number of endpoints removed. */
int network_manager_cleanup_orphans (struct network_manager *m, const char *const *live_container_ids,
                                     struct berth_error **err);

/* ----------------------------------------------------------- networks -- */

struct network_create_opts
{
  const char *name;     /* required; unique */
  const char *driver;   /* NULL or "bridge"; others are BERTH_E_INVALID */
  const char *subnet;   /* "10.7.0.0/24"; NULL = pick a free one */
  const char *gateway;  /* NULL = first host address of the subnet */
  const char *ip_range; /* allocate container IPs from this CIDR only */
  bool internal;        /* no route out: no masquerade, forward dropped */
  bool attachable;
  bool enable_ipv6;     /* not supported yet: BERTH_E_INVALID */
  json_t *labels;       /* object of strings, borrowed; NULL = none */
  json_t *options;      /* object of strings (NETWORK_OPT_*), borrowed */
};

/* Create a bridge network; *id_out gets its 64-hex id. Errors: name taken
 * (CONFLICT), subnet overlapping another network or a host route/address
 * (CONFLICT), bad subnet/gateway/range/option (INVALID). Nothing is left
 * behind on failure. */
int network_manager_create (struct network_manager *m, const struct network_create_opts *opts,
                            char **id_out, struct berth_error **err);
/* Errors: unknown (NOT_FOUND), active endpoints or a predefined network
 * (FORBIDDEN, as dockerd). */
int network_manager_remove (struct network_manager *m, const char *id_or_name,
                            struct berth_error **err);
/* Docker's lookup order: full id, name, unique id prefix. */
int network_manager_resolve (struct network_manager *m, const char *id_or_name, char **id_out,
                             char **name_out, struct berth_error **err);
/* Docker's GET /networks/{id} object: Name, Id, Created, Scope, Driver,
 * EnableIPv6, IPAM{Driver,Options,Config[{Subnet,Gateway,IPRange}]},
 * Internal, Attachable, Ingress, ConfigFrom, ConfigOnly, Containers{id:
 * {Name,EndpointID,MacAddress,IPv4Address,IPv6Address}}, Options, Labels. */
json_t *network_manager_inspect (struct network_manager *m, const char *id_or_name,
                                 struct berth_error **err);
/* Array of inspect objects, sorted by name. */
json_t *network_manager_list (struct network_manager *m);
/* Remove user networks without endpoints for which keep() (may be NULL)
 * answers false; returns an array of the removed names (NetworksDeleted). */
json_t *network_manager_prune (struct network_manager *m,
                               bool (*keep) (const json_t *inspect, void *userdata),
                               void *userdata, struct berth_error **err);

/* ------------------------------------------------------ published ports -- */

/* One `-p` mapping after parsing. host_port_lo == host_port_hi: that port;
 * lo < hi: the first free port of the range; both 0: an ephemeral port from
 * /proc/sys/net/ipv4/ip_local_port_range (-P, or `-p 80`). */
struct network_port_binding
{
  int proto; /* IPPROTO_TCP or IPPROTO_UDP */
  uint16_t container_port;
  char host_ip[INET_ADDRSTRLEN]; /* "" = every host address */
  uint16_t host_port_lo, host_port_hi;
};

/* Parse `[ip:][host_port[-end]:]container_port[-end][/tcp|/udp]` the way
 * docker's nat.ParsePortSpec does; ranges expand to one binding per
 * container port. *out is malloc'ed. Errors name the spec and the field. */
int network_port_spec_parse (const char *spec, struct network_port_binding **out, size_t *n_out,
                             struct berth_error **err);

/* Docker's HostConfig.PortBindings ({"80/tcp": [{"HostIp": "", "HostPort":
 * "8080"}]}, HostPort "" = ephemeral, "8000-8010" = first free of the range)
 * plus, with publish_all (-P), every Config.ExposedPorts key without a
 * binding as an ephemeral one. Either object may be NULL. Errors name the
 * key and field (HostConfig.PortBindings["80/tcp"][0].HostPort: ...). */
int network_port_bindings_from_api (const json_t *port_bindings, const json_t *exposed_ports,
                                    bool publish_all, struct network_port_binding **out,
                                    size_t *n_out, struct berth_error **err);

/* ---------------------------------------------------------- endpoints -- */

struct network_endpoint_opts
{
  const char *container_id;   /* required, 64 hex (12+ accepted) */
  const char *container_name; /* without the leading '/', resolvable in DNS */
  /* The container's netns: a path (/proc/<pid>/ns/net, /run/netns/X) or,
   * when NULL, the netns of pid. */
  const char *netns_path;
  pid_t pid;
  const char *ifname;         /* NULL = first free ethN in the netns */
  const char *ipv4_address;   /* --ip; NULL = allocate */
  const char *mac_address;    /* --mac-address; NULL = 02:42:<ip bytes> */
  const char *const *aliases; /* --network-alias, compose service name */
  const char *const *dns_servers; /* the container's --dns: where its
                                     unknown names are forwarded */
  const struct network_port_binding *ports; /* published on this endpoint */
  size_t n_ports;
};

struct network_endpoint_info
{
  char network_id[NETWORK_ID_LEN + 1];
  char endpoint_id[NETWORK_ID_LEN + 1];
  char ifname[NETWORK_IFNAME_MAX];      /* inside the container */
  char host_ifname[NETWORK_IFNAME_MAX]; /* the host end, vethXXXXXXX */
  char ip[INET_ADDRSTRLEN];
  char gateway[INET_ADDRSTRLEN];
  char mac[18];
  int prefix_len;
  int mtu;
  /* The embedded DNS server for this container's resolv.conf, "" on the
   * default bridge (docker gives it the host's resolvers instead). */
  char dns_server[INET_ADDRSTRLEN];
};

/* Create the veth pair (host end on the network's bridge, the other end
 * created directly inside the netns as ifname), set MAC, address, MTU,
 * default route (first network of the netns only) and loopback up, publish
 * the ports (a host port in use: CONFLICT), add the DNS records. On error
 * nothing is left behind. */
int network_manager_connect (struct network_manager *m, const char *network,
                             const struct network_endpoint_opts *opts,
                             struct network_endpoint_info *info, struct berth_error **err);
/* Delete the veth (if the netns still lives), unpublish ports, release the
 * IP, drop DNS records. Not connected: NOT_FOUND. */
int network_manager_disconnect (struct network_manager *m, const char *network,
                                const char *container_id, struct berth_error **err);
/* Disconnect the container from every network (container stop/remove). */
int network_manager_disconnect_all (struct network_manager *m, const char *container_id,
                                    struct berth_error **err);
/* Release the container's endpoints on every network — addresses, port
 * rules, DNS names, the records — but not their devices: the host ends of
 * its veths come back in *links (a NULL-terminated vector, always set) for
 * network_link_delete, which is thread-safe and touches no manager state
 * (the kernel takes milliseconds to delete a veth; a remover does it on a
 * worker, after answering). A dead container's netns takes the pairs with
 * it anyway. */
int network_manager_release_all (struct network_manager *m, const char *container_id,
                                 char ***links, struct berth_error **err);
int network_link_delete (const char *ifname, struct berth_error **err);
int network_manager_endpoint_get (struct network_manager *m, const char *network,
                                  const char *container_id, struct network_endpoint_info *info,
                                  struct berth_error **err);
/* Docker's NetworkSettings.Networks[<name>] object (EndpointSettings). */
json_t *network_manager_endpoint_settings (struct network_manager *m, const char *network,
                                           const char *container_id, struct berth_error **err);
/* Docker's NetworkSettings.Ports of the container: {"80/tcp": [{"HostIp":
 * "0.0.0.0", "HostPort": "8080"}]} with the ports actually bound. */
json_t *network_manager_container_ports (struct network_manager *m, const char *container_id);

/* Bring lo up in a netns (--network none). */
int network_netns_loopback_up (const char *netns_path, pid_t pid, struct berth_error **err);

/* -------------------------------------------------------- embedded DNS -- */

/* The embedded DNS server listens on the gateway address of every
 * user-defined network (UDP and TCP port 53, in the host netns) and answers
 * A queries for the container names, aliases and short ids of the networks
 * the asking container is on; other names go to the upstream resolvers
 * (the container's --dns if given). It never blocks: the caller polls these
 * fds (and the timeout) and calls back. */
size_t network_manager_dns_fds (struct network_manager *m, int *fds, size_t max);
/* Handle whatever is ready on fd; never blocks. */
void network_manager_dns_handle_readable (struct network_manager *m, int fd);
/* Milliseconds until the next forwarded query times out, -1 when none. */
int network_manager_dns_timeout_ms (struct network_manager *m);
void network_manager_dns_handle_timeouts (struct network_manager *m);

/* --------------------------------------------- /etc files of a container -- */

/* /etc/hosts as docker writes it: localhost lines, extra hosts ("name:ip",
 * ip "host-gateway" = host_gateway_ip), then "<ip>\t<hostname>" for each
 * endpoint (NULL/0 for host/none networking). */
char *network_hosts_file (const char *hostname, const char *domainname,
                          const struct network_endpoint_info *endpoints, size_t n_endpoints,
                          const char *const *extra_hosts, const char *host_gateway_ip,
                          struct berth_error **err);
/* /etc/resolv.conf: the host's text (host_resolv_conf) with --dns,
 * --dns-search, --dns-option replacing its nameserver/search/options lines.
 * With embedded_dns (a user-defined network) the only nameserver is that
 * address and the --dns servers are forwarded to by the DNS server instead.
 * Without it, 127.0.0.0/8 nameservers are dropped (unreachable from a
 * container) and, if none remain, docker's fallback 8.8.8.8/8.8.4.4 used. */
char *network_resolv_conf (const char *host_resolv_conf, const char *embedded_dns,
                           const char *const *dns, const char *const *dns_search,
                           const char *const *dns_options, struct berth_error **err);
/* "<hostname>\n" after checking it is a valid host name. */
char *network_hostname_file (const char *hostname, struct berth_error **err);
