/* rtnetlink requests over libmnl: create and delete bridges and veth pairs,
 * add addresses and routes, list links and the subnets in use. No `ip`
 * binary, no shell. */
#include "network/netlink.h"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/nsfs.h>
#include <linux/veth.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

int
nl_open (struct nl *nl, struct berth_error **err)
{
  nl->sock = mnl_socket_open2 (NETLINK_ROUTE, SOCK_CLOEXEC);
  if (nl->sock == NULL)
    return berth_error_set (err, errno, "open rtnetlink socket");
  if (mnl_socket_bind (nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      int saved = errno;
      mnl_socket_close (nl->sock);
      nl->sock = NULL;
      return berth_error_set (err, saved, "bind rtnetlink socket");
    }
  nl->portid = mnl_socket_get_portid (nl->sock);
  nl->seq = (uint32_t) time (NULL);
  return 0;
}

void
nl_close (struct nl *nl)
{
  if (nl->sock)
    mnl_socket_close (nl->sock);
  nl->sock = NULL;
}

/* The calling thread enters the netns for the socket() alone and returns
 * at once: a netns is per thread, and a thread of its own (created,
 * scheduled and joined at every container start) cost up to 8 ms of
 * waiting on a loaded host. Returning into our own netns cannot fail
 * short of a broken kernel; if it did, the caller would go on making its
 * sockets in a container's netns: abort instead. */
int
nl_open_in_netns (struct nl *nl, int netns_fd, struct berth_error **err)
{
  _cleanup_close_ int self = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return berth_error_set (err, errno, "open this thread's network namespace");
  if (setns (netns_fd, CLONE_NEWNET) < 0)
    return berth_error_set (err, errno, "setns into the container's network namespace");
  struct berth_error *e = NULL;
  int r = nl_open (nl, &e);
  if (setns (self, CLONE_NEWNET) < 0)
    abort ();
  if (r < 0)
    {
      berth_error_set (err, e->errnum,
                       "open rtnetlink socket in the container's network namespace");
      berth_error_free (e);
    }
  return r;
}

int
netns_open (const char *path, pid_t pid, struct berth_error **err)
{
  char buf[64];
  if (path == NULL)
    {
      if (pid <= 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "no network namespace given (neither a path nor a pid)");
      snprintf (buf, sizeof buf, "/proc/%d/ns/net", (int) pid);
      path = buf;
    }
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set_kind (err, errno == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL, errno,
                                 "open network namespace `%s`", path);
  /* Refuse anything else up front (a file, another namespace type): setns
   * would fail later with a less helpful EINVAL. */
  int type = ioctl (fd, NS_GET_NSTYPE);
  if (type != CLONE_NEWNET)
    {
      close (fd);
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "`%s` is not a network namespace", path);
    }
  /* Our own netns is never a container's: an endpoint there would put an
   * address and a route on the host itself. */
  struct stat ours, theirs;
  if (stat ("/proc/self/ns/net", &ours) == 0 && fstat (fd, &theirs) == 0
      && ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev)
    {
      close (fd);
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "`%s` is the host's own network namespace", path);
    }
  return fd;
}

/* Send one request and wait for its ack; errno of a NLMSG_ERROR is
 * returned through errno. */
static int
nl_request (struct nl *nl, struct nlmsghdr *nlh)
{
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = ++nl->seq;
  if (mnl_socket_sendto (nl->sock, nlh, nlh->nlmsg_len) < 0)
    return -1;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  for (;;)
    {
      ssize_t n = mnl_socket_recvfrom (nl->sock, buf, sizeof buf);
      if (n < 0)
        return -1;
      int r = mnl_cb_run (buf, (size_t) n, nlh->nlmsg_seq, nl->portid, NULL, NULL);
      if (r <= MNL_CB_STOP)
        return r < 0 ? -1 : 0;
    }
}

static int
nl_dump (struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = ++nl->seq;
  if (mnl_socket_sendto (nl->sock, nlh, nlh->nlmsg_len) < 0)
    return -1;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  for (;;)
    {
      ssize_t n = mnl_socket_recvfrom (nl->sock, buf, sizeof buf);
      if (n < 0)
        return -1;
      int r = mnl_cb_run (buf, (size_t) n, nlh->nlmsg_seq, nl->portid, cb, data);
      if (r <= MNL_CB_STOP)
        return r < 0 ? -1 : 0;
    }
}

static struct nlmsghdr *
nl_msg_link (char *buf, uint16_t type, uint16_t flags, int index)
{
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header (nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index;
  return nlh;
}

int
nl_link_index (struct nl *nl, const char *name, int *index, struct berth_error **err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = nl_msg_link (buf, RTM_GETLINK, NLM_F_REQUEST, 0);
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  nlh->nlmsg_seq = ++nl->seq;
  if (mnl_socket_sendto (nl->sock, nlh, nlh->nlmsg_len) < 0)
    return berth_error_set (err, errno, "get link `%s`", name);
  ssize_t n = mnl_socket_recvfrom (nl->sock, buf, sizeof buf);
  if (n < 0)
    return berth_error_set (err, errno, "get link `%s`", name);
  struct nlmsghdr *reply = (struct nlmsghdr *) buf;
  if (!mnl_nlmsg_ok (reply, (int) n))
    return berth_error_set (err, EPROTO, "get link `%s`", name);
  if (reply->nlmsg_type == NLMSG_ERROR)
    {
      const struct nlmsgerr *e = mnl_nlmsg_get_payload (reply);
      int errnum = -e->error;
      return berth_error_set_kind (err, errnum == ENODEV ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL,
                                   errnum, "get link `%s`", name);
    }
  const struct ifinfomsg *ifi = mnl_nlmsg_get_payload (reply);
  *index = ifi->ifi_index;
  return 0;
}

int
nl_link_del (struct nl *nl, const char *name, struct berth_error **err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = nl_msg_link (buf, RTM_DELLINK, 0, 0);
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  if (nl_request (nl, nlh) < 0)
    {
      if (errno == ENODEV)
        return 0;
      return berth_error_set (err, errno, "delete link `%s`", name);
    }
  return 1;
}

int
nl_bridge_add (struct nl *nl, const char *name, int mtu, struct berth_error **err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = nl_msg_link (buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  if (mtu > 0)
    mnl_attr_put_u32 (nlh, IFLA_MTU, (uint32_t) mtu);
  /* A bridge without a MAC of its own takes the lowest of its ports', so it
   * changes whenever a container comes or goes and the other containers'
   * ARP entries for the gateway go stale for seconds (docker sets one too). */
  uint8_t mac[6];
  if (getrandom (mac, sizeof mac, 0) != sizeof mac)
    return berth_error_set (err, errno, "create bridge `%s`: random MAC", name);
  mac[0] = (uint8_t) ((mac[0] & 0xfe) | 0x02);
  mnl_attr_put (nlh, IFLA_ADDRESS, sizeof mac, mac);
  struct nlattr *linkinfo = mnl_attr_nest_start (nlh, IFLA_LINKINFO);
  mnl_attr_put_strz (nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end (nlh, linkinfo);
  if (nl_request (nl, nlh) < 0)
    return berth_error_set_kind (err, errno == EEXIST ? BERTH_E_CONFLICT : BERTH_E_INTERNAL, errno,
                                 "create bridge `%s`", name);
  return 0;
}

int
nl_veth_add (struct nl *nl, const char *name, int master_index, int mtu, const char *peer_name,
             int peer_netns_fd, const uint8_t peer_mac[6], struct berth_error **err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = nl_msg_link (buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  struct ifinfomsg *ifi = mnl_nlmsg_get_payload (nlh);
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  mnl_attr_put_u32 (nlh, IFLA_MASTER, (uint32_t) master_index);
  if (mtu > 0)
    mnl_attr_put_u32 (nlh, IFLA_MTU, (uint32_t) mtu);
  struct nlattr *linkinfo = mnl_attr_nest_start (nlh, IFLA_LINKINFO);
  mnl_attr_put_strz (nlh, IFLA_INFO_KIND, "veth");
  struct nlattr *data = mnl_attr_nest_start (nlh, IFLA_INFO_DATA);
  struct nlattr *peer = mnl_attr_nest_start (nlh, VETH_INFO_PEER);
  struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header (nlh, sizeof *pifi);
  memset (pifi, 0, sizeof *pifi);
  pifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, peer_name);
  mnl_attr_put_u32 (nlh, IFLA_NET_NS_FD, (uint32_t) peer_netns_fd);
  mnl_attr_put (nlh, IFLA_ADDRESS, 6, peer_mac);
  if (mtu > 0)
    mnl_attr_put_u32 (nlh, IFLA_MTU, (uint32_t) mtu);
  mnl_attr_nest_end (nlh, peer);
  mnl_attr_nest_end (nlh, data);
  mnl_attr_nest_end (nlh, linkinfo);
  if (nl_request (nl, nlh) < 0)
    {
      if (errno == EEXIST)
        return berth_error_set_kind (err, BERTH_E_CONFLICT, errno,
                                     "create veth pair %s/%s: a link of that name exists (host or "
                                     "container side)",
                                     name, peer_name);
      return berth_error_set (err, errno, "create veth pair %s/%s", name, peer_name);
    }
  return 0;
}

static struct nlmsghdr *
msg_link_up (char *buf, int index)
{
  struct nlmsghdr *nlh = nl_msg_link (buf, RTM_NEWLINK, 0, index);
  struct ifinfomsg *ifi = mnl_nlmsg_get_payload (nlh);
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  return nlh;
}

int
nl_link_set_up (struct nl *nl, int index, struct berth_error **err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  if (nl_request (nl, msg_link_up (buf, index)) < 0)
    return berth_error_set (err, errno, "set link %d up", index);
  return 0;
}

static struct nlmsghdr *
msg_addr_add (char *buf, int index, uint32_t addr, int prefix)
{
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = RTM_NEWADDR;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header (nlh, sizeof *ifa);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = (uint8_t) prefix;
  ifa->ifa_index = (uint32_t) index;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  uint32_t be = htonl (addr);
  mnl_attr_put_u32 (nlh, IFA_LOCAL, be);
  mnl_attr_put_u32 (nlh, IFA_ADDRESS, be);
  if (prefix < 31)
    mnl_attr_put_u32 (nlh, IFA_BROADCAST, htonl (addr | ~ipv4_mask (prefix)));
  return nlh;
}

static int
addr_add_error (int errnum, uint32_t addr, int prefix, struct berth_error **err)
{
  char ip[INET_ADDRSTRLEN];
  ipv4_format (addr, ip);
  return berth_error_set (err, errnum, "add address %s/%d", ip, prefix);
}

int
nl_addr_add (struct nl *nl, int index, uint32_t addr, int prefix, struct berth_error **err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  if (nl_request (nl, msg_addr_add (buf, index, addr, prefix)) < 0)
    return addr_add_error (errno, addr, prefix, err);
  return 0;
}

static struct nlmsghdr *
msg_route_add_default (char *buf, uint32_t gateway, int index)
{
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = RTM_NEWROUTE;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header (nlh, sizeof *rtm);
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = 0;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32 (nlh, RTA_GATEWAY, htonl (gateway));
  mnl_attr_put_u32 (nlh, RTA_OIF, (uint32_t) index);
  return nlh;
}

static int
route_add_error (int errnum, uint32_t gateway, struct berth_error **err)
{
  char ip[INET_ADDRSTRLEN];
  ipv4_format (gateway, ip);
  return berth_error_set (err, errnum, "add default route via %s", ip);
}

int
nl_route_add_default (struct nl *nl, uint32_t gateway, int index, struct berth_error **err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  if (nl_request (nl, msg_route_add_default (buf, gateway, index)) < 0)
    return errno == EEXIST ? 1 : route_add_error (errno, gateway, err);
  return 0;
}

/* Send the n requests of a batch at once, then read their n acks: errnums[i]
 * is request i's result (0: done). The kernel runs them in order. */
static int
nl_batch_run (struct nl *nl, struct mnl_nlmsg_batch *b, size_t n, int *errnums)
{
  uint32_t first = nl->seq + 1;
  for (struct nlmsghdr *h = mnl_nlmsg_batch_head (b);
       (char *) h < (char *) mnl_nlmsg_batch_head (b) + mnl_nlmsg_batch_size (b);
       h = (struct nlmsghdr *) ((char *) h + NLMSG_ALIGN (h->nlmsg_len)))
    {
      h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
      h->nlmsg_seq = ++nl->seq;
    }
  if (mnl_socket_sendto (nl->sock, mnl_nlmsg_batch_head (b), mnl_nlmsg_batch_size (b)) < 0)
    return -1;
  size_t acked = 0;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  while (acked < n)
    {
      ssize_t len = mnl_socket_recvfrom (nl->sock, buf, sizeof buf);
      if (len < 0)
        return -1;
      int left = (int) len;
      for (struct nlmsghdr *h = (struct nlmsghdr *) buf; mnl_nlmsg_ok (h, left);
           h = mnl_nlmsg_next (h, &left))
        {
          if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < first
              || h->nlmsg_seq >= first + n)
            continue;
          const struct nlmsgerr *e = mnl_nlmsg_get_payload (h);
          errnums[h->nlmsg_seq - first] = -e->error;
          acked++;
        }
    }
  return 0;
}

int
nl_inside_setup (struct nl *nl, int index, uint32_t addr, int prefix, bool route,
                 uint32_t gateway, struct berth_error **err)
{
  /* libmnl: a batch's buffer is twice its limit (a message may pass it) */
  char buf[2 * MNL_SOCKET_BUFFER_SIZE];
  struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start (buf, MNL_SOCKET_BUFFER_SIZE);
  if (b == NULL)
    return berth_error_set (err, errno, "netlink batch");
  /* a veth's peer cannot come up at its creation (not paired yet): up
   * first, then the address (its prefix route needs the link up), then
   * the route via that prefix */
  msg_link_up (mnl_nlmsg_batch_current (b), index);
  mnl_nlmsg_batch_next (b);
  msg_addr_add (mnl_nlmsg_batch_current (b), index, addr, prefix);
  mnl_nlmsg_batch_next (b);
  msg_link_up (mnl_nlmsg_batch_current (b), NL_LOOPBACK_INDEX);
  mnl_nlmsg_batch_next (b);
  if (route)
    {
      msg_route_add_default (mnl_nlmsg_batch_current (b), gateway, index);
      mnl_nlmsg_batch_next (b);
    }
  int errnums[4] = { 0, 0, 0, 0 };
  int r = nl_batch_run (nl, b, route ? 4 : 3, errnums);
  mnl_nlmsg_batch_stop (b);
  if (r < 0)
    return berth_error_set (err, errno, "configure the container's network namespace");
  if (errnums[0])
    return berth_error_set (err, errnums[0], "set link %d up", index);
  if (errnums[1])
    return addr_add_error (errnums[1], addr, prefix, err);
  if (errnums[2])
    return berth_error_set (err, errnums[2], "set link %d up", NL_LOOPBACK_INDEX);
  if (errnums[3] && errnums[3] != EEXIST)
    return route_add_error (errnums[3], gateway, err);
  return 0;
}

static int
link_name_cb (const struct nlmsghdr *nlh, void *data)
{
  char ***names = data;
  struct nlattr *attr;
  mnl_attr_for_each (attr, nlh, sizeof (struct ifinfomsg))
    if (mnl_attr_get_type (attr) == IFLA_IFNAME && mnl_attr_validate (attr, MNL_TYPE_NUL_STRING) == 0)
      strv_append (names, mnl_attr_get_str (attr));
  return MNL_CB_OK;
}

int
nl_link_names (struct nl *nl, char ***names, struct berth_error **err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = nl_msg_link (buf, RTM_GETLINK, 0, 0);
  *names = calloc (1, sizeof (char *));
  if (nl_dump (nl, nlh, link_name_cb, names) < 0)
    return berth_error_set (err, errno, "list links");
  return 0;
}

struct in_use
{
  struct ipv4_net *v;
  size_t n;
};

static void
in_use_add (struct in_use *u, uint32_t addr, int prefix)
{
  struct ipv4_net *v = realloc (u->v, (u->n + 1) * sizeof *v);
  if (v == NULL)
    abort ();
  u->v = v;
  v[u->n].addr = addr & ipv4_mask (prefix);
  v[u->n].prefix = prefix;
  u->n++;
}

static int
addr_cb (const struct nlmsghdr *nlh, void *data)
{
  const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload (nlh);
  if (ifa->ifa_family != AF_INET)
    return MNL_CB_OK;
  struct nlattr *attr;
  mnl_attr_for_each (attr, nlh, sizeof *ifa)
    if (mnl_attr_get_type (attr) == IFA_LOCAL && mnl_attr_get_payload_len (attr) == 4)
      in_use_add (data, ntohl (mnl_attr_get_u32 (attr)), ifa->ifa_prefixlen);
  return MNL_CB_OK;
}

static int
route_cb (const struct nlmsghdr *nlh, void *data)
{
  const struct rtmsg *rtm = mnl_nlmsg_get_payload (nlh);
  if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len == 0)
    return MNL_CB_OK;
  uint32_t table = rtm->rtm_table;
  uint32_t dst = 0;
  bool has_dst = false;
  struct nlattr *attr;
  mnl_attr_for_each (attr, nlh, sizeof *rtm)
    {
      if (mnl_attr_get_type (attr) == RTA_TABLE && mnl_attr_get_payload_len (attr) == 4)
        table = mnl_attr_get_u32 (attr);
      if (mnl_attr_get_type (attr) == RTA_DST && mnl_attr_get_payload_len (attr) == 4)
        {
          dst = ntohl (mnl_attr_get_u32 (attr));
          has_dst = true;
        }
    }
  /* The local table only mirrors addresses (and 127/8), already counted. */
  if (table != RT_TABLE_LOCAL && has_dst)
    in_use_add (data, dst, rtm->rtm_dst_len);
  return MNL_CB_OK;
}

int
nl_ipv4_in_use (struct nl *nl, struct ipv4_net **out, size_t *n_out, struct berth_error **err)
{
  struct in_use u = { 0 };
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = RTM_GETADDR;
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header (nlh, sizeof *ifa);
  ifa->ifa_family = AF_INET;
  if (nl_dump (nl, nlh, addr_cb, &u) < 0)
    {
      free (u.v);
      return berth_error_set (err, errno, "list IPv4 addresses");
    }
  nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = RTM_GETROUTE;
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header (nlh, sizeof *rtm);
  rtm->rtm_family = AF_INET;
  if (nl_dump (nl, nlh, route_cb, &u) < 0)
    {
      free (u.v);
      return berth_error_set (err, errno, "list IPv4 routes");
    }
  *out = u.v;
  *n_out = u.n;
  return 0;
}

int
sysctl_write (const char *path, const char *value, struct berth_error **err)
{
  _cleanup_close_ int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "open `%s`", path);
  if (fs_write_all (fd, value, strlen (value)) < 0)
    return berth_error_set (err, errno, "write `%s` to `%s`", value, path);
  return 0;
}
