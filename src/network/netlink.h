/* Private to src/network: rtnetlink over libmnl — links (bridge, veth),
 * addresses, routes — in the caller's netns or in another one. */
#pragma once

#include "network/network-internal.h"

struct nl
{
  struct mnl_socket *sock;
  uint32_t portid;
  uint32_t seq;
};

int nl_open (struct nl *nl, struct berth_error **err);
/* A socket bound to another netns (a socket stays in the netns it was
 * created in): the calling thread setns()es there for the socket() and
 * back at once (aborting if it cannot return). */
int nl_open_in_netns (struct nl *nl, int netns_fd, struct berth_error **err);
void nl_close (struct nl *nl);
/* Open a netns by path or, when path is NULL, /proc/<pid>/ns/net. */
int netns_open (const char *path, pid_t pid, struct berth_error **err);

/* 0 and *index, or -1 with BERTH_E_NOT_FOUND when the link does not exist. */
int nl_link_index (struct nl *nl, const char *name, int *index, struct berth_error **err);
/* Delete a link by name; a missing one is not an error (returns 0), 1 when
 * it was deleted. */
int nl_link_del (struct nl *nl, const char *name, struct berth_error **err);
int nl_bridge_add (struct nl *nl, const char *name, int mtu, struct berth_error **err);
/* A veth pair in one message: host end `name` enslaved to master_index and
 * up, the peer created directly inside peer_netns_fd as peer_name with
 * peer_mac. EEXIST on either name → CONFLICT. */
int nl_veth_add (struct nl *nl, const char *name, int master_index, int mtu, const char *peer_name,
                 int peer_netns_fd, const uint8_t peer_mac[6], struct berth_error **err);
int nl_link_set_up (struct nl *nl, int index, struct berth_error **err);
int nl_addr_add (struct nl *nl, int index, uint32_t addr, int prefix, struct berth_error **err);
/* Returns 1 when a default route already existed (kept), 0 when added. */
int nl_route_add_default (struct nl *nl, uint32_t gateway, int index, struct berth_error **err);
/* The loopback's index in every netns (the kernel's LOOPBACK_IFINDEX). */
#define NL_LOOPBACK_INDEX 1
/* Inside a container's netns, in one send: link index up with its
 * address, the loopback up and, with route, the default route via
 * gateway (one that exists is kept). */
int nl_inside_setup (struct nl *nl, int index, uint32_t addr, int prefix, bool route,
                     uint32_t gateway, struct berth_error **err);
int nl_link_names (struct nl *nl, char ***names, struct berth_error **err);
/* Every IPv4 subnet in use here: addresses (with their prefix) and routes of
 * all tables but local, without the default route. */
int nl_ipv4_in_use (struct nl *nl, struct ipv4_net **out, size_t *n_out, struct berth_error **err);

/* Write a /proc/sys value (of the caller's netns). */
int sysctl_write (const char *path, const char *value, struct berth_error **err);
