#include "edp_doorbell.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void edp_doorbell_wait(struct edp_doorbell *db, uint32_t ticket, uint64_t timeout_ns)
{
	struct timespec ts = { (time_t)(timeout_ns / 1000000000ull), (long)(timeout_ns % 1000000000ull) };
	/* returns at once when seq moved past the ticket already */
	syscall(SYS_futex, &db->seq, FUTEX_WAIT_PRIVATE, ticket, &ts, NULL, 0);
	atomic_fetch_sub_explicit(&db->waiters, 1, memory_order_relaxed);
}

void edp_doorbell_wake(struct edp_doorbell *db)
{
	atomic_fetch_add_explicit(&db->seq, 1, memory_order_release);
	syscall(SYS_futex, &db->seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
