/* edp_doorbell: how an idle datapath thread sleeps until another thread has
 * work for it, instead of spinning on a core that a busy thread needs.
 *
 * A waiter announces itself (edp_doorbell_prepare), checks once more for
 * work, and only then sleeps (edp_doorbell_wait) - or calls
 * edp_doorbell_cancel when the check found work. A waker publishes its work
 * first (a ring enqueue, a flag) and then rings. The announcement and the
 * waker's check are ordered by sequentially consistent fences, so a wake-up
 * is never lost: either the waker sees the waiter, or the waiter's last check
 * sees the work.
 *
 * Ringing costs one fence and one load of a line that changes only when a
 * thread goes to sleep or wakes, so wakers ring on every batch.
 * edp_doorbell_waiting lets a waker hold a wake-up back until there is
 * enough work to be worth a context switch.
 *
 * Waits end at the timeout too: a bound on any mistake, and the moment an
 * idle thread publishes its idle time.
 */
#ifndef EDP_DOORBELL_H
#define EDP_DOORBELL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct edp_doorbell {
	_Alignas(64) _Atomic uint32_t seq; /* bumped by each wake-up; the futex word */
	_Atomic uint32_t waiters;          /* threads between prepare and the end of wait */
};

static inline void edp_doorbell_init(struct edp_doorbell *db)
{
	atomic_init(&db->seq, 0);
	atomic_init(&db->waiters, 0);
}

/* A full (sequentially consistent) fence. On x86-64 a locked no-op on the
 * word below the stack pointer, as Linux's smp_mb() does: GCC's fence is a
 * locked no-op on the stack top, which the loads of the stack that follow
 * (locals, the return address) then wait for. Wakers ring on every
 * batch, so it counts: 64-byte packets, 1,000 rules, `-t 2` took 0.90-0.93
 * of the time with GCC's fence (IMIX: no difference). */
static inline void edp_doorbell_fence(void)
{
#if defined(__x86_64__)
	__asm__ __volatile__("lock orl $0, -4(%%rsp)" ::: "memory", "cc");
#else
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

/* Announce a wait. Returns the ticket for edp_doorbell_wait. */
static inline uint32_t edp_doorbell_prepare(struct edp_doorbell *db)
{
	atomic_fetch_add_explicit(&db->waiters, 1, memory_order_seq_cst);
	edp_doorbell_fence();
	return atomic_load_explicit(&db->seq, memory_order_acquire);
}

static inline void edp_doorbell_cancel(struct edp_doorbell *db)
{
	atomic_fetch_sub_explicit(&db->waiters, 1, memory_order_relaxed);
}

/* Sleep until rung after the ticket was taken, or timeout_ns passes. */
void edp_doorbell_wait(struct edp_doorbell *db, uint32_t ticket, uint64_t timeout_ns);

/* Whether a thread sleeps (or is about to) on db: call after publishing. */
static inline bool edp_doorbell_waiting(struct edp_doorbell *db)
{
	edp_doorbell_fence();
	return atomic_load_explicit(&db->waiters, memory_order_relaxed) != 0;
}

void edp_doorbell_wake(struct edp_doorbell *db);

/* Wake whoever waits on db; costs a fence and a load when nobody does. */
static inline void edp_doorbell_ring(struct edp_doorbell *db)
{
	if (edp_doorbell_waiting(db))
		edp_doorbell_wake(db);
}

#endif
