/* edp_tlb: the Thread Load Balancer's decision, as pure functions.
 *
 * Input: the load of every receive queue over the last interval (the share
 * of the interval its owner spent on it), its owner, its NUMA node and
 * whether it is pinned; per thread (struct edp_tlb_threads) its NUMA node,
 * its base load (the share it spent on work no queue move takes away:
 * reading, writing) and what a packet costs it relative to the others.
 * Output: a new owner per queue, the predicted load of every thread and
 * the spread (most loaded minus least loaded thread) before and after.
 *
 * The model, from what runs showed (2 threads, 8 queues, Zipf traffic):
 *   - a queue's load moves with it scaled by the two threads' costs: the
 *     reader, which processes its queues a few packets at a time between
 *     reads, spent twice the cycles a packet that the other thread did on
 *     the same queue. The costs are learned from the moves themselves
 *     (edp_tlb_learn): a queue's cycles a packet before and after;
 *   - a saturated run (the busiest thread at EDP_TLB_SATURATED or more: a
 *     capture read as fast as it goes) speeds up until its new busiest
 *     thread is as busy as the old one, so every predicted load is scaled
 *     by that speed-up. Without both, a move predicted to take the spread
 *     from 0.11 to 0.01 measured 0.11 to 0.20 after.
 *
 * The plan: pinned and idle queues stay; the others, by descending load, go to the
 * thread of their NUMA node (any thread when their node has none) that
 * ends least loaded with them, a tie going to the current owner so that
 * nothing moves for nothing. Whether to apply it is edp_tlb_decide's call.
 * No allocation, no I/O: the applying (handing a queue over between
 * threads) is edp_worker's.
 */
#ifndef EDP_TLB_H
#define EDP_TLB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDP_TLB_MAX_THREADS 64
#define EDP_TLB_MAX_QUEUES 4096

#define EDP_TLB_SATURATED 0.95
#define EDP_TLB_IDLE 0.001 /* a queue under this load stays where it is */

struct edp_tlb_queue {
	double load;    /* share of the interval spent on it, 0..1 */
	int32_t owner;  /* thread index */
	int32_t numa;   /* NUMA node of its port, -1 = any */
	bool pinned;
	uint64_t packets; /* processed in the interval (edp_tlb_learn's) */
};

struct edp_tlb_threads {
	uint32_t n;                        /* 1..EDP_TLB_MAX_THREADS */
	int32_t numa[EDP_TLB_MAX_THREADS]; /* NUMA node, -1 = unknown */
	double base[EDP_TLB_MAX_THREADS];  /* load that stays on it (reading, writing) */
	double cost[EDP_TLB_MAX_THREADS];  /* a packet's cost on it, relative: 1 until learned */
};

struct edp_tlb_plan {
	int32_t owner[EDP_TLB_MAX_QUEUES];
	double before[EDP_TLB_MAX_THREADS], after[EDP_TLB_MAX_THREADS];
	double spread_before, spread_after, max_before;
	double speedup;  /* of a saturated run (after[] includes it); 1 otherwise */
	uint32_t moved;
	uint32_t n_queues;
	float share[EDP_TLB_MAX_QUEUES]; /* of the interval's packets, each queue (all 0: none) */
};

/* Set every thread's cost to 1 (nothing learned). */
void edp_tlb_threads_init(struct edp_tlb_threads *t, uint32_t n);

/* Compute the plan for nq <= EDP_TLB_MAX_QUEUES queues over threads t. */
void edp_tlb_plan(const struct edp_tlb_queue *queues, uint32_t nq, const struct edp_tlb_threads *t,
		  struct edp_tlb_plan *plan);

/* Learn the threads' costs from the interval after a move (`after`) and
 * the one it was planned on (`before`): for each pair of threads queues
 * moved between (either way), the cycles the moved queues took on the one
 * over what they took on the other, a packet for a packet; the pair's
 * costs are set to that ratio (within 1/8..8), keeping their product.
 * Queues with no packets in either interval teach nothing. Returns the
 * queues learned from. */
uint32_t edp_tlb_learn(struct edp_tlb_threads *t, const struct edp_tlb_queue *before,
		       const struct edp_tlb_queue *after, uint32_t nq);

/* The first owner of every queue, before any load is known: a pinned queue
 * (queue_pin[q] >= 0) its worker; each other queue, in order, the thread
 * with the fewest queues so far on the queue's NUMA node (any thread when
 * none is on that node), but thread 0 (the reader, when there are others)
 * only when it is the only one there: a queue on the reader is processed a
 * few packets at a time between reads and holds the reading up (2 threads,
 * 8 queues, Zipf: 7.4-8.5 Mpps with 3 of them on the reader, 8.3-9.5 with
 * none), and the balancer gives it queues when that is worth it. 1 <= nt
 * <= EDP_TLB_MAX_THREADS, pins below nt. */
void edp_tlb_place(const int32_t *queue_node, const int32_t *queue_pin, uint32_t nq, const int32_t *thread_numa,
		   uint32_t nt, int32_t *owner);

/* Apply a plan? Only when something is unbalanced (the busiest thread above
 * threshold, or the spread above it) and the predicted spread is at least
 * min_improvement (a fraction) smaller than now. */
bool edp_tlb_worth_it(const struct edp_tlb_plan *plan, double threshold, double min_improvement);

/* The hysteresis over the intervals, like OVS's pmd-auto-lb and more: a
 * plan is applied only when it has been worth it (edp_tlb_worth_it) with a
 * gain of at least min_gain in absolute terms (a spread of 0.04 is noise)
 * for `sustain` intervals in a row; after a move, the spread measured over
 * `verify` intervals (after the one the queues are handed over in) is
 * compared with the one predicted, and then it holds off for `backoff` intervals (OVS backs off after a
 * rebalance too), twice as long for each move in a row that did not
 * deliver (measured above predicted + min_gain, and for a saturated run a
 * rate that rose less than predicted - min_gain; at most 64 times). A move
 * that left the run worse than before it (a saturated run's rate down by
 * min_gain, or the spread up by min_gain) is moved back by the caller, and
 * nothing else moves in that interval.
 * A load that shifts ends the hold: when at least `shift` of the packets
 * (total variation of the queues' shares of them) are on other queues than
 * when the last move was measured, for `sustain` intervals in a row, the
 * traffic is a new one, and the misses are forgotten with it. The traffic,
 * not the loads: a host's noise moves the measured spread by 0.1 with no
 * packet changing queues.
 * Pure: the caller keeps the state and feeds each interval's plan. */
struct edp_tlb_policy {
	double threshold, min_improvement; /* edp_tlb_worth_it's */
	double min_gain;                   /* the predicted spread reduction, at least */
	uint32_t sustain;                  /* intervals in a row worth it, >= 1 */
	uint32_t verify;                   /* intervals measured after a move, >= 1 */
	uint32_t backoff;                  /* intervals held off after a move (doubled for each miss in a row) */
	double shift;                      /* the share of the packets on other queues that ends a hold */
};

struct edp_tlb_state {
	uint32_t streak;          /* intervals in a row worth it */
	uint32_t hold;            /* intervals left to hold off */
	uint32_t missed;          /* moves in a row that did not deliver */
	uint32_t verifying;       /* intervals left to measure the last move over (0: none) */
	bool handing_over;        /* the next interval is the hand-over's, not measured */
	double predicted;         /* its predicted spread */
	double spread_moved;      /* the spread it was planned on */
	double speedup, rate_before; /* its predicted speed-up (saturated), the rate while it waited */
	double streak_rate;       /* the rates of the intervals in the streak, summed */
	double measured_sum, rate_sum; /* the spreads and rates measured since */
	uint32_t measured_n;
	float settled[EDP_TLB_MAX_QUEUES]; /* each queue's share of the packets when it was measured */
	uint32_t settled_n;       /* queues in it (0: no packets then) */
	uint32_t shifted;         /* intervals in a row the packets were `shift` off it, while holding off */
};

/* What the last move did, once its verify intervals have passed. */
struct edp_tlb_verdict {
	bool ready;               /* a move's measuring ended this interval */
	double predicted, measured; /* its predicted spread, the mean measured over `verify` intervals */
	double speedup_predicted, speedup; /* the rate after over the rate before (1: not saturated) */
	bool delivered;
	bool worse;               /* the run is worse than before it: move it back (the caller's) */
	uint32_t hold;            /* the intervals held off after it */
	bool shifted;             /* the hold ended this interval: the load shifted, */
	double shift;             /* by that share of the packets */
};

/* One interval: `plan` made on its loads, `rate` its packets a second (0:
 * unknown). Returns whether to apply the plan
 * now, with why not (or why) in `why`; *v says what the last move did when
 * its measuring ended this interval. `asked` (a rebalance asked for now)
 * skips the waiting (sustain, hold, a move being measured): worth it is
 * enough. */
bool edp_tlb_decide(struct edp_tlb_state *s, const struct edp_tlb_policy *p, const struct edp_tlb_plan *plan,
		    double rate, bool asked, struct edp_tlb_verdict *v, char *why, size_t size);

#endif
