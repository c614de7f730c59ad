/* edp_fanout: several threads on network interfaces without a reader
 * thread. Each worker has a socket of its own on every interface, the
 * sockets of an interface in one PACKET_FANOUT group (the kernel gives
 * each frame to one socket by a hash of its flow, a flow's frames always
 * to the same; worker 0's alone until all joined), or AF_XDP receive
 * queues of its own (an xdp: input), and runs to completion on its lane: it reads its sockets, processes
 * and writes, with packet buffers of its own on its node; no packet passes
 * from one core to another. When its sockets are idle it flushes the
 * outputs and waits in poll.
 *
 * Owns: the worker threads of a fanout run, the inputs and pools of
 * workers 1.. (dp->fan, dp->worker_pools; worker 0 reads dp->in), kept until
 * the datapath is destroyed so that their counts can be read.
 *
 * Invariants: receive queue i * threads + k is input i's socket of worker k
 * and stays on it (the kernel's hash, not the balancer, places the flows:
 * no balancer runs); the outputs are written under dp->out_lock, one
 * worker at a time; a worker that fails stops the others, and the first
 * error is the run's.
 */
#ifndef EDP_FANOUT_H
#define EDP_FANOUT_H

#include <signal.h>
#include <stdbool.h>

#include "edp_config.h"
#include "edp_error.h"
#include "edp_input.h"

struct edp_datapath;

/* Whether a run of cfg on these inputs goes to fanout: more than one
 * thread, every input an interface, in no order that one thread must keep
 * (--ordered, or a learning switch that learns in input order) and no
 * --count (which counts the packets of one set of inputs). */
bool edp_fanout_fits(const struct edp_config *cfg, const struct edp_inputs *in);

/* Open workers 1..'s sockets (those not open yet) and put every socket in
 * its interface's group (once): at the datapath's creation, so that a run
 * that says it is up reads with all its sockets. */
int edp_fanout_prepare(struct edp_datapath *dp, struct edp_error *err);

/* edp_fanout_prepare (if not done), then run a worker on each lane until
 * the inputs end (a stop), and return the first worker's error (0: none). */
int edp_fanout_run(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err);

/* Worker k's (k >= 1) socket on input `input`: r, handed over by a source
 * whose fanout run had it (in its group already). r is taken (closed on
 * failure). */
int edp_fanout_adopt(struct edp_datapath *dp, uint32_t k, uint32_t input, struct edp_pcap_reader *r,
		     struct edp_error *err);

/* The run's stop was set by another thread than a signal would reach (a
 * stun): the workers are told now, not at the caller's next look. */
void edp_fanout_wake(struct edp_datapath *dp);

/* Close workers 1..'s inputs and give back their pools. */
void edp_fanout_close(struct edp_datapath *dp);

#endif
