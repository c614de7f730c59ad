/* edp_datapath_impl: the datapath's parts, for the layers that run it (the
 * inline loop in edp_run.c, the threads in edp_worker.c) and its own files
 * (set-up in edp_datapath.c, publishing in edp_publish.c). Not a public
 * header: binaries use edp_datapath.h.
 *
 * The parts are engines of their own, which the run layers call and which
 * call nothing above them: edp_input (read and merge), edp_lane (the fast
 * path of one thread), edp_output (write and account), edp_publish (the
 * live counters).
 */
#ifndef EDP_DATAPATH_IMPL_H
#define EDP_DATAPATH_IMPL_H

#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "edp_datapath.h"
#include "edp_doorbell.h"
#include "edp_input.h"
#include "edp_lane.h"
#include "edp_output.h"
#include "edp_pipeline.h"
#include "edp_stats.h"
#include "edp_topo.h"

/* Packets in flight in threaded mode, beyond what the inputs hold (the
 * pools' sizes, which edp_worker sizes its rings by). */
#define EDP_WORKER_IN_FLIGHT 2048
#define EDP_WORKER_LARGE_IN_FLIGHT 64

struct edp_datapath {
	const struct edp_config *cfg;
	struct edp_inputs in;             /* written by the reading thread */
	/* the inputs take nothing (edp_datapath_suspend, a checkpoint's
	 * pause): set by the control thread, read by every reading one, a line
	 * of its own */
	_Alignas(64) _Atomic int suspended;
	struct edp_output out;            /* written by the writer role */
	struct edp_pools pools[EDP_MAX_PORTS]; /* one per NUMA node of an input port */
	uint32_t n_pools;
	struct edp_pipeline *_Atomic pipeline; /* the current generation (edp_reload.h) */
	uint64_t tx_ports;                /* ports that have an output */
	char *config_path;                /* the current generation's file (edp_reload) */
	uint64_t config_hash;
	struct edp_lane *lanes;
	uint32_t n_lanes;
	bool in_input_order;              /* ordered with a learning switch: processed in input order */
	struct edp_topo topo;             /* threaded mode: where threads run */
	int32_t worker_cpu[EDP_MAX_THREADS], worker_node[EDP_MAX_THREADS];
	int32_t *queue_node;              /* per queue: NUMA node of its port */
	int32_t *queue_pin;               /* per queue: pinned worker, or -1; under moves_lock */
	/* the queues' owners change by the balancer's plans and by pins
	 * (edp_datapath_pin), one at a time: moves_lock, never taken by a
	 * datapath thread; worker_run is edp_worker's run while it has one */
	pthread_mutex_t moves_lock;
	void *worker_run;
	/* fanout (edp_fanout): worker k >= 1 reads its own inputs, fan[k],
	 * from buffers of its own; worker 0 reads `in`; one writes at a time */
	bool fanout;
	bool fan_grouped;                 /* the sockets are in their groups */
	struct edp_doorbell fan_bell;     /* the fanout run's caller waits on it */
	uint64_t live_published_at;       /* cycles: when the interfaces' drops were last published */
	struct edp_inputs *fan[EDP_MAX_THREADS];
	struct edp_pools worker_pools[EDP_MAX_THREADS]; /* of workers 1.. in a fanout or chunk run */
	bool chunks;                      /* threads on a capture file take chunks of it (edp_chunk) */
	const char *chunk_unfit;          /* threads on inputs that are not all interfaces: why not chunks */
	pthread_mutex_t out_lock;
	struct edp_stats_writer *stats;   /* NULL when not published */
	uint64_t suspends, suspended_ns, suspended_at; /* the control thread's; read at the end */
	uint64_t stats_clears, cleared_at;             /* the same */
	/* the balancer (edp_worker) and a rebalance asked for now: the asker
	 * counts `asked` up and rings the bell; the balancer plans at once and
	 * answers, then counts `answered` up to it */
	struct edp_doorbell balancer_bell;
	_Atomic int balancer_on;          /* its thread runs */
	_Atomic uint32_t rebalance_asked, rebalance_answered;
	struct edp_rebalance_answer rebalance_answer;
	void (*log)(void *ctx, const char *line);
	void *log_ctx;
	bool noted;                       /* the inputs' notes (edp_pcap_reader_note) were logged */
	bool noted_mode;                  /* ... and the threaded mode (edp_run) */
	const char *mode;                 /* the run's (edp_datapath_stats.mode) */
	char fan_note[300];               /* xdp: inputs read through AF_PACKET fanout: why ("": none) */
	uint64_t rebalances, queues_moved;
	uint64_t run_start_ns;            /* CLOCK_MONOTONIC */
	uint32_t n_events;
	struct edp_rebalance events[EDP_SUMMARY_EVENTS];
	double seconds;
};

/* Block the signals that stop a run (SIGINT, SIGTERM, --duration's
 * SIGALRM) in the calling thread for the threads it starts next, so that
 * they reach the calling thread only, whose wait they end; restore *old
 * (pthread_sigmask(SIG_SETMASK, old, NULL)) once they are started. */
static inline void edp_datapath_block_stop_signals(sigset_t *old)
{
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &block, old);
}

/* Start worker k's thread, fn(arg), named as top -H and ps -L show it
 * ("edp-workerK"). Returns pthread_create's result. */
static inline int edp_datapath_start_worker(pthread_t *tid, void *(*fn)(void *), void *arg, uint32_t k)
{
	int rc = pthread_create(tid, NULL, fn, arg);
	if (rc == 0) {
		char name[16];
		snprintf(name, sizeof(name), "edp-worker%u", k % 100);
		pthread_setname_np(*tid, name);
	}
	return rc;
}

/* What port p read (rx), over every worker's inputs. */
static inline void edp_datapath_rx(const struct edp_datapath *dp, uint16_t p, uint64_t *packets, uint64_t *bytes)
{
	*packets = __atomic_load_n(&dp->in.rx[p].packets, __ATOMIC_RELAXED);
	*bytes = __atomic_load_n(&dp->in.rx[p].bytes, __ATOMIC_RELAXED);
	for (uint32_t k = 1; dp->fanout && k < dp->n_lanes; k++)
		if (dp->fan[k]) {
			*packets += __atomic_load_n(&dp->fan[k]->rx[p].packets, __ATOMIC_RELAXED);
			*bytes += __atomic_load_n(&dp->fan[k]->rx[p].bytes, __ATOMIC_RELAXED);
		}
}

/* Input `input`, an interface: the frames the kernel dropped for it and
 * the size of its rings, over every socket a fanout run has on it. */
static inline void edp_datapath_live_port(const struct edp_datapath *dp, uint32_t input, uint64_t *drops,
					  uint32_t *frames, uint64_t *bytes)
{
	*drops = *bytes = *frames = 0;
	for (uint32_t k = 0; k < (dp->fanout ? dp->n_lanes : 1); k++) { /* a fanout run: each worker's socket */
		const struct edp_inputs *set = k ? dp->fan[k] : &dp->in;
		const struct edp_pcap_reader *r = set ? set->of[input].reader : NULL;
		uint32_t f;
		uint64_t b;
		if (!r)
			continue;
		*drops += edp_pcap_reader_kernel_drops(r);
		if (edp_pcap_reader_ring(r, NULL, &f, &b))
			*frames += f, *bytes += b;
	}
}

/* The run's stop was set by another thread than a signal reaches (a
 * stun), or a suspension lifted: the threads that wait for inputs
 * (suspended ones on the flag, a fanout run's caller) look now. */
void edp_datapath_wake_inputs(struct edp_datapath *dp);

/* The one-line summary of a config the stats segment shows. */
void edp_datapath_summary(const struct edp_datapath *dp, const struct edp_config *cfg, char *buf, size_t size);

#endif
