#include "edp_tlb.h"

#include <stdio.h>
#include <string.h>

static void spread_of(const double *load, uint32_t nt, double *spread, double *max)
{
	double hi = load[0], lo = load[0];
	for (uint32_t i = 1; i < nt; i++) {
		if (load[i] > hi)
			hi = load[i];
		if (load[i] < lo)
			lo = load[i];
	}
	*spread = hi - lo;
	*max = hi;
}

void edp_tlb_plan(const struct edp_tlb_queue *q, uint32_t nq, const int32_t *thread_numa,
		  const double *thread_base, uint32_t nt, struct edp_tlb_plan *plan)
{
	memset(plan->before, 0, sizeof(plan->before));
	memset(plan->after, 0, sizeof(plan->after));
	for (uint32_t t = 0; t < nt && thread_base; t++)
		plan->before[t] = plan->after[t] = thread_base[t];
	plan->moved = 0;
	for (uint32_t i = 0; i < nq; i++) {
		plan->before[q[i].owner] += q[i].load;
		plan->owner[i] = q[i].owner;
		if (q[i].pinned)
			plan->after[q[i].owner] += q[i].load;
	}
	/* unpinned queues by descending load (insertion sort of indices: the
	 * queue count is small and this runs once an interval) */
	uint32_t order[EDP_TLB_MAX_QUEUES], n = 0;
	for (uint32_t i = 0; i < nq; i++) {
		if (q[i].pinned)
			continue;
		uint32_t j = n++;
		while (j > 0 && q[order[j - 1]].load < q[i].load) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (uint32_t k = 0; k < n; k++) {
		const struct edp_tlb_queue *x = &q[order[k]];
		bool local = false; /* does the queue's node have a thread? */
		for (uint32_t t = 0; t < nt && x->numa >= 0; t++)
			local |= thread_numa[t] == x->numa;
		int32_t best = -1;
		for (uint32_t t = 0; t < nt; t++) {
			if (local && thread_numa[t] != x->numa)
				continue;
			if (best < 0 || plan->after[t] < plan->after[best] ||
			    (plan->after[t] == plan->after[best] && (int32_t)t == x->owner))
				best = (int32_t)t;
		}
		plan->owner[order[k]] = best;
		plan->after[best] += x->load;
		plan->moved += best != x->owner;
	}
	double max_after;
	spread_of(plan->before, nt, &plan->spread_before, &plan->max_before);
	spread_of(plan->after, nt, &plan->spread_after, &max_after);
}

bool edp_tlb_worth_it(const struct edp_tlb_plan *plan, double threshold, double min_improvement)
{
	if (plan->moved == 0)
		return false;
	if (plan->max_before <= threshold && plan->spread_before <= threshold)
		return false;
	return plan->spread_before > 0 &&
	       (plan->spread_before - plan->spread_after) >= min_improvement * plan->spread_before;
}

bool edp_tlb_decide(struct edp_tlb_state *s, const struct edp_tlb_policy *p, const struct edp_tlb_plan *plan,
		    bool asked, struct edp_tlb_verdict *v, char *why, size_t size)
{
	memset(v, 0, sizeof(*v));
	if (s->verifying) { /* this interval's spread is what the last move left */
		s->measured_sum += plan->spread_before;
		s->measured_n++;
		if (--s->verifying == 0) {
			*v = (struct edp_tlb_verdict){ true, s->predicted, s->measured_sum / s->measured_n, false, 0 };
			v->delivered = v->measured <= s->predicted + p->min_gain;
			s->missed = v->delivered ? 0 : s->missed + 1;
			s->hold = v->hold = p->backoff << (s->missed < 6 ? s->missed : 6);
		}
	}
	bool worth = edp_tlb_worth_it(plan, p->threshold, p->min_improvement) &&
		     plan->spread_before - plan->spread_after >= p->min_gain;
	s->streak = worth ? s->streak + 1 : 0;
	if (asked && worth) /* no waiting: worth it is enough */
		s->streak = p->sustain, s->hold = 0, s->verifying = 0;
	if (s->verifying && !asked) {
		snprintf(why, size, "measuring the last move (%u interval%s left)", s->verifying, s->verifying == 1 ? "" : "s");
		return false;
	}
	if (s->hold && !asked) {
		s->hold--;
		snprintf(why, size, "holding off after a move%s (%u interval%s left)", s->missed ? " that did not deliver" : "",
			 s->hold + 1, s->hold ? "s" : "");
		return false;
	}
	if (!worth) {
		snprintf(why, size, "not worth it: spread %.2f -> %.2f planned (threshold %.2f, min-improvement %.2f, "
			 "min-gain %.2f)", plan->spread_before, plan->spread_after, p->threshold, p->min_improvement,
			 p->min_gain);
		return false;
	}
	if (s->streak < p->sustain) {
		snprintf(why, size, "unbalanced for %u of %u intervals in a row", s->streak, p->sustain);
		return false;
	}
	s->streak = 0;
	s->verifying = p->verify ? p->verify : 1;
	s->predicted = plan->spread_after;
	s->measured_sum = 0;
	s->measured_n = 0;
	snprintf(why, size, "moved %u queue%s: spread %.2f -> %.2f planned", plan->moved, plan->moved == 1 ? "" : "s",
		 plan->spread_before, plan->spread_after);
	return true;
}

void edp_tlb_place(const int32_t *queue_node, const int32_t *queue_pin, uint32_t nq, const int32_t *thread_numa,
		   uint32_t nt, int32_t *owner)
{
	uint32_t load[EDP_TLB_MAX_THREADS] = { nt > 1 };
	for (uint32_t q = 0; q < nq; q++)
		if (queue_pin[q] >= 0)
			load[queue_pin[q]]++;
	for (uint32_t q = 0; q < nq; q++) {
		owner[q] = queue_pin[q];
		if (owner[q] >= 0)
			continue;
		bool local = false;
		for (uint32_t w = 0; w < nt; w++)
			local |= thread_numa[w] == queue_node[q];
		for (uint32_t k = 1; k <= nt; k++) {
			uint32_t w = k % nt; /* 1, 2, ..., 0 */
			if ((!local || thread_numa[w] == queue_node[q]) && (owner[q] < 0 || load[w] < load[owner[q]]))
				owner[q] = (int32_t)w;
		}
		load[owner[q]]++;
	}
}
