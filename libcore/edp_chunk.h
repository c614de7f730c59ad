/* edp_chunk: several threads on a capture file without passing packets
 * between cores (the chunk-parallel mode).
 *
 * Each worker takes the next run of consecutive records of the file (a
 * chunk: up to EDP_CHUNK_PACKETS packets or EDP_CHUNK_BYTES bytes) under
 * the claim lock, read into packet buffers of its own; carries it through
 * its lane; and stages its records for the outputs (edp_output_stage).
 * Chunks are written in the order they were taken, each sink's records of
 * a chunk in one write, by whichever worker finds the next one ready (the
 * commit lock): the output is in input order, byte for byte what -t 0
 * writes, whatever the number of threads. Taking a chunk (the walk over the
 * records, their copy into buffers) and writing one are the serial parts,
 * a few shared lines a chunk; no packet and no packet's line passes from
 * one core to another, so the speed does not hang on the cores' distance.
 *
 * Owns: the threads of a chunk run (the calling one is worker 0), the pools
 * of workers 1.. (dp->worker_pools, kept for a run resumed after a stun),
 * each worker's stages (EDP_CHUNK_STAGES: a chunk being made, and those
 * done waiting for an earlier one of another worker to be written).
 *
 * Invariants: the input is read (edp_inputs_pick_burst) only under the
 * claim lock, by the worker that holds it, into its own pools; a chunk
 * taken is always processed and committed, after a stop, a read error or
 * a failed write too (a write failure counts what was not written, as
 * edp_output does); the first error is the run's. No balancer runs: there
 * are no queues to move.
 */
#ifndef EDP_CHUNK_H
#define EDP_CHUNK_H

#include <signal.h>

#include "edp_error.h"

#define EDP_CHUNK_PACKETS 2048
#define EDP_CHUNK_BYTES (256u << 10)
#define EDP_CHUNK_STAGES 3

struct edp_datapath;

/* Why a threaded run of dp does not go chunk by chunk (a line for the
 * log), or NULL when it does: datapath.parallel is not flows (nor auto
 * with receive queues set or pinned: those are the flows mode's); one
 * input, a capture file (not a pipe: its records come as another process
 * writes them); outputs that are files or pipes (an interface is sent on,
 * not written records); no learning switch (its verdicts depend on what
 * the packets before taught it). */
const char *edp_chunk_unfit(const struct edp_datapath *dp);

/* Run dp's input to its end (or a stop) on cfg->threads workers, chunk by
 * chunk. Returns 0, or the first error (err says it): EDP_ERR_RUNTIME. */
int edp_chunk_run(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err);

#endif
