/* edp_action: the compiled action program of a flow and its executor.
 *
 * The slow path (firewall -> router -> switch) runs once per flow and compiles
 * its verdict into a struct edp_action_prog; the flow cache stores it and every
 * later packet of the flow executes it without touching the modules.
 *
 * A program is: a drop with a reason, or a set of output ports plus rewrites
 * (source/destination MAC, TTL/hop-limit decrement with an incremental IPv4
 * checksum update per RFC 1624), plus the dependencies that make the cached
 * copy stale (epochs of MAC-table buckets the decision read, and the learned
 * destination whose ageing ends the verdict) and a MAC-table entry to refresh
 * on every packet (so a learned source does not age out while
 * its flow is served from the cache).
 */
#ifndef EDP_ACTION_H
#define EDP_ACTION_H

#include <stdint.h>

#include "edp_mbuf.h"

#define EDP_MAX_PORTS 64

enum edp_drop_reason {
	EDP_DROP_NONE = 0,
	EDP_DROP_FIREWALL,
	EDP_DROP_TTL,
	EDP_DROP_MALFORMED,
	EDP_DROP_TRUNCATED,
	EDP_DROP_SAME_PORT,
	EDP_DROP_NO_OUTPUT,
	EDP_DROP_OUTPUT_ERROR, /* to be written, but its output had failed */
	EDP_DROP_REASONS
};

/* The name of a drop reason as printed in summaries and JSON. */
const char *edp_drop_reason_name(int reason);

enum edp_action_flags {
	EDP_ACT_SET_ETH_SRC = 1 << 0,
	EDP_ACT_SET_ETH_DST = 1 << 1,
	EDP_ACT_DEC_TTL = 1 << 2,   /* IPv4 TTL or IPv6 hop limit, by the L3 offset */
	EDP_ACT_TOUCH_MAC = 1 << 3, /* refresh MAC-table entry touch_index */
	EDP_ACT_FRESH_DST = 1 << 4, /* valid only while MAC-table entry fresh_index has not aged out */
};

#define EDP_ACTION_MAX_DEPS 2

struct edp_action_prog {
	uint64_t out_ports;       /* bitmask; 0 means drop with drop_reason */
	uint8_t flags;            /* enum edp_action_flags */
	uint8_t drop_reason;
	uint8_t eth[12];          /* SET_ETH_DST: eth[0..5], SET_ETH_SRC: eth[6..11] (as in a frame) */
	uint8_t n_deps;
	uint8_t pad;
	uint32_t touch_index;
	uint32_t fresh_index;
	uint32_t dep_index[EDP_ACTION_MAX_DEPS];   /* epoch slots this verdict read */
	uint32_t dep_epoch[EDP_ACTION_MAX_DEPS];   /* their values when compiled */
};

/* Per-call context for the executor. */
struct edp_action_ctx {
	uint64_t *touch_stamps; /* MAC-table last-seen stamps (ns), or NULL */
	uint64_t now_ns;
};

/* Execute `prog` on m: rewrite in place, set m->out_ports (or m->drop_reason
 * when the program drops or the TTL expires). The packet's L3 header must be
 * fully captured when prog decrements the TTL (the slow path guarantees it). */
static inline void edp_action_execute(const struct edp_action_prog *prog, struct edp_mbuf *m,
				      const struct edp_action_ctx *ctx)
{
	if (prog->out_ports == 0) {
		m->out_ports = 0;
		m->drop_reason = prog->drop_reason;
		return;
	}
	if (prog->flags & EDP_ACT_DEC_TTL) {
		uint8_t *l3 = m->data + m->l3_off;
		if ((l3[0] >> 4) == 4) {
			if (l3[8] <= 1)
				goto ttl_expired;
			/* RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), on the TTL/protocol
			 * word: m' = m - 0x0100 (the TTL is at least 2), so ~m + m' is
			 * 0xfeff, and one fold of the sum (at most 0x1fefe) suffices */
			l3[8]--;
			uint32_t sum = (uint32_t)(uint16_t)~(l3[10] << 8 | l3[11]) + 0xfeffu;
			sum = (sum & 0xffff) + (sum >> 16);
			uint16_t csum = (uint16_t)~sum;
			l3[10] = (uint8_t)(csum >> 8);
			l3[11] = (uint8_t)csum;
		} else {
			if (l3[7] <= 1)
				goto ttl_expired;
			l3[7]--;
		}
	}
	unsigned set_eth = prog->flags & (EDP_ACT_SET_ETH_DST | EDP_ACT_SET_ETH_SRC);
	if (set_eth == (EDP_ACT_SET_ETH_DST | EDP_ACT_SET_ETH_SRC)) /* routed: both at once */
		__builtin_memcpy(m->data, prog->eth, 12);
	else if (set_eth == EDP_ACT_SET_ETH_DST)
		__builtin_memcpy(m->data, prog->eth, 6);
	else if (set_eth == EDP_ACT_SET_ETH_SRC)
		__builtin_memcpy(m->data + 6, prog->eth + 6, 6);
	if ((prog->flags & EDP_ACT_TOUCH_MAC) && ctx->touch_stamps)
		__atomic_store_n(&ctx->touch_stamps[prog->touch_index], ctx->now_ns, __ATOMIC_RELAXED);
	m->out_ports = prog->out_ports;
	return;
ttl_expired:
	m->out_ports = 0;
	m->drop_reason = EDP_DROP_TTL;
}

#endif
