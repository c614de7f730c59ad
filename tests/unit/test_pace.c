#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "unit.h"
#include "edp_clock.h"
#include "edp_pace.h"

static struct edp_pace p;

/* Schedules are absolute: packet k of a rate is due at start + k/rate. */
static void test_schedules(void **state)
{
	(void)state;
	struct edp_pace_config pps = { EDP_PACE_PPS, 1, 250000, false };
	edp_pace_init(&p, &pps);
	uint64_t d0 = edp_pace_due(&p, 0, 64);
	assert_int_equal(d0, p.start_ns);
	for (int k = 1; k < 1000; k++)
		assert_int_equal(edp_pace_due(&p, 0, 64) - d0, (uint64_t)k * 4000);

	struct edp_pace_config mbps = { EDP_PACE_MBPS, 1, 100, true }; /* 100 Mbit/s, wire bits */
	edp_pace_init(&p, &mbps);
	d0 = edp_pace_due(&p, 0, 64);                    /* 84 bytes on the wire: 6720 ns */
	assert_int_equal(edp_pace_due(&p, 0, 1500) - d0, 6720);
	assert_int_equal(edp_pace_due(&p, 0, 64) - d0, 6720 + 121600); /* 1520 bytes */

	struct edp_pace_config cap = { EDP_PACE_CAPTURE, 2, 0, false };
	edp_pace_init(&p, &cap);
	d0 = edp_pace_due(&p, 1000000, 64);
	assert_int_equal(edp_pace_due(&p, 3000000, 64) - d0, 1000000); /* 2 ms of capture, twice as fast */
	assert_int_equal(edp_pace_due(&p, 500000, 64) - d0, 0);        /* time going back: at once */

	struct edp_pace_config top = { EDP_PACE_TOPSPEED, 1, 0, false };
	edp_pace_init(&p, &top);
	assert_int_equal(edp_pace_due(&p, 5, 64), 0);
}

/* Percentiles within the histogram's 1/64 relative precision. */
static void test_percentiles(void **state)
{
	(void)state;
	struct edp_pace_config top = { EDP_PACE_TOPSPEED, 1, 0, false };
	edp_pace_init(&p, &top);
	assert_int_equal(edp_pace_percentile(&p.lateness, 0.5), 0); /* empty */
	/* lateness through edp_pace_sent with due times in the past */
	uint64_t now = edp_clock_ns(CLOCK_MONOTONIC);
	for (uint64_t v = 1; v <= 1000; v++)
		edp_pace_sent(&p, now - v * 1000000); /* 1 ms .. 1 s late, plus a little */
	uint64_t p50 = edp_pace_percentile(&p.lateness, 0.5), p99 = edp_pace_percentile(&p.lateness, 0.99);
	assert_true(p50 >= 500000000 && p50 <= 500000000 + 500000000 / 32);
	assert_true(p99 >= 990000000 && p99 <= 990000000 + 990000000 / 32);
	assert_int_equal(p.lateness.n, 1000);
	assert_int_equal(p.gaps.n, 999);
	assert_true(edp_pace_percentile(&p.lateness, 1.0) == p.lateness.max);
}

/* A wait ends at its due time, not before, and not much after. */
static void test_wait(void **state)
{
	(void)state;
	uint64_t due = edp_clock_ns(CLOCK_MONOTONIC) + 2000000;
	assert_true(edp_pace_wait(due, NULL));
	uint64_t now = edp_clock_ns(CLOCK_MONOTONIC);
	assert_true(now >= due);
	assert_true(now - due < 50000000); /* generous: a loaded VM wakes late */
}

static volatile sig_atomic_t stop_flag;
static void on_alarm(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* A stop signal ends a long wait (a capture's gap may be hours) at once,
 * and a stop already requested ends the spin before a due time. */
static void test_wait_stopped(void **state)
{
	(void)state;
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval t = { .it_value = { 0, 100000 } }; /* 0.1 s */
	setitimer(ITIMER_REAL, &t, NULL);
	uint64_t t0 = edp_clock_ns(CLOCK_MONOTONIC);
	assert_false(edp_pace_wait(t0 + 3600ull * 1000000000ull, &stop_flag));
	uint64_t took = edp_clock_ns(CLOCK_MONOTONIC) - t0;
	assert_true(took >= 90000000 && took < 2000000000ull);
	assert_false(edp_pace_wait(edp_clock_ns(CLOCK_MONOTONIC) + EDP_PACE_SPIN_NS / 2, &stop_flag));
	stop_flag = 0;
	assert_true(edp_pace_wait(edp_clock_ns(CLOCK_MONOTONIC) + EDP_PACE_SPIN_NS / 2, &stop_flag));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedules),
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_wait_stopped),
	};
	return cmocka_run_group_tests_name("pace", tests, NULL, NULL);
}
