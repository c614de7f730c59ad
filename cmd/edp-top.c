/* edp-top: the live per-thread load of a running edp-run, in the terminal
 * (ncurses) or as snapshots for runbooks (-b, --json). Options, samples
 * from libcore's monitor, and output. */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <math.h>
#include <ncurses.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/edp_print.h"
#include "edp_monitor.h"

#define PROG "edp-top"
#define MAX_INSTANCES 256

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [OPTION]... [NAME]\n"
		"Show the live per-thread load of the running edp-run instance NAME (without\n"
		"NAME: the one running, or a choice when several are).\n"
		"\n"
		"  -b, --batch             plain text snapshots on stdout, like top -b\n"
		"      --json              with -b: one JSON object per refresh (NDJSON)\n"
		"  -n, --iterations N      with -b: stop after N refreshes (default: until stopped)\n"
		"  -d, --delay S           seconds between refreshes (default 1; fractions allowed)\n"
		"      --no-color          no colours (also when NO_COLOR is set)\n"
		"  -h, --help              this help\n"
		"  -V, --version           version\n"
		"\n"
		"Keys: 1 2 3 or Tab views (threads, queues, ports), arrows PgUp PgDn scroll,\n"
		"s < > sort column, p pause, d delay, r reset deltas, h ? help, q quit.\n"
		"Exit status: 0 ok, 1 no such instance, 2 usage error. See edp-top(1).\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" PROG " --help' for more information.\n");
	return 2;
}

/* ---- numbers for people ---- */

/* 1234567 -> "1.23M"; width 6 or less */
static const char *si(char *buf, size_t n, double v)
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

static const char *pct(char *buf, size_t n, double ratio)
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

static void event_text(char *buf, size_t n, const struct edp_monitor_sample *s)
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

static void totals_text(char *buf, size_t n, const struct edp_monitor_sample *s)
{
	char a[16], b[16], c[16], d[16], e[16];
	snprintf(buf, n, "rx %s pps %.2f Gb/s  tx %s pps %.2f Gb/s  drops %s/s  hit %s%%  slow %s/s",
		 si(a, sizeof(a), s->rx_pps), s->rx_bps / 1e9, si(b, sizeof(b), s->tx_pps), s->tx_bps / 1e9,
		 si(c, sizeof(c), s->drops_ps), pct(d, sizeof(d), s->hit_rate), si(e, sizeof(e), s->slow_path_ps));
}

static void title_text(char *buf, size_t n, const struct edp_monitor_sample *s)
{
	snprintf(buf, n, "%s, pid %d, up %.1f s, %u thread%s, %s", s->name, s->pid, s->uptime_s, s->n_threads,
		 s->n_threads == 1 ? "" : "s", edp_monitor_status_name(s->status));
}

/* ---- the tables: one row format for the terminal and for -b ---- */

enum view { VIEW_THREADS, VIEW_QUEUES, VIEW_PORTS, N_VIEWS };
static const char *const view_names[N_VIEWS] = { "threads", "queues", "ports" };

/* sortable columns per view (index 0: natural order) */
static const char *const sort_names[N_VIEWS][8] = {
	{ "thread", "busy", "rx", "tx", "hit", "slow", "drops", "cyc/pkt" },
	{ "queue", "share", "pps", "packets" },
	{ "port", "rx", "tx", "drops" },
};
static const int n_sorts[N_VIEWS] = { 8, 4, 4 };

static const char *const thread_header = "THR CPU NODE BUSY%  RX pps  TX pps  HIT% SLOW/s DROP/s PKT/B CYC/PK   Q";
static const char *const queue_header = "QUEUE PORT                 THR SHARE%      PPS       PACKETS";
static const char *const port_header = "PORT                  RX pps  RX Gb/s   TX pps  TX Gb/s  DROP/s        DROPS";

static void thread_row(char *buf, size_t n, const struct edp_monitor_thread *t)
{
	char rx[16], tx[16], hit[16], sl[16], dr[16];
	snprintf(buf, n, "%3u %3d %4d %5.1f %7s %7s %5s %6s %6s %5.1f %6.0f %3u", t->thread, t->cpu, t->numa_node,
		 100 * t->busy, si(rx, sizeof(rx), t->rx_pps), si(tx, sizeof(tx), t->tx_pps),
		 pct(hit, sizeof(hit), t->hit_rate), si(sl, sizeof(sl), t->slow_path_ps), si(dr, sizeof(dr), t->drops_ps),
		 t->packets_per_batch, t->cycles_per_packet, t->queues);
}

static void queue_row(char *buf, size_t n, const struct edp_monitor_queue *q)
{
	char pps[16];
	snprintf(buf, n, "%5u %-20s %3u %6.1f %8s %13llu", q->queue, q->port, q->thread, 100 * q->share,
		 si(pps, sizeof(pps), q->pps), (unsigned long long)q->packets);
}

static void port_row(char *buf, size_t n, const struct edp_monitor_port *p)
{
	char rx[16], tx[16], dr[16];
	snprintf(buf, n, "%-20s %8s %8.3f %8s %8.3f %7s %12llu", p->name, si(rx, sizeof(rx), p->rx_pps), p->rx_bps / 1e9,
		 si(tx, sizeof(tx), p->tx_pps), p->tx_bps / 1e9, si(dr, sizeof(dr), p->drops_ps),
		 (unsigned long long)p->drops);
}

static double thread_key(const struct edp_monitor_thread *t, int col)
{
	switch (col) {
	case 1: return t->busy;
	case 2: return t->rx_pps;
	case 3: return t->tx_pps;
	case 4: return t->hit_rate;
	case 5: return t->slow_path_ps;
	case 6: return t->drops_ps;
	case 7: return t->cycles_per_packet;
	default: return -(double)t->thread;
	}
}

static double queue_key(const struct edp_monitor_queue *q, int col)
{
	return col == 1 ? q->share : col == 2 ? q->pps : col == 3 ? (double)q->packets : -(double)q->queue;
}

static double port_key(const struct edp_monitor_port *p, int col, int index)
{
	return col == 1 ? p->rx_pps : col == 2 ? p->tx_pps : col == 3 ? p->drops_ps : -(double)index;
}

/* The row order of a view: indices sorted by the column, largest first
 * (column 0: the natural order). */
static int order(const struct edp_monitor_sample *s, enum view v, int col, uint32_t *idx)
{
	int n = v == VIEW_THREADS ? (int)s->n_threads : v == VIEW_QUEUES ? (int)s->n_queues : (int)s->n_ports;
	for (int i = 0; i < n; i++)
		idx[i] = (uint32_t)i;
	for (int i = 1; i < n; i++) { /* insertion sort: stable, and n is small */
		uint32_t x = idx[i];
		double kx = v == VIEW_THREADS ? thread_key(&s->threads[x], col)
			    : v == VIEW_QUEUES ? queue_key(&s->queues[x], col)
					       : port_key(&s->ports[x], col, (int)x);
		int j = i - 1;
		while (j >= 0) {
			uint32_t y = idx[j];
			double ky = v == VIEW_THREADS ? thread_key(&s->threads[y], col)
				    : v == VIEW_QUEUES ? queue_key(&s->queues[y], col)
						       : port_key(&s->ports[y], col, (int)y);
			if (ky >= kx)
				break;
			idx[j + 1] = y;
			j--;
		}
		idx[j + 1] = x;
	}
	return n;
}

static void row_text(char *buf, size_t n, const struct edp_monitor_sample *s, enum view v, uint32_t i)
{
	if (v == VIEW_THREADS)
		thread_row(buf, n, &s->threads[i]);
	else if (v == VIEW_QUEUES)
		queue_row(buf, n, &s->queues[i]);
	else
		port_row(buf, n, &s->ports[i]);
}

static const char *view_header(enum view v)
{
	return v == VIEW_THREADS ? thread_header : v == VIEW_QUEUES ? queue_header : port_header;
}

/* ---- batch mode ---- */

static void print_text(FILE *f, const struct edp_monitor_sample *s)
{
	char line[512];
	title_text(line, sizeof(line), s);
	fprintf(f, PROG " - %s\n", line);
	totals_text(line, sizeof(line), s);
	fprintf(f, "%s\n", line);
	event_text(line, sizeof(line), s);
	fprintf(f, "%s\n", line);
	uint32_t idx[65536];
	for (int v = 0; v < N_VIEWS; v++) {
		fprintf(f, "\n%s\n", view_header((enum view)v));
		int n = order(s, (enum view)v, 0, idx);
		for (int i = 0; i < n; i++) {
			row_text(line, sizeof(line), s, (enum view)v, idx[i]);
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

static void print_json(FILE *f, const struct edp_monitor_sample *s, const char *gone_why)
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

static void sleep_s(double s)
{
	struct timespec d = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (!stop_requested && nanosleep(&d, &d) < 0 && errno == EINTR)
		;
}

static int run_batch(struct edp_monitor *m, long iterations, double delay, bool json)
{
	for (long i = 0; !stop_requested && (iterations == 0 || i < iterations); i++) {
		if (i)
			sleep_s(delay);
		if (stop_requested)
			break;
		struct edp_monitor_sample s;
		struct edp_error err = { 0 };
		if (edp_monitor_sample(m, &s, &err)) {
			if (i == 0) { /* nothing to watch */
				fprintf(stderr, PROG ": %s\n", err.msg);
				return 1;
			}
			if (json)
				print_json(stdout, &s, err.msg);
			else
				printf(PROG " - %s: gone: %s\n\n", s.name, err.msg);
		} else if (json) {
			print_json(stdout, &s, NULL);
		} else {
			print_text(stdout, &s);
		}
		if (fflush(stdout) != 0) {
			fprintf(stderr, PROG ": stdout: write failed: %s\n", strerror(errno));
			return 1;
		}
	}
	return 0;
}

/* ---- the terminal ---- */

enum { C_OK = 1, C_WARN, C_HOT, C_HEAD, C_TITLE };

struct ui {
	struct edp_monitor *m;
	bool color, paused, help, have;
	enum view view;
	int sort[N_VIEWS];
	int scroll;
	double delay;
	struct edp_monitor_sample s;
	char gone[512];
};

static int load_color(double busy)
{
	return busy >= 0.85 ? C_HOT : busy >= 0.5 ? C_WARN : C_OK;
}

static void put_line(int y, const char *text, int attr)
{
	int w = COLS;
	attron(attr);
	mvaddnstr(y, 0, text, w);
	for (int x = (int)strlen(text); x < w; x++)
		addch(' ');
	attroff(attr);
}

static void draw_bar(int y, int x, int width, double ratio, int attr)
{
	if (width <= 2)
		return;
	int fill = (int)lround(ratio * (width - 2));
	mvaddch(y, x, '[');
	attron(attr);
	for (int i = 0; i < width - 2; i++)
		addch(i < fill ? '|' : ' ');
	attroff(attr);
	addch(']');
}

static void draw_help(void)
{
	static const char *const lines[] = {
		"edp-top keys",
		"",
		"  1 2 3, Tab      threads, queues, ports view",
		"  Up Down         scroll a line",
		"  PgUp PgDn       scroll a page",
		"  s >             sort by the next column",
		"  <               sort by the previous column",
		"  p               pause or resume the refresh",
		"  d               change the delay between refreshes",
		"  r               reset deltas: rates from now on",
		"  h ?             this help (any key closes it)",
		"  q               quit",
		"",
		"Busy: green below 50%, yellow below 85%, red above.",
		"Rates are computed from the counters between two refreshes.",
	};
	erase();
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]) && (int)i < LINES; i++)
		mvaddnstr((int)i, 0, lines[i], COLS);
	refresh();
}

static void draw(struct ui *u)
{
	if (u->help) {
		draw_help();
		return;
	}
	erase();
	char line[1024];
	const struct edp_monitor_sample *s = &u->s;
	int head = A_BOLD | (u->color ? COLOR_PAIR(C_TITLE) : 0);
	if (u->have) {
		char t[256];
		title_text(t, sizeof(t), s);
		snprintf(line, sizeof(line), PROG " - %s", t);
	} else {
		snprintf(line, sizeof(line), PROG " - %s", s->name);
	}
	put_line(0, line, head);
	if (u->gone[0]) {
		snprintf(line, sizeof(line), "%s: gone: %s; retrying every %.1f s", s->name, u->gone, u->delay);
		put_line(1, line, A_BOLD | (u->color ? COLOR_PAIR(C_HOT) : 0));
	} else if (u->have) {
		totals_text(line, sizeof(line), s);
		put_line(1, line, 0);
	}
	if (u->have) {
		event_text(line, sizeof(line), s);
		put_line(2, line, 0);
	}
	int n = snprintf(line, sizeof(line), " ");
	for (int v = 0; v < N_VIEWS; v++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%d %s%s ", (int)u->view == v ? "[" : " ", v + 1,
			      view_names[v], (int)u->view == v ? "]" : " ");
	snprintf(line + n, sizeof(line) - (size_t)n, "  sort: %s  delay: %.1f s%s", sort_names[u->view][u->sort[u->view]],
		 u->delay, u->paused ? "  PAUSED" : "");
	put_line(3, line, 0);
	const char *hdr = view_header(u->view);
	int bar = u->view == VIEW_THREADS ? COLS - (int)strlen(thread_header) - 1 : 0;
	bar = bar > 22 ? 22 : bar;
	snprintf(line, sizeof(line), "%s%s%s", hdr, bar > 2 ? " " : "", bar > 2 ? "LOAD" : "");
	put_line(4, line, A_REVERSE | (u->color ? COLOR_PAIR(C_HEAD) : 0));
	if (u->have) {
		static uint32_t idx[65536];
		int rows = order(s, u->view, u->sort[u->view], idx), room = LINES - 6;
		if (u->scroll > rows - room)
			u->scroll = rows - room;
		if (u->scroll < 0)
			u->scroll = 0;
		for (int i = 0; i < room && u->scroll + i < rows; i++) {
			uint32_t k = idx[u->scroll + i];
			row_text(line, sizeof(line), s, u->view, k);
			double load = u->view == VIEW_THREADS ? s->threads[k].busy : u->view == VIEW_QUEUES ? s->queues[k].share : 0;
			int attr = u->color && u->view != VIEW_PORTS ? COLOR_PAIR(load_color(load)) : 0;
			attron(attr);
			mvaddnstr(5 + i, 0, line, COLS);
			attroff(attr);
			if (bar > 2)
				draw_bar(5 + i, (int)strlen(thread_header) + 1, bar, load, attr);
		}
		if (u->view == VIEW_PORTS && rows - u->scroll + 1 < room) { /* and the drops by reason */
			int y = 5 + rows - u->scroll + 1;
			mvaddstr(y, 0, "drops by reason:");
			for (int r = 1; r < EDP_DROP_REASONS && ++y < LINES - 1; r++) {
				char ps[16];
				snprintf(line, sizeof(line), "  %-10s %12llu  %8s/s", edp_drop_reason_name(r),
					 (unsigned long long)s->drops_by_reason[r], si(ps, sizeof(ps), s->drops_by_reason_ps[r]));
				mvaddnstr(y, 0, line, COLS);
			}
		}
	}
	put_line(LINES - 1, " h help  q quit  1/2/3 view  s sort  p pause  d delay  r reset", A_REVERSE);
	refresh();
}

/* Ask for a number on the last line; returns it, or -1. */
static double prompt_delay(void)
{
	char buf[32] = "";
	put_line(LINES - 1, "delay in seconds: ", A_BOLD);
	move(LINES - 1, 18);
	echo();
	curs_set(1);
	timeout(-1);
	getnstr(buf, sizeof(buf) - 1);
	noecho();
	curs_set(0);
	char *end;
	double d = strtod(buf, &end);
	return *buf && !*end && d >= 0.05 && d <= 3600 ? d : -1;
}

static void take_sample(struct ui *u)
{
	struct edp_monitor_sample s;
	struct edp_error err = { 0 };
	if (edp_monitor_sample(u->m, &s, &err)) {
		snprintf(u->gone, sizeof(u->gone), "%s", err.msg);
		u->s.status = EDP_MONITOR_GONE;
		return;
	}
	u->gone[0] = 0;
	u->s = s;
	u->have = true;
}

static uint64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void ui_start(bool color)
{
	initscr();
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	if (color && has_colors()) {
		start_color();
		use_default_colors();
		init_pair(C_OK, COLOR_GREEN, -1);
		init_pair(C_WARN, COLOR_YELLOW, -1);
		init_pair(C_HOT, COLOR_RED, -1);
		init_pair(C_HEAD, COLOR_BLACK, COLOR_CYAN);
		init_pair(C_TITLE, COLOR_CYAN, -1);
	}
}

/* Several instances and no name: let the operator pick one. Returns its
 * index, or -1 to quit. */
static int choose(char (*names)[EDP_STATS_NAME_MAX + 1], int n)
{
	int at = 0;
	for (;;) {
		erase();
		put_line(0, PROG " - several edp-run instances are running; choose one (Enter), q quits", A_BOLD);
		for (int i = 0; i < n && i + 2 < LINES; i++) {
			if (i == at)
				attron(A_REVERSE);
			mvprintw(i + 2, 2, "%-32s", names[i]);
			if (i == at)
				attroff(A_REVERSE);
		}
		refresh();
		int c = getch();
		if (c == 'q' || c == 27 || stop_requested)
			return -1;
		if (c == KEY_UP && at > 0)
			at--;
		else if (c == KEY_DOWN && at + 1 < n)
			at++;
		else if (c == '\n' || c == KEY_ENTER)
			return at;
	}
}

static int run_terminal(struct edp_monitor *m, double delay, bool color)
{
	struct ui u = { .m = m, .color = color, .delay = delay };
	take_sample(&u);
	uint64_t next = mono_ms() + (uint64_t)(u.delay * 1000);
	draw(&u);
	while (!stop_requested) {
		uint64_t now = mono_ms();
		timeout(now >= next ? 0 : (int)(next - now));
		int c = getch();
		if (c == ERR) { /* the refresh is due */
			if (!u.paused && !u.help)
				take_sample(&u);
			next = mono_ms() + (uint64_t)(u.delay * 1000);
			draw(&u);
			continue;
		}
		if (u.help) { /* any key closes the help */
			u.help = false;
			draw(&u);
			continue;
		}
		int page = LINES - 6 > 1 ? LINES - 6 : 1;
		switch (c) {
		case 'q': case 'Q': return 0;
		case '1': case '2': case '3': u.view = (enum view)(c - '1'); u.scroll = 0; break;
		case '\t': u.view = (enum view)((u.view + 1) % N_VIEWS); u.scroll = 0; break;
		case KEY_BTAB: u.view = (enum view)((u.view + N_VIEWS - 1) % N_VIEWS); u.scroll = 0; break;
		case 's': case '>': u.sort[u.view] = (u.sort[u.view] + 1) % n_sorts[u.view]; break;
		case '<': u.sort[u.view] = (u.sort[u.view] + n_sorts[u.view] - 1) % n_sorts[u.view]; break;
		case KEY_UP: u.scroll--; break;
		case KEY_DOWN: u.scroll++; break;
		case KEY_PPAGE: u.scroll -= page; break;
		case KEY_NPAGE: u.scroll += page; break;
		case KEY_HOME: u.scroll = 0; break;
		case 'p': case ' ': u.paused = !u.paused; break;
		case 'r': /* the next sample's rates are since now */
			edp_monitor_reset(u.m);
			next = mono_ms() + (uint64_t)(u.delay * 1000);
			break;
		case 'd': {
			double d = prompt_delay();
			if (d > 0)
				u.delay = d;
			next = mono_ms() + (uint64_t)(u.delay * 1000);
			break;
		}
		case 'h': case '?': u.help = true; break;
		default: break; /* KEY_RESIZE and anything else: redraw */
		}
		draw(&u);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "batch", no_argument, NULL, 'b' },        { "iterations", required_argument, NULL, 'n' },
		{ "delay", required_argument, NULL, 'd' },  { "json", no_argument, NULL, 'j' },
		{ "no-color", no_argument, NULL, 'C' },     { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },      { NULL, 0, NULL, 0 } };
	bool batch = false, json = false, color = !getenv("NO_COLOR") || !*getenv("NO_COLOR");
	long iterations = 0;
	double delay = 1;
	int c;
	while ((c = getopt_long(argc, argv, "bn:d:hV", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'b': batch = true; break;
		case 'j': json = true; break;
		case 'C': color = false; break;
		case 'n':
			iterations = strtol(optarg, &end, 10);
			if (!*optarg || *end || iterations < 1)
				return usage_error("-n: expected a count of refreshes (1 or more), not '%s'", optarg);
			break;
		case 'd':
			delay = strtod(optarg, &end);
			if (!*optarg || *end || !(delay >= 0.01 && delay <= 3600))
				return usage_error("-d: expected seconds from 0.01 to 3600, not '%s'", optarg);
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " %s\n", EDP_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind > 1)
		return usage_error("one instance at a time, not '%s' too", argv[optind + 1]);
	if (json && !batch)
		return usage_error("%s", "--json goes with -b (batch mode)");
	if (iterations && !batch)
		return usage_error("%s", "-n goes with -b (batch mode)");
	const char *name = optind < argc ? argv[optind] : NULL;
	if (name && !edp_stats_name_valid(name))
		return usage_error("instance name '%s' must be 1 to 32 of a-z 0-9 _ -", name);

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	static char names[MAX_INSTANCES][EDP_STATS_NAME_MAX + 1];
	int n = 0;
	struct edp_error err = { 0 };
	if (!name) {
		n = edp_stats_list(names, MAX_INSTANCES, &err);
		if (n < 0) {
			fprintf(stderr, PROG ": %s\n", err.msg);
			return 1;
		}
		if (n == 0) {
			fprintf(stderr, PROG ": no edp-run instance is running (start one, e.g. edp-run --name lab -r trace.pcap --loop 0 -w /dev/null)\n");
			return 1;
		}
		if (n == 1)
			name = names[0];
		else if (batch) {
			char list[2048] = "";
			size_t l = 0;
			for (int i = 0; i < n && l + 40 < sizeof(list); i++)
				l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "", names[i]);
			fprintf(stderr, PROG ": %d instances are running (%s): name one\n", n, list);
			return 2;
		}
	}
	setlocale(LC_ALL, "");
	if (batch || name) {
		struct edp_monitor *m = edp_monitor_create(name, &err);
		if (!m) {
			fprintf(stderr, PROG ": %s\n", err.msg);
			return err.status;
		}
		int rc;
		if (batch) {
			rc = run_batch(m, iterations, delay, json);
		} else {
			struct edp_monitor_sample s;
			if (edp_monitor_sample(m, &s, &err)) { /* nothing to watch: say so before the screen opens */
				fprintf(stderr, PROG ": %s\n", err.msg);
				edp_monitor_destroy(m);
				return 1;
			}
			edp_monitor_destroy(m); /* the first screen shows the rates since the start */
			m = edp_monitor_create(name, &err);
			ui_start(color);
			rc = run_terminal(m, delay, color);
			endwin();
		}
		edp_monitor_destroy(m);
		return rc;
	}
	ui_start(color);
	int pick = choose(names, n);
	int rc = 0;
	if (pick >= 0) {
		struct edp_monitor *m = edp_monitor_create(names[pick], &err);
		rc = m ? run_terminal(m, delay, color) : 1;
		edp_monitor_destroy(m);
	}
	endwin();
	return rc;
}
