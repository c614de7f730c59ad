/* edp_worker_impl: the threaded run's shared state, for its two files:
 * edp_worker.c (the workers: read, process, write) and edp_balancer.c (the
 * Thread Load Balancer and the pins, which decide who owns each queue).
 * Not a public header. */
#ifndef EDP_WORKER_IMPL_H
#define EDP_WORKER_IMPL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "edp_datapath_impl.h"
#include "edp_doorbell.h"
#include "edp_ring.h"

#define RX_RING_SLOTS 512 /* deep enough to ride out a descheduled worker, shallow enough to stay in cache */

/* A queue is consumed only by the worker its `owner` names. Only that
 * worker changes it: when the balancer asks (move_to), the owner hands the
 * queue over between two batches, after pushing all it took from it, so no
 * packet is lost or reordered. */
struct queue {
	struct edp_ring *rx;  /* reader -> owning worker */
	struct edp_ring *out; /* owning worker -> writer; holds all in flight */
	struct edp_rx_meta *meta; /* beside rx: a slot's packet (its descriptor is the worker's to set up) */
	struct edp_pcap_record *out_rec; /* beside out: what the writer needs of a slot's packet, */
	uint64_t *out_ports;             /* so that its descriptor stays on the worker */
	uint16_t port;            /* its input port (kept here: the reader writes the input's lines) */
	_Atomic int32_t owner;
	_Atomic int32_t move_to;   /* -1, or the thread to hand over to */
	_Alignas(64) _Atomic uint64_t cycles; /* spent on it so far (by its owners); own line, */
	_Atomic uint64_t packets;            /* and the packets it took */
};

struct run;

struct worker {
	struct edp_doorbell bell; /* rung when it has packets, a queue, mbufs or the end */
	pthread_t tid;
	struct run *run;
	struct edp_lane *lane;
	uint32_t index;
	atomic_int done;
	uint32_t *mine;           /* the queues it owns now */
	uint32_t owned;           /* how many */
	struct edp_mbuf **taken;  /* the batch taken from mine[i]: taken + i * EDP_BATCH, */
	uint32_t *taken_n;        /* taken_n[i] packets, processed later in the same turn */
	_Atomic uint32_t backlog; /* most packets left on one of them after a batch */
	_Alignas(64) _Atomic uint64_t io_cycles; /* reading and writing: load that moves with no queue */
};

struct run {
	struct edp_datapath *dp;
	struct queue *q;
	uint32_t n_queues;
	struct worker *w;
	uint32_t n_workers;
	bool ordered;
	uint64_t spin_ns;       /* how long an idle thread polls before it sleeps */
	uint32_t in_flight;     /* mbufs of the pools: all free before and after */
	struct edp_ring *order; /* reader -> writer: queue of each packet, in input order */
	struct edp_ring *free;  /* writer -> reader: written mbufs; room for all of them */
	/* the reader (worker 0, the calling thread) */
	const volatile sig_atomic_t *stop;
	int read_rc;
	struct edp_error *read_err;
	uint32_t *staged; /* the reader's: packets staged on each queue in this batch (0 between batches) */
	pthread_t balancer;
	/* flags that change a few times a run (live_idle only when it
	 * flips), read by all on every turn: a line of their own */
	_Alignas(64) atomic_int input_done; /* the reader has queued its last packet */
	atomic_int live_idle;   /* the reader found only live inputs, all empty */
	atomic_int abort;       /* a write failed: stop reading */
	atomic_int finished;    /* every worker is done: the balancer ends */
	/* the writer role: whichever worker set `writing` writes. The others
	 * look before they try to take it (test and test-and-set): a failed
	 * attempt would still pull the line from the writer's core. Its lines
	 * move with the role, so nothing the reader reads per packet is there. */
	_Alignas(64) atomic_bool writing;
	int write_rc;
	bool unflushed;         /* written since the outputs were last flushed */
	void *ids[EDP_BATCH];   /* ordered: order entries taken, not all written yet */
	uint32_t ids_n, ids_pos;
	struct edp_error write_err;
};

/* The balancer's thread (edp_balancer.c): started with the workers when
 * tlb.enabled and there are two or more; ends when run->finished. */
void *edp_balancer_main(void *arg);

#endif
