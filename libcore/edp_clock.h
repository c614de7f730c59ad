/* edp_clock: the time in nanoseconds, the one way every engine reads it:
 * CLOCK_MONOTONIC for intervals and deadlines, CLOCK_REALTIME for what
 * people and captures see. Inline: the pacing loop reads it a packet. */
#ifndef EDP_CLOCK_H
#define EDP_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t edp_clock_ns(clockid_t clk)
{
	struct timespec t;
	clock_gettime(clk, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* A condition variable whose timed waits take CLOCK_MONOTONIC deadlines
 * (edp_clock_ns(CLOCK_MONOTONIC)), so that a clock set by hand moves none. */
static inline void edp_clock_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

#endif
