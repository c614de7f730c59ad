/* edp_datapath_impl: the datapath's insides, shared by the batch loop
 * (edp_datapath.c) and the threads that run it (edp_worker.c). Not a public
 * header: binaries use edp_datapath.h.
 *
 * A lane is the state of one processing thread: its flow cache and its
 * counters, written by that thread only and summed when the run ends.
 */
#ifndef EDP_DATAPATH_IMPL_H
#define EDP_DATAPATH_IMPL_H

#include "edp_datapath.h"
#include "edp_output.h"
#include "edp_pcapio.h"
#include "edp_pipeline.h"
#include "edp_stats.h"
#include "edp_topo.h"
#include "edp_vport.h"

#define EDP_TINY_BUF 128   /* packets up to this size use the tiny pool */
#define EDP_SMALL_BUF 2048 /* ... up to this one the small pool */

/* The packet buffers of the inputs on one NUMA node, like DPDK's mempool
 * per socket: a pool of each size class, the large one only when a
 * capture's snapshot length is larger than EDP_SMALL_BUF. Small packets
 * take 192 bytes, not 2,112: a run of 64-byte frames touches a tenth of the
 * memory (and of the pages and TLB entries). The datapath never grows a
 * packet, so a packet stays in the class it was read into. Owned by the
 * reading thread. */
enum { EDP_POOL_TINY, EDP_POOL_SMALL, EDP_POOL_LARGE, EDP_POOL_CLASSES };
struct edp_pools {
	struct edp_mbuf_pool *of[EDP_POOL_CLASSES]; /* NULL: no such class */
	int32_t node; /* -1: wherever first touched */
};

static inline struct edp_mbuf_pool *edp_pools_for(const struct edp_pools *set, uint32_t caplen)
{
	if (caplen <= EDP_TINY_BUF)
		return set->of[EDP_POOL_TINY];
	return caplen <= EDP_SMALL_BUF || !set->of[EDP_POOL_LARGE] ? set->of[EDP_POOL_SMALL] : set->of[EDP_POOL_LARGE];
}

/* Has every pool class of the set `n` free buffers? */
static inline bool edp_pools_have(const struct edp_pools *set, uint32_t n)
{
	for (int c = 0; c < EDP_POOL_CLASSES; c++)
		if (set->of[c] && edp_mbuf_pool_available(set->of[c]) < n)
			return false;
	return true;
}

/* What the threaded reader knows of a packet it queues, carried next to
 * the mbuf pointer (edp_worker keeps an array of them beside each receive
 * ring): the worker that takes the packet sets the descriptor up from it,
 * so a descriptor is written on the core that processes its packet and
 * only the packet's bytes cross from the reading core. */
struct edp_rx_meta {
	uint64_t ts_ns;
	uint32_t data_len, wire_len;
	uint32_t rss_hash;
	uint8_t rx_flags; /* enum edp_rx_flags */
};

/* Set up a descriptor taken with edp_mbuf_alloc_buffer from what the
 * reader knew of its packet. */
static inline void edp_rx_meta_init(struct edp_mbuf *m, const struct edp_rx_meta *meta, uint16_t port)
{
	edp_mbuf_init(m, meta->data_len, meta->wire_len, meta->ts_ns, port);
	m->rss_hash = meta->rss_hash;
	m->rx_flags = meta->rx_flags;
}

/* A packet read, in its buffer, before it becomes its input's lookahead:
 * what is known of it and its receive queue (its input's first + its RSS
 * queue), kept here so that the reader never loads from the mbuf it has
 * just filled (its line may still be on its way from the core that wrote
 * it last). */
struct edp_read_ahead {
	struct edp_mbuf *m;
	struct edp_rx_meta meta;
	uint32_t queue;
};

/* A capture is read EDP_READ_AHEAD packets at a time, with one call into
 * libpcap; a live source one packet at a time. An input holds at most this
 * many buffers (its lookahead included). */
#define EDP_READ_AHEAD EDP_BATCH

/* An input port: a capture (read ahead, merged with the others by the
 * timestamp of each one's next packet, its lookahead) or a live source, a
 * vport or an interface (polled: it never ends by itself and an empty one
 * does not hold the others up). */
struct edp_input {
	struct edp_pcap_reader *reader; /* a capture or live:IFACE */
	struct edp_vport *vport;
	struct edp_pools *pools;
	/* its lookahead, ahead[ahead_pos - 1]; NULL: none now (live) or done */
	const struct edp_read_ahead *next;
	uint32_t ahead_pos, ahead_n; /* ahead[ahead_pos..ahead_n) come after the lookahead */
	uint16_t port;
	bool live, done;       /* done: a live input after a stop or an error */
	uint32_t passes;       /* times the input was opened */
	struct edp_read_ahead ahead[EDP_READ_AHEAD];
};

/* A lane's slow-path cycles: every run of its first EDP_SLOW_TIMED_ALL is
 * timed, then one run in EDP_SLOW_TIMED_EVERY, counted for itself and the
 * ones after it (slow_path_runs counts them all). */
#define EDP_SLOW_TIMED_ALL 1024
#define EDP_SLOW_TIMED_EVERY 8

struct edp_lane {
	_Alignas(64) struct edp_flowcache *fc;
	uint32_t index;
	uint32_t n_queues;                /* receive queues it owns now */
	uint64_t next_age_ns;
	uint64_t packets_in, bytes_in, forwarded, dropped, slow_path_runs;
	uint64_t slow_path_cycles, busy_cycles, idle_cycles, batches;
	uint64_t drops[EDP_DROP_REASONS];
	uint64_t port_drops[EDP_MAX_PORTS]; /* by ingress port */
	uint64_t published_at;            /* edp_stats_cycles of the last publication */
};

struct edp_datapath {
	const struct edp_config *cfg;
	/* written by the reading thread for every packet: lines of their own */
	_Alignas(64) struct edp_input inputs[EDP_MAX_PORTS];
	_Alignas(64) uint32_t n_inputs;
	bool solo; /* one input, a capture: read with no lookahead (no merge) */
	struct edp_output out;            /* written by the writer role */
	uint32_t snaplen;                 /* largest input snapshot length */
	struct edp_pools pools[EDP_MAX_PORTS]; /* one per NUMA node of an input port */
	uint32_t n_pools;
	struct edp_pipeline pipeline;
	struct edp_lane *lanes;
	uint32_t n_lanes;
	uint32_t queues_per_port;         /* receive queues of each input port */
	bool in_input_order;              /* ordered with a learning switch: processed in input order */
	int16_t port_input[EDP_MAX_PORTS]; /* input index of a port that reads */
	struct edp_topo topo;             /* threaded mode: where threads run */
	int32_t worker_cpu[EDP_MAX_THREADS], worker_node[EDP_MAX_THREADS];
	int32_t *queue_node;              /* per queue: NUMA node of its port */
	int32_t *queue_pin;               /* per queue: pinned worker, or -1 */
	struct edp_stats_writer *stats;   /* NULL when not published */
	void (*log)(void *ctx, const char *line);
	void *log_ctx;
	uint64_t rebalances, queues_moved;
	uint64_t run_start_ns;            /* CLOCK_MONOTONIC */
	uint32_t n_events;
	struct edp_rebalance events[EDP_SUMMARY_EVENTS];
	struct { uint64_t packets, bytes; } rx[EDP_MAX_PORTS]; /* by the reading thread */
	double seconds;
};

/* Parse, look up, classify on a miss, execute: n <= EDP_BATCH packets on
 * one lane (a batch: its counters count one). The
 * caller has asked for the packets' lines when they may be cold (another
 * core wrote them: the worker does so before its turn at writing). */
void edp_datapath_process_lane(struct edp_datapath *dp, struct edp_lane *lane, struct edp_mbuf **mbufs,
			       uint32_t n);

/* Publish a lane's counters to its thread block (its own thread only): at
 * most every EDP_PUBLISH_CYCLES (readers sample a few times a second, a
 * lane may finish a batch every microsecond), always when `now`. */
#define EDP_PUBLISH_CYCLES (1u << 20)
void edp_datapath_publish_lane(struct edp_datapath *dp, struct edp_lane *lane, bool now);
/* Add to a queue's block (the queue's owning thread only). */
void edp_datapath_publish_queue(struct edp_datapath *dp, uint32_t queue, uint32_t thread, uint64_t packets,
				uint64_t cycles);
/* Publish the per-port receive counters (the reading thread only). */
void edp_datapath_publish_rx(struct edp_datapath *dp);

/* Hand what the outputs buffer to their files and pipes now (when idle).
 * Returns 0, or -1 with err set. */
int edp_datapath_flush_outputs(struct edp_datapath *dp, struct edp_error *err);

/* Write each packet to the output of each of its ports, in order. */
int edp_datapath_emit(struct edp_datapath *dp, struct edp_mbuf **mbufs, uint32_t n, struct edp_error *err);
/* The same from what the writer needs of each packet (its record and its
 * out_ports, which the worker that processed it put beside the out ring;
 * its ingress port in_ports[i * in_step]): a packet written on another core
 * leaves its descriptor's line where it was. After a failed write nothing
 * more is written and what is handed over is counted (edp_output.h); every
 * call returns the failure, err is set by the first. */
int edp_datapath_emit_records(struct edp_datapath *dp, const struct edp_pcap_record *rec, const uint64_t *out_ports,
			      const uint16_t *in_ports, uint32_t in_step, uint32_t n, struct edp_error *err);

/* The batch loop on the calling thread, lane 0: take a burst, process it,
 * write it, until the inputs end (inline mode, and one worker with one
 * queue an input). Returns 0 or an error status with err set. */
int edp_datapath_run_inline(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err);

/* Read every input's first packet. Returns 0 or EDP_ERR_RUNTIME. */
int edp_datapath_prime(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err);

/* Free buffers of each pool class that a burst (edp_datapath_pick_burst)
 * may take: the packets it takes and a read-ahead left on each input. An
 * input may read more than once in a burst (the last packets of a pass of
 * --loop, then the next pass's first ones), but never holds more than a
 * read-ahead. */
static inline uint32_t edp_datapath_read_room(const struct edp_datapath *dp)
{
	return EDP_BATCH + dp->n_inputs * EDP_READ_AHEAD;
}

/* Take up to `max` packets in timestamp order (the earliest lookahead
 * packet, then its input's next one, ...) into mbufs, *n_out of them,
 * their descriptors set up (edp_mbuf_init) or, with `meta`, left for the
 * taker to set up from meta[i] (the buffers hold the packets either way),
 * reading ahead on each input taken from (unless *rc already holds an
 * error or a stop was requested); live inputs are polled. Returns 1 when
 * more may follow, 0 when every input is done, and EDP_PICK_IDLE when only
 * live inputs are left and none has a packet now (both with *n_out < max).
 * With `meta` comes `queues`: each packet's receive queue (input index *
 * queues_per_port + its RSS queue), and its RSS hash and flags in meta[i].
 * Needs max <= EDP_READ_AHEAD and edp_datapath_read_room(dp) free mbufs in
 * each pool. A single input that is a capture (dp->solo) has nothing to be
 * merged with: it is read straight into the arrays, with no lookahead. */
#define EDP_PICK_IDLE 2
#define EDP_LIVE_POLL_NS 50000 /* how long a reader with idle live inputs sleeps */
int edp_datapath_pick_burst(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_mbuf **mbufs,
			    struct edp_rx_meta *meta, uint32_t *queues, uint32_t max, uint32_t *n_out, int *rc,
			    struct edp_error *err);

#endif
