/* edp_reload: a new config for a running datapath, without a packet lost.
 *
 * What can change live is the pipeline: the firewall, the routes, the
 * switch's ageing time and the ports' MACs. A reload builds the next
 * generation of the pipeline (edp_pipeline.h) from the new config, makes it
 * the datapath's current one and frees the one it replaced once no lane can
 * be using it: each lane takes the current generation at the start of a
 * batch (edp_lane.h), so every packet is classified wholly by the old config
 * or wholly by the new one, and a lane flushes its flow cache when it takes
 * a new generation, so no verdict of the old config is used again. The
 * learning switch is handed over with the MACs it learned; every counter
 * keeps counting.
 *
 * What cannot change live is refused, naming the first difference, and the
 * running config stays: the ports (their names, rx, tx, devices, NUMA nodes,
 * queue pinning), the datapath section (threads, queues, order, CPUs, loop),
 * the flow cache's size, the balancer's settings, and having a switch or its
 * table's size.
 *
 * Thread-safety: one reload at a time (the control thread's), while the
 * datapath runs; it waits for the lanes' batches in flight (microseconds),
 * never for input.
 */
#ifndef EDP_RELOAD_H
#define EDP_RELOAD_H

#include <stdint.h>

#include "edp_config.h"
#include "edp_datapath.h"
#include "edp_error.h"

/* The config in force: its file (NULL: the built-in one), the FNV-1a hash
 * of the file, its generation (1 for the one the run started with). */
struct edp_config_id {
	const char *path;
	uint64_t hash;
	uint64_t generation;
};

/* Make cfg the running config (its generation and summary the stats
 * segment's):
 * 0, or EDP_ERR_RUNTIME with the reason when it asks for a change that
 * cannot apply live, or the pipeline's error (EDP_ERR_USAGE for a rule it
 * cannot take). cfg is not kept. */
int edp_datapath_reload(struct edp_datapath *dp, const struct edp_config *cfg, struct edp_error *err);

void edp_datapath_config_id(struct edp_datapath *dp, struct edp_config_id *out);

#endif
