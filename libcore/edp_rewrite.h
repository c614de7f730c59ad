/* edp_rewrite: the header rewrites a tester applies while replaying.
 *
 * In place on one packet: set the source and/or destination MAC, push an
 * 802.1Q tag (the outermost, TPID 0x8100, PCP 0) or pop the outermost one
 * (0x8100 or 0x88a8), and shift the IPv4/IPv6 source and destination
 * addresses by ip_offset times the loop number (tcpreplay's --unique-ip:
 * every loop makes new flows), fixing the IPv4 header checksum and the
 * TCP/UDP checksum incrementally (RFC 1624). An IPv6 address is shifted in
 * its last 32 bits. Wire lengths follow pushed and popped tags. A packet
 * too short for a rewrite is left as it is for that rewrite.
 */
#ifndef EDP_REWRITE_H
#define EDP_REWRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "edp_mbuf.h"

struct edp_rewrite {
	bool set_src_mac, set_dst_mac;
	uint8_t src_mac[6], dst_mac[6];
	int32_t vlan_add;   /* VID 0..4095 to push, -1 = none */
	bool vlan_strip;    /* pop the outermost tag (before a push) */
	uint32_t ip_offset; /* per loop, 0 = none */
};

#define EDP_REWRITE_NONE { false, false, { 0 }, { 0 }, -1, false, 0 }

/* Whether rw changes anything. */
bool edp_rewrite_active(const struct edp_rewrite *rw);

/* Rewrite m (loop = the 0-based loop of the replay). A push needs 4 bytes
 * of room in m's buffer beyond data_len; without them the push is skipped
 * and the call returns -1. Returns 0. */
int edp_rewrite_apply(const struct edp_rewrite *rw, struct edp_mbuf *m, uint64_t loop);

#endif
