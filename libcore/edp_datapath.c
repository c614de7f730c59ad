#include "edp_datapath.h"

#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#include "edp_checkpoint.h"
#include "edp_clock.h"
#include "edp_datapath_impl.h"
#include "edp_chunk.h"
#include "edp_fanout.h"

/* Every input and output of the config, opened; with a plan (a
 * migration's checkpoint with an IO section), set up as the source had
 * them and opened by none: the source hands them over later
 * (edp_datapath_adopt). */
static int open_io(struct edp_datapath *dp, const struct edp_checkpoint *plan, struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	bool nano = false;
	uint32_t snaplen = 0;
	if (plan) {
		for (uint32_t i = 0; i < cfg->n_ports; i++) {
			if (!cfg->ports[i].rx)
				continue;
			struct edp_input *in = &dp->in.of[dp->in.n];
			in->passes = 1;
			in->port = (uint16_t)i;
			in->live = plan->io[i].rx_kind == EDP_IO_VPORT + 1 || plan->io[i].rx_kind == EDP_IO_LIVE + 1;
			dp->in.by_port[i] = (int16_t)dp->in.n++;
		}
		dp->in.snaplen = plan->io_snaplen;
		if (edp_output_plan(&dp->out, cfg, err))
			return EDP_ERR_RUNTIME;
		for (uint32_t i = 0; i < cfg->n_ports; i++) { /* an interface is sent on through a socket of our own */
			int8_t s = dp->out.port_sink[i];
			const char *tx = cfg->ports[i].tx;
			if (s >= 0 && !dp->out.sinks[s] && edp_port_io_kind(tx) == EDP_IO_LIVE &&
			    !(dp->out.sinks[s] = edp_pcap_writer_open(tx, true, dp->in.snaplen, err)))
				return EDP_ERR_RUNTIME;
		}
		return 0;
	}
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
		struct edp_input *in = &dp->in.of[dp->in.n];
		if (cfg->loop != 1 && strcmp(rx, "-") == 0)
			return edp_error_set(err, EDP_ERR_USAGE, "stdin: cannot be read more than once (--loop)");
		in->passes = 1;
		in->port = (uint16_t)i;
		dp->in.by_port[i] = (int16_t)dp->in.n;
		dp->in.n++;
		if (edp_port_io_kind(rx) == EDP_IO_VPORT) {
			bool replaced;
			in->vport = edp_vport_create(cfg->instance ? cfg->instance : "default", cfg->ports[i].name,
						     &replaced, err);
			if (!in->vport)
				return EDP_ERR_RUNTIME;
			int st = edp_input_open_filter(&dp->in, in, err);
			if (st)
				return st;
			in->live = true;
			nano = true;
			snaplen = EDP_VPORT_MAX_FRAME;
			continue;
		}
		int st = edp_input_open_reader(&dp->in, in, rx, err);
		if (st)
			return st;
		in->live = edp_port_io_kind(rx) == EDP_IO_LIVE;
		nano |= edp_pcap_reader_nanosecond(in->reader) || in->live;
		if (edp_pcap_reader_snaplen(in->reader) > snaplen)
			snaplen = edp_pcap_reader_snaplen(in->reader);
	}
	if (edp_output_open(&dp->out, cfg, nano, snaplen ? snaplen : 262144, err))
		return EDP_ERR_RUNTIME;
	dp->in.snaplen = snaplen;
	return 0;
}

/* The pools, one set per NUMA node that an input port is on (threaded mode;
 * inline mode has one set, where the memory is first touched). Each set has
 * room for a batch plus the lookaheads (inline) or for what may be in flight
 * (threads). */
static int create_pools(struct edp_datapath *dp, struct edp_error *err)
{
	bool threads = dp->cfg->threads > 0;
	uint32_t base = edp_inputs_read_room(&dp->in) + 1; /* a batch and what the inputs hold */
	for (uint32_t i = 0; i < dp->in.n; i++) {
		int32_t node = threads ? dp->queue_node[i * dp->in.queues_per_port] : -1;
		struct edp_pools *set = NULL;
		for (uint32_t k = 0; k < dp->n_pools && !set; k++)
			if (dp->pools[k].node == node)
				set = &dp->pools[k];
		if (!set) {
			set = &dp->pools[dp->n_pools++];
			if (edp_pools_create(set, node, threads ? EDP_WORKER_IN_FLIGHT + base : base,
					     threads ? EDP_WORKER_LARGE_IN_FLIGHT + base : base, dp->in.snaplen, err))
				return EDP_ERR_RUNTIME;
		}
		dp->in.of[i].pools = set;
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
	uint32_t nq = dp->in.n * dp->in.queues_per_port;
	dp->queue_node = calloc(nq + 1, sizeof(int32_t));
	dp->queue_pin = calloc(nq + 1, sizeof(int32_t));
	if (!dp->queue_node || !dp->queue_pin)
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	int32_t reader_node = edp_topo_current_node();
	for (uint32_t i = 0; i < dp->in.n; i++) {
		const struct edp_port_config *pc = &cfg->ports[dp->in.of[i].port];
		if (pc->numa_node >= (int32_t)t->n_nodes)
			return edp_config_fail_at(cfg, pc->numa_node_at, err,
						  "port %s: numa-node %d does not exist (this machine has %u)", pc->name,
						  pc->numa_node, t->n_nodes);
		if (pc->n_rx_queue_cpus > dp->in.queues_per_port) /* at the first queue too many */
			return edp_config_fail_at(cfg, pc->rx_queue_cpus_at[dp->in.queues_per_port], err,
						  "port %s: rx-queue-cpus names %u queues; the port has %u%s", pc->name,
						  pc->n_rx_queue_cpus, dp->in.queues_per_port,
						  dp->in_input_order ? " (ordered with a learning switch: one, in input order)"
								     : "");
		for (uint32_t k = 0; k < dp->in.queues_per_port; k++) {
			uint32_t q = i * dp->in.queues_per_port + k;
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

uint64_t edp_datapath_first_packet_ns(const struct edp_datapath *dp)
{
	uint64_t first = __atomic_load_n(&dp->in.first_ns, __ATOMIC_RELAXED);
	for (uint32_t k = 1; dp->fanout && k < dp->n_lanes; k++) { /* the earliest of the workers' inputs */
		uint64_t t = dp->fan[k] ? __atomic_load_n(&dp->fan[k]->first_ns, __ATOMIC_RELAXED) : 0;
		if (t && (!first || t < first))
			first = t;
	}
	return first;
}

bool edp_datapath_numa(const struct edp_datapath *dp) { return !dp->cfg->threads || dp->topo.numa; }

struct edp_datapath *edp_datapath_create(const struct edp_config *cfg, struct edp_error *err)
{
	return edp_datapath_create_planned(cfg, NULL, err);
}

struct edp_datapath *edp_datapath_create_planned(const struct edp_config *cfg, const struct edp_checkpoint *plan,
						 struct edp_error *err)
{
	struct edp_datapath *dp = aligned_alloc(64, sizeof(*dp)); /* its inputs have lines of their own */
	if (!dp) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		return NULL;
	}
	memset(dp, 0, sizeof(*dp));
	dp->cfg = cfg;
	dp->config_hash = cfg->file_hash;
	if (cfg->path && !(dp->config_path = strdup(cfg->path))) {
		free(dp);
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		return NULL;
	}
	edp_doorbell_init(&dp->balancer_bell);
	edp_doorbell_init(&dp->fan_bell);
	pthread_mutex_init(&dp->moves_lock, NULL);
	pthread_mutex_init(&dp->out_lock, NULL);
	dp->in.cfg = cfg;
	dp->in.suspended = &dp->suspended;
	dp->in.wake_fd = -1;
	if (open_io(dp, plan, err))
		goto fail;
	dp->in.solo = dp->in.n == 1 && !dp->in.of[0].live;
	bool live = false;
	for (uint32_t i = 0; i < dp->in.n; i++)
		live |= dp->in.of[i].live;
	if (live && edp_inputs_wakeable(&dp->in, err))
		goto fail;
	uint64_t tx_ports = 0;
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		if (dp->out.port_sink[i] >= 0)
			tx_ports |= 1ull << i;
	dp->tx_ports = tx_ports;
	struct edp_pipeline *pl = edp_pipeline_create(cfg, tx_ports, NULL, err);
	if (!pl)
		goto fail;
	atomic_init(&dp->pipeline, pl);
	dp->n_lanes = cfg->threads ? cfg->threads : 1;
	/* ordered with a learning switch: a packet's verdict depends on the
	 * MACs the packets before it taught the switch, so the packets are
	 * processed in input order: one queue an input (edp_worker_run takes
	 * more than one input inline) */
	dp->in_input_order = cfg->ordered && cfg->has_switch;
	/* several threads on interfaces only: a socket each (edp_fanout) */
	dp->fanout = edp_fanout_fits(cfg, &dp->in);
	for (uint32_t i = 0; plan && i < cfg->n_ports; i++) /* a destination: as the source read */
		dp->fanout |= plan->io[i].flags & EDP_CK_IO_FANOUT;
	/* several threads on a capture file: a chunk each (edp_chunk), where
	 * they fit and the config does not ask for flows; datapath.parallel:
	 * chunks where they cannot is the config's error */
	if (cfg->threads > 1 && !dp->fanout) {
		dp->chunk_unfit = edp_chunk_unfit(dp);
		dp->chunks = !dp->chunk_unfit;
		if (cfg->parallel == EDP_PARALLEL_CHUNKS && !dp->chunks) {
			edp_error_set(err, EDP_ERR_USAGE, "datapath.parallel is chunks, which this run cannot use: %s",
				      dp->chunk_unfit);
			goto fail;
		}
	}
	dp->in.queues_per_port = !cfg->threads || dp->in_input_order || dp->chunks ? 1
				 : dp->fanout || !cfg->rx_queues ? cfg->threads
								 : cfg->rx_queues;
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
		atomic_init(&lane->pl, pl);
		lane->current = &dp->pipeline;
		lane->fc = edp_flowcache_create(cfg->flow_cache_entries, pl->sw ? edp_switch_epochs(pl->sw) : NULL, err);
		if (!lane->fc)
			goto fail;
		if (pl->sw)
			edp_flowcache_set_freshness(lane->fc, edp_switch_stamps(pl->sw), pl->ageing_ns);
	}
	/* a fanout run's sockets and groups now, not when it starts: frames
	 * that come once it is up wait in rings that workers read (a
	 * destination adopts the source's) */
	if (dp->fanout && !plan && edp_fanout_prepare(dp, err))
		goto fail;
	return dp;
fail:
	edp_datapath_destroy(dp);
	return NULL;
}

void edp_datapath_summary(const struct edp_datapath *dp, const struct edp_config *cfg, char *buf, size_t size)
{
	char threads[32];
	snprintf(threads, sizeof(threads), cfg->threads ? "%u thread%s%s" : "inline", cfg->threads,
		 cfg->threads == 1 ? "" : "s", dp->chunks ? " in chunks" : "");
	snprintf(buf, size, "%u port%s, %s, %u queue%s per port%s%s%s%s", cfg->n_ports, cfg->n_ports == 1 ? "" : "s",
		 threads, dp->in.queues_per_port, dp->in.queues_per_port == 1 ? "" : "s",
		 cfg->has_firewall ? ", firewall" : "", cfg->has_router ? ", router" : "", cfg->has_switch ? ", switch" : "",
		 cfg->ordered ? ", ordered" : "");
}

int edp_datapath_publish(struct edp_datapath *dp, const char *name, struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	char summary[128];
	edp_datapath_summary(dp, cfg, summary, sizeof(summary));
	struct edp_stats_layout l = { .n_threads = dp->n_lanes, .n_queues = dp->in.n * dp->in.queues_per_port,
				      .n_ports = cfg->n_ports, .chunks = dp->chunks, .config = summary };
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		l.port_names[i] = cfg->ports[i].name;
	dp->stats = edp_stats_create(name, &l, err);
	if (!dp->stats)
		return err ? err->status : EDP_ERR_RUNTIME;
	for (uint32_t q = 0; q < l.n_queues; q++) {
		struct edp_stats_queue *b = edp_stats_queue(dp->stats, q);
		b->port = dp->in.of[q / dp->in.queues_per_port].port;
		b->thread = (uint16_t)(q % dp->n_lanes);
	}
	for (uint32_t i = 0; i < dp->n_lanes; i++)
		edp_stats_thread(dp->stats, i)->n_queues = l.n_queues / dp->n_lanes + (i < l.n_queues % dp->n_lanes);
	edp_output_publish(&dp->out, dp->stats);
	edp_stats_control(dp->stats)->generation = atomic_load(&dp->pipeline)->generation;
	return 0;
}

void edp_datapath_process(struct edp_datapath *dp, struct edp_mbuf **mbufs, uint32_t n)
{
	/* packets from anywhere in memory: each batch's lines asked for at once */
	for (uint32_t base = 0; base < n; base += EDP_BATCH) {
		uint32_t count = n - base < EDP_BATCH ? n - base : EDP_BATCH;
		edp_mbuf_prefetch(mbufs + base, count, true);
		edp_lane_process(&dp->lanes[0], mbufs + base, count);
	}
}

struct edp_stats_writer *edp_datapath_stats_writer(struct edp_datapath *dp) { return dp->stats; }

bool edp_datapath_suspend(struct edp_datapath *dp, bool on)
{
	bool was = atomic_exchange(&dp->suspended, on) != 0;
	if (on && !was) {
		dp->suspends++;
		dp->suspended_at = edp_clock_ns(CLOCK_MONOTONIC);
	} else if (!on && was) {
		dp->suspended_ns += edp_clock_ns(CLOCK_MONOTONIC) - dp->suspended_at;
		edp_datapath_wake_inputs(dp);
	}
	return was;
}

void edp_datapath_wake_inputs(struct edp_datapath *dp)
{
	edp_inputs_wake(&dp->in); /* and the sets suspended with it */
	edp_fanout_wake(dp);
}

bool edp_datapath_suspended(const struct edp_datapath *dp) { return atomic_load(&dp->suspended) != 0; }

uint64_t edp_datapath_clear_stats(struct edp_datapath *dp)
{
	if (dp->stats)
		edp_stats_clear(dp->stats);
	dp->cleared_at = edp_clock_ns(CLOCK_MONOTONIC);
	return ++dp->stats_clears;
}

int edp_datapath_rebalance(struct edp_datapath *dp, int timeout_ms, struct edp_rebalance_answer *out,
			   struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	if (!atomic_load(&dp->balancer_on)) {
		if (cfg->threads < 2)
			return edp_error_set(err, EDP_ERR_RUNTIME, "no balancer: the run has %u thread%s", cfg->threads,
					     cfg->threads == 1 ? "" : "s");
		if (!cfg->tlb_enabled)
			return edp_error_set(err, EDP_ERR_RUNTIME, "the balancer is off (tlb: enabled: false)");
		if (dp->fanout)
			return edp_error_set(err, EDP_ERR_RUNTIME, "no balancer: the workers read sockets of a fanout group, "
					     "which the kernel's hash feeds");
		if (dp->chunks)
			return edp_error_set(err, EDP_ERR_RUNTIME, "no balancer: the workers take the capture's records "
					     "chunk by chunk, as they have time");
		return edp_error_set(err, EDP_ERR_RUNTIME, "the balancer is not running");
	}
	uint32_t ticket = atomic_fetch_add(&dp->rebalance_asked, 1) + 1;
	edp_doorbell_ring(&dp->balancer_bell);
	uint64_t until = edp_clock_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000ull;
	while (atomic_load_explicit(&dp->rebalance_answered, memory_order_acquire) - ticket > UINT32_MAX / 2) {
		if (edp_clock_ns(CLOCK_MONOTONIC) >= until || !atomic_load(&dp->balancer_on))
			return edp_error_set(err, EDP_ERR_RUNTIME, "no answer from the balancer in %d ms", timeout_ms);
		struct timespec d = { 0, 1000000 };
		nanosleep(&d, NULL);
	}
	*out = dp->rebalance_answer;
	return 0;
}

void edp_datapath_set_log(struct edp_datapath *dp, void (*log)(void *ctx, const char *line), void *ctx)
{
	dp->log = log;
	dp->log_ctx = ctx;
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
	out->suspends = dp->suspends;
	out->stats_clears = dp->stats_clears;
	out->stats_cleared_s = dp->stats_clears && dp->cleared_at > dp->run_start_ns
				       ? (double)(dp->cleared_at - dp->run_start_ns) / 1e9
				       : 0;
	out->suspended_s = (double)(dp->suspended_ns + (edp_datapath_suspended(dp) ? edp_clock_ns(CLOCK_MONOTONIC) - dp->suspended_at : 0)) / 1e9;
	out->queues_moved = dp->queues_moved;
	out->n_events = dp->n_events;
	memcpy(out->events, dp->events, sizeof(out->events));
	out->threads = dp->cfg->threads;
	out->mode = dp->mode;
	out->n_ports = dp->cfg->n_ports;
	for (uint32_t p = 0; p < out->n_ports; p++) {
		out->ports[p].name = dp->cfg->ports[p].name;
		out->ports[p].rx = dp->cfg->ports[p].rx;
		edp_datapath_rx(dp, (uint16_t)p, &out->ports[p].s.rx_packets, &out->ports[p].s.rx_bytes);
		out->ports[p].s.tx_packets = dp->out.tx[p].packets;
		out->ports[p].s.tx_bytes = dp->out.tx[p].bytes;
		out->ports[p].s.tx_errors = dp->out.tx[p].errors;
		const struct edp_input *in = &dp->in.of[dp->in.by_port[p]];
		bool mine = dp->cfg->ports[p].rx && in->port == p;
		out->ports[p].vport = mine && in->vport;
		out->ports[p].live = mine && in->live && in->reader ? (uint8_t)edp_pcap_reader_socket(in->reader) : 0;
		if (out->ports[p].vport)
			out->ports[p].s.queued = edp_vport_queued(in->vport);
		if (out->ports[p].live)
			edp_datapath_live_port(dp, (uint32_t)dp->in.by_port[p], &out->ports[p].s.kernel_drops,
					       &out->ports[p].s.ring_frames, &out->ports[p].s.ring_bytes);
		if (mine) {
			out->ports[p].link = in->reader ? edp_pcap_reader_link(in->reader) : NULL;
			out->ports[p].s.filtered = edp_input_filtered(in);
			out->ports[p].s.framed = edp_input_framed(in);
			out->packets_filtered += out->ports[p].s.filtered;
		}
	}
	out->filter = dp->cfg->filter;
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

void edp_datapath_input_progress(const struct edp_datapath *dp, uint64_t *done, uint64_t *total)
{
	*done = *total = 0;
	if (dp->cfg->loop != 1) /* a reader opened again for each pass: not to be looked at from here */
		return;
	for (uint32_t i = 0; i < dp->in.n; i++) {
		const struct edp_input *in = &dp->in.of[i];
		int fd = in->reader && !in->live ? edp_pcap_reader_fd(in->reader) : -1;
		struct stat st;
		int64_t at;
		if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || (at = edp_pcap_reader_offset(in->reader)) < 0) {
			*done = *total = 0;
			return;
		}
		*done += (uint64_t)at;
		*total += (uint64_t)st.st_size;
	}
}

void edp_datapath_destroy(struct edp_datapath *dp)
{
	if (!dp)
		return;
	edp_inputs_close(&dp->in);
	edp_fanout_close(dp);
	edp_output_destroy(&dp->out);
	edp_stats_destroy(dp->stats);
	edp_pipeline_destroy(atomic_load(&dp->pipeline));
	for (uint32_t i = 0; dp->lanes && i < dp->n_lanes; i++)
		edp_flowcache_destroy(dp->lanes[i].fc);
	free(dp->lanes);
	for (uint32_t i = 0; i < dp->n_pools; i++)
		edp_pools_destroy(&dp->pools[i]);
	for (uint32_t k = 0; k < EDP_MAX_THREADS; k++)
		edp_pools_destroy(&dp->worker_pools[k]);
	free(dp->queue_node);
	free(dp->queue_pin);
	free(dp->config_path);
	pthread_mutex_destroy(&dp->moves_lock);
	pthread_mutex_destroy(&dp->out_lock);
	free(dp);
}
