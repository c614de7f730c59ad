#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sched.h>
#include <time.h>

#include "edp_datapath_impl.h"
#include "edp_ledger.h"
#include "edp_parse.h"
#include "edp_worker.h"

#define AGE_SWEEP_NS 1000000000ull

static int open_io(struct edp_datapath *dp, struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	bool nano = false;
	uint32_t snaplen = 0;
	for (uint32_t i = 0; i < cfg->n_ports; i++) { /* before anything is opened */
		const struct edp_port_config *pc = &cfg->ports[i];
		const char *why;
		if (pc->rx && (why = edp_port_io_check(pc->rx, true)))
			return edp_error_set(err, EDP_ERR_USAGE, "port %s: rx '%s' %s", pc->name, pc->rx, why);
		if (pc->tx && (why = edp_port_io_check(pc->tx, false)))
			return edp_error_set(err, EDP_ERR_USAGE, "port %s: tx '%s' %s", pc->name, pc->tx, why);
	}
	for (uint32_t i = 0; i < cfg->n_ports; i++) {
		const char *rx = cfg->ports[i].rx;
		if (!rx)
			continue;
		for (uint32_t j = 0; j < cfg->n_ports; j++) {
			const char *tx = cfg->ports[j].tx;
			if (tx && edp_port_io_kind(rx) == EDP_IO_FILE && edp_port_io_kind(tx) == EDP_IO_FILE &&
			    edp_pcap_same_file(rx, 0, tx, 1))
				return edp_error_set(err, EDP_ERR_USAGE,
						     "%s: is both the input of port %s and the output of port %s", rx,
						     cfg->ports[i].name, cfg->ports[j].name);
			if (j < i && cfg->ports[j].rx && strcmp(rx, "-") == 0 && strcmp(cfg->ports[j].rx, "-") == 0)
				return edp_error_set(err, EDP_ERR_USAGE, "stdin: read by ports %s and %s; only one port can read it",
						     cfg->ports[j].name, cfg->ports[i].name);
		}
		struct edp_input *in = &dp->inputs[dp->n_inputs];
		if (cfg->loop != 1 && strcmp(rx, "-") == 0)
			return edp_error_set(err, EDP_ERR_USAGE, "stdin: cannot be read more than once (--loop)");
		in->passes = 1;
		in->port = (uint16_t)i;
		dp->port_input[i] = (int16_t)dp->n_inputs;
		dp->n_inputs++;
		if (edp_port_io_kind(rx) == EDP_IO_VPORT) {
			bool replaced;
			in->vport = edp_vport_create(cfg->instance ? cfg->instance : "default", cfg->ports[i].name,
						     &replaced, err);
			if (!in->vport)
				return EDP_ERR_RUNTIME;
			in->live = true;
			nano = true;
			snaplen = EDP_VPORT_MAX_FRAME;
			continue;
		}
		in->reader = edp_pcap_reader_open(rx, err);
		if (!in->reader)
			return EDP_ERR_RUNTIME;
		in->live = edp_port_io_kind(rx) == EDP_IO_LIVE;
		nano |= edp_pcap_reader_nanosecond(in->reader) || in->live;
		if (edp_pcap_reader_snaplen(in->reader) > snaplen)
			snaplen = edp_pcap_reader_snaplen(in->reader);
	}
	if (edp_output_open(&dp->out, cfg, nano, snaplen ? snaplen : 262144, err))
		return EDP_ERR_RUNTIME;
	dp->snaplen = snaplen;
	return 0;
}

/* The pools, one set per NUMA node that an input port is on (threaded mode;
 * inline mode has one set, where the memory is first touched). Each set has
 * room for a batch plus the lookaheads (inline) or for what may be in flight
 * (threads). */
static int create_pools(struct edp_datapath *dp, struct edp_error *err)
{
	bool threads = dp->cfg->threads > 0;
	uint32_t base = edp_datapath_read_room(dp) + 1; /* a batch and what the inputs hold */
	for (uint32_t i = 0; i < dp->n_inputs; i++) {
		int32_t node = threads ? dp->queue_node[i * dp->queues_per_port] : -1;
		struct edp_pools *set = NULL;
		for (uint32_t k = 0; k < dp->n_pools && !set; k++)
			if (dp->pools[k].node == node)
				set = &dp->pools[k];
		if (!set) {
			set = &dp->pools[dp->n_pools++];
			set->node = node;
			uint32_t n = threads ? EDP_WORKER_IN_FLIGHT + base : base;
			if (!(set->of[EDP_POOL_TINY] = edp_mbuf_pool_create_on(n, EDP_TINY_BUF, node, err)) ||
			    !(set->of[EDP_POOL_SMALL] = edp_mbuf_pool_create_on(n, EDP_SMALL_BUF, node, err)))
				return EDP_ERR_RUNTIME;
			if (dp->snaplen > EDP_SMALL_BUF &&
			    !(set->of[EDP_POOL_LARGE] = edp_mbuf_pool_create_on(
				      threads ? EDP_WORKER_LARGE_IN_FLIGHT + base : base, dp->snaplen, node, err)))
				return EDP_ERR_RUNTIME;
		}
		dp->inputs[i].pools = set;
	}
	return 0;
}

/* Threaded mode: the CPU and node of every worker, the node of every queue,
 * the queues pinned to workers. */
static int place_workers(struct edp_datapath *dp, struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	struct edp_topo *t = &dp->topo;
	if (edp_topo_discover(t, err))
		return EDP_ERR_RUNTIME;
	char avail[256], workers[256] = "";
	edp_topo_cpu_list(t, avail, sizeof(avail));
	size_t wl = 0;
	for (uint32_t i = 0; i < cfg->threads; i++) {
		int32_t cpu = cfg->n_cpus ? cfg->cpus[i % cfg->n_cpus] : t->cpu[i % t->n_cpus];
		int32_t node = edp_topo_node_of(t, cpu);
		if (node < 0) /* a CPU of the machine's own list always has a node: this one is from datapath.cpus */
			return edp_config_fail_at(cfg, cfg->cpus_at[i % cfg->n_cpus], err,
						  "datapath.cpus: cpu %d is not available (available: %s)", cpu, avail);
		dp->worker_cpu[i] = cpu;
		dp->worker_node[i] = node;
		if (wl + 1 < sizeof(workers))
			wl += (size_t)snprintf(workers + wl, sizeof(workers) - wl, "%s%d", i ? ", " : "", cpu);
	}
	uint32_t nq = dp->n_inputs * dp->queues_per_port;
	dp->queue_node = calloc(nq + 1, sizeof(int32_t));
	dp->queue_pin = calloc(nq + 1, sizeof(int32_t));
	if (!dp->queue_node || !dp->queue_pin)
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	int32_t reader_node = edp_topo_current_node();
	for (uint32_t i = 0; i < dp->n_inputs; i++) {
		const struct edp_port_config *pc = &cfg->ports[dp->inputs[i].port];
		if (pc->numa_node >= (int32_t)t->n_nodes)
			return edp_config_fail_at(cfg, pc->numa_node_at, err,
						  "port %s: numa-node %d does not exist (this machine has %u)", pc->name,
						  pc->numa_node, t->n_nodes);
		if (pc->n_rx_queue_cpus > dp->queues_per_port) /* at the first queue too many */
			return edp_config_fail_at(cfg, pc->rx_queue_cpus_at[dp->queues_per_port], err,
						  "port %s: rx-queue-cpus names %u queues; the port has %u%s", pc->name,
						  pc->n_rx_queue_cpus, dp->queues_per_port,
						  dp->in_input_order ? " (ordered with a learning switch: one, in input order)"
								     : "");
		for (uint32_t k = 0; k < dp->queues_per_port; k++) {
			uint32_t q = i * dp->queues_per_port + k;
			dp->queue_node[q] = pc->numa_node >= 0 ? pc->numa_node : reader_node;
			dp->queue_pin[q] = -1;
			if (k >= pc->n_rx_queue_cpus)
				continue;
			for (uint32_t w = 0; w < cfg->threads && dp->queue_pin[q] < 0; w++)
				if (dp->worker_cpu[w] == pc->rx_queue_cpus[k])
					dp->queue_pin[q] = (int32_t)w;
			if (dp->queue_pin[q] < 0)
				return edp_config_fail_at(
					cfg, pc->rx_queue_cpus_at[k], err,
					"port %s: rx-queue-cpus: no worker thread runs on cpu %d (workers run on %s)", pc->name,
					pc->rx_queue_cpus[k], workers);
		}
	}
	return 0;
}

bool edp_datapath_numa(const struct edp_datapath *dp) { return !dp->cfg->threads || dp->topo.numa; }

struct edp_datapath *edp_datapath_create(const struct edp_config *cfg, struct edp_error *err)
{
	struct edp_datapath *dp = aligned_alloc(64, sizeof(*dp)); /* its inputs have lines of their own */
	if (!dp) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		return NULL;
	}
	memset(dp, 0, sizeof(*dp));
	dp->cfg = cfg;
	if (open_io(dp, err))
		goto fail;
	dp->solo = dp->n_inputs == 1 && !dp->inputs[0].live;
	uint64_t tx_ports = 0;
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		if (dp->out.port_sink[i] >= 0)
			tx_ports |= 1ull << i;
	if (edp_pipeline_init(&dp->pipeline, cfg, tx_ports, err))
		goto fail;
	dp->n_lanes = cfg->threads ? cfg->threads : 1;
	/* ordered with a learning switch: a packet's verdict depends on the
	 * MACs the packets before it taught the switch, so the packets are
	 * processed in input order: one queue an input (edp_worker_run takes
	 * more than one input inline) */
	dp->in_input_order = cfg->ordered && cfg->has_switch;
	dp->queues_per_port = !cfg->threads || dp->in_input_order ? 1 : cfg->rx_queues ? cfg->rx_queues : cfg->threads;
	if ((cfg->threads && place_workers(dp, err)) || create_pools(dp, err))
		goto fail;
	dp->lanes = aligned_alloc(64, dp->n_lanes * sizeof(*dp->lanes));
	if (!dp->lanes) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		goto fail;
	}
	memset(dp->lanes, 0, dp->n_lanes * sizeof(*dp->lanes));
	for (uint32_t i = 0; i < dp->n_lanes; i++) {
		struct edp_lane *lane = &dp->lanes[i];
		lane->index = i;
		lane->fc = edp_flowcache_create(cfg->flow_cache_entries,
						dp->pipeline.sw ? edp_switch_epochs(dp->pipeline.sw) : NULL, err);
		if (!lane->fc)
			goto fail;
		if (dp->pipeline.sw)
			edp_flowcache_set_freshness(lane->fc, edp_switch_stamps(dp->pipeline.sw),
						    edp_switch_ageing_ns(dp->pipeline.sw));
	}
	return dp;
fail:
	edp_datapath_destroy(dp);
	return NULL;
}

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
		m->flags = (uint8_t)(m->rx_flags & EDP_RX_PLAIN_IPV4
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
static __attribute__((noinline)) void slow_path(struct edp_datapath *dp, struct edp_lane *lane,
						const struct edp_flow_key *key, uint32_t hash, uint64_t ts_ns,
						struct edp_action_prog *prog)
{
	uint64_t r = lane->slow_path_runs++;
	uint64_t weight = r < EDP_SLOW_TIMED_ALL ? 1 : r % EDP_SLOW_TIMED_EVERY ? 0 : EDP_SLOW_TIMED_EVERY;
	uint64_t c0 = weight ? edp_stats_cycles() : 0;
	edp_pipeline_classify(&dp->pipeline, key, ts_ns, prog);
	if (weight)
		lane->slow_path_cycles += (edp_stats_cycles() - c0) * weight;
	edp_flowcache_insert(lane->fc, key, hash, prog);
}

static inline void forward_group(struct edp_datapath *dp, struct edp_lane *lane, struct edp_mbuf **b, uint32_t n,
				 const struct edp_flow_key *keys, const uint32_t *hashes, struct edp_action_ctx *ctx)
{
	for (uint32_t i = 0; i < n; i++) {
		struct edp_mbuf *m = b[i];
		if (m->flags == EDP_PARSE_MALFORMED) {
			m->out_ports = 0;
			m->drop_reason = EDP_DROP_MALFORMED;
		} else {
			const struct edp_action_prog *prog = edp_flowcache_lookup(lane->fc, &keys[i], hashes[i], m->ts_ns);
			struct edp_action_prog fresh;
			if (!prog) {
				slow_path(dp, lane, &keys[i], hashes[i], m->ts_ns, &fresh);
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

void edp_datapath_process_lane(struct edp_datapath *dp, struct edp_lane *lane, struct edp_mbuf **b, uint32_t n)
{
	assert(n <= EDP_BATCH);
	struct edp_flow_key keys[EDP_BATCH];
	uint32_t hashes[EDP_BATCH];
	struct edp_action_ctx ctx = { dp->pipeline.sw ? edp_switch_stamps(dp->pipeline.sw) : NULL, 0 };
	uint32_t groups = (n + PIPE_GROUP - 1) / PIPE_GROUP;
	for (uint32_t g = 0; g < groups + 2; g++) {
		if (g < groups) {
			uint32_t at = g * PIPE_GROUP;
			parse_group(lane, b + at, chunk(n, at, PIPE_GROUP), keys + at, hashes + at);
		}
		if (g == 0 && dp->pipeline.sw && b[0]->ts_ns >= lane->next_age_ns) { /* before any lookup */
			edp_pipeline_age(&dp->pipeline, b[0]->ts_ns);
			lane->next_age_ns = b[0]->ts_ns + AGE_SWEEP_NS;
		}
		if (g >= 1 && g <= groups) {
			uint32_t at = (g - 1) * PIPE_GROUP;
			edp_flowcache_prefetch_entries(lane->fc, hashes + at, chunk(n, at, PIPE_GROUP));
		}
		if (g >= 2) {
			uint32_t at = (g - 2) * PIPE_GROUP;
			forward_group(dp, lane, b + at, chunk(n, at, PIPE_GROUP), keys + at, hashes + at, &ctx);
		}
	}
	lane->packets_in += n;
	lane->batches++;
}

void edp_datapath_publish_lane(struct edp_datapath *dp, struct edp_lane *lane, bool now)
{
	if (!dp->stats)
		return;
	uint64_t c = edp_stats_cycles();
	if (!now && c - lane->published_at < EDP_PUBLISH_CYCLES)
		return;
	lane->published_at = c;
	struct edp_stats_thread *t = edp_stats_thread(dp->stats, lane->index);
	const struct edp_flowcache_stats *fs = edp_flowcache_stats(lane->fc);
	unsigned cpu = 0, node = 0;
	bool placed = getcpu(&cpu, &node) == 0;
	edp_stats_write_begin(&t->seq);
	t->cpu = placed ? (int32_t)cpu : -1;
	t->numa_node = placed ? (int32_t)node : -1;
	if (dp->cfg->threads)
		t->n_queues = lane->n_queues;
	t->packets = lane->packets_in;
	t->bytes = lane->bytes_in;
	t->forwarded = lane->forwarded;
	t->flow_cache_hits = fs->hits;
	t->flow_cache_misses = fs->misses;
	t->flow_cache_evictions = fs->evictions;
	t->slow_path_runs = lane->slow_path_runs;
	t->slow_path_cycles = lane->slow_path_cycles;
	t->busy_cycles = lane->busy_cycles;
	t->idle_cycles = lane->idle_cycles;
	t->batches = lane->batches;
	memcpy(t->drops, lane->drops, sizeof(t->drops));
	for (uint32_t p = 0; p < dp->cfg->n_ports; p++)
		t->port_drops[p] = lane->port_drops[p];
	edp_stats_write_end(&t->seq);
}

void edp_datapath_publish_queue(struct edp_datapath *dp, uint32_t queue, uint32_t thread, uint64_t packets,
				uint64_t cycles)
{
	if (!dp->stats)
		return;
	struct edp_stats_queue *q = edp_stats_queue(dp->stats, queue);
	edp_stats_write_begin(&q->seq);
	q->thread = (uint16_t)thread;
	q->packets += packets;
	q->cycles += cycles;
	edp_stats_write_end(&q->seq);
}

void edp_datapath_publish_rx(struct edp_datapath *dp)
{
	if (!dp->stats)
		return;
	for (uint32_t i = 0; i < dp->n_inputs; i++) {
		uint16_t p = dp->inputs[i].port;
		struct edp_stats_port *b = edp_stats_port(dp->stats, p);
		edp_stats_write_begin(&b->seq);
		b->rx_packets = dp->rx[p].packets;
		b->rx_bytes = dp->rx[p].bytes;
		edp_stats_write_end(&b->seq);
	}
}

int edp_datapath_publish(struct edp_datapath *dp, const char *name, struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	char summary[128];
	snprintf(summary, sizeof(summary), "%u ports, %s, %u queues/port%s%s%s%s", cfg->n_ports,
		 cfg->threads ? "threads" : "inline", dp->queues_per_port, cfg->has_firewall ? ", firewall" : "",
		 cfg->has_router ? ", router" : "", cfg->has_switch ? ", switch" : "", cfg->ordered ? ", ordered" : "");
	struct edp_stats_layout l = { .n_threads = dp->n_lanes, .n_queues = dp->n_inputs * dp->queues_per_port,
				      .n_ports = cfg->n_ports, .config = summary };
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		l.port_names[i] = cfg->ports[i].name;
	dp->stats = edp_stats_create(name, &l, err);
	if (!dp->stats)
		return err ? err->status : EDP_ERR_RUNTIME;
	for (uint32_t q = 0; q < l.n_queues; q++) {
		struct edp_stats_queue *b = edp_stats_queue(dp->stats, q);
		b->port = dp->inputs[q / dp->queues_per_port].port;
		b->thread = (uint16_t)(q % dp->n_lanes);
	}
	for (uint32_t i = 0; i < dp->n_lanes; i++)
		edp_stats_thread(dp->stats, i)->n_queues = l.n_queues / dp->n_lanes + (i < l.n_queues % dp->n_lanes);
	return 0;
}

void edp_datapath_process(struct edp_datapath *dp, struct edp_mbuf **mbufs, uint32_t n)
{
	/* packets from anywhere in memory: each batch's lines asked for at once */
	for (uint32_t base = 0; base < n; base += EDP_BATCH) {
		uint32_t count = chunk(n, base, EDP_BATCH);
		edp_mbuf_prefetch(mbufs + base, count, true);
		edp_datapath_process_lane(dp, &dp->lanes[0], mbufs + base, count);
	}
}

int edp_datapath_emit_records(struct edp_datapath *dp, const struct edp_pcap_record *rec, const uint64_t *out_ports,
			      const uint16_t *in_ports, uint32_t in_step, uint32_t n, struct edp_error *err)
{
	int rc = edp_output_emit(&dp->out, rec, out_ports, in_ports, in_step, n, err);
	if (dp->stats)
		for (uint32_t p = 0; p < dp->cfg->n_ports; p++) {
			struct edp_stats_port_tx *b = edp_stats_port_tx(dp->stats, p);
			if (b->tx_packets == dp->out.tx[p].packets)
				continue;
			edp_stats_write_begin(&b->seq);
			b->tx_packets = dp->out.tx[p].packets;
			b->tx_bytes = dp->out.tx[p].bytes;
			edp_stats_write_end(&b->seq);
		}
	return rc;
}

int edp_datapath_emit(struct edp_datapath *dp, struct edp_mbuf **mbufs, uint32_t n, struct edp_error *err)
{
	struct edp_pcap_record rec[EDP_BATCH];
	uint64_t ports[EDP_BATCH];
	uint16_t in_ports[EDP_BATCH];
	int rc = 0;
	for (uint32_t base = 0; base < n; base += EDP_BATCH) {
		uint32_t count = chunk(n, base, EDP_BATCH);
		for (uint32_t k = 0; k < count; k++) {
			rec[k] = edp_pcap_record_of(mbufs[base + k]);
			ports[k] = mbufs[base + k]->out_ports;
			in_ports[k] = mbufs[base + k]->in_port;
		}
		if (edp_datapath_emit_records(dp, rec, ports, in_ports, 1, count, err)) /* err: set by the first */
			rc = EDP_ERR_RUNTIME;
	}
	return rc;
}

/* Where a read puts its packets: the input, and its receive queues
 * (first, first + 1, ..., first + rss_queues - 1). */
struct reading {
	struct edp_input *in;
	uint32_t first_queue, rss_queues;
};

/* A packet's buffer, from the right pool of its input (room for the read
 * was checked), filled from libpcap's copy. */
static inline struct edp_mbuf *fill_buffer(const struct edp_input *in, const struct edp_pcap_packet *pkt)
{
	struct edp_mbuf *m = edp_mbuf_alloc_buffer(edp_pools_for(in->pools, pkt->caplen));
	assert(m);
	memcpy(edp_mbuf_buf(m), pkt->data, pkt->caplen);
	return m;
}

/* What is known of a packet (time, lengths, and with more than one queue a
 * port its RSS hash, from libpcap's copy, hot in cache, and what the
 * hashing found out about the headers: enum edp_rx_flags) and its receive
 * queue, which it returns. */
static inline __attribute__((always_inline)) uint32_t rx_meta_of(const struct reading *rd,
								 const struct edp_pcap_packet *pkt,
								 struct edp_rx_meta *meta)
{
	*meta = (struct edp_rx_meta){ pkt->ts_ns, pkt->caplen, pkt->wire_len, 0, 0 };
	if (rd->rss_queues == 1)
		return rd->first_queue;
	bool plain;
	meta->rss_hash = edp_parse_rss_hash(pkt->data, pkt->caplen, pkt->wire_len, &plain);
	meta->rx_flags = (uint8_t)(EDP_RX_RSS | (plain ? EDP_RX_PLAIN_IPV4 : 0));
	return rd->first_queue + edp_flow_rss_queue(meta->rss_hash, rd->rss_queues);
}

/* A packet read, into its input's read-ahead. */
static inline void read_ahead(const struct reading *rd, const struct edp_pcap_packet *pkt)
{
	struct edp_input *in = rd->in;
	struct edp_read_ahead *a = &in->ahead[in->ahead_n++];
	a->m = fill_buffer(in, pkt);
	a->queue = rx_meta_of(rd, pkt, &a->meta);
}

/* A capture's read into the read-ahead (libpcap's callback, with it). */
struct ahead_burst {
	struct edp_pcap_burst burst; /* first: see edp_pcap_reader_dispatch */
	struct reading rd;
};

static void ahead_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct ahead_burst *b = (struct ahead_burst *)user;
	struct edp_pcap_packet pkt;
	edp_pcap_burst_take(user, h, data, &pkt);
	read_ahead(&b->rd, &pkt);
}

/* A burst of the only input, a capture, goes straight to the taker (there
 * is nothing to merge it with): its arrays as edp_datapath_pick_burst
 * fills them. */
struct solo_burst {
	struct edp_pcap_burst burst; /* first: see edp_pcap_reader_dispatch; n counts the burst */
	struct reading rd;
	struct edp_mbuf **mbufs;
	struct edp_rx_meta *meta;
	uint32_t *queues;
	uint64_t bytes;
};

static void solo_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct solo_burst *b = (struct solo_burst *)user;
	struct edp_pcap_packet pkt;
	edp_pcap_file_packet(h, data, &pkt);
	struct edp_mbuf *m = fill_buffer(b->rd.in, &pkt);
	uint32_t i = b->burst.n++; /* edp_pcap_burst_take's count, after the fill: 4 instructions a packet fewer */
	b->mbufs[i] = m;
	if (b->meta)
		b->queues[i] = rx_meta_of(&b->rd, &pkt, &b->meta[i]);
	else
		edp_mbuf_init(m, pkt.caplen, pkt.wire_len, pkt.ts_ns, b->rd.in->port);
	b->bytes += pkt.wire_len;
}

/* Read up to `max` packets of a capture, each handed to libpcap's callback
 * fn with b: at the end of a pass, with --loop, it opens the capture again
 * (a file without packets is not looped: that would spin forever). Returns
 * the packets read (0: the end) or -1 with err set. */
static int read_capture(struct edp_datapath *dp, struct edp_input *in, uint32_t max, pcap_handler fn,
			struct edp_pcap_burst *b, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	int rc = edp_pcap_reader_dispatch(in->reader, max, fn, b, err);
	uint32_t loop = dp->cfg->loop;
	while (rc == 0 && (loop == 0 || in->passes < loop) && !*stop && edp_pcap_reader_packets(in->reader)) {
		edp_pcap_reader_close(in->reader);
		in->reader = edp_pcap_reader_open(dp->cfg->ports[in->port].rx, err);
		if (!in->reader)
			return -1;
		/* the buffers were sized by the first pass: a capture rewritten
		 * since (a FIFO, a rotated file) may not bring larger packets */
		if (edp_pcap_reader_snaplen(in->reader) > dp->snaplen)
			return edp_error_set(err, EDP_ERR_RUNTIME,
					     "%s: pass %u: snapshot length %u is larger than the first pass's %u (--loop)",
					     dp->cfg->ports[in->port].rx, in->passes + 1, edp_pcap_reader_snaplen(in->reader),
					     dp->snaplen), -1;
		in->passes++;
		rc = edp_pcap_reader_dispatch(in->reader, max, fn, b, err);
	}
	return rc < 0 && *stop ? 0 : rc; /* a read a stop interrupted ends the input */
}

/* Read the input's next packets into its read-ahead (a capture: up to
 * EDP_READ_AHEAD with one call into libpcap; a live source or a vport: one
 * if there is one now). Returns the packets read (0: none now, or the end)
 * or -1 with err set. */
static int read_more(struct edp_datapath *dp, struct edp_input *in, const volatile sig_atomic_t *stop,
		     struct edp_error *err)
{
	in->ahead_pos = in->ahead_n = 0;
	if (__builtin_expect(!edp_pools_have(in->pools, in->live ? 1 : EDP_READ_AHEAD), 0))
		return edp_error_set(err, EDP_ERR_RUNTIME, "packet pool exhausted"), -1;
	struct reading rd = { in, (uint32_t)(in - dp->inputs) * dp->queues_per_port, dp->queues_per_port };
	if (__builtin_expect(in->live, 0)) {
		struct edp_pcap_packet pkt;
		int rc = in->vport ? edp_vport_peek(in->vport, &pkt, err) : edp_pcap_reader_read(in->reader, &pkt, err);
		if (rc != 1)
			return rc < 0 && !*stop ? -1 : 0; /* a vport's or a live reader's "nothing now" */
		read_ahead(&rd, &pkt);
		if (in->vport)
			edp_vport_done(in->vport);
		return 1;
	}
	struct ahead_burst b = { { 0 }, rd };
	return read_capture(dp, in, EDP_READ_AHEAD, ahead_packet, &b.burst, stop, err);
}

/* An input without a lookahead gets its next packet as one: the next one
 * read ahead, or (when `may_read`) one of those read now. Only the buffer's lines were
 * written: the descriptor is set up when the packet is taken (pick_burst or
 * the worker). Returns 0 (with no lookahead at the end of a capture, or
 * when a live input has nothing now) or -1 with err set. */
static inline __attribute__((always_inline)) int advance(struct edp_datapath *dp, struct edp_input *in,
							 bool may_read, const volatile sig_atomic_t *stop,
							 struct edp_error *err)
{
	if (in->ahead_pos == in->ahead_n) {
		int rc = may_read ? read_more(dp, in, stop, err) : 0;
		if (rc <= 0)
			return rc;
	}
	in->next = &in->ahead[in->ahead_pos++];
	return 0;
}

int edp_datapath_prime(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	if (dp->solo) /* read at the first burst */
		return 0;
	for (uint32_t i = 0; i < dp->n_inputs; i++)
		if (advance(dp, &dp->inputs[i], true, stop, err) < 0)
			return EDP_ERR_RUNTIME;
	return 0;
}

/* The input whose lookahead packet is the earliest (the lowest index on a
 * tie), polling live inputs that have none; NULL when none has a packet
 * now, with *waiting telling whether a live input may still bring one. */
static struct edp_input *earliest(struct edp_datapath *dp, const volatile sig_atomic_t *stop, int *rc,
				  bool *waiting, struct edp_error *err)
{
	struct edp_input *best = NULL;
	*waiting = false;
	for (uint32_t i = 0; i < dp->n_inputs; i++) {
		struct edp_input *in = &dp->inputs[i];
		if (__builtin_expect(in->live, 0) && !in->next && !in->done) {
			if (*rc || *stop)
				in->done = true;
			else if (advance(dp, in, true, stop, err) < 0)
				in->done = true, *rc = EDP_ERR_RUNTIME;
			*waiting |= !in->next && !in->done;
		}
		if (in->next && (!best || in->next->meta.ts_ns < best->next->meta.ts_ns))
			best = in;
	}
	return best;
}

/* Until when `best` stays the earliest input, as far as the lookahead of
 * the others tells: its packets up to the returned time (inclusive) may be
 * taken one after the other. Another input wins a tie when it comes first. */
static uint64_t earliest_until(const struct edp_datapath *dp, const struct edp_input *best)
{
	uint64_t until = UINT64_MAX;
	for (uint32_t i = 0; i < dp->n_inputs; i++) {
		const struct edp_input *in = &dp->inputs[i];
		if (in == best || !in->next)
			continue;
		uint64_t t = in->next->meta.ts_ns;
		if (in < best) /* it wins a tie */
			t = t ? t - 1 : 0;
		until = t < until ? t : until;
	}
	return until;
}

int edp_datapath_pick_burst(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_mbuf **mbufs,
			    struct edp_rx_meta *meta, uint32_t *queues, uint32_t max, uint32_t *n_out, int *rc,
			    struct edp_error *err)
{
	if (dp->solo) {
		struct edp_input *in = &dp->inputs[0];
		struct solo_burst b = { { 0 }, { in, 0, dp->queues_per_port }, mbufs, meta, queues, 0 };
		if (!*rc && !*stop) {
			if (__builtin_expect(!edp_pools_have(in->pools, max), 0))
				*rc = edp_error_set(err, EDP_ERR_RUNTIME, "packet pool exhausted");
			else /* a pass of --loop that ends within the burst: the next one fills it */
				for (int got = 1; got > 0 && b.burst.n < max;)
					if ((got = read_capture(dp, in, max - b.burst.n, solo_packet, &b.burst, stop, err)) < 0)
						*rc = EDP_ERR_RUNTIME;
		}
		dp->rx[in->port].packets += b.burst.n;
		dp->rx[in->port].bytes += b.bytes;
		*n_out = b.burst.n;
		return b.burst.n > 0;
	}
	uint32_t n = 0;
	int got = 1;
	while (n < max) {
		bool waiting;
		struct edp_input *best = earliest(dp, stop, rc, &waiting, err);
		if (__builtin_expect(!best, 0)) {
			got = waiting ? EDP_PICK_IDLE : 0;
			break;
		}
		/* a live input is polled again before each packet; a capture goes
		 * on while it stays the earliest */
		uint64_t until = best->live ? 0 : earliest_until(dp, best);
		/* after a stop request or a read error no input reads any more,
		 * but the packets already read are still delivered; a live input
		 * is polled at the next pick */
		bool live = best->live, may_read = !*rc;
		uint64_t packets = 0, bytes = 0; /* counted here, not through dp */
		do {
			const struct edp_read_ahead *a = best->next; /* overwritten by the next read */
			if (meta) {
				meta[n] = a->meta;
				queues[n] = a->queue;
			} else
				edp_rx_meta_init(a->m, &a->meta, best->port);
			mbufs[n++] = a->m;
			best->next = NULL;
			packets++;
			bytes += a->meta.wire_len;
			if (live)
				break;
			if (advance(dp, best, may_read && !*stop, stop, err) < 0) {
				*rc = EDP_ERR_RUNTIME;
				break;
			}
		} while (n < max && best->next && best->next->meta.ts_ns <= until);
		dp->rx[best->port].packets += packets;
		dp->rx[best->port].bytes += bytes;
	}
	*n_out = n;
	return got;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec d = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	nanosleep(&d, NULL);
}

int edp_datapath_run_inline(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	int rc = edp_datapath_prime(dp, stop, err);
	struct edp_mbuf *batch[EDP_BATCH];
	struct edp_lane *lane = &dp->lanes[0];
	for (;;) {
		uint32_t n;
		int got = edp_datapath_pick_burst(dp, stop, batch, NULL, NULL, EDP_BATCH, &n, &rc, err);
		if (n == 0 && got == EDP_PICK_IDLE) { /* live inputs, nothing now */
			uint64_t c0 = edp_stats_cycles();
			if (edp_datapath_flush_outputs(dp, rc ? NULL : err) < 0)
				return rc ? rc : EDP_ERR_RUNTIME;
			sleep_ns(EDP_LIVE_POLL_NS);
			lane->idle_cycles += edp_stats_cycles() - c0;
			edp_datapath_publish_lane(dp, lane, false);
			continue;
		}
		if (n == 0)
			break;
		uint64_t c0 = edp_stats_cycles();
		edp_datapath_process_lane(dp, lane, batch, n);
		int wrc = edp_datapath_emit(dp, batch, n, rc ? NULL : err);
		uint64_t cycles = edp_stats_cycles() - c0;
		lane->busy_cycles += cycles;
		if (dp->stats) { /* one queue per input port: share the cycles by packets */
			uint32_t per_input[EDP_MAX_PORTS] = { 0 };
			for (uint32_t i = 0; i < n; i++)
				per_input[dp->port_input[batch[i]->in_port]]++;
			for (uint32_t i = 0; i < dp->n_inputs; i++)
				if (per_input[i])
					edp_datapath_publish_queue(dp, i, 0, per_input[i], cycles * per_input[i] / n);
			edp_datapath_publish_lane(dp, lane, false);
			edp_datapath_publish_rx(dp);
		}
		edp_mbuf_free_bulk(batch, n);
		if (wrc)
			return wrc;
	}
	edp_datapath_publish_lane(dp, lane, true);
	return rc;
}

void edp_datapath_set_log(struct edp_datapath *dp, void (*log)(void *ctx, const char *line), void *ctx)
{
	dp->log = log;
	dp->log_ctx = ctx;
}

int edp_datapath_flush_outputs(struct edp_datapath *dp, struct edp_error *err)
{
	return edp_output_flush(&dp->out, err) ? -1 : 0;
}

int edp_datapath_close_outputs(struct edp_datapath *dp, struct edp_error *err)
{
	return edp_output_close(&dp->out, err);
}

void edp_datapath_stats(const struct edp_datapath *dp, struct edp_datapath_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->seconds = dp->seconds;
	out->rebalances = dp->rebalances;
	out->queues_moved = dp->queues_moved;
	out->n_events = dp->n_events;
	memcpy(out->events, dp->events, sizeof(out->events));
	out->threads = dp->cfg->threads;
	out->n_ports = dp->cfg->n_ports;
	for (uint32_t p = 0; p < out->n_ports; p++) {
		out->ports[p].name = dp->cfg->ports[p].name;
		out->ports[p].s.rx_packets = dp->rx[p].packets; /* counted where read */
		out->ports[p].s.rx_bytes = dp->rx[p].bytes;
		out->ports[p].s.tx_packets = dp->out.tx[p].packets;
		out->ports[p].s.tx_bytes = dp->out.tx[p].bytes;
		out->ports[p].s.tx_errors = dp->out.tx[p].errors;
		const struct edp_input *in = &dp->inputs[dp->port_input[p]];
		bool mine = dp->cfg->ports[p].rx && in->port == p;
		out->ports[p].vport = mine && in->vport;
		out->ports[p].live = mine && in->live && in->reader;
		if (out->ports[p].vport)
			out->ports[p].s.queued = edp_vport_queued(in->vport);
		if (out->ports[p].live)
			out->ports[p].s.kernel_drops = edp_pcap_reader_kernel_drops(in->reader);
	}
	for (uint32_t i = 0; i < dp->n_lanes; i++) {
		const struct edp_lane *l = &dp->lanes[i];
		out->packets_in += l->packets_in;
		out->bytes_in += l->bytes_in;
		out->packets_forwarded += l->forwarded;
		out->packets_dropped += l->dropped;
		out->slow_path_runs += l->slow_path_runs;
		for (int r = 0; r < EDP_DROP_REASONS; r++)
			out->drops[r] += l->drops[r];
		for (uint32_t p = 0; p < out->n_ports; p++)
			out->ports[p].s.drops += l->port_drops[p];
		const struct edp_flowcache_stats *fs = edp_flowcache_stats(l->fc);
		out->flow_cache.hits += fs->hits;
		out->flow_cache.misses += fs->misses;
		out->flow_cache.inserts += fs->inserts;
		out->flow_cache.evictions += fs->evictions;
		out->flow_cache.invalidations += fs->invalidations;
	}
	/* forwarded by the verdict, but not written: an output failed */
	for (uint32_t p = 0; p < out->n_ports; p++) {
		uint64_t unwritten = dp->out.unwritten[p];
		out->packets_forwarded -= unwritten;
		out->packets_dropped += unwritten;
		out->drops[EDP_DROP_OUTPUT_ERROR] += unwritten;
		out->ports[p].s.drops += unwritten;
	}
}

void edp_datapath_destroy(struct edp_datapath *dp)
{
	if (!dp)
		return;
	for (uint32_t i = 0; i < dp->n_inputs; i++) {
		struct edp_input *in = &dp->inputs[i];
		for (uint32_t k = in->ahead_pos - (in->next != NULL); k < in->ahead_n; k++) /* read, never taken */
			edp_mbuf_free_bulk(&in->ahead[k].m, 1);
		edp_pcap_reader_close(dp->inputs[i].reader);
		edp_vport_close(dp->inputs[i].vport);
	}
	edp_output_destroy(&dp->out);
	edp_stats_destroy(dp->stats);
	edp_pipeline_destroy(&dp->pipeline);
	for (uint32_t i = 0; dp->lanes && i < dp->n_lanes; i++)
		edp_flowcache_destroy(dp->lanes[i].fc);
	free(dp->lanes);
	for (uint32_t i = 0; i < dp->n_pools; i++)
		for (int c = 0; c < EDP_POOL_CLASSES; c++)
			edp_mbuf_pool_destroy(dp->pools[i].of[c]);
	free(dp->queue_node);
	free(dp->queue_pin);
	free(dp);
}
