/* daemon-private: containers on networks (container-network.c), between
 * the containers module and the networks module (api-networks.c). */
#pragma once

#include "daemon/api.h"

struct network_manager;

/* The manager with the predefined networks in place (api-networks.c);
 * NULL with *err (503) when networking is unavailable. */
struct network_manager *daemon_network_manager (struct berthd *d, struct berth_error **err);
/* Install container_network_hooks and drop the endpoints of containers
 * that died while berthd was away (m may be NULL: networking broken). */
void container_network_init (struct berthd *d, struct network_manager *m);
/* POST /networks/{id}/connect and /disconnect. */
void container_network_register_routes (struct api_router *r);
/* Why the default `bridge` network could not be made (NULL when it is). */
const char *daemon_network_default_error (struct berthd *d);
