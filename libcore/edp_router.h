/* edp_router: longest-prefix-match routing for IPv4 and IPv6.
 *
 * Each route names an egress port and a next-hop MAC. The table keeps one hash
 * table of prefixes per address family, and the list of prefix lengths in use,
 * longest first: a lookup tries only the lengths that exist, so it costs at
 * most 33 (IPv4) or 129 (IPv6) tries and usually a handful. Each family's
 * Bloom filter of its prefixes (16 bits a route) answers a try first: a
 * length at which no route holds the address is passed over with one load
 * (but for one or two in a hundred); the table is probed at the others.
 *
 * Thread-safety: immutable after creation.
 */
#ifndef EDP_ROUTER_H
#define EDP_ROUTER_H

#include <stdint.h>

#include "edp_error.h"
#include "edp_flow.h"
#include "edp_prefix.h"

struct edp_route {
	struct edp_prefix prefix; /* af 4 or 6 */
	int32_t port;             /* egress port index */
	uint8_t next_hop_mac[6];
};

struct edp_router;

/* Build from `n` routes. A duplicate prefix is refused (EDP_ERR_USAGE). */
struct edp_router *edp_router_create(const struct edp_route *routes, uint32_t n,
				     struct edp_error *err);
void edp_router_destroy(struct edp_router *rt);

/* The best route for addr (af 4: first 4 bytes), or NULL. */
const struct edp_route *edp_router_lookup(const struct edp_router *rt, int af, const uint8_t *addr);

/* Brute-force reference for tests. */
const struct edp_route *edp_router_lookup_linear(const struct edp_route *routes, uint32_t n,
						 int af, const uint8_t *addr);

#endif
