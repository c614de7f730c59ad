/* edp_input: the datapath's inputs, read and merged: captures read ahead a
 * burst at a time and merged by timestamp (ties go to the lower port), live
 * sources (an interface, a vport) polled; the packets' buffers come from the
 * pools of the input's NUMA node.
 *
 * The inline loop and the threaded reader (edp_run.c, edp_worker.c) take
 * their bursts here; this engine calls neither. Every packet read is
 * counted on its port (rx) and handed to the taker: none is dropped here.
 *
 * Thread-safety: one thread (the reading one) calls all of it.
 */
#ifndef EDP_INPUT_H
#define EDP_INPUT_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "edp_config.h"
#include "edp_error.h"
#include "edp_mbuf.h"
#include "edp_pcapio.h"
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

/* Make a set of pools on `node` (-1: wherever first touched): n buffers
 * each of the tiny and small classes, n_large of the large one when
 * snaplen is larger than EDP_SMALL_BUF. On failure what was made stays for
 * edp_pools_destroy. */
int edp_pools_create(struct edp_pools *set, int32_t node, uint32_t n, uint32_t n_large, uint32_t snaplen,
		     struct edp_error *err);
void edp_pools_destroy(struct edp_pools *set);

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
	struct edp_pcap_filter *filter; /* a vport's filter expression (a reader has its own) */
	uint64_t filtered, framed;      /* of the passes before the reader's (--loop) */
	struct edp_read_ahead ahead[EDP_READ_AHEAD];
};

/* Every input of a datapath. */
struct edp_inputs {
	const struct edp_config *cfg;     /* the ports' rx, --loop */
	/* written by the reading thread for every packet: lines of their own */
	_Alignas(64) struct edp_input of[EDP_MAX_PORTS];
	_Alignas(64) uint32_t n;
	bool solo; /* one input, a capture: read with no lookahead (no merge) */
	const _Atomic int *suspended;     /* nonzero: take nothing (edp_datapath_suspend's flag, which
					   * every set of a datapath reads); NULL: never */
	uint32_t queues_per_port;         /* receive queues of each input */
	uint32_t snaplen;                 /* largest input snapshot length */
	int16_t by_port[EDP_MAX_PORTS];   /* input index of a port that reads */
	uint64_t first_ns;                /* CLOCK_MONOTONIC of the first packet taken (0: none yet) */
	uint64_t taken;                   /* packets taken, for cfg->count */
	uint64_t taken_at_wait;           /* ... when edp_inputs_wait last saw it */
	uint32_t idle_waits;              /* waits since it changed (up to EDP_LIVE_POLL_FAST) */
	int wake_fd;                      /* an eventfd that ends a wait on sockets (edp_inputs_wake), or -1 */
	_Atomic uint32_t kick;            /* bumped by edp_inputs_wake: a futex that ends a wait on doorbells */
	struct edp_vport_watch *watch;    /* the doorbells of idle vports while it polls sockets, or NULL */
	bool unwatched;                   /* ... which could not start: they are looked at */
	/* by port: what was read (by the reading thread) */
	_Alignas(64) struct { uint64_t packets, bytes; } rx[EDP_MAX_PORTS];
};

/* After EDP_PICK_IDLE: wait for a frame on the idle interfaces (poll), or
 * for the producer of an idle vport to ring its doorbell, or for another
 * thread's edp_inputs_wake (after it set what the wait should see: a stop,
 * a stun), at most timeout_ns - or EDP_LIVE_WAKE_WAIT_NS where a wake
 * reaches the wait (the set's kick on doorbells, its wake_fd among
 * sockets): a frame wakes it at once, an idle instance costs nothing.
 * Returns at once when *stop (NULL: none) is set.
 * While vports and interfaces are idle together (one wait cannot take a
 * doorbell and a socket), the sockets are polled and the vports looked at
 * every EDP_LIVE_POLL_NS for EDP_LIVE_POLL_FAST waits; then a watch
 * thread (edp_vport_watch, started at the first such wait) sleeps on the
 * doorbells and ends the poll (or, without one, they are looked at every
 * EDP_LIVE_POLL_IDLE_NS). Suspended, it sleeps on the flag (a futex)
 * until resumed or woken, timeout_ns at most. */
void edp_inputs_wait(struct edp_inputs *set, const volatile sig_atomic_t *stop, uint64_t timeout_ns);
/* Give the set its wake_fd (closed by edp_inputs_close). Returns 0 or
 * EDP_ERR_RUNTIME. */
int edp_inputs_wakeable(struct edp_inputs *set, struct edp_error *err);
/* End the set's wait (from another thread). */
void edp_inputs_wake(struct edp_inputs *set);

/* Open in's reader of `path` (a capture or live:IFACE) through cfg's
 * filter expression, or in's vport filter: errors name the input
 * (EDP_ERR_USAGE for a filter libpcap refuses). Returns 0 or the status. */
int edp_input_open_reader(const struct edp_inputs *set, struct edp_input *in, const char *path, struct edp_error *err);
int edp_input_open_filter(const struct edp_inputs *set, struct edp_input *in, struct edp_error *err);

/* Packets of the input the filter expression rejected, and those given an
 * Ethernet header (its capture's link type is another), over every pass. */
uint64_t edp_input_filtered(const struct edp_input *in);
uint64_t edp_input_framed(const struct edp_input *in);

/* Free buffers of each pool class that a burst (edp_inputs_pick_burst)
 * may take: the packets it takes and a read-ahead left on each input. An
 * input may read more than once in a burst (the last packets of a pass of
 * --loop, then the next pass's first ones), but never holds more than a
 * read-ahead. */
static inline uint32_t edp_inputs_read_room(const struct edp_inputs *set)
{
	return EDP_BATCH + set->n * EDP_READ_AHEAD;
}

/* Read every input's first packet (the next one, for a run that goes on
 * where another ended). Returns 0 or EDP_ERR_RUNTIME. */
int edp_inputs_prime(struct edp_inputs *set, const volatile sig_atomic_t *stop, struct edp_error *err);

/* Take up to `max` packets in timestamp order (the earliest lookahead
 * packet, then its input's next one, ...) into mbufs, *n_out of them,
 * their descriptors set up (edp_mbuf_init) or, with `meta`, left for the
 * taker to set up from meta[i] (the buffers hold the packets either way),
 * reading ahead on each input taken from (unless *rc already holds an
 * error or a stop was requested); live inputs are polled. Returns 1 when
 * more may follow, 0 when every input is done, and EDP_PICK_IDLE when only
 * live inputs are left and none has a packet now, or when the set is
 * suspended and no stop was requested (both with *n_out < max).
 * With `meta` comes `queues`: each packet's receive queue (input index *
 * queues_per_port + its RSS queue), and its RSS hash and flags in meta[i].
 * Needs max <= EDP_READ_AHEAD and edp_inputs_read_room(set) free mbufs in
 * each pool. With cfg->count, the inputs are done once that many packets
 * were taken. A single input that is a capture (set->solo) has nothing to be
 * merged with: it is read straight into the arrays, with no lookahead. */
#define EDP_PICK_IDLE 2
#define EDP_LIVE_POLL_NS 50000 /* how long a reader sleeps when it cannot wait for its idle inputs */
#define EDP_LIVE_POLL_FAST 40 /* ... for about 2 ms, then */
#define EDP_LIVE_POLL_IDLE_NS 1000000ull
#define EDP_LIVE_WAIT_NS 10000000ull /* the longest a reader waits for idle inputs no wake reaches */
#define EDP_LIVE_WAKE_WAIT_NS 200000000ull /* ... that a wake reaches: woken, not timed out */
int edp_inputs_pick_burst(struct edp_inputs *set, const volatile sig_atomic_t *stop, struct edp_mbuf **mbufs,
			  struct edp_rx_meta *meta, uint32_t *queues, uint32_t max, uint32_t *n_out, int *rc,
			  struct edp_error *err);

/* Give back the buffers read ahead and never taken, and close every
 * reader and vport. */
void edp_inputs_close(struct edp_inputs *set);

#endif
