#include "edp_pace.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "edp_clock.h"

void edp_pace_init(struct edp_pace *p, const struct edp_pace_config *cfg)
{
	memset(p, 0, sizeof(*p));
	p->cfg = *cfg;
}

uint64_t edp_pace_due(struct edp_pace *p, uint64_t ts_ns, uint32_t len)
{
	if (!p->sent) {
		p->start_ns = edp_clock_ns(CLOCK_MONOTONIC);
		p->first_ts = ts_ns;
	}
	uint64_t due = 0;
	switch (p->cfg.mode) {
	case EDP_PACE_CAPTURE:
		due = p->start_ns +
		      (ts_ns > p->first_ts ? (uint64_t)((double)(ts_ns - p->first_ts) / p->cfg.multiplier) : 0);
		break;
	case EDP_PACE_PPS:
		due = p->start_ns + (uint64_t)((double)p->sent * 1e9 / p->cfg.rate);
		break;
	case EDP_PACE_MBPS:
		due = p->start_ns + (uint64_t)(p->bits * 1e3 / p->cfg.rate);
		p->bits += 8.0 * (len + (p->cfg.wire_bits ? 20 : 0));
		break;
	case EDP_PACE_TOPSPEED:
		break;
	}
	p->sent++;
	return due;
}

bool edp_pace_wait(uint64_t due, const volatile sig_atomic_t *stop)
{
	uint64_t now = edp_clock_ns(CLOCK_MONOTONIC);
	if (due <= now)
		return true;
	if (due - now > EDP_PACE_SPIN_NS) {
		uint64_t until = due - EDP_PACE_SPIN_NS;
		struct timespec ts = { (time_t)(until / 1000000000ull), (long)(until % 1000000000ull) };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			if (stop && *stop) /* a stop signal ends the sleep (a gap may be hours) */
				return false;
	}
	while (edp_clock_ns(CLOCK_MONOTONIC) < due) {
		if (stop && *stop)
			return false;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	return true;
}

/* Log-linear buckets: exact below 64, then 64 per power of two. */
static uint32_t bucket_of(uint64_t v)
{
	if (v < 64)
		return (uint32_t)v;
	uint32_t e = 63u - (uint32_t)__builtin_clzll(v);
	return (e - 5) * 64 + (uint32_t)((v >> (e - 6)) & 63);
}

static uint64_t bucket_top(uint32_t b)
{
	if (b < 64)
		return b;
	uint32_t e = b / 64 + 5, m = b % 64;
	return ((uint64_t)(65 + m) << (e - 6)) - 1;
}

static void record(struct edp_pace_hist *h, uint64_t v)
{
	h->count[bucket_of(v)]++;
	h->n++;
	if (v > h->max)
		h->max = v;
}

void edp_pace_sent(struct edp_pace *p, uint64_t due)
{
	uint64_t now = edp_clock_ns(CLOCK_MONOTONIC);
	if (p->last_departure)
		record(&p->gaps, now - p->last_departure);
	if (due)
		record(&p->lateness, now > due ? now - due : 0);
	p->last_departure = now;
	p->last_due = due;
}

uint64_t edp_pace_percentile(const struct edp_pace_hist *h, double q)
{
	if (!h->n)
		return 0;
	uint64_t want = (uint64_t)(q * (double)h->n + 0.999999), seen = 0;
	if (want < 1)
		want = 1;
	for (uint32_t b = 0; b < EDP_PACE_BUCKETS; b++) {
		seen += h->count[b];
		if (seen >= want)
			return bucket_top(b) < h->max ? bucket_top(b) : h->max;
	}
	return h->max;
}

uint64_t edp_pace_elapsed_ns(const struct edp_pace *p)
{
	return p->last_departure > p->start_ns ? p->last_departure - p->start_ns : 0;
}
