/* edp_stats: the live counters of a running instance, in shared memory.
 *
 * An instance named NAME publishes $EDP_RUNDIR/NAME.stats (see
 * edp_rundir_path), a file mapped by the instance for writing and by any
 * reader (edp-top, edp-run --stats) for reading. Owner-only permissions. The
 * instance holds an exclusive flock on it for its lifetime: a file nobody
 * holds is stale (its instance was killed) and is replaced at the next
 * start; a file someone holds means the name is taken. The file is removed
 * at exit.
 *
 * Layout: a header, then thread blocks, queue blocks and port blocks, each a
 * multiple of 64 bytes, then the cleared block: the counters as they were
 * at the last edp_stats_clear (edp-run ctl stats-clear), which a reader
 * takes from what it reads, so every reader sees counts since then. Every block has one writer (a worker thread owns its
 * thread block and its queues' blocks, the writer thread owns the port tx
 * blocks) and a sequence counter: the writer makes it odd, writes, makes it
 * even; a reader copies a block and retries until it saw the same even
 * counter before and after. Writers never take a lock; readers never see a
 * torn block.
 */
#ifndef EDP_STATS_H
#define EDP_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "edp_action.h"
#include "edp_error.h"
#include "edp_rundir.h"

#define EDP_STATS_MAGIC 0x3154415453504445ull /* "EDPSTAT1" */
#define EDP_STATS_VERSION 11
#define EDP_STATS_EVENTS 16

struct edp_stats_thread {
	_Alignas(64) _Atomic uint32_t seq;
	int32_t cpu, numa_node;
	uint32_t n_queues;
	uint64_t packets, bytes, forwarded;
	uint64_t flow_cache_hits, flow_cache_misses, flow_cache_evictions;
	uint64_t slow_path_runs, slow_path_cycles;
	uint64_t busy_cycles, idle_cycles, batches;
	uint64_t drops[EDP_DROP_REASONS];
	uint64_t port_drops[EDP_MAX_PORTS]; /* by ingress port */
};

struct edp_stats_queue {
	_Alignas(64) _Atomic uint32_t seq;
	uint16_t port, thread;
	uint64_t packets, cycles;
};

struct edp_stats_port {
	_Alignas(64) _Atomic uint32_t seq;
	char name[EDP_NAME_MAX + 1];
	uint64_t rx_packets, rx_bytes; /* written by the reading thread */
	/* an interface read through rings of our own (edp_afpacket), else 0:
	 * the frames the kernel dropped (a full ring), written by the reading
	 * thread a few times a second, and the rings' size (all its sockets') */
	uint64_t kernel_drops;
	uint64_t ring_bytes;
	uint32_t ring_frames;
	uint8_t live; /* 0, or how the interface is read (enum edp_pcap_socket) */
};

struct edp_stats_port_tx {
	_Alignas(64) _Atomic uint32_t seq;
	uint64_t tx_packets, tx_bytes; /* written by the writing thread */
};

struct edp_stats_event {
	uint64_t time_ns;   /* CLOCK_REALTIME */
	uint32_t moved;     /* queues moved */
	float spread_before, spread_after; /* measured before, predicted after */
	float spread_measured;             /* measured after (tlb verify-intervals), < 0 until then */
	float speedup, speedup_measured;   /* a saturated run's rate after over before: predicted (1: not
					    * saturated), measured (< 0 until then) */
	char what[96];
};

/* What the instance does (its control block's state). */
enum edp_stats_state {
	EDP_STATE_RUNNING,   /* takes packets */
	EDP_STATE_SUSPENDED, /* takes none (edp-run ctl suspend) */
	EDP_STATE_INCOMING,  /* waits for a migration to move an instance into it (edp-run --incoming) */
	EDP_STATE_MIGRATING, /* stunned: its state and inputs are being handed to another (edp-migrate) */
};

/* "running", "suspended", "incoming", "migrating" ("unknown" beyond). */
const char *edp_stats_state_name(uint32_t state);

/* Publish the state (from any thread: one atomic store; NULL w: nothing). */
struct edp_stats_writer;
void edp_stats_set_state(struct edp_stats_writer *w, uint32_t state);

/* The control socket's counters (edp_ctl.h), written by its thread. */
struct edp_stats_control {
	_Alignas(64) _Atomic uint32_t seq;
	uint64_t requests;      /* answered, ok or not */
	uint64_t refused_peer;  /* connections of another user */
	uint64_t refused_busy;  /* connections beyond the limit */
	uint64_t refused_long;  /* requests too long, or with a NUL byte */
	uint64_t timed_out;     /* connections that completed no request in time */
	uint64_t unread;        /* clients dropped for not reading their reply in time */
	uint32_t state;         /* enum edp_stats_state */
	uint64_t generation;    /* of the config in force: 1 at start, one more a reload */
	char config[128];       /* a one-line summary of it */
};

/* The head of the cleared block; the arrays of thread, queue, port and
 * port-tx blocks as they were follow it (the whole block under seq). */
struct edp_stats_cleared {
	_Alignas(64) _Atomic uint32_t seq;
	uint64_t clears;        /* times cleared */
	uint64_t at_ns;         /* CLOCK_REALTIME of the last */
};

struct edp_stats_header {
	uint64_t magic;
	uint32_t version, size;
	int32_t pid;
	uint32_t n_threads, n_queues, n_ports;
	uint32_t chunks;        /* 1: the workers take a capture's records chunk by chunk (no balancer) */
	uint64_t start_ns;      /* CLOCK_REALTIME at start */
	uint64_t cycles_per_s;  /* the unit of every *_cycles counter: 0 in the segment, where the
				 * reader works it out from start_cycles and start_mono_ns */
	uint64_t start_cycles;  /* edp_stats_cycles at start */
	uint64_t start_mono_ns; /* CLOCK_MONOTONIC at start */
	char name[EDP_NAME_MAX + 1];
	_Alignas(64) _Atomic uint32_t seq; /* guards what follows */
	uint32_t running;       /* 0 once the run has ended (draining) */
	uint64_t n_events;      /* events ever logged; the last 16 are kept */
	struct edp_stats_event events[EDP_STATS_EVENTS];
	struct edp_stats_control control; /* a block of its own (its own writer) */
};

/* Seqlock, writer side (one writer per block). */
static inline void edp_stats_write_begin(_Atomic uint32_t *seq)
{
	atomic_store_explicit(seq, atomic_load_explicit(seq, memory_order_relaxed) + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static inline void edp_stats_write_end(_Atomic uint32_t *seq)
{
	atomic_store_explicit(seq, atomic_load_explicit(seq, memory_order_relaxed) + 1, memory_order_release);
}

struct edp_stats_layout {
	uint32_t n_threads, n_queues, n_ports;
	bool chunks;
	const char *port_names[EDP_MAX_PORTS];
	const char *config;
};

struct edp_stats_writer;

/* Publish a segment for instance `name`. Fails (EDP_ERR_RUNTIME) when an
 * instance of that name is running; replaces a stale segment. */
struct edp_stats_writer *edp_stats_create(const char *name, const struct edp_stats_layout *layout,
					  struct edp_error *err);
/* Remove the segment. */
void edp_stats_destroy(struct edp_stats_writer *w);

struct edp_stats_header *edp_stats_header(struct edp_stats_writer *w);
struct edp_stats_thread *edp_stats_thread(struct edp_stats_writer *w, uint32_t i);
struct edp_stats_queue *edp_stats_queue(struct edp_stats_writer *w, uint32_t i);
struct edp_stats_port *edp_stats_port(struct edp_stats_writer *w, uint32_t i);
struct edp_stats_port_tx *edp_stats_port_tx(struct edp_stats_writer *w, uint32_t i);

/* Log a balancer move in the header's ring, not yet measured. Returns its
 * number, for edp_stats_event_measured. */
uint64_t edp_stats_event(struct edp_stats_writer *w, uint32_t moved, float before, float after, float speedup,
			 const char *what);
/* What move `number` measured after, if the ring still holds it. */
void edp_stats_event_measured(struct edp_stats_writer *w, uint64_t number, float spread, float speedup);
/* The control socket's block (its thread only). */
struct edp_stats_control *edp_stats_control(struct edp_stats_writer *w);

/* Counters to zero for every reader: the thread, queue and port blocks as
 * they are now become the cleared block (one writer: the control thread).
 * The writers' own counts go on; the balancer's events and the control
 * socket's counters are not cleared. */
void edp_stats_clear(struct edp_stats_writer *w);

/* A consistent copy of a whole segment. */
struct edp_stats_snapshot {
	struct edp_stats_header header;
	uint64_t clears, cleared_at_ns;   /* the cleared block's (the counters below are since then) */
	struct edp_stats_thread *threads;
	struct edp_stats_queue *queues;
	struct edp_stats_port *ports;
	struct edp_stats_port_tx *ports_tx;
};

/* Read instance `name` once. Errors (EDP_ERR_RUNTIME): no such instance, a
 * stale segment (its instance died), a foreign or corrupt file, one that
 * stays mid-update (one bounded wait for the whole segment) or shrinks
 * while read. The header is read once and only that copy sizes the rest;
 * texts are made printable. Free with edp_stats_snapshot_free. */
int edp_stats_read(const char *name, struct edp_stats_snapshot *snap, struct edp_error *err);
/* How long a read waits, in all, for blocks that stay mid-update before it
 * gives up (default 1 s). */
void edp_stats_read_wait(uint64_t ns);
void edp_stats_snapshot_free(struct edp_stats_snapshot *snap);

/* The names of the running instances (stale segments left out), sorted;
 * at most max. Returns how many, or -1 with err set. */
int edp_stats_list(char (*names)[EDP_NAME_MAX + 1], int max, struct edp_error *err);

/* The instance a command means when it names none: the only one running.
 * As edp_stats_list (names[0] is that one when there is one), and when it
 * does not return 1, err says why: "no edp-run instance is running", or
 * (EDP_ERR_USAGE) which ones run, to be named. */
int edp_stats_only(char (*names)[EDP_NAME_MAX + 1], int max, struct edp_error *err);

/* The cycle counter the stats count in (TSC where there is one); inline,
 * as the datapath threads read it a few times a batch. */
static inline uint64_t edp_stats_cycles(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
#endif
}

#endif
