/* edp_tlb: the Thread Load Balancer's decision, as a pure function.
 *
 * Input: the load of every receive queue over the last interval (the share
 * of the interval its owner spent on it), its owner, its NUMA node and
 * whether it is pinned; the NUMA node of every thread and its base load, the
 * share it spent on work no queue move takes away (reading, writing). Output: a new owner
 * per queue, the predicted load of every thread and the spread (most loaded
 * minus least loaded thread) before and after.
 *
 * The plan: pinned queues stay; the others, by descending load, go to the
 * least loaded thread of their NUMA node (any thread when their node has
 * none), a tie going to the current owner so that nothing moves for nothing.
 * Whether to apply it is edp_tlb_worth_it's call. No allocation, no I/O: the
 * applying (handing a queue over between threads) is edp_worker's.
 */
#ifndef EDP_TLB_H
#define EDP_TLB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDP_TLB_MAX_THREADS 64
#define EDP_TLB_MAX_QUEUES 4096

struct edp_tlb_queue {
	double load;    /* share of the interval spent on it, 0..1 */
	int32_t owner;  /* thread index */
	int32_t numa;   /* NUMA node of its port, -1 = any */
	bool pinned;
};

struct edp_tlb_plan {
	int32_t owner[EDP_TLB_MAX_QUEUES];
	double before[EDP_TLB_MAX_THREADS], after[EDP_TLB_MAX_THREADS];
	double spread_before, spread_after, max_before;
	uint32_t moved;
};

/* Compute the plan for nq queues over nt threads (thread_numa[i] = node of
 * thread i, -1 = unknown; thread_base[i] = its base load, NULL = none).
 * nq <= EDP_TLB_MAX_QUEUES, nt <= EDP_TLB_MAX_THREADS. */
void edp_tlb_plan(const struct edp_tlb_queue *queues, uint32_t nq, const int32_t *thread_numa,
		  const double *thread_base, uint32_t nt, struct edp_tlb_plan *plan);

/* The first owner of every queue, before any load is known: a pinned queue
 * (queue_pin[q] >= 0) its worker; each other queue, in order, the thread
 * with the fewest queues so far on the queue's NUMA node (any thread when
 * none is on that node), thread 0 (the reader, when there are others)
 * counted as one queue more and taken last on a tie: reading is a load of
 * its own. 1 <= nt <= EDP_TLB_MAX_THREADS, pins
 * below nt. */
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
 * the next `verify` intervals is compared with the one predicted, and
 * then it holds off for `backoff` intervals (OVS backs off after a
 * rebalance too), twice as long for each move in a row that did not
 * deliver (measured above predicted + min_gain; at most 64 times).
 * Pure: the caller keeps the state and feeds each interval's plan. */
struct edp_tlb_policy {
	double threshold, min_improvement; /* edp_tlb_worth_it's */
	double min_gain;                   /* the predicted spread reduction, at least */
	uint32_t sustain;                  /* intervals in a row worth it, >= 1 */
	uint32_t verify;                   /* intervals measured after a move, >= 1 */
	uint32_t backoff;                  /* intervals held off after a move (doubled for each miss in a row) */
};

struct edp_tlb_state {
	uint32_t streak;          /* intervals in a row worth it */
	uint32_t hold;            /* intervals left to hold off */
	uint32_t missed;          /* moves in a row that did not deliver */
	uint32_t verifying;       /* intervals left to measure the last move over (0: none) */
	double predicted;         /* its predicted spread */
	double measured_sum;      /* the spreads measured since */
	uint32_t measured_n;
};

/* What the last move did, once its verify intervals have passed. */
struct edp_tlb_verdict {
	bool ready;               /* a move's measuring ended this interval */
	double predicted, measured; /* its predicted spread, the mean measured over `verify` intervals */
	bool delivered;
	uint32_t hold;            /* the intervals held off after it */
};

/* One interval: `plan` made on its loads. Returns whether to apply the plan
 * now, with why not (or why) in `why`; *v says what the last move did when
 * its measuring ended this interval. `asked` (a rebalance asked for now)
 * skips the waiting (sustain, hold, a move being measured): worth it is
 * enough. */
bool edp_tlb_decide(struct edp_tlb_state *s, const struct edp_tlb_policy *p, const struct edp_tlb_plan *plan,
		    bool asked, struct edp_tlb_verdict *v, char *why, size_t size);

#endif
