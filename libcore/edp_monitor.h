/* edp_monitor: the live load of a running instance, as rates.
 *
 * A monitor follows one instance by name. Each sample reads one consistent
 * snapshot of its stats segment (edp_stats.h; reading never blocks the
 * datapath) and turns the counters into rates over the time since the
 * previous sample, or since the instance started for the first sample and
 * after a reset. It notices when the instance goes away (the sample says
 * so and the next ones retry) and when it comes back or is replaced by a
 * new process (the rates start again from that instance's start).
 *
 * What a sample holds is what edp-top shows and prints: per thread, per
 * queue, per port and in total. Counters that went backwards (a new
 * instance) never give negative rates.
 *
 * Thread-safety: a monitor belongs to one thread.
 */
#ifndef EDP_MONITOR_H
#define EDP_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "edp_action.h"
#include "edp_error.h"
#include "edp_stats.h"

enum edp_monitor_status {
	EDP_MONITOR_RUNNING,   /* the instance runs; rates over the interval */
	EDP_MONITOR_SUSPENDED, /* it runs but takes no packet (edp-run ctl suspend) */
	EDP_MONITOR_INCOMING,  /* it waits for a migration into it (edp-run --incoming) */
	EDP_MONITOR_MIGRATING, /* it is stunned, moving into another instance (edp-migrate) */
	EDP_MONITOR_ENDING,    /* it stopped reading and drains */
	EDP_MONITOR_RESTARTED, /* a new process of that name since the last sample */
	EDP_MONITOR_GONE,      /* no such instance now (err says why) */
};

struct edp_monitor_thread {
	uint32_t thread, queues;
	int32_t cpu, numa_node;
	double busy;            /* busy share of its cycles in the interval, 0..1 */
	double rx_pps, tx_pps;  /* packets it processed, forwarded, per second */
	double hit_rate;        /* flow-cache hits per lookup in the interval (-1: none) */
	double slow_path_ps, drops_ps;
	double packets_per_batch, cycles_per_packet; /* in the interval (0: no packets) */
	uint64_t packets, forwarded, drops; /* since start */
};

struct edp_monitor_queue {
	uint32_t queue, thread;
	char port[EDP_NAME_MAX + 1];
	double share;           /* of its thread's busy cycles in the interval, 0..1 */
	double pps;
	uint64_t packets;
};

struct edp_monitor_port {
	char name[EDP_NAME_MAX + 1];
	double rx_pps, tx_pps, rx_bps, tx_bps, drops_ps;
	uint64_t rx_packets, tx_packets, drops;
};

struct edp_monitor_sample {
	enum edp_monitor_status status;
	char name[EDP_NAME_MAX + 1];
	int32_t pid;
	double uptime_s, interval_s;
	char config[128];
	uint32_t n_threads, n_queues, n_ports;
	/* totals */
	double rx_pps, tx_pps, rx_bps, tx_bps, drops_ps, slow_path_ps;
	double hit_rate;        /* -1: no lookups in the interval */
	uint64_t rx_packets, tx_packets, drops;
	uint64_t drops_by_reason[EDP_DROP_REASONS];
	double drops_by_reason_ps[EDP_DROP_REASONS];
	/* the balancer (none when chunks: workers take a capture chunk by chunk) */
	bool chunks;
	uint64_t n_events;
	bool has_event;
	struct edp_stats_event last_event;
	struct edp_monitor_thread *threads;
	struct edp_monitor_queue *queues;
	struct edp_monitor_port *ports;
};

struct edp_monitor;

/* Follow instance `name`. Only the name is checked here (EDP_ERR_USAGE). */
struct edp_monitor *edp_monitor_create(const char *name, struct edp_error *err);
void edp_monitor_destroy(struct edp_monitor *m);

/* Take a sample into *s (its arrays are owned by the monitor and valid
 * until the next sample). Returns 0; a sample whose status is GONE
 * returns EDP_ERR_RUNTIME with err saying why (no such instance, a stale
 * segment of a killed one). */
int edp_monitor_sample(struct edp_monitor *m, struct edp_monitor_sample *s, struct edp_error *err);

/* Reset the deltas: the next sample's rates are over the time since now. */
void edp_monitor_reset(struct edp_monitor *m);

const char *edp_monitor_status_name(enum edp_monitor_status s);

/* The views of a sample and the columns they sort by (column 0: the
 * natural order, by thread, queue or port). */
enum edp_monitor_view { EDP_VIEW_THREADS, EDP_VIEW_QUEUES, EDP_VIEW_PORTS, EDP_VIEWS };
uint32_t edp_monitor_sort_columns(enum edp_monitor_view v);
const char *edp_monitor_sort_name(enum edp_monitor_view v, uint32_t col);
/* The rows of view v into idx, ordered by column col, largest first (ties
 * in the natural order). Returns how many. */
uint32_t edp_monitor_order(const struct edp_monitor_sample *s, enum edp_monitor_view v, uint32_t col, uint32_t *idx);

#endif
