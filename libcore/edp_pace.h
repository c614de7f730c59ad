/* edp_pace: when each packet of a replay leaves, and how well that went.
 *
 * Departures are scheduled against CLOCK_MONOTONIC from the start of the
 * replay, never packet to packet: packet k of a --pps run is due at
 * start + k/pps, whatever happened to packet k-1, so sleeping late or a slow
 * write is caught up by the next packets (they leave at once until the
 * schedule is met again) and errors never add up over a long run. A wait
 * sleeps (clock_nanosleep, absolute) until EDP_PACE_SPIN_NS before the due
 * time and spins the rest.
 *
 * Modes: the capture's own gaps (divided by a multiplier), a fixed packet
 * rate, a fixed bit rate (frame bits, or wire bits with the 20 bytes of
 * preamble and inter-frame gap each frame costs on Ethernet), or top speed.
 *
 * It also measures: each departure is recorded (edp_pace_sent) into a
 * histogram of inter-departure gaps and one of departure errors (how late
 * a packet left against its due time), with 1/64 relative precision, so a
 * run of any length costs fixed memory. No allocation after init.
 */
#ifndef EDP_PACE_H
#define EDP_PACE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define EDP_PACE_SPIN_NS 60000 /* sleep until this close to a due time, then spin */
#define EDP_PACE_BUCKETS (64 * 64)

enum edp_pace_mode {
	EDP_PACE_CAPTURE,  /* the capture's gaps / multiplier */
	EDP_PACE_PPS,      /* rate packets per second */
	EDP_PACE_MBPS,     /* rate megabits per second */
	EDP_PACE_TOPSPEED, /* as fast as the sink takes them */
};

struct edp_pace_config {
	enum edp_pace_mode mode;
	double multiplier; /* EDP_PACE_CAPTURE: > 0; 2 = twice as fast */
	double rate;       /* EDP_PACE_PPS: packets/s; EDP_PACE_MBPS: Mbit/s */
	bool wire_bits;    /* EDP_PACE_MBPS: count preamble and inter-frame gap (20 bytes) */
};

struct edp_pace_hist {
	uint64_t count[EDP_PACE_BUCKETS];
	uint64_t n, max;
};

struct edp_pace {
	struct edp_pace_config cfg;
	uint64_t start_ns;    /* CLOCK_MONOTONIC of the first departure */
	uint64_t sent;        /* packets scheduled so far */
	double bits;          /* EDP_PACE_MBPS: bits before the next packet */
	uint64_t first_ts;    /* EDP_PACE_CAPTURE: capture time of the first packet */
	uint64_t last_due, last_departure;
	struct edp_pace_hist gaps, lateness;
};

void edp_pace_init(struct edp_pace *p, const struct edp_pace_config *cfg);

/* When the next packet (capture time ts_ns, frame length len bytes) is due,
 * in CLOCK_MONOTONIC ns. 0 = at once (top speed). Call once per packet, in
 * order (capture times that go back are due at once). The first call fixes
 * the start. */
uint64_t edp_pace_due(struct edp_pace *p, uint64_t ts_ns, uint32_t len);

/* Wait until due (sleep, then spin). Returns at once when it has passed;
 * false, early, when *stop is set (NULL: never), which a signal that
 * interrupts the sleep does. */
bool edp_pace_wait(uint64_t due_ns, const volatile sig_atomic_t *stop);

/* Record that the packet due at due_ns left now. */
void edp_pace_sent(struct edp_pace *p, uint64_t due_ns);

/* The value under which a share q (0..1) of the recorded values lie, in ns
 * (the upper bound of its bucket: 1/64 relative precision). 0 when empty. */
uint64_t edp_pace_percentile(const struct edp_pace_hist *h, double q);

/* The time the run has taken so far, from the first departure to the last. */
uint64_t edp_pace_elapsed_ns(const struct edp_pace *p);

#endif
