#include "edp_loop.h"

#include "edp_datapath_impl.h"
#include "edp_publish.h"

static inline void lock(pthread_mutex_t *m)
{
	if (m)
		pthread_mutex_lock(m);
}

static inline void unlock(pthread_mutex_t *m)
{
	if (m)
		pthread_mutex_unlock(m);
}

int edp_loop_run(struct edp_datapath *dp, struct edp_inputs *set, struct edp_lane *lane, pthread_mutex_t *out_lock,
		 const volatile sig_atomic_t *stop, struct edp_error *err)
{
	int rc = edp_inputs_prime(set, stop, err);
	struct edp_mbuf *batch[EDP_BATCH];
	/* input i's queue on this lane: one queue an input, or (fanout) one
	 * an input and worker */
	uint32_t queue_of = lane->index % set->queues_per_port;
	for (;;) {
		uint32_t n;
		int got = edp_inputs_pick_burst(set, stop, batch, NULL, NULL, EDP_BATCH, &n, &rc, err);
		if (n == 0 && got == EDP_PICK_IDLE) { /* live inputs, nothing now */
			uint64_t c0 = edp_stats_cycles();
			lock(out_lock);
			int frc = edp_output_flush(&dp->out, rc ? NULL : err);
			edp_publish_rx(dp); /* the interfaces' drops, now that a burst is over */
			unlock(out_lock);
			if (frc)
				return rc ? rc : EDP_ERR_RUNTIME;
			/* told before the wait, which may be long (its idle time at
			 * the next burst's, or the next wait's) */
			edp_publish_lane(dp, lane, true);
			edp_inputs_wait(set, stop, EDP_LIVE_WAIT_NS);
			lane->idle_cycles += edp_stats_cycles() - c0;
			continue;
		}
		if (n == 0)
			break;
		uint64_t c0 = edp_stats_cycles();
		edp_lane_process(lane, batch, n);
		lock(out_lock);
		int wrc = edp_output_emit_mbufs(&dp->out, batch, n, rc ? NULL : err);
		uint64_t cycles = edp_stats_cycles() - c0;
		lane->busy_cycles += cycles;
		if (dp->stats) { /* one queue per input port: share the cycles by packets */
			uint32_t per_input[EDP_MAX_PORTS] = { 0 };
			if (set->n == 1) /* all of them (bumped a packet at a time, it waits on its own store) */
				per_input[0] = n;
			else
				for (uint32_t i = 0; i < n; i++)
					per_input[set->by_port[batch[i]->in_port]]++;
			for (uint32_t i = 0; i < set->n; i++)
				if (per_input[i])
					edp_publish_queue(dp, i * set->queues_per_port + queue_of, lane->index, per_input[i],
							  cycles * per_input[i] / n);
			edp_publish_lane(dp, lane, false);
			edp_publish_rx(dp);
		}
		unlock(out_lock);
		edp_mbuf_free_bulk(batch, n);
		if (wrc)
			return wrc;
	}
	edp_publish_lane(dp, lane, true);
	return rc;
}
