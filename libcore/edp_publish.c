#include "edp_publish.h"

#include <sched.h>
#include <string.h>

void edp_publish_lane(struct edp_datapath *dp, struct edp_lane *lane, bool now)
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

void edp_publish_queue(struct edp_datapath *dp, uint32_t queue, uint32_t thread, uint64_t packets,
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

void edp_publish_rx(struct edp_datapath *dp)
{
	if (!dp->stats)
		return;
	/* an interface's drops are a system call away: a few times a second */
	uint64_t c = edp_stats_cycles();
	bool live = c - dp->live_published_at >= EDP_PUBLISH_CYCLES;
	if (live)
		dp->live_published_at = c;
	for (uint32_t i = 0; i < dp->in.n; i++) {
		const struct edp_input *in = &dp->in.of[i];
		struct edp_stats_port *b = edp_stats_port(dp->stats, in->port);
		edp_stats_write_begin(&b->seq);
		edp_datapath_rx(dp, in->port, &b->rx_packets, &b->rx_bytes);
		if (live && in->live && in->reader) {
			b->live = (uint8_t)edp_pcap_reader_socket(in->reader);
			edp_datapath_live_port(dp, i, &b->kernel_drops, &b->ring_frames, &b->ring_bytes);
		}
		edp_stats_write_end(&b->seq);
	}
}
