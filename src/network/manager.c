/* The network manager: opening a state dir (lock, load, bring devices, rules,
 * ports and DNS back in line with the persisted state), saving, lookup,
 * orphan cleanup and tearing everything down. */
#include "network/manager.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

static const char *const default_pools[] = {
  /* docker's defaults (libnetwork/ipamutils): 172.17-31.0.0/16, then
   * 192.168.0.0/16 cut in /20s. */
  "base=172.17.0.0/16,size=16", "base=172.18.0.0/15,size=16", "base=172.20.0.0/14,size=16",
  "base=172.24.0.0/14,size=16", "base=172.28.0.0/14,size=16", "base=192.168.0.0/16,size=20",
  NULL,
};

static bool
nft_table_name_is_valid (const char *s)
{
  if (s == NULL || !(isalpha ((unsigned char) *s) || *s == '_') || strlen (s) > 64)
    return false;
  for (; *s; s++)
    if (!(isalnum ((unsigned char) *s) || *s == '_'))
      return false;
  return true;
}

struct network *
manager_find (struct network_manager *m, const char *id_or_name, struct berth_error **err)
{
  if (id_or_name == NULL || *id_or_name == '\0')
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "no network name or id given");
      return NULL;
    }
  for (size_t i = 0; i < m->n_networks; i++)
    if (strcmp (m->networks[i]->id, id_or_name) == 0)
      return m->networks[i];
  for (size_t i = 0; i < m->n_networks; i++)
    if (strcmp (m->networks[i]->name, id_or_name) == 0)
      return m->networks[i];
  struct network *found = NULL;
  size_t len = strlen (id_or_name);
  for (size_t i = 0; i < m->n_networks; i++)
    if (strncmp (m->networks[i]->id, id_or_name, len) == 0)
      {
        if (found)
          {
            berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                  "network %s is ambiguous (%s and %s match)", id_or_name,
                                  found->name, m->networks[i]->name);
            return NULL;
          }
        found = m->networks[i];
      }
  if (found == NULL)
    berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "network %s not found", id_or_name);
  return found;
}

int
network_manager_resolve (struct network_manager *m, const char *id_or_name, char **id_out,
                         char **name_out, struct berth_error **err)
{
  struct network *n = manager_find (m, id_or_name, err);
  if (n == NULL)
    return -1;
  if (id_out)
    *id_out = xstrdup (n->id);
  if (name_out)
    *name_out = xstrdup (n->name);
  return 0;
}

int
manager_save (struct network_manager *m, struct network *n, struct berth_error **err)
{
  return manager_save_flags (m, n, 0, err);
}

/* The part of a network's state that lives in the run dir. */
static const char *const volatile_keys[] = { "endpoints", "ipam_last" };

static int
save_endpoints_run (struct network_manager *m, struct network *n, json_t *full,
                    struct berth_error **err)
{
  _cleanup_json_ json_t *v = json_object ();
  for (size_t i = 0; i < 2; i++)
    {
      json_t *x = json_object_get (full, volatile_keys[i]);
      if (x)
        json_object_set (v, volatile_keys[i], x);
    }
  char name[NETWORK_ID_LEN + 8];
  snprintf (name, sizeof name, "%s.json", n->id);
  if (json_save_atomic_flags (m->run_fd, name, v, FS_ATOMIC_NO_SYNC, err) < 0)
    return berth_error_prefix (err, "save the endpoints of network %s in %s", n->name,
                               m->run_dir);
  return 0;
}

int
manager_save_flags (struct network_manager *m, struct network *n, unsigned flags,
                    struct berth_error **err)
{
  _cleanup_json_ json_t *j = store_network_to_json (n);
  char name[NETWORK_ID_LEN + 8];
  snprintf (name, sizeof name, "%s.json", n->id);
  if (m->run_fd >= 0 && save_endpoints_run (m, n, j, err) < 0)
    return -1;
  if (m->run_fd >= 0)
    for (size_t i = 0; i < 2; i++)
      json_object_del (j, volatile_keys[i]);
  if (json_save_atomic_flags (m->networks_fd, name, j, flags, err) < 0)
    return berth_error_prefix (err, "save network %s", n->name);
  return 0;
}

int
manager_save_endpoints (struct network_manager *m, struct network *n, struct berth_error **err)
{
  if (m->run_fd < 0)
    return manager_save_flags (m, n, FS_ATOMIC_NO_DIR_SYNC, err);
  _cleanup_json_ json_t *j = store_network_to_json (n);
  return save_endpoints_run (m, n, j, err);
}

void
manager_unlink_state (struct network_manager *m, const struct network *n)
{
  char name[NETWORK_ID_LEN + 8];
  snprintf (name, sizeof name, "%s.json", n->id);
  unlinkat (m->networks_fd, name, 0);
  if (m->run_fd >= 0)
    unlinkat (m->run_fd, name, 0);
}

/* With a run dir, the endpoints and IPAM cursor are those of
 * <run_dir>/<id>.json when it exists; else those the network's file
 * carries (written by a berthd without a run dir: its containers may run
 * still), or none (a reboot cleared the run dir). *legacy: the network's
 * file carries endpoints. */
static void
merge_run_state (struct network_manager *m, const char *name, json_t *j, bool *legacy)
{
  *legacy = json_object_get (j, "endpoints") != NULL;
  if (m->run_fd < 0)
    return;
  _cleanup_error_ struct berth_error *rerr = NULL;
  _cleanup_json_ json_t *v = json_load_path (m->run_fd, name, &rerr);
  if (v == NULL)
    {
      /* cannot happen short of someone writing there (it is replaced by
       * rename): its containers' endpoints are lost, networking stays up */
      if (rerr->kind != BERTH_E_NOT_FOUND)
        berth_log (BERTH_LOG_ERROR, "network endpoints %s/%s: %s (ignored)", m->run_dir, name,
                   rerr->msg);
      return;
    }
  for (size_t i = 0; i < 2; i++)
    {
      json_t *x = json_object_get (v, volatile_keys[i]);
      if (x)
        json_object_set (j, volatile_keys[i], x);
      else
        json_object_del (j, volatile_keys[i]);
    }
}

int
manager_sync_rules (struct network_manager *m, struct berth_error **err)
{
  /* The owner mark is made on first use: sha256 is libcrypto's, which an
   * idle berthd does not map. */
  if (m->nft_owner[0] == '\0')
    {
      char hex[SHA256_HEX_LEN + 1];
      sha256_hex (m->state_dir, strlen (m->state_dir), hex);
      memcpy (m->nft_owner, hex, 16);
      m->nft_owner[16] = '\0';
    }
  return nat_ruleset_apply (&m->nft, &m->nft_owner_checked, &m->nft_applied, m->nft_table, m->nft_owner,
                            m->networks, m->n_networks, err);
}

static int
sync_rules_child (void *arg, void *out, struct berth_error **err)
{
  struct network_manager *m = arg;
  int r = manager_sync_rules (m, err);
  *(bool *) out = m->nft_owner_checked;
  return r;
}

/* The one-off syncs (at open, and when the default networks are made on a
 * new data root) run in a short-lived child: libnftables (with libnftnl,
 * libxtables, its context's caches) and libcrypto are loaded there, and
 * berthd maps them only once containers connect (~4 MiB of its idle RSS
 * otherwise). The kernel's ruleset is the only thing the child changes. */
int
manager_sync_rules_one_off (struct network_manager *m, struct berth_error **err)
{
  if (m->nft != NULL)
    return manager_sync_rules (m, err);
  bool owner_checked = false;
  if (run_in_child (sync_rules_child, m, &owner_checked, sizeof owner_checked, err) < 0)
    return -1;
  m->nft_owner_checked = owner_checked;
  return 0;
}

static int
manager_load (struct network_manager *m, struct berth_error **err)
{
  _cleanup_close_ int fd = openat (m->networks_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "open %s/networks", m->state_dir);
  _cleanup_closedir_ DIR *d = fdopendir (fd);
  if (d == NULL)
    return berth_error_set (err, errno, "read %s/networks", m->state_dir);
  steal_fd (&fd);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (!str_has_suffix (de->d_name, ".json") || de->d_name[0] == '.')
        continue;
      _cleanup_free_ char *path = xasprintf ("%s/networks/%s", m->state_dir, de->d_name);
      _cleanup_json_ json_t *j = json_load_path (m->networks_fd, de->d_name, err);
      if (j == NULL)
        return berth_error_prefix (err, "load %s", path);
      bool legacy = false;
      merge_run_state (m, de->d_name, j, &legacy);
      struct network *n = store_network_from_json (j, path, err);
      if (n == NULL)
        return -1;
      struct network **v = realloc (m->networks, (m->n_networks + 1) * sizeof *v);
      if (v == NULL)
        abort ();
      m->networks = v;
      v[m->n_networks++] = n;
      /* written by a berthd without a run dir: its endpoints (of
       * containers gone at the last reboot, or now in the run dir) leave
       * the network's file once */
      if (legacy && m->run_fd >= 0 && manager_save (m, n, err) < 0)
        return -1;
    }
  return 0;
}

/* After a reboot or a crash mid-way, make devices, ports and listeners
 * match the state again. Ports that cannot be re-reserved (someone took
 * them while berthd was down) keep their rules and are reported. */
static int
manager_restore (struct network_manager *m, struct berth_error **err)
{
  for (size_t i = 0; i < m->n_networks; i++)
    {
      struct network *n = m->networks[i];
      if (n->kind != NETWORK_KIND_BRIDGE)
        continue;
      /* One broken network must not keep berthd from starting: it is
       * reported, and the others work. */
      _cleanup_error_ struct berth_error *nerr = NULL;
      if (bridge_ensure (m, n, &nerr) < 0
          || (!n->is_default && dns_network_listen (m, n, &nerr) < 0))
        berth_log (BERTH_LOG_ERROR, "restore network %s: %s", n->name, nerr->msg);
      for (size_t e = 0; e < n->n_endpoints; e++)
        for (size_t p = 0; p < n->endpoints[e]->n_ports; p++)
          {
            _cleanup_error_ struct berth_error *perr = NULL;
            if (port_rebind (&n->endpoints[e]->ports[p], &perr) < 0)
              berth_log (BERTH_LOG_WARNING, "network %s: container %.12s: %s", n->name,
                         n->endpoints[e]->container_id, perr->msg);
          }
    }
  /* Nothing in state: nothing of ours can be in the table, and the table's
   * name may be shared with another daemon on this host — leave it alone. */
  if (m->n_networks == 0)
    return 0;
  return manager_sync_rules_one_off (m, err);
}

/* mkdir -p path (0700), then open it as a directory */
static int
dir_made_open (const char *path, int flags, struct berth_error **err)
{
  if (fs_mkdir_p (path, 0700, err) < 0)
    return -1;
  int fd = open (path, flags | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    berth_error_set (err, errno, "open %s", path);
  return fd;
}

int
network_manager_open (const struct network_manager_config *cfg, struct network_manager **out,
                      struct berth_error **err)
{
  *out = NULL;
  if (cfg->state_dir == NULL || *cfg->state_dir == '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "network: no state directory given");
  const char *table = cfg->nft_table ? cfg->nft_table : NETWORK_DEFAULT_NFT_TABLE;
  if (!nft_table_name_is_valid (table))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "nftables table name `%s`: want letters, digits and _", table);

  struct network_manager *m = calloc (1, sizeof *m);
  if (m == NULL)
    abort ();
  m->state_fd = m->networks_fd = m->lock_fd = m->run_fd = -1;
  m->dns.upstream_fd = -1;
  m->dns.job_fds[0] = m->dns.job_fds[1] = -1;
  m->state_dir = xstrdup (cfg->state_dir);
  m->nft_table = xstrdup (table);
  m->default_device = xstrdup (cfg->default_bridge_device ? cfg->default_bridge_device
                                                          : NETWORK_DEFAULT_DEVICE);
  m->bip = cfg->bip ? xstrdup (cfg->bip) : NULL;
  m->fixed_cidr = cfg->fixed_cidr ? xstrdup (cfg->fixed_cidr) : NULL;
  m->default_mtu = cfg->default_mtu > 0 ? cfg->default_mtu : 1500;
  m->no_ip_forward = cfg->no_ip_forward;
  m->on_dns_fd = cfg->on_dns_fd;
  m->userdata = cfg->userdata;

  int r = -1;
  const char *const *pools = cfg->default_address_pools ? cfg->default_address_pools : default_pools;
  for (const char *const *p = pools; *p; p++)
    {
      m->pools = realloc (m->pools, (m->n_pools + 1) * sizeof *m->pools);
      if (m->pools == NULL)
        abort ();
      if (ipv4_pool_parse (*p, &m->pools[m->n_pools++], err) < 0)
        goto fail;
    }
  if (m->n_pools == 0)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "no default address pool");
      goto fail;
    }
  if ((m->state_fd = dir_made_open (m->state_dir, O_PATH, err)) < 0)
    goto fail;
  m->lock_fd = openat (m->state_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (m->lock_fd < 0 || flock (m->lock_fd, LOCK_EX | LOCK_NB) < 0)
    {
      berth_error_set_kind (err, errno == EWOULDBLOCK ? BERTH_E_CONFLICT : BERTH_E_INTERNAL, errno,
                            "lock %s/lock (is another berthd using this data root?)", m->state_dir);
      goto fail;
    }
  if (mkdirat (m->state_fd, "networks", 0700) < 0 && errno != EEXIST)
    {
      berth_error_set (err, errno, "mkdir %s/networks", m->state_dir);
      goto fail;
    }
  m->networks_fd = openat (m->state_fd, "networks", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (m->networks_fd < 0)
    {
      berth_error_set (err, errno, "open %s/networks", m->state_dir);
      goto fail;
    }
  if (cfg->run_dir && *cfg->run_dir)
    {
      m->run_dir = xstrdup (cfg->run_dir);
      if ((m->run_fd = dir_made_open (m->run_dir, O_RDONLY, err)) < 0)
        goto fail;
    }
  if (dns_init (m, cfg, err) < 0 || manager_load (m, err) < 0 || manager_restore (m, err) < 0)
    goto fail;
  if (!cfg->no_default_networks && network_manager_ensure_default_networks (m, err) < 0)
    goto fail;
  *out = m;
  r = 0;
fail:
  if (r < 0)
    {
      berth_error_prefix (err, "network manager %s", cfg->state_dir);
      network_manager_close (m);
    }
  return r;
}

void
network_manager_close (struct network_manager *m)
{
  if (m == NULL)
    return;
  for (size_t i = 0; i < m->n_networks; i++)
    {
      dns_network_close (m, m->networks[i]);
      network_free (m->networks[i]);
    }
  dns_fini (m);
  nat_ctx_free (&m->nft);
  free (m->nft_applied);
  free (m->networks);
  free (m->pools);
  free (m->state_dir);
  free (m->nft_table);
  free (m->default_device);
  free (m->bip);
  free (m->fixed_cidr);
  closep (&m->networks_fd);
  closep (&m->run_fd);
  free (m->run_dir);
  closep (&m->state_fd);
  closep (&m->lock_fd);
  free (m);
}

int
network_manager_destroy_all (struct network_manager *m, struct berth_error **err)
{
  int r = 0;
  while (m->n_networks > 0)
    {
      struct network *n = m->networks[m->n_networks - 1];
      while (n->n_endpoints > 0)
        if (endpoint_remove (m, n, n->n_endpoints - 1, err) < 0)
          return berth_error_prefix (err, "network %s", n->name);
      dns_network_close (m, n);
      if (n->kind == NETWORK_KIND_BRIDGE && bridge_delete (n, err) < 0)
        return -1;
      char name[NETWORK_ID_LEN + 8];
      snprintf (name, sizeof name, "%s.json", n->id);
      if (unlinkat (m->networks_fd, name, 0) < 0 && errno != ENOENT)
        return berth_error_set (err, errno, "remove %s/networks/%s", m->state_dir, name);
      if (m->run_fd >= 0 && unlinkat (m->run_fd, name, 0) < 0 && errno != ENOENT)
        return berth_error_set (err, errno, "remove %s/%s", m->run_dir, name);
      m->n_networks--;
      network_free (n);
    }
  free (m->nft_applied);
  m->nft_applied = NULL;
  if (nat_table_delete (&m->nft, m->nft_table, err) < 0)
    r = -1;
  return r;
}

static bool
container_is_live (const char *const *live, const char *id)
{
  for (const char *const *p = live; p && *p; p++)
    if (strcmp (*p, id) == 0)
      return true;
  return false;
}

int
network_manager_cleanup_orphans (struct network_manager *m, const char *const *live_container_ids,
                                 struct berth_error **err)
{
  int removed = 0;
  for (size_t i = 0; i < m->n_networks; i++)
    {
      struct network *n = m->networks[i];
      int removed_here = 0;
      for (size_t e = n->n_endpoints; e-- > 0;)
        {
          struct endpoint *ep = n->endpoints[e];
          /* The kernel deletes a veth pair when the netns holding one end
           * dies, so a missing host end means the container's netns is gone. */
          bool dead = !container_is_live (live_container_ids, ep->container_id)
                      || !endpoint_link_exists (ep);
          if (!dead)
            continue;
          berth_log (BERTH_LOG_INFO, "network %s: removing orphaned endpoint of container %.12s",
                     n->name, ep->container_id);
          if (endpoint_remove (m, n, e, err) < 0)
            return berth_error_prefix (err, "cleanup network %s", n->name);
          removed++;
          removed_here++;
        }
      if (removed_here && manager_save (m, n, err) < 0)
        return -1;
    }
  if (manager_sync_rules_one_off (m, err) < 0)
    return -1;
  return removed;
}
