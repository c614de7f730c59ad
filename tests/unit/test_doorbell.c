#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "unit.h"
#include "edp_doorbell.h"
#include "edp_ring.h"

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Nobody waits: ringing is free of side effects; a wait whose ticket is
 * already stale returns at once; an unrung wait ends at its timeout. */
static void test_single_thread(void **state)
{
	(void)state;
	struct edp_doorbell db;
	edp_doorbell_init(&db);
	assert_false(edp_doorbell_waiting(&db));
	edp_doorbell_ring(&db);
	assert_int_equal(atomic_load(&db.seq), 0); /* no waiter: no wake-up */

	uint32_t ticket = edp_doorbell_prepare(&db);
	assert_true(edp_doorbell_waiting(&db));
	edp_doorbell_ring(&db); /* lands between prepare and wait */
	uint64_t t0 = now_ns();
	edp_doorbell_wait(&db, ticket, 5000000000ull);
	assert_true(now_ns() - t0 < 1000000000ull);
	assert_false(edp_doorbell_waiting(&db));

	ticket = edp_doorbell_prepare(&db);
	edp_doorbell_cancel(&db);
	assert_false(edp_doorbell_waiting(&db));

	ticket = edp_doorbell_prepare(&db);
	t0 = now_ns();
	edp_doorbell_wait(&db, ticket, 20000000ull); /* 20 ms, nobody rings */
	assert_true(now_ns() - t0 >= 19000000ull);
}

#define ITEMS 200000u

struct pair {
	struct edp_ring *ring;
	struct edp_doorbell db;
};

static void *producer(void *arg)
{
	struct pair *p = arg;
	uint64_t rng = 3;
	for (uintptr_t next = 1; next <= ITEMS;) {
		void *obj = (void *)next;
		if (edp_ring_enqueue_burst(p->ring, &obj, 1)) {
			next++;
			edp_doorbell_ring(&p->db);
		}
		if (unit_rand(&rng) % 64 == 0) { /* now and then let the consumer fall asleep */
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* A consumer that sleeps whenever the ring is empty never misses a wake-up:
 * with a 10 s timeout, a lost one would show as a wait that long. */
static void test_no_lost_wakeup(void **state)
{
	(void)state;
	struct pair p;
	p.ring = edp_ring_create(16, NULL);
	edp_doorbell_init(&p.db);
	pthread_t t;
	pthread_create(&t, NULL, producer, &p);
	uintptr_t expect = 1;
	uint64_t longest = 0, sleeps = 0;
	while (expect <= ITEMS) {
		void *obj;
		if (edp_ring_dequeue_burst(p.ring, &obj, 1)) {
			assert_int_equal((uintptr_t)obj, expect);
			expect++;
			continue;
		}
		uint32_t ticket = edp_doorbell_prepare(&p.db);
		if (edp_ring_count(p.ring)) {
			edp_doorbell_cancel(&p.db);
			continue;
		}
		uint64_t t0 = now_ns();
		edp_doorbell_wait(&p.db, ticket, 10000000000ull);
		uint64_t d = now_ns() - t0;
		longest = d > longest ? d : longest;
		sleeps++;
	}
	pthread_join(t, NULL);
	assert_true(sleeps > 0);
	if (longest >= 5000000000ull)
		fail_msg("a wait lasted %.1f s: a wake-up was lost", (double)longest / 1e9);
	edp_ring_destroy(p.ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_thread),
		cmocka_unit_test(test_no_lost_wakeup),
	};
	return cmocka_run_group_tests_name("doorbell", tests, NULL, NULL);
}
