/* edp_worker: the datapath on threads.
 *
 * cfg->threads workers, the calling thread being worker 0. Every worker
 * polls the receive queues it owns, processes batches on its own lane (flow
 * cache + counters) and queues the results on the queue's out ring. Two
 * roles are taken by workers rather than given threads of their own, so N
 * threads use N cores and no more:
 *   reader (worker 0): inputs -> RSS hash -> rx queue rings; it gets no
 *     queue at first when there are others (edp_tlb_place), only what the
 *     balancer gives it, reading being a load of its own (the thread's
 *     base load to the balancer). It fills the packets' buffers
 *     only: a packet's time and lengths go in an array beside the ring
 *     (edp_rx_meta), and the worker that takes the packet sets its
 *     descriptor up, so the descriptor's line stays on the processing core
 *     and only the packet's bytes cross from the reading one
 *   writer (whichever worker holds the `writing` lock): out rings ->
 *     outputs, then mbufs back to the reader over the free ring; a worker
 *     whose queues back up leaves it to the others, the reader takes it when
 *     it cannot read, so the writing goes where there is time for it
 *
 * Each input port has rx_queues queues; a flow always hashes (symmetrically)
 * to one queue and a queue is owned by one worker, so per-flow order holds.
 * In ordered mode the reader also records each packet's queue in an order
 * ring and the writer takes packets in exactly that sequence: the output is
 * byte-identical for any number of threads.
 *
 * edp_run (edp_run.h) decides which runs are threaded: one worker with one
 * queue an input runs the inline loop on its CPU instead (the rings would
 * carry packets from the thread to itself: -t 1 took up to 1.2x of -t 0's
 * time that way), and so do inputs merged in input order.
 *
 * No packet is dropped for lack of room: the out, order and free rings are
 * sized for every packet in flight, and the reader reads a batch only when
 * there is room for it on every rx ring. Idle workers poll a while, then
 * sleep on a doorbell (edp_doorbell) that the thread with work for them
 * rings, so more threads than cores still make progress.
 */
#ifndef EDP_WORKER_H
#define EDP_WORKER_H

#include <signal.h>

#include "edp_datapath_impl.h"

/* Run dp on cfg->threads workers until the inputs end or *stop is set.
 * The workers call down into the datapath's parts (edp_input, edp_lane,
 * edp_output, edp_publish), never up. */
int edp_worker_run(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err);

#endif
