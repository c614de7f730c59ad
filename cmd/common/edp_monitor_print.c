#include "edp_monitor_print.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "edp_json.h"
#include "edp_print.h"

/* ---- numbers for people ---- */

/* 1234567 -> "1.23M"; width 6 or less */
const char *edp_print_si(char *buf, size_t n, double v)
{
	const char *unit = "";
	if (v >= 1e9) {
		v /= 1e9;
		unit = "G";
	} else if (v >= 1e6) {
		v /= 1e6;
		unit = "M";
	} else if (v >= 1e4) {
		v /= 1e3;
		unit = "K";
	}
	if (*unit)
		snprintf(buf, n, "%.*f%s", v < 10 ? 2 : v < 100 ? 1 : 0, v, unit);
	else
		snprintf(buf, n, "%.0f", v);
	return buf;
}

const char *edp_print_pct(char *buf, size_t n, double ratio)
{
	if (ratio < 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.1f", 100 * ratio);
	return buf;
}

static void clock_text(char *buf, size_t n, uint64_t time_ns)
{
	time_t t = (time_t)(time_ns / 1000000000ull);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, n, "%H:%M:%S", &tm);
}

void edp_print_event_text(char *buf, size_t n, const struct edp_monitor_sample *s)
{
	if (s->chunks) {
		snprintf(buf, n, "balancer: none: the workers take the capture's records chunk by chunk");
		return;
	}
	if (!s->has_event) {
		snprintf(buf, n, "balancer: no rebalance yet");
		return;
	}
	char when[16];
	clock_text(when, sizeof(when), s->last_event.time_ns);
	const struct edp_stats_event *e = &s->last_event;
	char move[200];
	edp_print_move(move, sizeof(move), e->spread_before, e->spread_after, e->spread_measured, e->speedup,
		       e->speedup_measured);
	snprintf(buf, n, "balancer: %llu rebalance%s, last at %s: %s; %s", (unsigned long long)s->n_events,
		 s->n_events == 1 ? "" : "s", when, e->what, move);
}

void edp_print_totals_text(char *buf, size_t n, const struct edp_monitor_sample *s)
{
	char a[16], b[16], c[16], d[16], e[16];
	snprintf(buf, n, "rx %s pps %.2f Gb/s  tx %s pps %.2f Gb/s  drops %s/s  hit %s%%  slow %s/s",
		 edp_print_si(a, sizeof(a), s->rx_pps), s->rx_bps / 1e9, edp_print_si(b, sizeof(b), s->tx_pps), s->tx_bps / 1e9,
		 edp_print_si(c, sizeof(c), s->drops_ps), edp_print_pct(d, sizeof(d), s->hit_rate), edp_print_si(e, sizeof(e), s->slow_path_ps));
}

void edp_print_title_text(char *buf, size_t n, const struct edp_monitor_sample *s)
{
	snprintf(buf, n, "%s, pid %d, up %.1f s, %u thread%s, %s", s->name, s->pid, s->uptime_s, s->n_threads,
		 s->n_threads == 1 ? "" : "s", edp_monitor_status_name(s->status));
}

/* ---- the tables: one row format for the terminal and for -b ---- */

static const char *const thread_header = "THR CPU NODE BUSY%  RX pps  TX pps  HIT% SLOW/s DROP/s PKT/B CYC/PK   Q";
static const char *const queue_header = "QUEUE PORT                 THR SHARE%      PPS       PACKETS";
static const char *const port_header = "PORT                   RX pps  RX Gb/s   TX pps  TX Gb/s  DROP/s        DROPS";

static void thread_row(char *buf, size_t n, const struct edp_monitor_thread *t)
{
	char rx[16], tx[16], hit[16], sl[16], dr[16];
	snprintf(buf, n, "%3u %3d %4d %5.1f %7s %7s %5s %6s %6s %5.1f %6.0f %3u", t->thread, t->cpu, t->numa_node,
		 100 * t->busy, edp_print_si(rx, sizeof(rx), t->rx_pps), edp_print_si(tx, sizeof(tx), t->tx_pps),
		 edp_print_pct(hit, sizeof(hit), t->hit_rate), edp_print_si(sl, sizeof(sl), t->slow_path_ps), edp_print_si(dr, sizeof(dr), t->drops_ps),
		 t->packets_per_batch, t->cycles_per_packet, t->queues);
}

static void queue_row(char *buf, size_t n, const struct edp_monitor_queue *q)
{
	char pps[16];
	snprintf(buf, n, "%5u %-20s %3u %6.1f %8s %13llu", q->queue, q->port, q->thread, 100 * q->share,
		 edp_print_si(pps, sizeof(pps), q->pps), (unsigned long long)q->packets);
}

static void port_row(char *buf, size_t n, const struct edp_monitor_port *p)
{
	char rx[16], tx[16], dr[16];
	snprintf(buf, n, "%-20s %8s %8.3f %8s %8.3f %7s %12llu", p->name, edp_print_si(rx, sizeof(rx), p->rx_pps), p->rx_bps / 1e9,
		 edp_print_si(tx, sizeof(tx), p->tx_pps), p->tx_bps / 1e9, edp_print_si(dr, sizeof(dr), p->drops_ps),
		 (unsigned long long)p->drops);
}

void edp_print_row_text(char *buf, size_t n, const struct edp_monitor_sample *s, enum edp_monitor_view v, uint32_t i)
{
	if (v == EDP_VIEW_THREADS)
		thread_row(buf, n, &s->threads[i]);
	else if (v == EDP_VIEW_QUEUES)
		queue_row(buf, n, &s->queues[i]);
	else
		port_row(buf, n, &s->ports[i]);
}

const char *edp_print_view_header(enum edp_monitor_view v)
{
	return v == EDP_VIEW_THREADS ? thread_header : v == EDP_VIEW_QUEUES ? queue_header : port_header;
}

/* ---- batch mode ---- */

void edp_print_sample_text(FILE *f, const struct edp_monitor_sample *s)
{
	char line[512];
	edp_print_title_text(line, sizeof(line), s);
	fprintf(f, "edp-top - %s\n", line);
	edp_print_totals_text(line, sizeof(line), s);
	fprintf(f, "%s\n", line);
	edp_print_event_text(line, sizeof(line), s);
	fprintf(f, "%s\n", line);
	static uint32_t idx[65536];
	for (int v = 0; v < EDP_VIEWS; v++) {
		fprintf(f, "\n%s\n", edp_print_view_header((enum edp_monitor_view)v));
		int n = edp_monitor_order(s, (enum edp_monitor_view)v, 0, idx);
		for (int i = 0; i < n; i++) {
			edp_print_row_text(line, sizeof(line), s, (enum edp_monitor_view)v, idx[i]);
			fprintf(f, "%s\n", line);
		}
	}
	fprintf(f, "\ndrops by reason:");
	for (int r = 1; r < EDP_DROP_REASONS; r++)
		fprintf(f, " %s %llu (%.0f/s)%s", edp_drop_reason_name(r), (unsigned long long)s->drops_by_reason[r],
			s->drops_by_reason_ps[r], r + 1 < EDP_DROP_REASONS ? "," : "");
	fprintf(f, "\n\n");
}

/* A rate (per second); not finite: null. */
static void json_rate(struct edp_json *j, const char *key, double v)
{
	edp_json_fixed(j, key, v, 3);
}

/* A ratio 0..1; unknown (-1, nothing to divide by): null. */
static void json_ratio(struct edp_json *j, const char *key, double v)
{
	edp_json_fixed(j, key, v < 0 ? NAN : v, 6);
}

void edp_print_sample_json(FILE *f, const struct edp_monitor_sample *s, const char *gone_why)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct edp_json j;
	edp_json_begin(&j, f);
	edp_json_uint(&j, "time_ns", (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec);
	edp_json_string(&j, "name", s->name);
	edp_json_string(&j, "status", edp_monitor_status_name(s->status));
	if (gone_why) {
		edp_json_string(&j, "error", gone_why);
		edp_json_finish(&j);
		return;
	}
	edp_json_int(&j, "pid", s->pid);
	edp_json_fixed(&j, "uptime_s", s->uptime_s, 3);
	edp_json_fixed(&j, "interval_s", s->interval_s, 3);
	edp_json_string(&j, "config", s->config);
	edp_json_object(&j, "totals");
	json_rate(&j, "rx_pps", s->rx_pps);
	json_rate(&j, "tx_pps", s->tx_pps);
	json_rate(&j, "rx_bps", s->rx_bps);
	json_rate(&j, "tx_bps", s->tx_bps);
	json_rate(&j, "drops_per_s", s->drops_ps);
	edp_json_object(&j, "flow_cache");
	json_ratio(&j, "hit_rate", s->hit_rate);
	edp_json_end(&j);
	json_rate(&j, "slow_path_per_s", s->slow_path_ps);
	edp_json_uint(&j, "rx_packets", s->rx_packets);
	edp_json_uint(&j, "tx_packets", s->tx_packets);
	edp_json_uint(&j, "drops", s->drops);
	edp_json_end(&j);
	edp_json_object(&j, "drops");
	for (int r = 1; r < EDP_DROP_REASONS; r++) {
		edp_json_object(&j, edp_drop_reason_name(r));
		edp_json_uint(&j, "total", s->drops_by_reason[r]);
		json_rate(&j, "per_s", s->drops_by_reason_ps[r]);
		edp_json_end(&j);
	}
	edp_json_end(&j);
	edp_json_object(&j, "balancer");
	edp_json_uint(&j, "rebalances", s->n_events);
	if (s->has_event) {
		edp_json_object(&j, "last");
		edp_json_uint(&j, "time_ns", s->last_event.time_ns);
		const struct edp_stats_event *e = &s->last_event;
		edp_print_move_json(&j, e->moved, e->spread_before, e->spread_after, e->spread_measured, e->speedup,
				    e->speedup_measured);
		edp_json_string(&j, "what", e->what);
		edp_json_end(&j);
	} else {
		edp_json_null(&j, "last");
	}
	edp_json_end(&j);
	edp_json_array(&j, "threads");
	for (uint32_t i = 0; i < s->n_threads; i++) {
		const struct edp_monitor_thread *t = &s->threads[i];
		edp_json_object(&j, NULL);
		edp_json_uint(&j, "thread", t->thread);
		edp_json_int(&j, "cpu", t->cpu);
		edp_json_int(&j, "numa_node", t->numa_node);
		edp_json_uint(&j, "queues", t->queues);
		json_ratio(&j, "busy_ratio", t->busy);
		json_rate(&j, "rx_pps", t->rx_pps);
		json_rate(&j, "tx_pps", t->tx_pps);
		edp_json_object(&j, "flow_cache");
		json_ratio(&j, "hit_rate", t->hit_rate);
		edp_json_end(&j);
		json_rate(&j, "slow_path_per_s", t->slow_path_ps);
		json_rate(&j, "drops_per_s", t->drops_ps);
		edp_json_fixed(&j, "packets_per_batch", t->packets_per_batch, 3);
		edp_json_fixed(&j, "cycles_per_packet", t->cycles_per_packet, 1);
		edp_json_uint(&j, "packets", t->packets);
		edp_json_uint(&j, "forwarded", t->forwarded);
		edp_json_uint(&j, "drops", t->drops);
		edp_json_end(&j);
	}
	edp_json_end(&j);
	edp_json_array(&j, "queues");
	for (uint32_t i = 0; i < s->n_queues; i++) {
		const struct edp_monitor_queue *q = &s->queues[i];
		edp_json_object(&j, NULL);
		edp_json_uint(&j, "queue", q->queue);
		edp_json_string(&j, "port", q->port);
		edp_json_uint(&j, "thread", q->thread);
		json_ratio(&j, "share", q->share);
		json_rate(&j, "pps", q->pps);
		edp_json_uint(&j, "packets", q->packets);
		edp_json_end(&j);
	}
	edp_json_end(&j);
	edp_json_array(&j, "ports");
	for (uint32_t i = 0; i < s->n_ports; i++) {
		const struct edp_monitor_port *p = &s->ports[i];
		edp_json_object(&j, NULL);
		edp_json_string(&j, "name", p->name);
		json_rate(&j, "rx_pps", p->rx_pps);
		json_rate(&j, "tx_pps", p->tx_pps);
		json_rate(&j, "rx_bps", p->rx_bps);
		json_rate(&j, "tx_bps", p->tx_bps);
		json_rate(&j, "drops_per_s", p->drops_ps);
		edp_json_uint(&j, "rx_packets", p->rx_packets);
		edp_json_uint(&j, "tx_packets", p->tx_packets);
		edp_json_uint(&j, "drops", p->drops);
		edp_json_end(&j);
	}
	edp_json_finish(&j);
}
