/* edp_lane: the fast path of one processing thread. A lane owns its flow
 * cache and its counters; it parses a batch, looks each packet's flow up,
 * runs the slow path (the pipeline: firewall, router, switch) on a miss and
 * caches its verdict, and executes the actions. It reads no input and
 * writes no output: the inline loop and the workers (edp_run.c,
 * edp_worker.c) hand it batches and write what it decided.
 *
 * The pipeline is the datapath's current generation (`current`): a lane
 * takes it at the start of each batch, and when it is a new one flushes its
 * flow cache first, so a batch is classified wholly by one generation and no
 * verdict of an older one is used again. `batch_seq` is odd while a batch
 * runs: a reload waits until every lane is between batches or past the one
 * it saw before it frees the generation it replaced (edp_reload.h).
 *
 * Thread-safety: a lane is used by one thread at a time; its counters are
 * read by others only once the run has ended (live readers get them through
 * edp_publish). The pipeline is shared: its learning switch is the only part
 * that changes (see edp_switch.h).
 */
#ifndef EDP_LANE_H
#define EDP_LANE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "edp_action.h"
#include "edp_flowcache.h"
#include "edp_mbuf.h"
#include "edp_pipeline.h"
#include "edp_topo.h"

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
	struct edp_pipeline *_Atomic pl;  /* the generation its flow cache holds verdicts of */
	struct edp_pipeline *_Atomic *current; /* the datapath's current generation */
	_Atomic uint32_t batch_seq;       /* odd during a batch */
};

/* Parse, look up, classify on a miss, execute: n <= EDP_BATCH packets (a
 * batch: its counters count one), under the current pipeline. Sets each mbuf's out_ports or
 * drop_reason. The caller has asked for the packets' lines when they may
 * be cold (another core wrote them: the worker does so before its turn at
 * writing). */
void edp_lane_process(struct edp_lane *lane, struct edp_mbuf **mbufs, uint32_t n);

/* Run the calling thread on `cpu` with the lane's flow cache on `node`;
 * `warm`: fault its buckets in now (a lane that gets its first queue later
 * touches them as it goes). */
void edp_lane_place(struct edp_lane *lane, const struct edp_topo *topo, int32_t cpu, int32_t node, bool warm);

#endif
