#include <pthread.h>
#include <stdlib.h>

#include "unit.h"
#include "edp_ring.h"

/* n distinct non-NULL objects: 1, 2, ..., n. */
static void numbered(void **objs, uintptr_t n)
{
	for (uintptr_t i = 0; i < n; i++)
		objs[i] = (void *)(i + 1);
}

static void test_burst_semantics(void **state)
{
	(void)state;
	struct edp_ring *r = edp_ring_create(5, NULL);
	assert_int_equal(edp_ring_capacity(r), 8);
	void *in[10], *out[10];
	numbered(in, 10);
	assert_int_equal(edp_ring_dequeue_burst(r, out, 4), 0);
	assert_int_equal(edp_ring_enqueue_burst(r, in, 10), 8); /* full after 8 */
	assert_int_equal(edp_ring_enqueue_burst(r, in, 1), 0);
	assert_int_equal(edp_ring_count(r), 8);
	assert_int_equal(edp_ring_dequeue_burst(r, out, 3), 3);
	assert_ptr_equal(out[0], in[0]);
	assert_ptr_equal(out[2], in[2]);
	assert_int_equal(edp_ring_enqueue_burst(r, in + 8, 2), 2); /* wraps */
	assert_int_equal(edp_ring_dequeue_burst(r, out, 10), 7);
	assert_ptr_equal(out[4], in[7]);
	assert_ptr_equal(out[5], in[8]);
	assert_ptr_equal(out[6], in[9]);
	edp_ring_destroy(r);
}

/* A peek copies the oldest waiting objects and takes none of them. */
static void test_peek(void **state)
{
	(void)state;
	struct edp_ring *r = edp_ring_create(8, NULL);
	void *in[8], *out[8];
	numbered(in, 8);
	assert_int_equal(edp_ring_peek(r, out, 4), 0);
	assert_int_equal(edp_ring_enqueue_burst(r, in, 6), 6);
	assert_int_equal(edp_ring_dequeue_burst(r, out, 2), 2);
	assert_int_equal(edp_ring_peek(r, out, 8), 4); /* only what waits */
	assert_ptr_equal(out[0], in[2]);
	assert_ptr_equal(out[3], in[5]);
	assert_int_equal(edp_ring_count(r), 4);
	assert_int_equal(edp_ring_enqueue_burst(r, in, 4), 4); /* room as before the peek */
	assert_int_equal(edp_ring_dequeue_burst(r, out, 8), 8);
	assert_ptr_equal(out[0], in[2]);
	assert_ptr_equal(out[4], in[0]);
	edp_ring_destroy(r);
}

/* The consumer's own view of what waits: what its last look at head
 * showed, less what it took; never more than is there. */
static void test_waiting(void **state)
{
	(void)state;
	struct edp_ring *r = edp_ring_create(8, NULL);
	void *in[8], *out[8];
	numbered(in, 8);
	assert_int_equal(edp_ring_waiting(r), 0);
	assert_int_equal(edp_ring_enqueue_burst(r, in, 2), 2);
	assert_int_equal(edp_ring_waiting(r), 0); /* not looked yet */
	assert_int_equal(edp_ring_dequeue_burst(r, out, 1), 1);
	assert_int_equal(edp_ring_waiting(r), 1); /* the look found 2, took 1 */
	assert_int_equal(edp_ring_enqueue_burst(r, in, 5), 5);
	assert_int_equal(edp_ring_waiting(r), 1); /* a lower bound until the next look */
	assert_int_equal(edp_ring_dequeue_burst(r, out, 4), 4);
	assert_int_equal(edp_ring_waiting(r), 2);
	assert_int_equal(edp_ring_waiting(r), edp_ring_count(r));
	edp_ring_destroy(r);
}

#define STRESS_N 5000000u

static void *producer(void *arg)
{
	struct edp_ring *r = arg;
	uint64_t rng = 1;
	uintptr_t next = 1;
	void *objs[64];
	while (next <= STRESS_N) {
		uint32_t want = 1 + unit_rand(&rng) % 64, n = 0;
		while (n < want && next + n <= STRESS_N) {
			objs[n] = (void *)(next + n);
			n++;
		}
		uint32_t done = edp_ring_enqueue_burst(r, objs, n);
		next += done;
	}
	return NULL;
}

/* One producer and one consumer on separate threads through a small ring:
 * every object arrives exactly once and in order. */
static void test_concurrent_stress(void **state)
{
	(void)state;
	struct edp_ring *r = edp_ring_create(64, NULL);
	pthread_t t;
	pthread_create(&t, NULL, producer, r);
	uint64_t rng = 2;
	uintptr_t expect = 1;
	void *objs[64];
	while (expect <= STRESS_N) {
		uint32_t n = edp_ring_dequeue_burst(r, objs, 1 + unit_rand(&rng) % 64);
		for (uint32_t i = 0; i < n; i++) {
			if ((uintptr_t)objs[i] != expect)
				fail_msg("got %lu, expected %lu", (unsigned long)(uintptr_t)objs[i], (unsigned long)expect);
			expect++;
		}
	}
	pthread_join(t, NULL);
	assert_int_equal(edp_ring_count(r), 0);
	edp_ring_destroy(r);
}

/* An array beside the ring, one element a slot: written at the slot
 * edp_ring_stage returns before the publish, read at the consumer's after a
 * peek and before the skip that frees the slots; the positions wrap with
 * the ring. */
static void test_side_array(void **state)
{
	(void)state;
	struct edp_ring *r = edp_ring_create(8, NULL);
	uint32_t side[8], mask = edp_ring_capacity(r) - 1;
	void *in[8], *out[8];
	numbered(in, 8);
	for (uint32_t round = 0; round < 5; round++) { /* 5 x 3 slots: wraps around twice */
		for (uint32_t i = 0; i < 3; i++) {
			uint32_t slot = edp_ring_stage(r, i, in[i]);
			assert_int_equal(slot, (round * 3 + i) % 8);
			side[slot] = round * 10 + i;
		}
		edp_ring_publish(r, 3);
		assert_int_equal(edp_ring_peek(r, out, 8), 3);
		uint32_t at = edp_ring_consumer_slot(r);
		assert_int_equal(at, round * 3 % 8);
		for (uint32_t i = 0; i < 3; i++)
			assert_int_equal(side[(at + i) & mask], round * 10 + i);
		edp_ring_skip(r, 2); /* one left behind for the next round's peek */
		assert_int_equal(edp_ring_count(r), 1);
		assert_int_equal(edp_ring_consumer_slot(r), (round * 3 + 2) % 8);
		assert_int_equal(edp_ring_dequeue_burst(r, out, 1), 1);
		assert_ptr_equal(out[0], in[2]);
	}
	edp_ring_destroy(r);
}

/* Staged objects: invisible until published, then in staging order, the
 * slots wrapping; two rings filled from one burst each keep their order. */
static void test_stage_publish(void **state)
{
	(void)state;
	struct edp_ring *a = edp_ring_create(8, NULL), *b = edp_ring_create(8, NULL);
	void *in[8], *out[8];
	numbered(in, 8);
	for (uint32_t round = 0; round < 4; round++) { /* 4 x 5 on a: wraps */
		uint32_t na = 0, nb = 0;
		for (uint32_t i = 0; i < 8; i++) { /* odd ones to b, even ones to a, a gets one more */
			if (i % 2 && nb < 3)
				edp_ring_stage(b, nb++, in[i]);
			else
				edp_ring_stage(a, na++, in[i]);
		}
		assert_int_equal(na, 5);
		assert_int_equal(edp_ring_count(a), 0); /* nothing visible yet */
		assert_int_equal(edp_ring_count(b), 0);
		edp_ring_publish(a, na);
		edp_ring_publish(b, nb);
		assert_int_equal(edp_ring_dequeue_burst(a, out, 8), 5);
		const uint32_t want_a[] = { 0, 2, 4, 6, 7 };
		for (uint32_t i = 0; i < 5; i++)
			assert_ptr_equal(out[i], in[want_a[i]]);
		assert_int_equal(edp_ring_dequeue_burst(b, out, 8), 3);
		for (uint32_t i = 0; i < 3; i++)
			assert_ptr_equal(out[i], in[2 * i + 1]);
	}
	edp_ring_destroy(a);
	edp_ring_destroy(b);
}

struct side_ring {
	struct edp_ring *r;
	uintptr_t side[64];
};

static void *side_producer(void *arg)
{
	struct side_ring *s = arg;
	uint64_t rng = 3;
	uintptr_t next = 1;
	void *objs[64];
	while (next <= STRESS_N) {
		uint32_t want = 1 + unit_rand(&rng) % 64, n = 0;
		while (n < want && next + n <= STRESS_N) {
			objs[n] = (void *)(next + n);
			n++;
		}
		if (!edp_ring_has_room(s->r, n))
			continue;
		for (uint32_t i = 0; i < n; i++) /* has_room said there is room */
			s->side[edp_ring_stage(s->r, i, objs[i])] = (next + i) * 7;
		edp_ring_publish(s->r, n);
		next += n;
	}
	return NULL;
}

/* The same across threads: every slot's element is the one its producer
 * wrote, never the one of the round before or after. */
static void test_side_array_concurrent(void **state)
{
	(void)state;
	struct side_ring s = { edp_ring_create(64, NULL), { 0 } };
	pthread_t t;
	pthread_create(&t, NULL, side_producer, &s);
	uint64_t rng = 4;
	uintptr_t expect = 1;
	void *objs[64];
	uint32_t mask = edp_ring_capacity(s.r) - 1;
	while (expect <= STRESS_N) {
		uint32_t n = edp_ring_peek(s.r, objs, 1 + unit_rand(&rng) % 64), at = edp_ring_consumer_slot(s.r);
		for (uint32_t i = 0; i < n; i++) {
			uintptr_t v = s.side[(at + i) & mask];
			if ((uintptr_t)objs[i] != expect || v != expect * 7)
				fail_msg("slot %u: object %lu, element %lu, expected %lu", (at + i) & mask,
					 (unsigned long)(uintptr_t)objs[i], (unsigned long)v, (unsigned long)expect);
			expect++;
		}
		edp_ring_skip(s.r, n);
	}
	pthread_join(t, NULL);
	edp_ring_destroy(s.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_semantics),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_waiting),
		cmocka_unit_test(test_concurrent_stress),
		cmocka_unit_test(test_side_array),
		cmocka_unit_test(test_stage_publish),
		cmocka_unit_test(test_side_array_concurrent),
	};
	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
