#include "edp_run.h"

#include <stdio.h>
#include <time.h>

#include "edp_chunk.h"
#include "edp_clock.h"
#include "edp_datapath_impl.h"
#include "edp_fanout.h"
#include "edp_loop.h"
#include "edp_worker.h"

/* Threads, or the inline loop: one worker with one queue an input has a
 * queue that is its input, and rings would only carry packets from the
 * thread to itself, so it runs the inline loop (on its CPU, its flow cache
 * on its node): -t 1 then costs what -t 0 does. Inputs merged in input
 * order for a learning switch go the same way: one queue of each, taken a
 * batch at a time, would not keep that order. */
static int run_mode(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	dp->mode = "inline";
	if (!cfg->threads)
		return edp_loop_run(dp, &dp->in, &dp->lanes[0], NULL, stop, err);
	bool merged = dp->in_input_order && dp->in.n > 1;
	if (dp->in_input_order && dp->log && (cfg->threads > 1 || cfg->rx_queues > 1)) {
		char line[200];
		snprintf(line, sizeof(line), "ordered with a learning switch: %s, in input order (a verdict depends on what "
			 "the packets before it taught the switch)",
			 merged ? "the inputs' packets are processed on one thread" : "one receive queue an input");
		dp->log(dp->log_ctx, line);
	}
	if ((cfg->threads == 1 && dp->in.queues_per_port == 1) || merged) {
		edp_lane_place(&dp->lanes[0], &dp->topo, dp->worker_cpu[0], dp->worker_node[0], true);
		dp->lanes[0].n_queues = dp->in.n;
		return edp_loop_run(dp, &dp->in, &dp->lanes[0], NULL, stop, err);
	}
	dp->mode = dp->fanout ? "fanout" : dp->chunks ? "chunks" : "flows";
	if (dp->fanout)
		return edp_fanout_run(dp, stop, err);
	if (dp->log && !dp->noted_mode) { /* once, not again after a stun */
		char line[300];
		if (dp->chunks)
			snprintf(line, sizeof(line), "chunks: %u workers, each takes a run of the capture's records through "
				 "the pipeline; written in input order", cfg->threads);
		else
			snprintf(line, sizeof(line), "reader and workers: thread 0 reads and spreads the packets over %u "
				 "workers by flow; not chunks: %s", cfg->threads,
				 dp->chunk_unfit ? dp->chunk_unfit : "one worker");
		dp->log(dp->log_ctx, line);
	}
	dp->noted_mode = true;
	return dp->chunks ? edp_chunk_run(dp, stop, err) : edp_worker_run(dp, stop, err);
}

int edp_run(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	for (uint32_t i = 0; i < dp->in.n && dp->log && !dp->noted; i++) /* once, not again after a stun */
		if (dp->in.of[i].reader && edp_pcap_reader_note(dp->in.of[i].reader))
			dp->log(dp->log_ctx, edp_pcap_reader_note(dp->in.of[i].reader));
	if (dp->log && !dp->noted && dp->fan_note[0])
		dp->log(dp->log_ctx, dp->fan_note);
	dp->noted = true;
	dp->run_start_ns = edp_clock_ns(CLOCK_MONOTONIC);
	int rc = run_mode(dp, stop, err);
	dp->seconds += (double)(edp_clock_ns(CLOCK_MONOTONIC) - dp->run_start_ns) / 1e9;
	return rc;
}
