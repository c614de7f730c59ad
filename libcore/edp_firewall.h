/* edp_firewall: the ACL module of the slow path.
 *
 * Rules have a priority (higher first, then file order) and match any
 * combination of in-port, source/destination prefix (IPv4 or IPv6), protocol,
 * source/destination port or port range, outer VLAN and ethertype; the action
 * is allow or drop; a packet no rule matches gets the default action.
 *
 * Classification is a tuple-space search: each rule becomes a (value, mask)
 * pair over everything but the port numbers; rules with the same mask share a
 * hash table (a "tuple") whose slots hold, per distinct masked value, that
 * value's rules best first with their port ranges. Tuples are searched in
 * order of their best rule and the search stops as soon as no remaining tuple
 * can beat the best match. A lookup never scans the rule list: it probes one
 * slot per tuple (a handful of tuples for real ACLs, since port ranges do not
 * create tuples) and checks the ranges of the rules sharing that slot. A
 * tuple whose rules name addresses first asks a Bloom filter of its masked
 * addresses (16 bits or more a rule, in L1): a key no rule of it can match
 * by address skips the whole-key hash and the slot's miss, but for about
 * one tuple in a hundred.
 *
 * Ports match only packets that carry L4 ports (TCP, UDP, SCTP, not a later
 * fragment); a protocol matches only IP packets; a prefix also fixes the IP
 * version.
 *
 * Thread-safety: immutable after creation; lookups from many threads are safe.
 */
#ifndef EDP_FIREWALL_H
#define EDP_FIREWALL_H

#include <stdbool.h>
#include <stdint.h>

#include "edp_error.h"
#include "edp_flow.h"
#include "edp_prefix.h"

enum edp_fw_action { EDP_FW_DROP = 0, EDP_FW_ALLOW = 1 };

struct edp_fw_rule {
	uint32_t priority;            /* 0 .. 2^31-1, higher first */
	int32_t in_port;              /* port index, -1 = any */
	struct edp_prefix src, dst;
	int16_t proto;                /* IP protocol, -1 = any */
	int32_t sport_lo, sport_hi;   /* -1 = any */
	int32_t dport_lo, dport_hi;
	int32_t vlan;                 /* outer VID, -1 = any */
	int32_t eth_type;             /* -1 = any */
	uint8_t action;               /* enum edp_fw_action */
};

struct edp_firewall;

/* Compile `n` rules (in file order). Fails with EDP_ERR_USAGE on a rule that
 * can never match (an IPv4 prefix with an IPv6 prefix or ethertype, ...). */
struct edp_firewall *edp_firewall_create(const struct edp_fw_rule *rules, uint32_t n,
					 uint8_t default_action, struct edp_error *err);
void edp_firewall_destroy(struct edp_firewall *fw);

/* The verdict for a flow, and the index of the deciding rule (-1 = default). */
uint8_t edp_firewall_classify(const struct edp_firewall *fw, const struct edp_flow_key *key,
			      int32_t *rule_index);

/* The brute-force reference (scans every rule): for tests. */
uint8_t edp_firewall_classify_linear(const struct edp_fw_rule *rules, uint32_t n,
				     uint8_t default_action, const struct edp_flow_key *key,
				     int32_t *rule_index);

bool edp_firewall_uses_ports(const struct edp_firewall *fw);  /* some rule matches ports */
bool edp_firewall_uses_l3(const struct edp_firewall *fw);     /* some rule reads IP fields */
uint32_t edp_firewall_tuples(const struct edp_firewall *fw);

#endif
