/* edp_datapath: a datapath put together from its parts, for a run.
 *
 *   inputs (edp_input: read, merge by timestamp) -> batch of mbufs
 *   -> lane (edp_lane: parse, flow cache lookup; on a miss the pipeline,
 *      firewall -> router -> switch, and an insert) -> execute
 *   -> outputs (edp_output: write, in input order, and account)
 *   live counters -> stats segment (edp_publish)
 *
 * This file's engine sets them up from a config (every input and output
 * opened, pools on the inputs' NUMA nodes, one lane a thread), sums their
 * counters when the run has ended, and tears them down. edp_run (edp_run.h)
 * runs it: the inline batch loop, or threads (edp_worker.h); both call
 * down into the parts, which call nothing above them.
 *
 * Several inputs are merged by timestamp (ties go to the lower port), so the
 * output is deterministic. Conservation is an invariant: every packet read is
 * counted as forwarded or dropped under exactly one named reason.
 */
#ifndef EDP_DATAPATH_H
#define EDP_DATAPATH_H

#include <signal.h>
#include <stdint.h>

#include "edp_action.h"
#include "edp_config.h"
#include "edp_error.h"
#include "edp_flowcache.h"
#include "edp_mbuf.h"
#include "edp_stats.h"

#define EDP_SUMMARY_EVENTS 8

struct edp_port_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes; /* tx: copies written whole */
	uint64_t tx_errors; /* copies to the port's output that were not written (a failed output) */
	uint64_t drops; /* packets received on the port and dropped */
	uint64_t queued; /* a vport: packets left in its ring for the next run */
	uint64_t kernel_drops; /* a live interface: frames dropped before they were read */
	uint32_t ring_frames;  /* ... read through rings of our own: their frames and bytes (0: libpcap's) */
	uint64_t ring_bytes;
	uint64_t filtered; /* packets the filter expression rejected: never read in (not in rx) */
	uint64_t framed;   /* packets given an Ethernet header (link is another link type) */
};

struct edp_datapath_stats {
	uint64_t packets_in, bytes_in, packets_forwarded, packets_dropped;
	uint64_t packets_filtered;         /* rejected by the filter expression, before packets_in */
	const char *filter;                /* that expression, NULL: none */
	uint64_t drops[EDP_DROP_REASONS];
	uint64_t slow_path_runs;
	uint64_t rebalances, queues_moved; /* by the Thread Load Balancer */
	uint64_t suspends;                 /* times it was suspended (edp_datapath_suspend) */
	double suspended_s;                /* seconds it spent suspended */
	uint64_t stats_clears;             /* times the live counters were cleared (edp_datapath_clear_stats) */
	double stats_cleared_s;            /* seconds into the run of the last */
	uint32_t n_events;                 /* the first EDP_SUMMARY_EVENTS rebalances */
	struct edp_rebalance {
		double at_s;               /* seconds into the run */
		uint32_t moved;
		double spread_before, spread_after; /* measured before, predicted after */
		double spread_measured;    /* measured over the intervals after it (tlb verify-intervals), -1: not yet */
		double speedup, speedup_measured; /* a saturated run's rate after / before: predicted (1: not
						   * saturated), measured (-1: not yet) */
		char what[160];            /* which queues moved where */
	} events[8];
	struct edp_flowcache_stats flow_cache;
	double seconds;
	uint32_t threads;
	const char *mode;                  /* how the threads shared the work: "inline" (one thread), "chunks",
					    * "flows" (a reader and workers), "fanout"; NULL before a run */
	uint32_t n_ports;
	struct {
		const char *name;
		bool vport;       /* rx is a vport */
		uint8_t live;     /* ... a live interface: how it is read (enum edp_pcap_socket), 0: not one */
		const char *rx;   /* what the port reads (its config's rx), NULL: nothing */
		const char *link; /* rx's link type when it is not Ethernet (its packets are framed), else NULL */
		struct edp_port_stats s;
	} ports[EDP_MAX_PORTS];
};

struct edp_datapath;

/* What a rebalance asked for now decided (edp_datapath_rebalance). */
struct edp_rebalance_answer {
	bool applied;                /* queues were handed over */
	uint32_t moved;
	double spread_before, spread_after; /* busiest minus least busy thread, now and as planned */
	char what[512];              /* which queues moved where */
	char reason[200];            /* why it moved them, or did not */
};

/* Open every input and output of cfg and build the engines. cfg must outlive
 * the datapath. Errors: EDP_ERR_USAGE for a contradictory setup (a file both
 * read and written, stdin read twice), EDP_ERR_RUNTIME for I/O. */
struct edp_datapath *edp_datapath_create(const struct edp_config *cfg, struct edp_error *err);

/* The same, opening nothing (edp_migrate.h: a migration's destination):
 * the inputs and outputs are those of plan's IO section (cfg's ports' rx
 * and tx must be its names), handed over by the source before the run
 * (edp_datapath_adopt). */
struct edp_checkpoint;
struct edp_datapath *edp_datapath_create_planned(const struct edp_config *cfg, const struct edp_checkpoint *plan,
						 struct edp_error *err);

/* The fast path alone: classify and execute n packets whose data, lengths,
 * timestamp and in_port are set. Sets each mbuf's out_ports or drop_reason
 * and updates the counters; writes nothing. */
void edp_datapath_process(struct edp_datapath *dp, struct edp_mbuf **mbufs, uint32_t n);

/* Publish live counters as instance `name` (edp_stats.h) from now until
 * destroy. Call before run. Errors: the name is taken, the run directory is
 * unusable. */
int edp_datapath_publish(struct edp_datapath *dp, const char *name, struct edp_error *err);

/* Suspend (on) or resume (!on) taking packets from the inputs: what was
 * read is processed and written, and the outputs flushed; vports and live
 * interfaces queue meanwhile (a vport's producer waits when its ring is
 * full), a stop still ends the run. Returns whether it was suspended
 * before. Thread-safe against the run; one caller at a time. */
bool edp_datapath_suspend(struct edp_datapath *dp, bool on);
bool edp_datapath_suspended(const struct edp_datapath *dp);

/* How far a run is through its capture files: *done bytes read of *total
 * (their sizes). *total is 0 when that is not known: an input that is no
 * regular file (a pipe, an interface, a vport) or --loop. Reads each
 * file's offset (what stdio has read ahead of the packets counts as read):
 * callable from another thread while the run goes, not after the datapath
 * is destroyed. */
void edp_datapath_input_progress(const struct edp_datapath *dp, uint64_t *done, uint64_t *total);

/* Zero the live counters (edp_stats_clear): what edp-top and --stats show
 * counts from now. The datapath's own counts, and so its summary, go on
 * over the whole run; the summary says how often and when they were
 * cleared. Returns the times cleared so far. The control thread's. */
uint64_t edp_datapath_clear_stats(struct edp_datapath *dp);

/* Run the Thread Load Balancer now, on the load since its last plan, and
 * say what it decided (applied only when it is worth it, as on its own
 * interval). Waits at most timeout_ms. Errors: the run has no balancer (one
 * thread, tlb.enabled false, or no run going), no answer in time. */
int edp_datapath_rebalance(struct edp_datapath *dp, int timeout_ms, struct edp_rebalance_answer *out,
			   struct edp_error *err);

/* What a pin or an unpin did (edp_datapath_pin). */
struct edp_pin_answer {
	uint32_t queue;              /* the datapath's queue number (as --stats numbers them) */
	int32_t thread;              /* the worker it is pinned to (and runs on, or will), or -1 */
	int32_t cpu;                 /* that worker's CPU, or -1 */
	bool moved;                  /* it was on another worker: handed over between two batches */
};

/* Pin receive queue `queue` (0-based) of port `port` to the worker thread
 * that runs on `cpu`, as the config's rx-queue-cpus does: it moves there
 * (its owner hands it over between two batches, nothing lost or
 * reordered) and the balancer leaves it there. cpu -1 unpins it: the
 * balancer may move it again. Errors (EDP_ERR_USAGE): a port with no
 * input, a queue it does not have, a CPU no worker runs on; (RUNTIME) a
 * run with no worker threads. The control thread's. */
int edp_datapath_pin(struct edp_datapath *dp, uint32_t port, uint32_t queue, int32_t cpu,
		     struct edp_pin_answer *out, struct edp_error *err);

/* The stats segment it publishes to (NULL before edp_datapath_publish), for
 * others that publish beside it (the control socket). */
struct edp_stats_writer *edp_datapath_stats_writer(struct edp_datapath *dp);

/* Have `log(ctx, line)` called with one line for each notable event of the
 * run (a rebalance), from the thread that caused it. */
void edp_datapath_set_log(struct edp_datapath *dp, void (*log)(void *ctx, const char *line), void *ctx);

/* CLOCK_MONOTONIC when the run took its first packet (0: none yet). */
uint64_t edp_datapath_first_packet_ns(const struct edp_datapath *dp);

/* False when threads run where libnuma reports no NUMA support (so memory
 * is not placed per node). */
bool edp_datapath_numa(const struct edp_datapath *dp);

/* Flush and close every output. Returns 0 or EDP_ERR_RUNTIME. */
int edp_datapath_close_outputs(struct edp_datapath *dp, struct edp_error *err);

/* The run's counters. Packets an output failed to write are taken from
 * forwarded and dropped as output-error once the outputs are closed. */
void edp_datapath_stats(const struct edp_datapath *dp, struct edp_datapath_stats *out);

void edp_datapath_destroy(struct edp_datapath *dp);

#endif
