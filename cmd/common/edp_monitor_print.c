#include "edp_monitor_print.h"

#include <math.h>
#include <string.h>
#include <time.h>

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
	if (!s->has_event) {
		snprintf(buf, n, "balancer: no rebalance yet");
		return;
	}
	char when[16];
	clock_text(when, sizeof(when), s->last_event.time_ns);
	snprintf(buf, n, "balancer: %llu rebalance%s, last at %s: %s; spread %.2f -> %.2f",
		 (unsigned long long)s->n_events, s->n_events == 1 ? "" : "s", when, s->last_event.what,
		 s->last_event.spread_before, s->last_event.spread_after);
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
static const char *const port_header = "PORT                  RX pps  RX Gb/s   TX pps  TX Gb/s  DROP/s        DROPS";

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

static void json_num(FILE *f, const char *key, double v, bool comma)
{
	if (isfinite(v))
		fprintf(f, "\"%s\":%.6g%s", key, v, comma ? "," : "");
	else
		fprintf(f, "\"%s\":null%s", key, comma ? "," : "");
}

/* a ratio that may be unknown (-1): null */
static void json_ratio(FILE *f, const char *key, double v, bool comma)
{
	json_num(f, key, v < 0 ? NAN : v, comma);
}

void edp_print_sample_json(FILE *f, const struct edp_monitor_sample *s, const char *gone_why)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	fprintf(f, "{\"time_ns\":%llu,\"name\":", (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec);
	edp_print_json_string(f, s->name);
	fprintf(f, ",\"status\":\"%s\"", edp_monitor_status_name(s->status));
	if (gone_why) {
		fprintf(f, ",\"error\":");
		edp_print_json_string(f, gone_why);
		fprintf(f, "}\n");
		return;
	}
	fprintf(f, ",\"pid\":%d,\"uptime_s\":%.3f,\"interval_s\":%.3f,\"config\":", s->pid, s->uptime_s, s->interval_s);
	edp_print_json_string(f, s->config);
	fprintf(f, ",\"totals\":{");
	json_num(f, "rx_pps", s->rx_pps, true);
	json_num(f, "tx_pps", s->tx_pps, true);
	json_num(f, "rx_bps", s->rx_bps, true);
	json_num(f, "tx_bps", s->tx_bps, true);
	json_num(f, "drops_per_s", s->drops_ps, true);
	json_ratio(f, "flow_cache_hit_rate", s->hit_rate, true);
	json_num(f, "slow_path_per_s", s->slow_path_ps, true);
	fprintf(f, "\"rx_packets\":%llu,\"tx_packets\":%llu,\"drops\":%llu},\"drops\":{",
		(unsigned long long)s->rx_packets, (unsigned long long)s->tx_packets, (unsigned long long)s->drops);
	for (int r = 1; r < EDP_DROP_REASONS; r++) {
		fprintf(f, "%s\"%s\":{\"total\":%llu,", r > 1 ? "," : "", edp_drop_reason_name(r),
			(unsigned long long)s->drops_by_reason[r]);
		json_num(f, "per_s", s->drops_by_reason_ps[r], false);
		fputc('}', f);
	}
	fprintf(f, "},\"balancer\":{\"events\":%llu,\"last\":", (unsigned long long)s->n_events);
	if (s->has_event) {
		fprintf(f, "{\"time_ns\":%llu,\"moved\":%u,", (unsigned long long)s->last_event.time_ns, s->last_event.moved);
		json_num(f, "spread_before", s->last_event.spread_before, true);
		json_num(f, "spread_after", s->last_event.spread_after, true);
		fprintf(f, "\"what\":");
		edp_print_json_string(f, s->last_event.what);
		fputc('}', f);
	} else {
		fprintf(f, "null");
	}
	fprintf(f, "},\"threads\":[");
	for (uint32_t i = 0; i < s->n_threads; i++) {
		const struct edp_monitor_thread *t = &s->threads[i];
		fprintf(f, "%s{\"thread\":%u,\"cpu\":%d,\"numa_node\":%d,\"queues\":%u,", i ? "," : "", t->thread, t->cpu,
			t->numa_node, t->queues);
		json_num(f, "busy", t->busy, true);
		json_num(f, "rx_pps", t->rx_pps, true);
		json_num(f, "tx_pps", t->tx_pps, true);
		json_ratio(f, "flow_cache_hit_rate", t->hit_rate, true);
		json_num(f, "slow_path_per_s", t->slow_path_ps, true);
		json_num(f, "drops_per_s", t->drops_ps, true);
		json_num(f, "packets_per_batch", t->packets_per_batch, true);
		json_num(f, "cycles_per_packet", t->cycles_per_packet, true);
		fprintf(f, "\"packets\":%llu,\"forwarded\":%llu,\"drops\":%llu}", (unsigned long long)t->packets,
			(unsigned long long)t->forwarded, (unsigned long long)t->drops);
	}
	fprintf(f, "],\"queues\":[");
	for (uint32_t i = 0; i < s->n_queues; i++) {
		const struct edp_monitor_queue *q = &s->queues[i];
		fprintf(f, "%s{\"queue\":%u,\"port\":", i ? "," : "", q->queue);
		edp_print_json_string(f, q->port);
		fprintf(f, ",\"thread\":%u,", q->thread);
		json_num(f, "share", q->share, true);
		json_num(f, "pps", q->pps, true);
		fprintf(f, "\"packets\":%llu}", (unsigned long long)q->packets);
	}
	fprintf(f, "],\"ports\":[");
	for (uint32_t i = 0; i < s->n_ports; i++) {
		const struct edp_monitor_port *p = &s->ports[i];
		fprintf(f, "%s{\"name\":", i ? "," : "");
		edp_print_json_string(f, p->name);
		fputc(',', f);
		json_num(f, "rx_pps", p->rx_pps, true);
		json_num(f, "tx_pps", p->tx_pps, true);
		json_num(f, "rx_bps", p->rx_bps, true);
		json_num(f, "tx_bps", p->tx_bps, true);
		json_num(f, "drops_per_s", p->drops_ps, true);
		fprintf(f, "\"rx_packets\":%llu,\"tx_packets\":%llu,\"drops\":%llu}", (unsigned long long)p->rx_packets,
			(unsigned long long)p->tx_packets, (unsigned long long)p->drops);
	}
	fprintf(f, "]}\n");
}

