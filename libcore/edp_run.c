#include "edp_run.h"

#include <stdio.h>
#include <time.h>

#include "edp_clock.h"
#include "edp_datapath_impl.h"
#include "edp_publish.h"
#include "edp_worker.h"

/* The batch loop on the calling thread, lane 0: take a burst, process it,
 * write it, until the inputs end. */
static int run_inline(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	int rc = edp_inputs_prime(&dp->in, stop, err);
	struct edp_mbuf *batch[EDP_BATCH];
	struct edp_lane *lane = &dp->lanes[0];
	for (;;) {
		uint32_t n;
		int got = edp_inputs_pick_burst(&dp->in, stop, batch, NULL, NULL, EDP_BATCH, &n, &rc, err);
		if (n == 0 && got == EDP_PICK_IDLE) { /* live inputs, nothing now */
			uint64_t c0 = edp_stats_cycles();
			if (edp_output_flush(&dp->out, rc ? NULL : err))
				return rc ? rc : EDP_ERR_RUNTIME;
			edp_inputs_wait(&dp->in, EDP_LIVE_WAIT_NS);
			lane->idle_cycles += edp_stats_cycles() - c0;
			edp_publish_lane(dp, lane, false);
			continue;
		}
		if (n == 0)
			break;
		uint64_t c0 = edp_stats_cycles();
		edp_lane_process(lane, batch, n);
		int wrc = edp_output_emit_mbufs(&dp->out, batch, n, rc ? NULL : err);
		uint64_t cycles = edp_stats_cycles() - c0;
		lane->busy_cycles += cycles;
		if (dp->stats) { /* one queue per input port: share the cycles by packets */
			uint32_t per_input[EDP_MAX_PORTS] = { 0 };
			for (uint32_t i = 0; i < n; i++)
				per_input[dp->in.by_port[batch[i]->in_port]]++;
			for (uint32_t i = 0; i < dp->in.n; i++)
				if (per_input[i])
					edp_publish_queue(dp, i, 0, per_input[i], cycles * per_input[i] / n);
			edp_publish_lane(dp, lane, false);
			edp_publish_rx(dp);
		}
		edp_mbuf_free_bulk(batch, n);
		if (wrc)
			return wrc;
	}
	edp_publish_lane(dp, lane, true);
	return rc;
}

/* Threads, or the inline loop: one worker with one queue an input has a
 * queue that is its input, and rings would only carry packets from the
 * thread to itself, so it runs the inline loop (on its CPU, its flow cache
 * on its node): -t 1 then costs what -t 0 does. Inputs merged in input
 * order for a learning switch go the same way: one queue of each, taken a
 * batch at a time, would not keep that order. */
static int run_mode(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	if (!cfg->threads)
		return run_inline(dp, stop, err);
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
		return run_inline(dp, stop, err);
	}
	return edp_worker_run(dp, stop, err);
}

int edp_run(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	dp->run_start_ns = edp_clock_ns(CLOCK_MONOTONIC);
	int rc = run_mode(dp, stop, err);
	dp->seconds += (double)(edp_clock_ns(CLOCK_MONOTONIC) - dp->run_start_ns) / 1e9;
	return rc;
}
