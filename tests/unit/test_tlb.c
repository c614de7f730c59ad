#include "unit.h"
#include "edp_tlb.h"

static struct edp_tlb_plan plan;

/* One hot queue: the others move away from its thread. */
static void test_hot_queue(void **state)
{
	(void)state;
	struct edp_tlb_queue q[4] = {
		{ 0.90, 0, -1, false }, { 0.03, 1, -1, false }, { 0.03, 0, -1, false }, { 0.03, 1, -1, false } };
	int32_t numa[2] = { 0, 0 };
	edp_tlb_plan(q, 4, numa, NULL, 2, &plan);
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
	struct edp_tlb_queue q[6] = { { 0.5, 0, -1, false }, { 0.4, 0, -1, false }, { 0.3, 0, -1, false },
				      { 0.2, 0, -1, false }, { 0.1, 0, -1, false }, { 0.0, 0, -1, false } };
	int32_t numa[3] = { -1, -1, -1 };
	edp_tlb_plan(q, 6, numa, NULL, 3, &plan);
	/* 0.5->t0, 0.4->t1, 0.3->t2, 0.2->t2, 0.1->t1, 0.0->t0 (tie, stays) */
	const int32_t want[6] = { 0, 1, 2, 2, 1, 0 };
	for (int i = 0; i < 6; i++)
		assert_int_equal(plan.owner[i], want[i]);
	assert_true(plan.after[0] > 0.49 && plan.after[0] < 0.51);
	assert_true(plan.after[1] > 0.49 && plan.after[1] < 0.51);
	assert_true(plan.after[2] > 0.49 && plan.after[2] < 0.51);
	/* a balanced plan fed back in moves nothing */
	for (int i = 0; i < 6; i++)
		q[i].owner = plan.owner[i];
	edp_tlb_plan(q, 6, numa, NULL, 3, &plan);
	assert_int_equal(plan.moved, 0);
	assert_false(edp_tlb_worth_it(&plan, 0.0, 0.0));
}

static void test_pinned_and_numa(void **state)
{
	(void)state;
	/* threads 0,1 on node 0; thread 2 on node 1 */
	int32_t numa[3] = { 0, 0, 1 };
	struct edp_tlb_queue q[4] = { { 0.6, 0, 0, true },   /* pinned to 0 */
				      { 0.5, 0, 0, false },  /* node 0: goes to 1 */
				      { 0.4, 0, 1, false },  /* node 1: only thread 2 */
				      { 0.3, 2, 0, false } }; /* node 0: least loaded there */
	edp_tlb_plan(q, 4, numa, NULL, 3, &plan);
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
		{ 0.2, 0, 0, false }, { 0.2, 1, 0, false }, { 0.1, 0, 0, false }, { 0.1, 1, 0, false } };
	edp_tlb_plan(q, 4, numa, base, 2, &plan);
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
	edp_tlb_plan(q, 4, numa, NULL, 2, &plan);
	assert_int_equal(plan.moved, 0);
}

/* The first placement: the reader (thread 0) counts one queue more and
 * loses ties, so with 2 threads the queues go 1, 1, 0, 1, 0, 1. */
static void test_place_spread(void **state)
{
	(void)state;
	int32_t node[6] = { 0, 0, 0, 0, 0, 0 }, pin[6] = { -1, -1, -1, -1, -1, -1 }, numa[2] = { 0, 0 }, owner[6];
	edp_tlb_place(node, pin, 6, numa, 2, owner);
	int32_t want[6] = { 1, 1, 0, 1, 0, 1 };
	assert_memory_equal(owner, want, sizeof(want));
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
	struct edp_tlb_plan pl = { .spread_before = before, .spread_after = after, .max_before = 1, .moved = 2 };
	char why[200];
	return edp_tlb_decide(s, p, &pl, false, v, why, sizeof(why));
}

static const struct edp_tlb_policy policy = { 0.85, 0.25, 0.05, 3, 3, 30 }; /* the defaults (edp.yaml(5)) */

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

/* After a move: measured over `verify` intervals, then held off for
 * `backoff` intervals, twice as long for each move in a row that did not
 * deliver. */
static void test_hysteresis_verify_and_backoff(void **state)
{
	(void)state;
	const struct edp_tlb_policy p10 = { 0.85, 0.25, 0.05, 3, 3, 10 }, *pp = &p10;
	struct edp_tlb_state s = { 0 };
	struct edp_tlb_verdict v;
	for (int i = 0; i < 3; i++)
		interval(&s, pp, 0.40, 0.05, &v);
	assert_false(interval(&s, pp, 0.06, 0.05, &v)); /* measuring */
	assert_false(v.ready);
	assert_false(interval(&s, pp, 0.08, 0.05, &v));
	assert_false(interval(&s, pp, 0.04, 0.05, &v));
	assert_true(v.ready && v.delivered && v.hold == 10);
	assert_float_equal(v.measured, 0.06, 1e-9);
	assert_float_equal(v.predicted, 0.05, 1e-9);
	/* the load shifts: moved again once the hold is over, and missing */
	int at[4], moves = 0;
	for (int i = 0; i < 60; i++)
		if (interval(&s, pp, 0.45, 0.10, &v) && moves < 4)
			at[moves++] = i;
		else if (v.ready)
			assert_false(v.delivered);
	/* held 10 intervals (the first in the interval of the verdict), a
	 * move, 3 measured, held 20, a move, 3 measured, held 40 */
	assert_int_equal(moves, 2);
	assert_int_equal(at[0], 9);
	assert_int_equal(at[1], 32);
	assert_int_equal(s.missed, 2);
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

/* Asked for now (edp-run ctl rebalance): no waiting, worth it is enough. */
static void test_hysteresis_asked(void **state)
{
	(void)state;
	struct edp_tlb_state s = { .hold = 7 };
	struct edp_tlb_plan pl = { .spread_before = 0.3, .spread_after = 0.0, .max_before = 1, .moved = 1 };
	struct edp_tlb_verdict v;
	char why[200];
	assert_false(edp_tlb_decide(&s, &policy, &pl, false, &v, why, sizeof(why)));
	assert_string_equal(why, "holding off after a move (7 intervals left)");
	assert_true(edp_tlb_decide(&s, &policy, &pl, true, &v, why, sizeof(why)));
	pl.spread_before = 0.03;
	assert_false(edp_tlb_decide(&s, &policy, &pl, true, &v, why, sizeof(why))); /* not worth it, asked or not */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hot_queue),
		cmocka_unit_test(test_greedy_and_stable),
		cmocka_unit_test(test_pinned_and_numa),
		cmocka_unit_test(test_base_load),
		cmocka_unit_test(test_place_spread),
		cmocka_unit_test(test_place_pinned_and_numa),
		cmocka_unit_test(test_hysteresis_sustain_and_min_gain),
		cmocka_unit_test(test_hysteresis_verify_and_backoff),
		cmocka_unit_test(test_hysteresis_recorded_steady),
		cmocka_unit_test(test_hysteresis_asked),
	};
	return cmocka_run_group_tests_name("tlb", tests, NULL, NULL);
}
