#include "edp_lane.h"

#include <assert.h>

#include "edp_flow.h"
#include "edp_parse.h"
#include "edp_stats.h"
#include "edp_switch.h"

#define AGE_SWEEP_NS 1000000000ull

/* A lane's batch goes through three steps in groups of PIPE_GROUP packets,
 * each group a step behind the one before: parse and hash it (asking for
 * its flow-cache buckets), ask for the entries its buckets point to, look
 * it up and run its actions. A bucket or an entry so arrives while the
 * other groups are handled; a batch's lookups right behind its prefetches
 * waited for most of their lines. */
#define PIPE_GROUP 8

/* Items in the chunk of at most `size` that starts at item `at` of `count`. */
static inline uint32_t chunk(uint32_t count, uint32_t at, uint32_t size)
{
	return count - at < size ? count - at : size;
}

static inline void parse_group(struct edp_lane *lane, struct edp_mbuf **b, uint32_t n, struct edp_flow_key *keys,
			       uint32_t *hashes)
{
	for (uint32_t i = 0; i < n; i++) {
		struct edp_mbuf *m = b[i];
		struct edp_parse_result pr;
		m->parse_status = (uint8_t)(m->rx_flags & EDP_RX_PLAIN_IPV4
					     ? edp_parse_plain_ipv4(m->data, m->in_port, &keys[i], &pr)
					     : edp_parse(m->data, m->data_len, m->wire_len, m->in_port, &keys[i], &pr));
		m->l3_off = pr.l3_off;
		m->l4_off = pr.l4_off;
		lane->bytes_in += m->wire_len;
	}
	/* hashed once the group is parsed: a key's 8-byte words read right
	 * behind the parser's narrower stores of them would wait for those to
	 * reach the cache (no store-to-load forwarding across stores) */
	if (b[0]->rx_flags & EDP_RX_RSS) /* a lane's packets all come with it or all without */
		for (uint32_t i = 0; i < n; i++)
			hashes[i] = edp_flow_cache_hash(b[i]->rss_hash, &keys[i]);
	else
		for (uint32_t i = 0; i < n; i++)
			hashes[i] = edp_flow_hash(&keys[i]);
	edp_flowcache_prefetch_buckets(lane->fc, hashes, n);
}

/* A flow-cache miss: classify, cache the verdict in *prog, time it as
 * EDP_SLOW_TIMED_ALL says (two TSC reads cost ~15 ns, more than a run of
 * the wire's pipeline: 1,000,000 flows through a 65,536-entry cache went
 * from 16.3 to 20-22 Mpps). Out of the batch loop, which it would slow
 * down inline. */
static __attribute__((noinline)) void slow_path(struct edp_pipeline *pl, struct edp_lane *lane,
						const struct edp_flow_key *key, uint32_t hash, uint64_t ts_ns,
						struct edp_action_prog *prog)
{
	uint64_t r = lane->slow_path_runs++;
	uint64_t weight = r < EDP_SLOW_TIMED_ALL ? 1 : r % EDP_SLOW_TIMED_EVERY ? 0 : EDP_SLOW_TIMED_EVERY;
	uint64_t c0 = weight ? edp_stats_cycles() : 0;
	edp_pipeline_classify(pl, key, ts_ns, prog);
	if (weight)
		lane->slow_path_cycles += (edp_stats_cycles() - c0) * weight;
	edp_flowcache_insert(lane->fc, key, hash, prog, ts_ns);
}

static inline void forward_group(struct edp_pipeline *pl, struct edp_lane *lane, struct edp_mbuf **b, uint32_t n,
				 const struct edp_flow_key *keys, const uint32_t *hashes, struct edp_action_ctx *ctx)
{
	for (uint32_t i = 0; i < n; i++) {
		struct edp_mbuf *m = b[i];
		if (m->parse_status == EDP_PARSE_MALFORMED) {
			m->out_ports = 0;
			m->drop_reason = EDP_DROP_MALFORMED;
		} else {
			const struct edp_action_prog *prog = edp_flowcache_lookup(lane->fc, &keys[i], hashes[i], m->ts_ns);
			struct edp_action_prog fresh;
			if (!prog) {
				slow_path(pl, lane, &keys[i], hashes[i], m->ts_ns, &fresh);
				prog = &fresh;
			}
			ctx->now_ns = m->ts_ns;
			edp_action_execute(prog, m, ctx);
		}
		if (m->out_ports) {
			lane->forwarded++;
		} else {
			lane->dropped++;
			lane->drops[m->drop_reason]++;
			lane->port_drops[m->in_port]++;
		}
	}
}

/* A new generation of the pipeline: what the cache holds was decided by
 * another config. Out of line: it runs once a reload. */
static __attribute__((noinline)) void adopt(struct edp_lane *lane, struct edp_pipeline *pl)
{
	edp_flowcache_flush(lane->fc);
	if (pl->sw)
		edp_flowcache_set_freshness(lane->fc, edp_switch_stamps(pl->sw), pl->ageing_ns);
	atomic_store_explicit(&lane->pl, pl, memory_order_release); /* a flows dump reads it */
}

void edp_lane_process(struct edp_lane *lane, struct edp_mbuf **b, uint32_t n)
{
	assert(n <= EDP_BATCH);
	/* odd before the pipeline is read (sequentially consistent, as the
	 * reload's store of a new one and its read of this): a reload that saw
	 * it even knows this batch will read the new generation */
	uint32_t seq = atomic_load_explicit(&lane->batch_seq, memory_order_relaxed);
	atomic_store_explicit(&lane->batch_seq, seq + 1, memory_order_seq_cst);
	struct edp_pipeline *pl = atomic_load_explicit(lane->current, memory_order_seq_cst);
	if (__builtin_expect(pl != atomic_load_explicit(&lane->pl, memory_order_relaxed), 0))
		adopt(lane, pl);
	struct edp_flow_key keys[EDP_BATCH];
	uint32_t hashes[EDP_BATCH];
	struct edp_action_ctx ctx = { pl->sw ? edp_switch_stamps(pl->sw) : NULL, 0 };
	uint32_t groups = (n + PIPE_GROUP - 1) / PIPE_GROUP;
	for (uint32_t g = 0; g < groups + 2; g++) {
		if (g < groups) {
			uint32_t at = g * PIPE_GROUP;
			parse_group(lane, b + at, chunk(n, at, PIPE_GROUP), keys + at, hashes + at);
		}
		if (g == 0 && pl->sw && b[0]->ts_ns >= lane->next_age_ns) { /* before any lookup */
			edp_pipeline_age(pl, b[0]->ts_ns);
			lane->next_age_ns = b[0]->ts_ns + AGE_SWEEP_NS;
		}
		if (g >= 1 && g <= groups) {
			uint32_t at = (g - 1) * PIPE_GROUP;
			edp_flowcache_prefetch_entries(lane->fc, hashes + at, chunk(n, at, PIPE_GROUP));
		}
		if (g >= 2) {
			uint32_t at = (g - 2) * PIPE_GROUP;
			forward_group(pl, lane, b + at, chunk(n, at, PIPE_GROUP), keys + at, hashes + at, &ctx);
		}
	}
	lane->packets_in += n;
	lane->batches++;
	atomic_store_explicit(&lane->batch_seq, seq + 2, memory_order_release);
}

void edp_lane_place(struct edp_lane *lane, const struct edp_topo *topo, int32_t cpu, int32_t node, bool warm)
{
	edp_topo_pin(cpu, NULL);
	edp_flowcache_place(lane->fc, topo, node);
	if (warm)
		edp_flowcache_warm(lane->fc);
}
