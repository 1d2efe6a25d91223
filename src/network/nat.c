/* berth's nftables table (family ip, its name configurable): masquerade,
 * forwarding isolation and published ports. The table is rendered whole
 * from the networks and replaced in one atomic transaction through
 * libnftables; no other table is ever read or written. */
#include "network/network-internal.h"

#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

static const char *
proto_name (int proto)
{
  return proto == IPPROTO_UDP ? "udp" : "tcp";
}

static void
render_network_nat (FILE *f, const struct network *n)
{
  char sub[INET_ADDRSTRLEN + 4];
  char ip[INET_ADDRSTRLEN];
  ipv4_format (n->subnet.addr, ip);
  snprintf (sub, sizeof sub, "%s/%d", ip, n->subnet.prefix);
  /* Outbound NAT, for what leaves the bridge (docker: -s SUBNET ! -o BR). */
  if (!n->internal && n->masquerade)
    fprintf (f, "\t\tip saddr %s oifname != \"%s\" masquerade\n", sub, n->bridge);
  /* A published port reached through 127.0.0.1 arrives here with a
   * loopback source (route_localnet on the bridge lets it out): give it the
   * bridge's address so the container can answer. */
  fprintf (f, "\t\toifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n", n->bridge);
  /* Hairpin: a container reaching its own published port through a host
   * address must see the reply come from the host, not from itself. */
  for (size_t e = 0; e < n->n_endpoints; e++)
    for (size_t p = 0; p < n->endpoints[e]->n_ports; p++)
      {
        const struct port_mapping *pm = &n->endpoints[e]->ports[p];
        ipv4_format (n->endpoints[e]->ip, ip);
        fprintf (f, "\t\tip saddr %s ip daddr %s %s dport %u masquerade\n", ip, ip,
                 proto_name (pm->proto), pm->container_port);
      }
}

static void
render_network_confine (FILE *f, const struct network *n)
{
  if (n->internal)
    {
      /* --internal: nothing enters or leaves the bridge but what stays on it. */
      fprintf (f, "\t\tiifname \"%s\" oifname != \"%s\" drop\n", n->bridge, n->bridge);
      fprintf (f, "\t\toifname \"%s\" iifname != \"%s\" drop\n", n->bridge, n->bridge);
    }
  if (!n->icc)
    /* Seen here because br_netfilter hands bridged IPv4 to the ip hooks
     * with the bridge as in and out device (what docker relies on too). */
    fprintf (f, "\t\tiifname \"%s\" oifname \"%s\" drop\n", n->bridge, n->bridge);
}

static void
render_network_isolation (FILE *f, const struct network *n, struct network *const *all,
                          size_t n_all)
{
  /* Isolation: no path from one berth bridge to another. */
  bool first = true;
  for (size_t i = 0; i < n_all; i++)
    {
      if (all[i] == n || all[i]->kind != NETWORK_KIND_BRIDGE)
        continue;
      if (first)
        fprintf (f, "\t\tiifname \"%s\" oifname { ", n->bridge);
      fprintf (f, "%s\"%s\"", first ? "" : ", ", all[i]->bridge);
      first = false;
    }
  if (!first)
    fputs (" } drop\n", f);
}

static void
render_network_ports (FILE *f, const struct network *n)
{
  for (size_t e = 0; e < n->n_endpoints; e++)
    {
      const struct endpoint *ep = n->endpoints[e];
      char cip[INET_ADDRSTRLEN];
      ipv4_format (ep->ip, cip);
      for (size_t p = 0; p < ep->n_ports; p++)
        {
          const struct port_mapping *pm = &ep->ports[p];
          fputs ("\t\t", f);
          if (pm->host_ip)
            {
              char hip[INET_ADDRSTRLEN];
              ipv4_format (pm->host_ip, hip);
              fprintf (f, "ip daddr %s ", hip);
            }
          fprintf (f, "%s dport %u dnat to %s:%u comment \"%.12s\"\n", proto_name (pm->proto),
                   pm->host_port, cip, pm->container_port, ep->container_id);
        }
    }
}

char *
nat_ruleset_render (const char *table, const char *owner, struct network *const *networks,
                    size_t n)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  _cleanup_fclose_ FILE *f = open_memstream (&buf, &len);
  if (f == NULL)
    abort ();
  /* "add" makes the "delete" valid when the table does not exist yet; the
   * three commands are one transaction, so the rules are never absent. */
  fprintf (f, "add table ip %s\ndelete table ip %s\n", table, table);
  size_t n_bridges = 0;
  for (size_t i = 0; i < n; i++)
    n_bridges += networks[i]->kind == NETWORK_KIND_BRIDGE;
  if (n_bridges > 0)
    {
      fprintf (f, "table ip %s {\n", table);
      /* Whose table this is: two berthds must never replace each other's. */
      if (owner)
        fprintf (f, "\tcomment \"berth-owner:%s\"\n", owner);
      fputs ("\tchain ports {\n", f);
      for (size_t i = 0; i < n; i++)
        if (networks[i]->kind == NETWORK_KIND_BRIDGE)
          render_network_ports (f, networks[i]);
      fputs ("\t}\n", f);
      /* Published ports answer on every local address, from other hosts
       * (prerouting) and from the host itself (output), 127.0.0.1 too. */
      fputs ("\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n", f);
      for (size_t i = 0; i < n; i++)
        if (networks[i]->kind == NETWORK_KIND_BRIDGE && networks[i]->dns_port
            && networks[i]->dns_port != 53)
          {
            char gw[INET_ADDRSTRLEN];
            ipv4_format (networks[i]->gateway, gw);
            fprintf (f, "\t\tiifname \"%s\" ip daddr %s udp dport 53 dnat to %s:%u\n",
                     networks[i]->bridge, gw, gw, networks[i]->dns_port);
          }
      for (size_t i = 0; i < n; i++)
        if (networks[i]->kind == NETWORK_KIND_BRIDGE && networks[i]->dns_tcp_port
            && networks[i]->dns_tcp_port != 53)
          {
            char gw[INET_ADDRSTRLEN];
            ipv4_format (networks[i]->gateway, gw);
            fprintf (f, "\t\tiifname \"%s\" ip daddr %s tcp dport 53 dnat to %s:%u\n",
                     networks[i]->bridge, gw, gw, networks[i]->dns_tcp_port);
          }
      fputs ("\t\tfib daddr type local jump ports\n\t}\n", f);
      fputs ("\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n"
             "\t\tfib daddr type local jump ports\n\t}\n",
             f);
      fputs ("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n",
             f);
      for (size_t i = 0; i < n; i++)
        if (networks[i]->kind == NETWORK_KIND_BRIDGE)
          render_network_nat (f, networks[i]);
      fputs ("\t}\n", f);
      /* Policy accept: this table only ever drops what berth must isolate;
       * other traffic of the host is not its business. */
      fputs ("\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n", f);
      for (size_t i = 0; i < n; i++)
        if (networks[i]->kind == NETWORK_KIND_BRIDGE)
          render_network_confine (f, networks[i]);
      /* A published port is open to everyone, containers of other networks
       * included (docker's proxy gives the same); --internal and icc drops
       * above still win. */
      fputs ("\t\tct status dnat accept\n", f);
      for (size_t i = 0; i < n; i++)
        if (networks[i]->kind == NETWORK_KIND_BRIDGE)
          render_network_isolation (f, networks[i], networks, n);
      fputs ("\t}\n}\n", f);
    }
  if (fclose (steal_pointer (&f)) != 0)
    abort ();
  return steal_pointer (&buf);
}

/* One libnftables context per manager, reused: making one reads the
 * iproute2 tables and sets up its cache each time. */
static int
nft_ctx_ensure (struct nft_ctx **cache, struct berth_error **err)
{
  if (*cache)
    return 0;
  *cache = nft_ctx_new (NFT_CTX_DEFAULT);
  if (*cache == NULL)
    return berth_error_set (err, ENOMEM, "nft_ctx_new");
  nft_ctx_buffer_output (*cache);
  nft_ctx_buffer_error (*cache);
  return 0;
}

static int
nft_run (struct nft_ctx **cache, const char *script, const char *what, struct berth_error **err)
{
  if (nft_ctx_ensure (cache, err) < 0)
    return berth_error_prefix (err, "%s", what);
  int r = nft_run_cmd_from_buffer (*cache, script);
  const char *e = nft_ctx_get_error_buffer (*cache); /* also empties it */
  if (r != 0)
    berth_error_set (err, 0, "%s: nftables: %s", what, e && *e ? e : "failed");
  nft_ctx_get_output_buffer (*cache);
  return r == 0 ? 0 : -1;
}

void
nat_ctx_free (struct nft_ctx **cache)
{
  if (*cache)
    nft_ctx_free (*cache);
  *cache = NULL;
}

/* The table may be ours (our owner comment) or absent; anything else
 * belongs to another berth data root (or someone else entirely). */
static int
nat_table_check_owner (struct nft_ctx **cache, const char *table, const char *owner,
                       struct berth_error **err)
{
  _cleanup_free_ char *cmd = xasprintf ("list table ip %s", table);
  if (nft_ctx_ensure (cache, err) < 0)
    return -1;
  int r = nft_run_cmd_from_buffer (*cache, cmd);
  const char *out = nft_ctx_get_output_buffer (*cache);
  nft_ctx_get_error_buffer (*cache);
  if (r != 0)
    return 0; /* no such table */
  _cleanup_free_ char *mark = xasprintf ("comment \"berth-owner:%s\"", owner);
  if (out && strstr (out, mark))
    return 0;
  return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                               "nftables table ip %s exists and belongs to another berth data "
                               "root or program (choose another table name)",
                               table);
}

int
nat_ruleset_apply (struct nft_ctx **cache, bool *owner_checked, char **applied, const char *table,
                   const char *owner, struct network *const *networks, size_t n,
                   struct berth_error **err)
{
  if (!*owner_checked)
    {
      if (nat_table_check_owner (cache, table, owner, err) < 0)
        return -1;
      *owner_checked = true;
    }
  _cleanup_free_ char *script = nat_ruleset_render (table, owner, networks, n);
  /* Most connects and disconnects (no published port) leave the rules as
   * they are: libnftables' cache fill and commit (milliseconds on the
   * path of every `docker run`) are skipped then. The table is ours
   * alone, so what we applied last is what it holds. */
  if (*applied && strcmp (*applied, script) == 0)
    return 0;
  free (*applied);
  *applied = NULL;
  _cleanup_free_ char *what = xasprintf ("replace nftables table ip %s", table);
  if (nft_run (cache, script, what, err) < 0)
    return -1;
  *applied = steal_pointer (&script);
  return 0;
}

int
nat_table_delete (struct nft_ctx **cache, const char *table, struct berth_error **err)
{
  _cleanup_free_ char *script = xasprintf ("add table ip %s\ndelete table ip %s\n", table, table);
  _cleanup_free_ char *what = xasprintf ("delete nftables table ip %s", table);
  return nft_run (cache, script, what, err);
}
