/* edp_migrate: a running datapath moved into another instance (edp-migrate
 * SRC DST), both sides of it, as control commands (edp_ctl.h) that the
 * edp-migrate client drives, and the waits of each side's main thread.
 *
 * The source (any running instance):
 *   migrate-copy        a pre-copy round, while it forwards: its MACs, the
 *                       flow-cache keys of the buckets that changed since
 *                       the last round (all of them at the first) and its
 *                       ports' inputs and outputs by name, as a checkpoint
 *                       (edp_checkpoint.h) written to the descriptor the
 *                       request came with
 *   migrate-stun MS DST the stun: the run ends as for a stop (every packet
 *                       read is processed, written and flushed) with its
 *                       inputs and outputs left open; the last round (every
 *                       MAC, the flows changed, each input's unread bytes,
 *                       the counters) goes to the descriptor and a duplicate
 *                       of each input and output with the reply. With no
 *                       commit in MS ms it resumes by itself.
 *   migrate-commit      it resumes by itself no more: it waits for done or
 *                       abort, asking DST meanwhile (once a second) whether
 *                       it runs (then it is done) or is gone (then resumes)
 *   migrate-done        DST runs: the source lets its inputs and outputs go
 *                       (each descriptor then reads or writes /dev/null)
 *                       and its run ends
 *   migrate-abort       resume (DST took nothing)
 * The destination (edp-run --incoming):
 *   migrate-in [--final] [--allow-config-change]  a round (the
 *                       descriptor: its checkpoint); the
 *                       first one creates the datapath on the source's
 *                       ports (opening nothing), each one restores into it
 *                       (the MACs exactly the source's); the final one
 *                       comes with the source's inputs and outputs, taken
 *                       over, none read until go
 *   migrate-go          run
 *   migrate-cancel      give up: the instance ends (its inputs, which it
 *                       never read, closed)
 *
 * Invariants: the source reads nothing after the stun began unless it
 * resumes; the destination reads nothing before go, and go comes only
 * after the source committed; so each packet is read by one of them, once.
 * A destination that is final and gets no go in EDP_MOVE_READY_MS cancels
 * itself (the source, asking, then resumes).
 *
 * Captures (files, pipes) and vports are handed over (a vport's ring keeps
 * the source's name, its producer unaware); a run with a live interface,
 * or with --loop, is refused before the stun.
 *
 * Thread-safety: handlers run on the control thread; edp_move_park and
 * edp_move_incoming_wait on the main one.
 */
#ifndef EDP_MIGRATE_H
#define EDP_MIGRATE_H

#include <signal.h>
#include <stdbool.h>

#include "edp_commands.h"
#include "edp_config.h"
#include "edp_ctl.h"
#include "edp_datapath.h"

#define EDP_MOVE_READY_MS 10000 /* a final destination's wait for go */
#define EDP_MOVE_DRAIN_MS 5000  /* a stun's wait for the run to end */

struct edp_move;

/* The source side of instance env (env->dp runs): end_run(ctx, true) ends
 * the run as a stop does and end_run(ctx, false) takes that back (edp-run:
 * its stop flag). NULL: out of memory. */
struct edp_move *edp_move_source(struct edp_commands *env, void (*end_run)(void *ctx, bool on), void *ctx);

/* The destination side, env->dp NULL until go, on cfg (whose ports' rx
 * and tx the first round sets to the source's), published as `incoming`
 * in a stats segment of its own until the datapath has one. NULL with err
 * set: the name is taken, out of memory. */
struct edp_move *edp_move_destination(struct edp_commands *env, struct edp_config *cfg, struct edp_error *err);

/* The destination's stats segment while it has no datapath (for the
 * control socket's counters), or NULL. */
struct edp_stats_writer *edp_move_stats(struct edp_move *m);

/* Register the side's commands on c (and env->move = m). 0 or -1. */
int edp_move_register(struct edp_ctl *c, struct edp_move *m);

/* "incoming", "migrating" (a source in its stun), or NULL (neither). */
const char *edp_move_state(struct edp_move *m);

enum edp_move_verdict {
	EDP_MOVE_ENDED,   /* no stun: the run ended on its own */
	EDP_MOVE_RESUME,  /* the stun is over and the source goes on: run again */
	EDP_MOVE_GONE,    /* moved: the inputs and outputs are the destination's */
};

/* Source, after each run: whether it ended for a stun, and then (waiting
 * for it) how the stun ended. */
enum edp_move_verdict edp_move_park(struct edp_move *m);

/* Destination: wait for go (the datapath, to run) or a cancel (NULL, err
 * says why), or a stop (NULL, err's message empty). */
struct edp_datapath *edp_move_incoming_wait(struct edp_move *m, const volatile sig_atomic_t *stop,
					    struct edp_error *err);

/* The source's name and counters as its last round carried them (the
 * destination's, after go), or NULL. */
const struct edp_checkpoint *edp_move_arrived(const struct edp_move *m);

void edp_move_destroy(struct edp_move *m);

#endif
