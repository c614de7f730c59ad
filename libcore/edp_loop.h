/* edp_loop: the batch loop of one thread that reads its own inputs: the
 * inline run (lane 0 on the datapath's inputs) and each fanout worker
 * (its lane on its own sockets). It takes a burst, processes it on the
 * lane, writes it, and frees its buffers, until the inputs end; when they
 * are idle it flushes the outputs and waits for them (poll).
 *
 * Owns nothing: the inputs, the lane and the outputs are the datapath's.
 * With an out_lock the outputs, and the ports' counters in the stats
 * segment, are written under it, so that several loops can share them.
 * Every packet taken is processed and handed to the outputs (or counted
 * as dropped by the lane): none stays behind when it returns.
 */
#ifndef EDP_LOOP_H
#define EDP_LOOP_H

#include <pthread.h>
#include <signal.h>

#include "edp_error.h"
#include "edp_input.h"
#include "edp_lane.h"

struct edp_datapath;

/* Run until set's inputs end (a stop ends live ones); input i's packets are
 * published as receive queue i * queues_per_port + (lane index modulo
 * queues_per_port). Returns 0, or the first read or write error. */
int edp_loop_run(struct edp_datapath *dp, struct edp_inputs *set, struct edp_lane *lane, pthread_mutex_t *out_lock,
		 const volatile sig_atomic_t *stop, struct edp_error *err);

#endif
