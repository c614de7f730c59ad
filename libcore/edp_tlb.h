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

#endif
