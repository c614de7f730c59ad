/* edp_worker: the datapath on threads.
 *
 *   reader (the calling thread): inputs -> RSS hash -> rx queue ring
 *   workers (threads): poll the queues they own, process batches on their
 *     own lane (flow cache + counters), push results to the queue's out ring
 *   writer (a thread): out rings -> outputs, then mbufs back to the reader
 *
 * Each input port has rx_queues queues; a flow always hashes (symmetrically)
 * to one queue and a queue is owned by one worker, so per-flow order holds.
 * In ordered mode the reader also records each packet's queue in an order
 * ring and the writer takes packets in exactly that sequence: the output is
 * byte-identical for any number of threads.
 *
 * No packet is dropped for lack of room: every ring is either sized for all
 * packets in flight or waited on, and the dependency graph (reader -> workers
 * -> writer -> reader, via the free ring sized for the whole pool) has no
 * cycle that can block. Idle threads back off (pause, yield, short sleep) so
 * that more threads than cores still make progress.
 */
#ifndef EDP_WORKER_H
#define EDP_WORKER_H

#include <signal.h>

#include "edp_datapath_impl.h"

/* Run dp on cfg->threads workers until the inputs end or *stop is set. */
int edp_worker_run(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err);

/* Packets in flight in threaded mode (the size of the small pool). */
#define EDP_WORKER_IN_FLIGHT 4096
#define EDP_WORKER_LARGE_IN_FLIGHT 64

#endif
