#include "edp_tlb.h"

#include <math.h>
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

void edp_tlb_threads_init(struct edp_tlb_threads *t, uint32_t n)
{
	memset(t, 0, sizeof(*t));
	t->n = n;
	for (uint32_t i = 0; i < EDP_TLB_MAX_THREADS; i++) {
		t->numa[i] = -1;
		t->cost[i] = 1;
	}
}

/* Pinned queues stay, and so do idle ones: moving them moves nothing. */
static bool stays(const struct edp_tlb_queue *q)
{
	return q->pinned || q->load < EDP_TLB_IDLE;
}

/* q's load were it on thread i */
static double load_on(const struct edp_tlb_queue *q, const struct edp_tlb_threads *t, uint32_t i)
{
	return (int32_t)i == q->owner ? q->load : q->load * t->cost[i] / t->cost[q->owner];
}

void edp_tlb_plan(const struct edp_tlb_queue *q, uint32_t nq, const struct edp_tlb_threads *t,
		  struct edp_tlb_plan *plan)
{
	uint32_t nt = t->n;
	memset(plan->before, 0, sizeof(plan->before));
	memset(plan->after, 0, sizeof(plan->after));
	for (uint32_t i = 0; i < nt; i++)
		plan->before[i] = plan->after[i] = t->base[i];
	plan->moved = 0;
	plan->n_queues = nq;
	uint64_t packets = 0;
	for (uint32_t i = 0; i < nq; i++)
		packets += q[i].packets;
	for (uint32_t i = 0; i < nq; i++) {
		plan->share[i] = packets ? (float)((double)q[i].packets / (double)packets) : 0;
		plan->before[q[i].owner] += q[i].load;
		plan->owner[i] = q[i].owner;
		if (stays(&q[i]))
			plan->after[q[i].owner] += q[i].load;
	}
	/* the others by descending load (insertion sort of indices: the queue
	 * count is small and this runs once an interval) */
	uint32_t order[EDP_TLB_MAX_QUEUES], n = 0;
	for (uint32_t i = 0; i < nq; i++) {
		if (stays(&q[i]))
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
		for (uint32_t i = 0; i < nt && x->numa >= 0; i++)
			local |= t->numa[i] == x->numa;
		int32_t best = -1;
		double best_load = 0;
		for (uint32_t i = 0; i < nt; i++) {
			if (local && t->numa[i] != x->numa)
				continue;
			double l = plan->after[i] + load_on(x, t, i);
			if (best < 0 || l < best_load || (l == best_load && (int32_t)i == x->owner)) {
				best = (int32_t)i;
				best_load = l;
			}
		}
		plan->owner[order[k]] = best;
		plan->after[best] = best_load;
		plan->moved += best != x->owner;
	}
	double max_after;
	spread_of(plan->before, nt, &plan->spread_before, &plan->max_before);
	spread_of(plan->after, nt, &plan->spread_after, &max_after);
	/* a saturated run goes as fast as its busiest thread lets it */
	plan->speedup = plan->max_before >= EDP_TLB_SATURATED && max_after > 0 ? plan->max_before / max_after : 1;
	if (plan->speedup != 1) {
		for (uint32_t i = 0; i < nt; i++)
			plan->after[i] *= plan->speedup;
		spread_of(plan->after, nt, &plan->spread_after, &max_after);
	}
}

uint32_t edp_tlb_learn(struct edp_tlb_threads *t, const struct edp_tlb_queue *before,
		       const struct edp_tlb_queue *after, uint32_t nq)
{
	/* per pair of threads lo < hi, the moved queues' cycles on hi over
	 * their cycles on lo, at the same packets (the new interval's; a
	 * queue's cycles a packet from the interval it ran there) */
	struct pair {
		int32_t lo, hi;
		double on_hi, on_lo;
	} pairs[64];
	uint32_t np = 0, learned = 0;
	for (uint32_t i = 0; i < nq; i++) {
		const struct edp_tlb_queue *b = &before[i], *a = &after[i];
		if (a->owner == b->owner || !a->packets || !b->packets || b->load <= 0 || a->load <= 0)
			continue;
		double was = b->load * (double)a->packets / (double)b->packets; /* on the old owner */
		bool up = a->owner > b->owner;
		int32_t lo = up ? b->owner : a->owner, hi = up ? a->owner : b->owner;
		uint32_t k = 0;
		while (k < np && (pairs[k].lo != lo || pairs[k].hi != hi))
			k++;
		if (k == np) {
			if (np == sizeof(pairs) / sizeof(pairs[0]))
				continue;
			pairs[np++] = (struct pair){ lo, hi, 0, 0 };
		}
		pairs[k].on_hi += up ? a->load : was;
		pairs[k].on_lo += up ? was : a->load;
		learned++;
	}
	for (uint32_t k = 0; k < np; k++) {
		double r = pairs[k].on_hi / pairs[k].on_lo;
		r = r < 0.125 ? 0.125 : r > 8 ? 8 : r;
		double *lo = &t->cost[pairs[k].lo], *hi = &t->cost[pairs[k].hi];
		double product = *lo * *hi;
		*lo = sqrt(product / r); /* hi / lo = r, hi * lo kept */
		*hi = *lo * r;
	}
	return learned;
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
		    double rate, bool asked, struct edp_tlb_verdict *v, char *why, size_t size)
{
	memset(v, 0, sizeof(*v));
	if (s->handing_over) { /* the interval of the hand-over: not yet what the move left */
		s->handing_over = false;
	} else if (s->verifying) { /* this interval's spread and rate are */
		s->measured_sum += plan->spread_before;
		s->rate_sum += rate;
		s->measured_n++;
		if (--s->verifying == 0) {
			*v = (struct edp_tlb_verdict){ .ready = true, .predicted = s->predicted,
						       .measured = s->measured_sum / s->measured_n,
						       .speedup_predicted = s->speedup, .speedup = 1 };
			if (s->rate_before > 0 && s->rate_sum > 0)
				v->speedup = s->rate_sum / s->measured_n / s->rate_before;
			/* a saturated run's move is for its rate: the reader
			 * takes what the move frees, which no spread shows */
			v->delivered = v->measured <= s->predicted + p->min_gain ||
				       (s->speedup > 1 && v->speedup >= s->speedup - p->min_gain);
			/* worse than before it: a slower saturated run, a wider spread */
			v->worse = s->speedup > 1 ? v->speedup < 1 - p->min_gain : v->measured > s->spread_moved + p->min_gain;
			v->delivered &= !v->worse;
			s->missed = v->delivered ? 0 : s->missed + 1;
			s->hold = v->hold = p->backoff << (s->missed < 6 ? s->missed : 6);
			s->settled_n = plan->n_queues;
			memcpy(s->settled, plan->share, plan->n_queues * sizeof(float));
			s->shifted = 0;
		}
	}
	bool worth = edp_tlb_worth_it(plan, p->threshold, p->min_improvement) &&
		     plan->spread_before - plan->spread_after >= p->min_gain;
	s->streak = worth ? s->streak + 1 : 0;
	s->streak_rate = worth ? s->streak_rate + rate : 0;
	if (v->worse) {
		snprintf(why, size, "moving the last move back: it left the run worse than before");
		return false;
	}
	if (asked && worth) /* no waiting: worth it is enough */
		s->streak = p->sustain, s->streak_rate = rate * p->sustain, s->hold = 0, s->verifying = 0,
		s->handing_over = false;
	if (s->verifying && !asked) {
		snprintf(why, size, "measuring the last move (%u interval%s left)", s->verifying + s->handing_over,
			 s->verifying + s->handing_over == 1 ? "" : "s");
		return false;
	}
	if (s->hold && !asked) { /* packets on other queues are a new load */
		double moved = 0, now = 0, then = 0;
		for (uint32_t i = 0; i < plan->n_queues && plan->n_queues == s->settled_n; i++) {
			moved += fabs((double)plan->share[i] - (double)s->settled[i]);
			now += plan->share[i];
			then += s->settled[i];
		}
		moved /= 2;
		s->shifted = now > 0 && then > 0 && moved >= p->shift ? s->shifted + 1 : 0;
		if (s->shifted >= p->sustain) {
			s->hold = s->missed = s->shifted = 0;
			v->shifted = true;
			v->shift = moved;
		}
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
	s->rate_before = s->streak_rate / s->streak; /* over the intervals it waited */
	s->streak = 0;
	s->streak_rate = 0;
	s->verifying = p->verify ? p->verify : 1;
	s->handing_over = true;
	s->predicted = plan->spread_after;
	s->spread_moved = plan->spread_before;
	s->speedup = plan->speedup;
	s->measured_sum = s->rate_sum = 0;
	s->measured_n = 0;
	snprintf(why, size, "moved %u queue%s: spread %.2f -> %.2f planned", plan->moved, plan->moved == 1 ? "" : "s",
		 plan->spread_before, plan->spread_after);
	return true;
}

void edp_tlb_place(const int32_t *queue_node, const int32_t *queue_pin, uint32_t nq, const int32_t *thread_numa,
		   uint32_t nt, int32_t *owner)
{
	uint32_t load[EDP_TLB_MAX_THREADS] = { nt > 1 ? nq + 1 : 0 }; /* the reader: more than any other */
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
