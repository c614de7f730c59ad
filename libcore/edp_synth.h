/* edp_synth: deterministic synthetic traffic.
 *
 * A spec string "flows=10000,packets=1000000,size=64|imix|MIN-MAX,
 * proto=udp|tcp|mix,v6=0.2,vlan=100,zipf=1.1,seed=7,gap-ns=1000,ttl=64" describes
 * Ethernet frames of IPv4/IPv6 UDP or TCP flows with valid IP and L4
 * checksums. The same spec always gives the same bytes. `size` is the
 * captured frame length (no FCS), raised to the headers' length when smaller.
 * IMIX is 7:4:1 of 64, 594 and 1518 bytes. Packets pick their flow uniformly,
 * or with zipf=S > 0 by a Zipf law of exponent S (flow k of n with weight
 * 1/k^S: a few elephant flows and a long tail of mice).
 *
 * Flow i has addresses 10.a.b.c -> 192.168.x.y (IPv4) or 2001:db8::/64 ->
 * 2001:db8:1::/64 (IPv6) and fixed ports, so 10,000 flows are 10,000 keys.
 */
#ifndef EDP_SYNTH_H
#define EDP_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include "edp_error.h"
#include "edp_mbuf.h"

struct edp_synth_spec {
	uint64_t packets;
	uint32_t flows;
	uint32_t size_min, size_max;
	bool imix;
	uint8_t proto;       /* 6, 17, or 0 for a mix */
	double v6_ratio;     /* share of IPv6 flows, 0..1 */
	int32_t vlan;        /* -1 = untagged */
	uint64_t seed;
	uint64_t start_ns, gap_ns;
	uint8_t ttl;
	double zipf;         /* 0 = uniform */
};

/* Parse a spec; unknown keys and bad values are EDP_ERR_USAGE. */
int edp_synth_parse(const char *text, struct edp_synth_spec *spec, struct edp_error *err);

struct edp_synth;
struct edp_synth *edp_synth_create(const struct edp_synth_spec *spec, struct edp_error *err);
void edp_synth_destroy(struct edp_synth *s);

/* The largest frame a spec makes (size= goes up to it). */
#define EDP_SYNTH_MAX_FRAME 9000

/* Fill m with the next packet (m->buf_len must be >= EDP_SYNTH_MAX_FRAME).
 * Returns 1, or 0 when spec->packets have been produced. */
int edp_synth_next(struct edp_synth *s, struct edp_mbuf *m);

#endif
