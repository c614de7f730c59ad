/* edp_mover: the driver of a live move (edp-migrate SRC DST): it talks to
 * both instances' control sockets (edp_migrate.h holds their sides) and
 * moves the ledger's claims (edp_assign_move).
 *
 *   1. pre-copy: rounds of SRC's MACs and changed flow keys into DST (each
 *      through a memfd: SRC writes it, DST reads it) while SRC forwards,
 *      until a round costs less than half the stun budget (converged), or
 *      rounds stop shrinking (then it goes on and says so; strict: gives up,
 *      DST is cancelled and SRC never noticed);
 *   2. stun: SRC ends its run, drained, and hands its last round and its
 *      inputs' and outputs' descriptors over; DST takes them (not reading);
 *   3. SRC's ledger claims move to DST, in one generation;
 *   4. SRC commits, DST goes, SRC is done and ends.
 * Neither is touched unless SRC runs (or is suspended) and DST is
 * incoming. A failure at any step before DST goes resumes SRC (abort, or by itself
 * when this process is gone), moves the claims back and cancels DST; the
 * report says where it failed and how long SRC was stunned.
 *
 * Thread-safety: none needed; one call at a time.
 */
#ifndef EDP_MOVER_H
#define EDP_MOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edp_error.h"

#define EDP_MOVER_MAX_ROUNDS 8
#define EDP_MOVER_STUN_MS 20        /* the default stun budget */
#define EDP_MOVER_HIT_PACKETS 100000 /* DST's hit rate is taken over its first this many packets */

struct edp_mover_options {
	const char *src, *dst;
	double max_stun_ms;    /* the budget (0: EDP_MOVER_STUN_MS) */
	bool strict;           /* give up when the pre-copy does not fit the budget */
	bool allow_config_change; /* DST's config may differ from SRC's (its hash): MACs only are carried */
	const char *ledger;    /* NULL: edp_ledger_path's default */
	int commit_wait_ms;    /* SRC resumes by itself after this without a commit (0: 5000) */
};

struct edp_mover_round {
	uint32_t macs, flows;
	uint64_t bytes;
	double copy_ms, restore_ms;
};

struct edp_mover_report {
	uint32_t n_rounds;                   /* pre-copy rounds */
	struct edp_mover_round rounds[EDP_MOVER_MAX_ROUNDS];
	bool converged;                      /* the last round fit half the budget */
	struct edp_mover_round final;        /* the stun's round */
	double drain_ms;                     /* SRC: from the stun's start to its run's end */
	double handover_ms;                  /* from the stun's start to DST's go */
	double stun_ms;                      /* SRC told to stop taking packets to DST's first (-1: none yet) */
	uint32_t descriptors;                /* inputs and outputs handed over */
	uint64_t queued_packets;             /* waiting for DST at the hand-over: in vport rings */
	uint64_t queued_bytes;               /* ... of captures: read ahead and carried, or in a pipe */
	uint64_t src_packets_in, src_forwarded, src_dropped, lost;
	double src_hit_rate;                 /* SRC's flow-cache hit rate over its run */
	double dst_hit_rate;                 /* DST's over its first dst_hit_packets (-1: none) */
	uint64_t dst_hit_packets;
	int devices;                         /* ledger claims moved */
	uint64_t ledger_generation;
	/* a failure */
	char failed_at[32];                  /* "check", "pre-copy", "stun", "hand-over", "ledger", "commit", "go" */
	double stunned_ms;                   /* how long SRC was stunned before it resumed */
};

/* Instance `name`'s state as its status says it (running, suspended,
 * incoming, migrating) into state. 0, or EDP_ERR_RUNTIME: it does not
 * answer, or says no. */
int edp_mover_state(const char *name, char *state, size_t size, struct edp_error *err);

/* Move SRC into DST. 0, or EDP_ERR_RUNTIME (err says what failed;
 * report->failed_at where), EDP_ERR_USAGE for bad options. */
int edp_mover_run(const struct edp_mover_options *o, struct edp_mover_report *r, struct edp_error *err);

#endif
