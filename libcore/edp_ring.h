/* edp_ring: a lock-free single-producer/single-consumer ring of pointers.
 *
 * Capacity is a power of two fixed at creation. The producer owns `head`, the
 * consumer owns `tail`; each lives on its own cache line next to the
 * producer's (consumer's) cached copy of the other index, so in the steady
 * state a burst touches the shared line of the other side only when its
 * cached view runs out. Publication is release/acquire: the objects written
 * before a head store are visible to the consumer that loads that head.
 *
 * Burst functions move up to n objects and return how many they moved (0 when
 * the ring is full or empty); they never block and never allocate.
 *
 * Thread-safety: exactly one producer thread and one consumer thread.
 */
#ifndef EDP_RING_H
#define EDP_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edp_error.h"

struct edp_ring {
	_Alignas(64) _Atomic uint32_t head; /* next slot the producer fills */
	uint32_t producer_tail;             /* producer's cached copy of tail */
	_Alignas(64) _Atomic uint32_t tail; /* next slot the consumer empties */
	uint32_t consumer_head;             /* consumer's cached copy of head */
	_Alignas(64) uint32_t mask;
	void *slots[];
};

/* A ring of at least `capacity` slots (rounded up to a power of two, at
 * least 2). NULL with err set when memory is short. */
struct edp_ring *edp_ring_create(uint32_t capacity, struct edp_error *err);
void edp_ring_destroy(struct edp_ring *r);

static inline uint32_t edp_ring_capacity(const struct edp_ring *r) { return r->mask + 1; }

static inline uint32_t edp_ring_enqueue_burst(struct edp_ring *r, void *const *objs, uint32_t n)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t room = r->mask + 1 - (head - r->producer_tail);
	if (room < n) {
		r->producer_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
		room = r->mask + 1 - (head - r->producer_tail);
		if (n > room)
			n = room;
	}
	for (uint32_t i = 0; i < n; i++)
		r->slots[(head + i) & r->mask] = objs[i];
	atomic_store_explicit(&r->head, head + n, memory_order_release);
	return n;
}

/* Copy up to n of the waiting objects, the oldest first, without taking
 * them (the consumer looks ahead: the next batch can be prefetched while
 * this one is processed). */
static inline uint32_t edp_ring_peek(struct edp_ring *r, void **objs, uint32_t n)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t avail = r->consumer_head - tail;
	if (avail < n) {
		r->consumer_head = atomic_load_explicit(&r->head, memory_order_acquire);
		avail = r->consumer_head - tail;
		if (n > avail)
			n = avail;
	}
	for (uint32_t i = 0; i < n; i++)
		objs[i] = r->slots[(tail + i) & r->mask];
	return n;
}

/* Producer: put obj k places after the last published slot without
 * publishing it (the caller has seen room for k + 1 with edp_ring_has_room
 * and stages 0, 1, ... in turn); edp_ring_publish makes the first n staged
 * visible at once. A producer can so fill several rings from one burst.
 * Returns the slot: where an array beside the ring, one element a slot,
 * takes the object's element (written before the publish; the consumer
 * reads it at edp_ring_consumer_slot before the skip that frees it). */
static inline uint32_t edp_ring_stage(struct edp_ring *r, uint32_t k, void *obj)
{
	uint32_t slot = (atomic_load_explicit(&r->head, memory_order_relaxed) + k) & r->mask;
	r->slots[slot] = obj;
	return slot;
}

static inline void edp_ring_publish(struct edp_ring *r, uint32_t n)
{
	atomic_store_explicit(&r->head, atomic_load_explicit(&r->head, memory_order_relaxed) + n, memory_order_release);
}

/* Free the n oldest slots (n <= what a peek returned). */
static inline void edp_ring_skip(struct edp_ring *r, uint32_t n)
{
	atomic_store_explicit(&r->tail, atomic_load_explicit(&r->tail, memory_order_relaxed) + n, memory_order_release);
}

static inline uint32_t edp_ring_dequeue_burst(struct edp_ring *r, void **objs, uint32_t n)
{
	n = edp_ring_peek(r, objs, n);
	edp_ring_skip(r, n);
	return n;
}

static inline int edp_ring_has_room(struct edp_ring *r, uint32_t n)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (r->mask + 1 - (head - r->producer_tail) >= n)
		return 1;
	r->producer_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	return r->mask + 1 - (head - r->producer_tail) >= n;
}

/* Producer: the slot edp_ring_stage fills first (k = 0). */
static inline uint32_t edp_ring_producer_slot(const struct edp_ring *r)
{
	return atomic_load_explicit(&r->head, memory_order_relaxed) & r->mask;
}

/* Ask for the lines that hold slots at, at + 1, ..., at + n - 1 of an
 * array of elem-byte entries, one a slot (the ring's own, or an array
 * beside it), for writing or for reading. */
static inline void edp_ring_prefetch_entries(const struct edp_ring *r, const void *array, size_t elem, uint32_t at,
					     uint32_t n, bool write)
{
	const char *a = array;
	for (uint32_t i = 0; i < n; i++)
		if (i % (64 / elem) == 0 || i == n - 1) {
			const char *p = a + ((at + i) & r->mask) * elem;
			if (write)
				__builtin_prefetch(p, 1);
			else
				__builtin_prefetch(p, 0);
		}
}

/* Producer: ask for the lines of the n slots it fills next, for writing
 * (the consumer read them last), so that the stores into them do not wait. */
static inline void edp_ring_prefetch_free(const struct edp_ring *r, uint32_t n)
{
	edp_ring_prefetch_entries(r, r->slots, sizeof(void *), edp_ring_producer_slot(r), n, true);
}

/* The slot the consumer empties next (see edp_ring_stage). */
static inline uint32_t edp_ring_consumer_slot(const struct edp_ring *r)
{
	return atomic_load_explicit(&r->tail, memory_order_relaxed) & r->mask;
}

/* The consumer's view of how many objects wait: at least that many (what
 * its last look at head showed, less what it took since), from its own
 * lines only. */
static inline uint32_t edp_ring_waiting(struct edp_ring *r)
{
	return r->consumer_head - atomic_load_explicit(&r->tail, memory_order_relaxed);
}

/* Objects queued now (exact for either side; a snapshot for others). */
static inline uint32_t edp_ring_count(struct edp_ring *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire) -
	       atomic_load_explicit(&r->tail, memory_order_acquire);
}

#endif
