/* edp_publish: a running datapath's live counters, written to its stats
 * segment (edp_stats.h) for edp-top and `edp-run --stats` to read. Each
 * block has one writer: a lane's thread block its own thread, a queue's
 * block the thread that owns the queue, the ports' rx blocks the reading
 * thread (the tx blocks are the output's, edp_output_publish). Every call
 * does nothing when the datapath is not published.
 */
#ifndef EDP_PUBLISH_H
#define EDP_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include "edp_datapath_impl.h"

/* Publish a lane's counters to its thread block (its own thread only): at
 * most every EDP_PUBLISH_CYCLES (readers sample a few times a second, a
 * lane may finish a batch every microsecond), always when `now`. */
#define EDP_PUBLISH_CYCLES (1u << 20)
void edp_publish_lane(struct edp_datapath *dp, struct edp_lane *lane, bool now);

/* Add to a queue's block (the queue's owning thread only). */
void edp_publish_queue(struct edp_datapath *dp, uint32_t queue, uint32_t thread, uint64_t packets,
		       uint64_t cycles);

/* Publish the per-port receive counters (the reading thread only). */
void edp_publish_rx(struct edp_datapath *dp);

#endif
