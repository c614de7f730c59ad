#include "edp_monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edp_clock.h"

struct edp_monitor {
	char name[EDP_NAME_MAX + 1];
	bool have_prev;
	struct edp_stats_snapshot prev;
	uint64_t prev_mono_ns;
	struct edp_monitor_thread *threads;
	struct edp_monitor_queue *queues;
	struct edp_monitor_port *ports;
	uint64_t *thread_busy; /* busy cycles of each thread this sample */
	uint32_t cap_threads, cap_queues, cap_ports, cap_busy;
};

/* b - a, never below 0 (a counter of another process may be smaller) */
static uint64_t delta(uint64_t b, uint64_t a)
{
	return b > a ? b - a : 0;
}

/* Counters from another process may be anything: a sum of them stops at
 * the largest value instead of wrapping to a small one. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static double per(double x, double y)
{
	return y > 0 ? x / y : 0;
}

struct edp_monitor *edp_monitor_create(const char *name, struct edp_error *err)
{
	if (!edp_rundir_name_valid(name)) {
		edp_error_set(err, EDP_ERR_USAGE, "instance name '%s' must be 1 to 32 of a-z 0-9 _ -", name);
		return NULL;
	}
	struct edp_monitor *m = calloc(1, sizeof(*m));
	if (!m) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		return NULL;
	}
	memcpy(m->name, name, strlen(name) + 1);
	return m;
}

static void drop_prev(struct edp_monitor *m)
{
	if (m->have_prev)
		edp_stats_snapshot_free(&m->prev);
	m->have_prev = false;
}

void edp_monitor_destroy(struct edp_monitor *m)
{
	if (!m)
		return;
	drop_prev(m);
	free(m->threads);
	free(m->queues);
	free(m->ports);
	free(m->thread_busy);
	free(m);
}

static int grow(void **p, uint32_t *cap, uint32_t n, size_t size)
{
	if (n <= *cap)
		return 0;
	void *q = realloc(*p, (n ? n : 1) * size);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

void edp_monitor_reset(struct edp_monitor *m)
{
	struct edp_stats_snapshot now;
	drop_prev(m);
	if (edp_stats_read(m->name, &now, NULL) == 0) {
		m->prev = now;
		m->prev_mono_ns = edp_clock_ns(CLOCK_MONOTONIC);
		m->have_prev = true;
	}
}

const char *edp_monitor_status_name(enum edp_monitor_status s)
{
	switch (s) {
	case EDP_MONITOR_RUNNING: return "running";
	case EDP_MONITOR_ENDING: return "ending";
	case EDP_MONITOR_SUSPENDED: return "suspended";
	case EDP_MONITOR_INCOMING: return "incoming";
	case EDP_MONITOR_MIGRATING: return "migrating";
	case EDP_MONITOR_RESTARTED: return "restarted";
	default: return "gone";
	}
}

int edp_monitor_sample(struct edp_monitor *m, struct edp_monitor_sample *s, struct edp_error *err)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->name, m->name, sizeof(s->name));
	struct edp_stats_snapshot cur;
	if (edp_stats_read(m->name, &cur, err)) {
		s->status = EDP_MONITOR_GONE; /* the last sample stays: a new process is told apart by pid */
		return EDP_ERR_RUNTIME;
	}
	uint64_t mono = edp_clock_ns(CLOCK_MONOTONIC);
	const struct edp_stats_header *h = &cur.header;
	const struct edp_stats_snapshot *base = m->have_prev ? &m->prev : NULL;
	bool restarted = base && (base->header.pid != h->pid || base->header.start_ns != h->start_ns ||
				  base->header.n_threads != h->n_threads || base->header.n_queues != h->n_queues ||
				  base->header.n_ports != h->n_ports);
	if (restarted)
		base = NULL;
	s->status = restarted	     ? EDP_MONITOR_RESTARTED
		    : !h->running	     ? EDP_MONITOR_ENDING
		    : h->control.state == EDP_STATE_SUSPENDED ? EDP_MONITOR_SUSPENDED
		    : h->control.state == EDP_STATE_INCOMING  ? EDP_MONITOR_INCOMING
		    : h->control.state == EDP_STATE_MIGRATING ? EDP_MONITOR_MIGRATING
							      : EDP_MONITOR_RUNNING;
	uint64_t real = edp_clock_ns(CLOCK_REALTIME);
	s->pid = h->pid;
	s->uptime_s = real > h->start_ns ? (double)(real - h->start_ns) / 1e9 : 0;
	s->interval_s = base ? (double)(mono - m->prev_mono_ns) / 1e9 : s->uptime_s;
	double dt = s->interval_s;
	snprintf(s->config, sizeof(s->config), "%s", h->control.config);
	s->n_threads = h->n_threads;
	s->n_queues = h->n_queues;
	s->n_ports = h->n_ports;
	if (grow((void **)&m->threads, &m->cap_threads, h->n_threads, sizeof(*m->threads)) ||
	    grow((void **)&m->queues, &m->cap_queues, h->n_queues, sizeof(*m->queues)) ||
	    grow((void **)&m->ports, &m->cap_ports, h->n_ports, sizeof(*m->ports)) ||
	    grow((void **)&m->thread_busy, &m->cap_busy, h->n_threads, sizeof(*m->thread_busy))) {
		edp_stats_snapshot_free(&cur);
		s->status = EDP_MONITOR_GONE;
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	}
	s->threads = m->threads;
	s->queues = m->queues;
	s->ports = m->ports;

	/* counters cleared since the last sample (edp-run ctl stats-clear):
	 * counted from 0, over the same interval */
	const struct edp_stats_snapshot *was = base && base->clears == cur.clears ? base : NULL;
	uint64_t hits = 0, misses = 0, *thread_busy = m->thread_busy;
	for (uint32_t i = 0; i < h->n_threads; i++) {
		const struct edp_stats_thread *t = &cur.threads[i], *b = was ? &was->threads[i] : NULL;
		struct edp_monitor_thread *o = &m->threads[i];
		uint64_t dpk = delta(t->packets, b ? b->packets : 0), dfw = delta(t->forwarded, b ? b->forwarded : 0);
		uint64_t dh = delta(t->flow_cache_hits, b ? b->flow_cache_hits : 0);
		uint64_t dm = delta(t->flow_cache_misses, b ? b->flow_cache_misses : 0);
		uint64_t dbusy = delta(t->busy_cycles, b ? b->busy_cycles : 0);
		uint64_t didle = delta(t->idle_cycles, b ? b->idle_cycles : 0);
		uint64_t dbat = delta(t->batches, b ? b->batches : 0);
		uint64_t drops = 0, ddrops = 0;
		for (int r = 1; r < EDP_DROP_REASONS; r++) {
			uint64_t d = delta(t->drops[r], b ? b->drops[r] : 0);
			drops = sat_add(drops, t->drops[r]);
			ddrops = sat_add(ddrops, d);
			s->drops_by_reason[r] = sat_add(s->drops_by_reason[r], t->drops[r]);
			s->drops_by_reason_ps[r] += per((double)d, dt);
		}
		*o = (struct edp_monitor_thread){
			.thread = i, .queues = t->n_queues, .cpu = t->cpu, .numa_node = t->numa_node,
			.busy = per((double)dbusy, (double)(dbusy + didle)),
			.rx_pps = per((double)dpk, dt), .tx_pps = per((double)dfw, dt),
			.hit_rate = dh + dm ? (double)dh / (double)(dh + dm) : -1,
			.slow_path_ps = per((double)delta(t->slow_path_runs, b ? b->slow_path_runs : 0), dt),
			.drops_ps = per((double)ddrops, dt),
			.packets_per_batch = per((double)dpk, (double)dbat),
			.cycles_per_packet = per((double)dbusy, (double)dpk),
			.packets = t->packets, .forwarded = t->forwarded, .drops = drops,
		};
		thread_busy[i] = dbusy;
		hits += dh;
		misses += dm;
		s->slow_path_ps += o->slow_path_ps;
		s->drops_ps += o->drops_ps;
		s->drops = sat_add(s->drops, drops);
	}
	s->hit_rate = hits + misses ? (double)hits / (double)(hits + misses) : -1;
	for (uint32_t i = 0; i < h->n_queues; i++) {
		const struct edp_stats_queue *q = &cur.queues[i], *b = was ? &was->queues[i] : NULL;
		struct edp_monitor_queue *o = &m->queues[i];
		uint64_t dpk = delta(q->packets, b ? b->packets : 0), dc = delta(q->cycles, b ? b->cycles : 0);
		*o = (struct edp_monitor_queue){ .queue = i, .thread = q->thread, .pps = per((double)dpk, dt),
						 .packets = q->packets };
		o->share = q->thread < h->n_threads ? per((double)dc, (double)thread_busy[q->thread]) : 0;
		o->share = o->share > 1 ? 1 : o->share;
		snprintf(o->port, sizeof(o->port), "%s", q->port < h->n_ports ? cur.ports[q->port].name : "?");
	}
	for (uint32_t i = 0; i < h->n_ports; i++) {
		const struct edp_stats_port *p = &cur.ports[i], *bp = was ? &was->ports[i] : NULL;
		const struct edp_stats_port_tx *x = &cur.ports_tx[i], *bx = was ? &was->ports_tx[i] : NULL;
		struct edp_monitor_port *o = &m->ports[i];
		uint64_t drops = 0, bdrops = 0;
		for (uint32_t t = 0; t < h->n_threads; t++) {
			drops = sat_add(drops, cur.threads[t].port_drops[i]);
			bdrops = sat_add(bdrops, was ? was->threads[t].port_drops[i] : 0);
		}
		*o = (struct edp_monitor_port){
			.rx_pps = per((double)delta(p->rx_packets, bp ? bp->rx_packets : 0), dt),
			.tx_pps = per((double)delta(x->tx_packets, bx ? bx->tx_packets : 0), dt),
			.rx_bps = per(8.0 * (double)delta(p->rx_bytes, bp ? bp->rx_bytes : 0), dt),
			.tx_bps = per(8.0 * (double)delta(x->tx_bytes, bx ? bx->tx_bytes : 0), dt),
			.drops_ps = per((double)delta(drops, bdrops), dt),
			.rx_packets = p->rx_packets, .tx_packets = x->tx_packets, .drops = drops,
		};
		snprintf(o->name, sizeof(o->name), "%s", p->name);
		s->rx_pps += o->rx_pps;
		s->tx_pps += o->tx_pps;
		s->rx_bps += o->rx_bps;
		s->tx_bps += o->tx_bps;
		s->rx_packets += o->rx_packets;
		s->tx_packets += o->tx_packets;
	}
	s->chunks = h->chunks;
	s->n_events = h->n_events;
	if (h->n_events) {
		s->has_event = true;
		s->last_event = h->events[(h->n_events - 1) % EDP_STATS_EVENTS];
	}
	drop_prev(m);
	m->prev = cur;
	m->prev_mono_ns = mono;
	m->have_prev = true;
	return 0;
}

static const char *const sort_names[EDP_VIEWS][8] = {
	{ "thread", "busy", "rx", "tx", "hit", "slow", "drops", "cyc/pkt" },
	{ "queue", "share", "pps", "packets" },
	{ "port", "rx", "tx", "drops" },
};
static const uint32_t n_sorts[EDP_VIEWS] = { 8, 4, 4 };

uint32_t edp_monitor_sort_columns(enum edp_monitor_view v)
{
	return v < EDP_VIEWS ? n_sorts[v] : 1;
}

const char *edp_monitor_sort_name(enum edp_monitor_view v, uint32_t col)
{
	return v < EDP_VIEWS && col < n_sorts[v] ? sort_names[v][col] : "?";
}

/* The value row i of view v sorts by in column col (larger first). */
static double sort_key(const struct edp_monitor_sample *s, enum edp_monitor_view v, uint32_t col, uint32_t i)
{
	if (col == 0)
		return -(double)i;
	if (v == EDP_VIEW_THREADS) {
		const struct edp_monitor_thread *t = &s->threads[i];
		const double k[] = { 0, t->busy, t->rx_pps, t->tx_pps, t->hit_rate, t->slow_path_ps, t->drops_ps,
				     t->cycles_per_packet };
		return k[col];
	}
	if (v == EDP_VIEW_QUEUES) {
		const struct edp_monitor_queue *q = &s->queues[i];
		const double k[] = { 0, q->share, q->pps, (double)q->packets };
		return k[col];
	}
	const struct edp_monitor_port *p = &s->ports[i];
	const double k[] = { 0, p->rx_pps, p->tx_pps, p->drops_ps };
	return k[col];
}

uint32_t edp_monitor_order(const struct edp_monitor_sample *s, enum edp_monitor_view v, uint32_t col, uint32_t *idx)
{
	uint32_t n = v == EDP_VIEW_THREADS ? s->n_threads : v == EDP_VIEW_QUEUES ? s->n_queues : s->n_ports;
	if (col >= edp_monitor_sort_columns(v))
		col = 0;
	for (uint32_t i = 0; i < n; i++) { /* insertion sort: stable, and the rows are few */
		double k = sort_key(s, v, col, i);
		uint32_t j = i;
		while (j > 0 && sort_key(s, v, col, idx[j - 1]) < k) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
	return n;
}
