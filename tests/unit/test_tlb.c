#include "unit.h"
#include "edp_tlb.h"

static struct edp_tlb_plan plan;

/* n threads on the given nodes with the given base loads (NULL: none),
 * every cost 1 */
static struct edp_tlb_threads *threads(uint32_t n, const int32_t *numa, const double *base)
{
	static struct edp_tlb_threads t;
	edp_tlb_threads_init(&t, n);
	for (uint32_t i = 0; i < n; i++) {
		t.numa[i] = numa[i];
		t.base[i] = base ? base[i] : 0;
	}
	return &t;
}

/* One hot queue: the others move away from its thread. */
static void test_hot_queue(void **state)
{
	(void)state;
	struct edp_tlb_queue q[4] = {
		{ 0.90, 0, -1, false, 0 }, { 0.03, 1, -1, false, 0 }, { 0.03, 0, -1, false, 0 }, { 0.03, 1, -1, false, 0 } };
	int32_t numa[2] = { 0, 0 };
	edp_tlb_plan(q, 4, threads(2, numa, NULL), &plan);
	assert_int_equal(plan.owner[0], 0);
	assert_int_equal(plan.owner[1], 1);
	assert_int_equal(plan.owner[2], 1); /* moved off the hot thread */
	assert_int_equal(plan.owner[3], 1);
	assert_int_equal(plan.moved, 1);
	assert_true(plan.spread_before > 0.86 && plan.spread_before < 0.88);
	assert_true(plan.spread_after > 0.80 && plan.spread_after < 0.82);
	assert_true(edp_tlb_worth_it(&plan, 0.85, 0.05));
	assert_false(edp_tlb_worth_it(&plan, 0.85, 0.25)); /* too little gain */
	assert_false(edp_tlb_worth_it(&plan, 0.95, 0.05)); /* nothing over the threshold */
}

/* Greedy by descending load onto the least loaded thread; ties stay put. */
static void test_greedy_and_stable(void **state)
{
	(void)state;
	struct edp_tlb_queue q[6] = { { 0.25, 0, -1, false, 0 }, { 0.2, 0, -1, false, 0 }, { 0.15, 0, -1, false, 0 },
				      { 0.1, 0, -1, false, 0 }, { 0.05, 0, -1, false, 0 }, { 0.0, 0, -1, false, 0 } };
	int32_t numa[3] = { -1, -1, -1 };
	edp_tlb_plan(q, 6, threads(3, numa, NULL), &plan);
	/* 0.25->t0, 0.2->t1, 0.15->t2, 0.1->t2, 0.05->t1, 0.0->t0 (tie, stays) */
	const int32_t want[6] = { 0, 1, 2, 2, 1, 0 };
	for (int i = 0; i < 6; i++)
		assert_int_equal(plan.owner[i], want[i]);
	assert_true(plan.after[0] > 0.24 && plan.after[0] < 0.26);
	assert_true(plan.after[1] > 0.24 && plan.after[1] < 0.26);
	assert_true(plan.after[2] > 0.24 && plan.after[2] < 0.26);
	assert_float_equal(plan.speedup, 1, 1e-9); /* the busiest at 0.75: not saturated */
	/* a balanced plan fed back in moves nothing */
	for (int i = 0; i < 6; i++)
		q[i].owner = plan.owner[i];
	edp_tlb_plan(q, 6, threads(3, numa, NULL), &plan);
	assert_int_equal(plan.moved, 0);
	assert_false(edp_tlb_worth_it(&plan, 0.0, 0.0));
}

static void test_pinned_and_numa(void **state)
{
	(void)state;
	/* threads 0,1 on node 0; thread 2 on node 1 */
	int32_t numa[3] = { 0, 0, 1 };
	struct edp_tlb_queue q[4] = { { 0.6, 0, 0, true, 0 },   /* pinned to 0 */
				      { 0.5, 0, 0, false, 0 },  /* node 0: goes to 1 */
				      { 0.4, 0, 1, false, 0 },  /* node 1: only thread 2 */
				      { 0.3, 2, 0, false, 0 } }; /* node 0: least loaded there */
	edp_tlb_plan(q, 4, threads(3, numa, NULL), &plan);
	assert_int_equal(plan.owner[0], 0);
	assert_int_equal(plan.owner[1], 1);
	assert_int_equal(plan.owner[2], 2);
	assert_int_equal(plan.owner[3], 1); /* 0 has 0.6, 1 has 0.5 */
	assert_int_equal(plan.moved, 3);
}

/* Reading and writing load a thread too, and stay on it: the queues go
 * around it. */
static void test_base_load(void **state)
{
	(void)state;
	int32_t numa[2] = { 0, 0 };
	double base[2] = { 0.5, 0.1 }; /* thread 0 reads, thread 1 writes a little */
	struct edp_tlb_queue q[4] = {
		{ 0.2, 0, 0, false, 0 }, { 0.2, 1, 0, false, 0 }, { 0.1, 0, 0, false, 0 }, { 0.1, 1, 0, false, 0 } };
	edp_tlb_plan(q, 4, threads(2, numa, base), &plan);
	assert_true(plan.before[0] > 0.79 && plan.before[0] < 0.81); /* 0.5 + 0.2 + 0.1 */
	assert_true(plan.before[1] > 0.39 && plan.before[1] < 0.41);
	/* by load: 0.2 -> t1 (0.3), 0.2 -> t1 (0.5), 0.1 -> t0 (tie, its owner: 0.6), 0.1 -> t1 (0.6) */
	assert_int_equal(plan.owner[0], 1);
	assert_int_equal(plan.owner[1], 1);
	assert_int_equal(plan.owner[2], 0);
	assert_int_equal(plan.owner[3], 1);
	assert_true(plan.after[0] > 0.59 && plan.after[0] < 0.61);
	assert_true(plan.after[1] > 0.59 && plan.after[1] < 0.61);
	assert_int_equal(plan.moved, 1);
	assert_true(edp_tlb_worth_it(&plan, 0.3, 0.25));  /* spread 0.4 -> 0 */
	assert_false(edp_tlb_worth_it(&plan, 0.85, 0.25)); /* 0.8 busy, spread 0.4: fine as is */
	/* without the base load the same queues look balanced */
	edp_tlb_plan(q, 4, threads(2, numa, NULL), &plan);
	assert_int_equal(plan.moved, 0);
}

/* The two intervals around a move of a real run (2 threads, 8 queues,
 * Zipf(1.5) over 200 flows, a capture looped; loads and packets of 1 s):
 * queues 2 and 4 went 0->1, queue 5 1->0, and each took about half the
 * cycles a packet on thread 1 that it did on thread 0, the reader. Learned,
 * that ratio predicts what the moved queues measured after. */
static void test_learn_costs_from_a_move(void **state)
{
	(void)state;
	struct edp_tlb_queue before[8] = {
		{ 0.035, 1, 0, false, 276908 }, { 0.124, 1, 0, false, 3502877 }, { 0.053, 0, 0, false, 181491 },
		{ 0.013, 1, 0, false, 73353 },  { 0.062, 0, 0, false, 434708 },  { 0.057, 1, 0, false, 1146679 },
		{ 0.050, 0, 0, false, 362857 }, { 0.062, 1, 0, false, 1195591 } };
	struct edp_tlb_queue after[8] = {
		{ 0.043, 1, 0, false, 262453 }, { 0.126, 1, 0, false, 3319000 }, { 0.023, 1, 0, false, 171900 },
		{ 0.011, 1, 0, false, 69543 },  { 0.037, 1, 0, false, 411789 },  { 0.116, 0, 0, false, 1086380 },
		{ 0.064, 0, 0, false, 343846 }, { 0.057, 1, 0, false, 1132874 } };
	const int32_t numa[2] = { 0, 0 };
	const double base[2] = { 0.83, 0.61 };
	struct edp_tlb_threads t = *threads(2, numa, base);
	assert_int_equal(edp_tlb_learn(&t, before, after, 8), 3);
	double r = t.cost[1] / t.cost[0];
	assert_float_equal(r, (0.023 + 0.037 + 0.057 * 1086380 / 1146679) /
				      (0.053 * 171900 / 181491 + 0.062 * 411789 / 434708 + 0.116), 1e-9);
	assert_true(r > 0.50 && r < 0.51);
	assert_float_equal(t.cost[0] * t.cost[1], 1, 1e-9);
	/* the move planned again with what was learned: each moved queue
	 * within 0.006 of what it measured after */
	edp_tlb_plan(before, 8, &t, &plan);
	const double measured[8] = { [2] = 0.023, [4] = 0.037, [5] = 0.116 };
	for (int i = 2; i <= 5; i += i == 2 ? 2 : 1)
		assert_float_equal(before[i].load * t.cost[i == 5 ? 0 : 1] / t.cost[before[i].owner], measured[i], 0.006);
	/* nothing moved, nothing learned; a queue with no packets teaches nothing */
	struct edp_tlb_threads same = t;
	assert_int_equal(edp_tlb_learn(&same, before, before, 8), 0);
	assert_memory_equal(&same, &t, sizeof(t));
	after[2].packets = 0;
	after[4].packets = 0;
	after[5].packets = 0;
	assert_int_equal(edp_tlb_learn(&same, before, after, 8), 0);
}

/* With learned costs a queue goes where it ends least loaded, carrying its
 * load scaled by the two threads' costs; a saturated run (the busiest
 * thread at 0.95 or more) is predicted to speed up until the new busiest
 * thread is as busy: the reader, which reads 0.87 of the time, gives its
 * queues (0.13 there, half that on thread 1) away and reads more. */
static void test_plan_costs_and_saturation(void **state)
{
	(void)state;
	const int32_t numa[2] = { 0, 0 };
	const double base[2] = { 0.87, 0.41 };
	struct edp_tlb_threads t = *threads(2, numa, base);
	t.cost[0] = 1.4;
	t.cost[1] = 0.7;
	struct edp_tlb_queue q[4] = {
		{ 0.08, 0, 0, false, 0 }, { 0.05, 0, 0, false, 0 }, { 0.20, 1, 0, false, 0 }, { 0.12, 1, 0, false, 0 } };
	edp_tlb_plan(q, 4, &t, &plan);
	assert_float_equal(plan.before[0], 1.00, 1e-9);
	assert_float_equal(plan.before[1], 0.73, 1e-9);
	/* by load: 0.20 stays on 1 (0.61 there, 1.27 on 0), 0.12 stays
	 * (0.73), 0.08 goes to 1 (+0.04: 0.77; 0.95 on 0), 0.05 to 1 (+0.025:
	 * 0.795; 0.92 on 0) */
	const int32_t want[4] = { 1, 1, 1, 1 };
	assert_memory_equal(plan.owner, want, sizeof(want));
	assert_int_equal(plan.moved, 2);
	assert_float_equal(plan.speedup, 1.0 / 0.87, 1e-9);
	assert_float_equal(plan.after[0], 1.0, 1e-9);
	assert_float_equal(plan.after[1], 0.795 / 0.87, 1e-9);
	assert_float_equal(plan.spread_after, 1 - 0.795 / 0.87, 1e-9);
	/* not saturated: the same loads at half the rate, no speed-up */
	for (int i = 0; i < 4; i++)
		q[i].load /= 2;
	t.base[0] /= 2;
	t.base[1] /= 2;
	edp_tlb_plan(q, 4, &t, &plan);
	assert_float_equal(plan.speedup, 1, 1e-9);
	assert_float_equal(plan.after[0], 0.435, 1e-9);
	assert_float_equal(plan.after[1], 0.3975, 1e-9);
}

/* The first placement: the reader (thread 0) gets none while there are
 * others, so with 3 threads the queues go 1, 2, 1, 2, 1, 2. */
static void test_place_spread(void **state)
{
	(void)state;
	int32_t node[6] = { 0, 0, 0, 0, 0, 0 }, pin[6] = { -1, -1, -1, -1, -1, -1 }, numa[3] = { 0, 0, 0 }, owner[6];
	edp_tlb_place(node, pin, 6, numa, 3, owner);
	int32_t want[6] = { 1, 2, 1, 2, 1, 2 };
	assert_memory_equal(owner, want, sizeof(want));
	/* two threads: thread 1 takes them all */
	edp_tlb_place(node, pin, 6, numa, 2, owner);
	int32_t all1[6] = { 1, 1, 1, 1, 1, 1 };
	assert_memory_equal(owner, all1, sizeof(all1));
	/* one thread: it reads and takes every queue */
	edp_tlb_place(node, pin, 3, numa, 1, owner);
	assert_int_equal(owner[0], 0);
	assert_int_equal(owner[1], 0);
	assert_int_equal(owner[2], 0);
}

/* Pinned queues stay and count; the others go to their node's threads,
 * and to any thread when their node has none. */
static void test_place_pinned_and_numa(void **state)
{
	(void)state;
	int32_t numa[3] = { 0, 1, 1 }, owner[5];
	int32_t node[5] = { 1, 1, 1, 0, 2 }, pin[5] = { 0, -1, -1, -1, -1 };
	edp_tlb_place(node, pin, 5, numa, 3, owner);
	assert_int_equal(owner[0], 0); /* pinned: off its node, as asked */
	assert_int_equal(owner[1], 1); /* node 1: threads 1 and 2 */
	assert_int_equal(owner[2], 2);
	assert_int_equal(owner[3], 0); /* node 0: thread 0 alone */
	assert_int_equal(owner[4], 1); /* node 2 has none: the least loaded (thread 0 reads) */
}

/* One interval of the hysteresis on a plan that would take the spread from
 * `before` to `after` (the busiest thread at 1: always unbalanced). */
static bool interval(struct edp_tlb_state *s, const struct edp_tlb_policy *p, double before, double after,
		     struct edp_tlb_verdict *v)
{
	struct edp_tlb_plan pl = { .spread_before = before, .spread_after = after, .max_before = 1, .moved = 2,
				   .speedup = 1 };
	char why[200];
	return edp_tlb_decide(s, p, &pl, 0, false, v, why, sizeof(why));
}

static const struct edp_tlb_policy policy = { 0.85, 0.25, 0.05, 3, 3, 30, 0.25 }; /* the defaults (edp.yaml(5)) */

/* A move only after `sustain` intervals in a row worth it, and never for a
 * gain under min-gain (noise). */
static void test_hysteresis_sustain_and_min_gain(void **state)
{
	(void)state;
	struct edp_tlb_state s = { 0 };
	struct edp_tlb_verdict v;
	for (int i = 0; i < 20; i++) /* 0.04 -> 0.00: a gain of noise */
		assert_false(interval(&s, &policy, 0.04, 0.0, &v));
	assert_false(interval(&s, &policy, 0.30, 0.02, &v));
	assert_false(interval(&s, &policy, 0.30, 0.02, &v));
	assert_false(interval(&s, &policy, 0.03, 0.02, &v)); /* the streak broken */
	assert_false(interval(&s, &policy, 0.30, 0.02, &v));
	assert_false(interval(&s, &policy, 0.30, 0.02, &v));
	assert_true(interval(&s, &policy, 0.30, 0.02, &v)); /* the third in a row */
}

/* After a move: the hand-over's interval, then measured over `verify`
 * intervals, then held off for `backoff` intervals, twice as long for each
 * move in a row that did not deliver. */
static void test_hysteresis_verify_and_backoff(void **state)
{
	(void)state;
	const struct edp_tlb_policy p10 = { 0.85, 0.25, 0.05, 3, 3, 10, 0.25 }, *pp = &p10;
	struct edp_tlb_state s = { 0 };
	struct edp_tlb_verdict v;
	for (int i = 0; i < 2; i++)
		assert_false(interval(&s, pp, 0.40, 0.05, &v));
	assert_true(interval(&s, pp, 0.40, 0.05, &v));
	assert_false(interval(&s, pp, 0.30, 0.05, &v)); /* the hand-over: not measured */
	assert_false(interval(&s, pp, 0.06, 0.05, &v)); /* measuring */
	assert_false(v.ready);
	assert_false(interval(&s, pp, 0.08, 0.05, &v));
	assert_false(interval(&s, pp, 0.04, 0.05, &v));
	assert_true(v.ready && v.delivered && v.hold == 10);
	assert_float_equal(v.measured, 0.06, 1e-9);
	assert_float_equal(v.predicted, 0.05, 1e-9);
	assert_float_equal(v.speedup_predicted, 1, 1e-9); /* not saturated */
	assert_float_equal(v.speedup, 1, 1e-9);
	assert_false(v.worse);
	assert_int_equal(s.missed, 0);
	/* a move after which the spread is wider than before it: moved back */
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 3; i++)
		interval(&s, pp, 0.40, 0.05, &v);
	for (int i = 0; i < 4; i++)
		assert_false(interval(&s, pp, 0.50, 0.05, &v));
	assert_true(v.ready && v.worse && !v.delivered);
}

/* Moves that do not deliver: a load whose spread stays at 0.45 whatever
 * moves (predicted 0.10 each time) is tried again after 10, 20, 40
 * intervals, never sooner: a spread that stays where the last move left
 * it is no shift. */
static void test_hysteresis_misses_back_off(void **state)
{
	(void)state;
	const struct edp_tlb_policy p10 = { 0.85, 0.25, 0.05, 3, 3, 10, 0.25 };
	struct edp_tlb_state s = { 0 };
	struct edp_tlb_verdict v;
	int at[8], moves = 0, verdicts = 0;
	for (int i = 0; i < 100; i++) {
		if (interval(&s, &p10, 0.45, 0.10, &v))
			at[moves++] = i;
		if (v.ready) {
			assert_false(v.delivered);
			assert_false(v.shifted);
			assert_int_equal(v.hold, 10u << ++verdicts);
		}
	}
	/* a move at 2 (sustained), 1 + 3 intervals measured, held 20 (the
	 * first in the verdict's interval), a move, 4 measured, held 40 */
	assert_int_equal(moves, 3);
	assert_int_equal(at[0], 2);
	assert_int_equal(at[1], 2 + 4 + 20);
	assert_int_equal(at[2], 26 + 4 + 40);
	assert_int_equal(s.missed, 3);
}

/* A saturated run's move is for its rate: measured spread 0.18 where 0.01
 * was predicted (the reader takes what the move frees) delivers when the
 * rate rose as predicted (what a run measured: x1.12 and x1.12), does not
 * when it stayed, and is to be moved back when it fell (a heavy queue put on
 * the reader: x0.80). */
static void test_hysteresis_saturated_rate(void **state)
{
	(void)state;
	const double after[3][4] = { { 9.5e6, 10.37e6, 10.19e6, 10.21e6 }, /* the first: the hand-over's */
				     { 9.1e6, 9.05e6, 9.05e6, 9.05e6 },
				     { 8.0e6, 7.24e6, 7.24e6, 7.24e6 } };
	for (int c = 0; c < 3; c++) {
		static struct edp_tlb_state s;
		memset(&s, 0, sizeof(s));
		struct edp_tlb_verdict v;
		static struct edp_tlb_plan pl;
		pl = (struct edp_tlb_plan){ .spread_before = 0.22, .spread_after = 0.01, .max_before = 1, .moved = 4,
					    .speedup = 1.12 };
		char why[200];
		const double rate[3] = { 9.0e6, 9.1e6, 9.05e6 }; /* while it waited: 9.05e6 on average */
		for (int i = 0; i < 3; i++)
			assert_int_equal(edp_tlb_decide(&s, &policy, &pl, rate[i], false, &v, why, sizeof(why)), i == 2);
		assert_string_equal(why, "moved 4 queues: spread 0.22 -> 0.01 planned");
		pl.spread_before = 0.18;
		for (int i = 0; i < 4; i++)
			assert_false(edp_tlb_decide(&s, &policy, &pl, after[c][i], false, &v, why, sizeof(why)));
		assert_true(v.ready);
		assert_float_equal(v.measured, 0.18, 1e-9);
		assert_float_equal(v.speedup_predicted, 1.12, 1e-9);
		assert_float_equal(v.speedup, (after[c][1] + after[c][2] + after[c][3]) / 3 / 9.05e6, 1e-6);
		assert_int_equal(v.delivered, c == 0);
		assert_int_equal(v.worse, c == 2);
		if (c == 2)
			assert_string_equal(why, "moving the last move back: it left the run worse than before");
	}
}

/* One interval as interval() does, with 4 queues carrying these shares of
 * the packets. */
static bool interval_shares(struct edp_tlb_state *s, double before, double after, const float *share,
			    struct edp_tlb_verdict *v)
{
	static struct edp_tlb_plan pl;
	pl = (struct edp_tlb_plan){ .spread_before = before, .spread_after = after, .max_before = 1, .moved = 2,
				    .speedup = 1, .n_queues = 4 };
	memcpy(pl.share, share, 4 * sizeof(float));
	char why[200];
	return edp_tlb_decide(s, &policy, &pl, 0, false, v, why, sizeof(why));
}

/* A load that shifts ends the hold: a quarter of the packets on other
 * queues for `sustain` intervals in a row. Measured loads that wander with
 * the same traffic (a host's noise moved a steady run's spread from 0.03
 * to 0.14) are no shift, nor is a blip of two intervals. */
static void test_hysteresis_shift(void **state)
{
	(void)state;
	static struct edp_tlb_state s;
	struct edp_tlb_verdict v;
	const float steady[4] = { 0.40f, 0.30f, 0.20f, 0.10f }, near[4] = { 0.42f, 0.29f, 0.19f, 0.10f };
	const float blip[4] = { 0.10f, 0.20f, 0.30f, 0.40f }, shifted[4] = { 0.10f, 0.10f, 0.40f, 0.40f };
	int i = 0, moved_at = -1;
	for (; i < 7; i++) /* a move at 2, measured 0.06 at 6: hold 30 */
		interval_shares(&s, i < 3 ? 0.40 : 0.06, 0.05, steady, &v);
	assert_true(v.ready && v.delivered && s.hold == 29);
	for (; i < 26; i++) { /* the spread wanders, the traffic stays (and blips twice in a row) */
		const double spread[4] = { 0.15, 0.02, 0.30, 0.25 };
		assert_false(interval_shares(&s, spread[i % 4], 0.05, i == 20 || i == 21 ? blip : i % 2 ? near : steady, &v));
		assert_false(v.shifted);
	}
	for (; i < 40 && moved_at < 0; i++) /* the hot flows change: half the packets on other queues */
		if (interval_shares(&s, 0.35, 0.03, shifted, &v))
			moved_at = i;
	assert_int_equal(moved_at, 28); /* the third interval in a row */
	assert_true(v.shifted);
	assert_float_equal(v.shift, 0.5, 1e-6);
	assert_int_equal(s.missed, 0);
}

/* The spreads and predictions a run that flapped logged, one a second (2
 * threads, 8 queues, Zipf(1.5) over 200 flows, looped: 9 rebalances in 10
 * s before the hysteresis), repeated over 30 intervals: one move, after
 * the first three, and a hold-off that outlasts the rest. */
static void test_hysteresis_recorded_steady(void **state)
{
	(void)state;
	static const double spread[] = { 0.07, 0.05, 0.12, 0.10, 0.19, 0.09, 0.10, 0.16, 0.11 };
	static const double predicted[] = { 0.01, 0.00, 0.02, 0.00, 0.00, 0.00, 0.00, 0.01, 0.02 };
	struct edp_tlb_state s = { 0 };
	struct edp_tlb_verdict v;
	int moves = 0, first = -1;
	for (int i = 0; i < 30; i++)
		if (interval(&s, &policy, spread[i % 9], predicted[i % 9], &v) && moves++ == 0)
			first = i;
	assert_int_equal(moves, 1);
	assert_true(first >= 2);
}

/* The loop the balancer runs (plan, decide, apply) on a simulated load: 4
 * threads on two NUMA nodes (0, 1 on node 0; 2, 3 on node 1), 8 queues a
 * node, loads with 5% noise each interval. Steady for 20 intervals (the
 * first thread of each node at 0.9, with the heaviest four queues), then,
 * while the balancer holds off after its first move, the hot flows shift
 * onto the queues of one thread of each node. Queues never leave their
 * node; the steady load is moved once; the shift is followed within
 * sustain intervals and settles again. */
static void test_closed_loop_two_nodes(void **state)
{
	(void)state;
	const double weight[8] = { 0.30, 0.25, 0.20, 0.15, 0.10, 0.10, 0.05, 0.05 }; /* of a node: 1.2 */
	const int32_t numa[4] = { 0, 0, 1, 1 };
	struct edp_tlb_threads *t = threads(4, numa, NULL);
	struct edp_tlb_queue q[16];
	double load[16];
	for (int i = 0; i < 16; i++) {
		load[i] = weight[i % 8];
		q[i] = (struct edp_tlb_queue){ 0, (i < 8 ? 0 : 2) + (i % 8 >= 4), i < 8 ? 0 : 1, false, 1000 };
	}
	struct edp_tlb_state s = { 0 };
	struct edp_tlb_verdict v;
	uint32_t seed = 12345, moves_steady = 0, moves_after = 0;
	int shift_followed = -1;
	for (int i = 0; i < 140; i++) {
		if (i == 20) { /* the heaviest loads onto the queues thread 0 and thread 2 own now */
			int k[2] = { 0, 0 };
			for (int pass = 0; pass < 2; pass++)
				for (int j = 0; j < 16; j++)
					if ((q[j].owner == 0 || q[j].owner == 2) == (pass == 0))
						load[j] = weight[k[j >= 8]++];
		}
		for (int j = 0; j < 16; j++) {
			seed = seed * 1103515245u + 12345u;
			q[j].load = load[j] * (0.95 + 0.1 * (double)(seed >> 16 & 0x7fff) / 32767.0);
			q[j].packets = (uint64_t)(q[j].load * 1e6); /* the same cost a packet everywhere */
		}
		edp_tlb_plan(q, 16, t, &plan);
		char why[200];
		if (!edp_tlb_decide(&s, &policy, &plan, 0, false, &v, why, sizeof(why)))
			continue;
		for (int j = 0; j < 16; j++) {
			assert_int_equal(numa[plan.owner[j]], q[j].numa); /* never off its node */
			q[j].owner = plan.owner[j];
		}
		if (i < 20)
			moves_steady++;
		else if (shift_followed < 0)
			shift_followed = i;
		else
			moves_after++;
	}
	assert_int_equal(moves_steady, 1);
	assert_true(shift_followed >= 20 && shift_followed <= 20 + (int)policy.sustain);
	assert_int_equal(moves_after, 0);
	assert_int_equal(s.missed, 0);
}

/* Asked for now (edp-run ctl rebalance): no waiting, worth it is enough. */
static void test_hysteresis_asked(void **state)
{
	(void)state;
	struct edp_tlb_state s = { .hold = 7 };
	struct edp_tlb_plan pl = { .spread_before = 0.3, .spread_after = 0.0, .max_before = 1, .moved = 1 };
	struct edp_tlb_verdict v;
	char why[200];
	assert_false(edp_tlb_decide(&s, &policy, &pl, 0, false, &v, why, sizeof(why)));
	assert_string_equal(why, "holding off after a move (7 intervals left)");
	assert_true(edp_tlb_decide(&s, &policy, &pl, 0, true, &v, why, sizeof(why)));
	pl.spread_before = 0.03;
	assert_false(edp_tlb_decide(&s, &policy, &pl, 0, true, &v, why, sizeof(why))); /* not worth it, asked or not */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hot_queue),
		cmocka_unit_test(test_greedy_and_stable),
		cmocka_unit_test(test_pinned_and_numa),
		cmocka_unit_test(test_base_load),
		cmocka_unit_test(test_learn_costs_from_a_move),
		cmocka_unit_test(test_plan_costs_and_saturation),
		cmocka_unit_test(test_place_spread),
		cmocka_unit_test(test_place_pinned_and_numa),
		cmocka_unit_test(test_hysteresis_sustain_and_min_gain),
		cmocka_unit_test(test_hysteresis_verify_and_backoff),
		cmocka_unit_test(test_hysteresis_misses_back_off),
		cmocka_unit_test(test_hysteresis_saturated_rate),
		cmocka_unit_test(test_hysteresis_shift),
		cmocka_unit_test(test_hysteresis_recorded_steady),
		cmocka_unit_test(test_hysteresis_asked),
		cmocka_unit_test(test_closed_loop_two_nodes),
	};
	return cmocka_run_group_tests_name("tlb", tests, NULL, NULL);
}
