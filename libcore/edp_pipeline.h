/* edp_pipeline: the slow path. Runs once per flow (on a flow-cache miss):
 * firewall -> router -> switch, or a wire when neither router nor switch is
 * configured, and compiles the verdict into an edp_action_prog.
 *
 *  - firewall: a drop verdict ends the chain (reason "firewall"). A packet
 *    whose capture ends before the fields the rules read is dropped first:
 *    "truncated" for L2/L3 headers, "malformed" for missing L4 ports when
 *    some rule matches ports.
 *  - router: an IP packet whose destination matches a route goes out the
 *    route's port with the TTL/hop limit decremented, source MAC = the egress
 *    port's MAC (when it has one), destination MAC = the next hop.
 *  - switch: learns the source MAC on its VLAN, forwards a known destination
 *    to its port (never back out the ingress port: "same-port"), floods an
 *    unknown or multicast destination to every other port that has an output.
 *  - wire: every other port that has an output.
 * A verdict with no port to go to is dropped with reason "no-output".
 *
 * A pipeline is one generation of the config: a reload (edp_reload.h) makes
 * the next one and hands it the learning switch, so the learned MACs outlive
 * the config they were learned under.
 *
 * Thread-safety: classify and age may be called from several threads: the
 * firewall and router are immutable, the switch is written under its lock.
 */
#ifndef EDP_PIPELINE_H
#define EDP_PIPELINE_H

#include "edp_action.h"
#include "edp_config.h"
#include "edp_error.h"
#include "edp_firewall.h"
#include "edp_flow.h"
#include "edp_router.h"
#include "edp_switch.h"

struct edp_pipeline {
	struct edp_firewall *fw; /* NULL when not configured */
	struct edp_router *rt;
	struct edp_switch *sw;
	bool owns_switch;        /* destroy frees sw (not once a successor took it) */
	uint64_t ageing_ns;      /* the switch's, in this generation */
	uint64_t generation;     /* 1 for the config the run started with */
	uint64_t tx_ports;       /* ports that have an output */
	uint8_t port_mac[EDP_MAX_PORTS][6];
	uint64_t port_has_mac;
};

/* Build the modules the config names. `predecessor` (may be NULL) is the
 * generation this one replaces: its switch is taken over with what it
 * learned, under the new ageing time (the caller has checked the two
 * configs agree on having a switch and on its table size). */
struct edp_pipeline *edp_pipeline_create(const struct edp_config *cfg, uint64_t tx_ports,
					 struct edp_pipeline *predecessor, struct edp_error *err);
void edp_pipeline_destroy(struct edp_pipeline *pl);
/* Forget MAC-table entries older than the ageing time (no-op without a switch). */
void edp_pipeline_age(struct edp_pipeline *pl, uint64_t now_ns);

/* Decide the fate of key's flow at packet time now_ns; fills *prog. */
void edp_pipeline_classify(struct edp_pipeline *pl, const struct edp_flow_key *key, uint64_t now_ns,
			   struct edp_action_prog *prog);

#endif
