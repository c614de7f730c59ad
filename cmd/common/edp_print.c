/* edp_print: output shared by the binaries: the run summary (text and JSON)
 * and the live stats of an instance (text and JSON). */
#include "edp_print.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "edp_clock.h"
#include "edp_json.h"

static const char *threads_text(uint32_t n, const char *mode)
{
	static char buf[48];
	if (n == 0)
		return "inline";
	snprintf(buf, sizeof(buf), "%u thread%s%s%s", n, n == 1 ? "" : "s", n > 1 && mode ? ", " : "",
		 n > 1 && mode ? mode : "");
	return buf;
}

bool edp_print_join(char *const *words, int n, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = 0;
	for (int i = 0; i < n; i++) {
		int k = snprintf(buf + used, size - used, "%s%s", i ? " " : "", words[i]);
		if (k < 0 || (size_t)k >= size - used)
			return false;
		used += (size_t)k;
	}
	return true;
}

void edp_print_framing(FILE *f, const char *prog, const struct edp_datapath *dp)
{
	struct edp_datapath_stats st;
	edp_datapath_stats(dp, &st);
	for (uint32_t i = 0; i < st.n_ports; i++)
		if (st.ports[i].link)
			fprintf(f, "%s: port %s: %s has link type %s: each packet is given an Ethernet header\n", prog,
				st.ports[i].name, strcmp(st.ports[i].rx, "-") ? st.ports[i].rx : "stdin", st.ports[i].link);
}

/* "  drops: REASON=N ..." (or " none") */
static void print_drops(FILE *f, const uint64_t drops[EDP_DROP_REASONS])
{
	fprintf(f, "  drops:");
	int any = 0;
	for (int r = 1; r < EDP_DROP_REASONS; r++)
		if (drops[r]) {
			fprintf(f, " %s=%llu", edp_drop_reason_name(r), (unsigned long long)drops[r]);
			any = 1;
		}
	fprintf(f, "%s\n", any ? "" : " none");
}

/* part of whole as "12.34%", or "-" when whole is 0 (no rate to give) */
static void percent(char *buf, size_t size, uint64_t part, uint64_t whole)
{
	if (whole)
		snprintf(buf, size, "%.2f%%", 100.0 * (double)part / (double)whole);
	else
		snprintf(buf, size, "-");
}

void edp_print_summary(FILE *f, const char *prog, const struct edp_datapath_stats *s)
{
	double mpps = s->seconds > 0 ? (double)s->packets_in / s->seconds / 1e6 : 0;
	fprintf(f, "%s: %llu packets in, %llu forwarded, %llu dropped in %.3f s (%.3f Mpps), %s\n",
		prog, (unsigned long long)s->packets_in, (unsigned long long)s->packets_forwarded,
		(unsigned long long)s->packets_dropped, s->seconds, mpps, threads_text(s->threads, s->mode));
	fprintf(f, "  %-16s %12s %14s %12s %14s %10s\n", "port", "rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
		"drops");
	for (uint32_t i = 0; i < s->n_ports; i++)
		fprintf(f, "  %-16s %12llu %14llu %12llu %14llu %10llu\n", s->ports[i].name,
			(unsigned long long)s->ports[i].s.rx_packets, (unsigned long long)s->ports[i].s.rx_bytes,
			(unsigned long long)s->ports[i].s.tx_packets, (unsigned long long)s->ports[i].s.tx_bytes,
			(unsigned long long)s->ports[i].s.drops);
	print_drops(f, s->drops);
	uint64_t lookups = s->flow_cache.hits + s->flow_cache.misses;
	char rate[16];
	percent(rate, sizeof(rate), s->flow_cache.hits, lookups);
	fprintf(f, "  flow cache: %llu hits, %llu misses, %s hit rate, %llu evictions; slow path runs: %llu\n",
		(unsigned long long)s->flow_cache.hits, (unsigned long long)s->flow_cache.misses, rate,
		(unsigned long long)s->flow_cache.evictions, (unsigned long long)s->slow_path_runs);
	if (s->threads > 1 && !(s->mode && strcmp(s->mode, "chunks") == 0)) /* chunks: no queues to move */
		fprintf(f, "  balancer: %llu rebalances, %llu queues moved\n", (unsigned long long)s->rebalances,
			(unsigned long long)s->queues_moved);
	for (uint32_t i = 0; i < s->n_events; i++) {
		const struct edp_rebalance *e = &s->events[i];
		char move[200];
		edp_print_move(move, sizeof(move), e->spread_before, e->spread_after, e->spread_measured, e->speedup,
			       e->speedup_measured);
		fprintf(f, "    at %.1f s: %s; %s\n", e->at_s, e->what, move);
	}
	if (s->suspends)
		fprintf(f, "  suspended %llu time%s, %.3f s in all (edp-run ctl suspend)\n", (unsigned long long)s->suspends,
			s->suspends == 1 ? "" : "s", s->suspended_s);
	if (s->stats_clears)
		fprintf(f, "  live counters cleared %llu time%s, the last %.3f s into the run (edp-run ctl stats-clear); "
			"this summary counts the whole run\n",
			(unsigned long long)s->stats_clears, s->stats_clears == 1 ? "" : "s", s->stats_cleared_s);
	fprintf(f, "  conservation: %llu read = %llu forwarded + %llu dropped\n",
		(unsigned long long)s->packets_in, (unsigned long long)s->packets_forwarded,
		(unsigned long long)s->packets_dropped);
	if (s->filter)
		fprintf(f, "  filter '%s': %llu packets rejected, not read in\n", s->filter,
			(unsigned long long)s->packets_filtered);
	for (uint32_t i = 0; i < s->n_ports; i++)
		if (s->ports[i].link)
			fprintf(f, "  port %s: %llu packets of link type %s given an Ethernet header\n", s->ports[i].name,
				(unsigned long long)s->ports[i].s.framed, s->ports[i].link);
	for (uint32_t i = 0; i < s->n_ports; i++)
		if (s->ports[i].vport && s->ports[i].s.queued)
			fprintf(f, "  vport %s: %llu packets left queued for the next run\n", s->ports[i].name,
				(unsigned long long)s->ports[i].s.queued);
		else if (s->ports[i].live && s->ports[i].s.kernel_drops)
			fprintf(f, "  port %s: %llu frames dropped by the kernel before they were read\n",
				s->ports[i].name, (unsigned long long)s->ports[i].s.kernel_drops);
	for (uint32_t i = 0; i < s->n_ports; i++)
		if (s->ports[i].s.tx_errors)
			fprintf(f, "  port %s: %llu packets not written: its output failed\n", s->ports[i].name,
				(unsigned long long)s->ports[i].s.tx_errors);
}

int edp_print_flush(const char *prog, FILE *f, const char *name)
{
	if (fflush(f) == 0 && !ferror(f))
		return 0;
	fprintf(stderr, "%s: %s: write failed: %s\n", prog, name, strerror(errno));
	return 1;
}

bool edp_print_json_clash(const char *json_path, const char *output)
{
	return edp_pcap_same_file(json_path ? json_path : "-", 1, output, 1);
}

FILE *edp_print_json_open(const char *prog, const char *path)
{
	if (!path || strcmp(path, "-") == 0)
		return stdout;
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "%s: %s: cannot create: %s\n", prog, path, strerror(errno));
	return f;
}

int edp_print_json_close(const char *prog, FILE *f, const char *path)
{
	if (f == stdout)
		return edp_print_flush(prog, f, "stdout");
	int rc = edp_print_flush(prog, f, path);
	if (fclose(f) != 0 && !rc) {
		fprintf(stderr, "%s: %s: write failed: %s\n", prog, path, strerror(errno));
		rc = 1;
	}
	return rc;
}

int edp_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	va_end(ap);
	return 2;
}

int edp_parse_positive(const char *prog, const char *opt, const char *what, const char *s, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (*s && !*end && v > max)
		return edp_usage_error(prog, "%s: '%s' is above the maximum of %.10g", opt, s, max);
	if (!*s || *end || !(v > 0 && v <= max))
		return edp_usage_error(prog, "%s: expected %s greater than 0, not '%s'", opt, what, s);
	*out = v;
	return 0;
}

int edp_option_error(const char *prog, int c, char *const argv[])
{
	/* a long option is named as typed (up to any '='); a short one by its
	 * letter, which may sit in a cluster such as -qx */
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	bool is_long = strncmp(arg, "--", 2) == 0 || !optopt || optopt > 255;
	char name[64];
	if (is_long)
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	else
		snprintf(name, sizeof(name), "-%c", optopt);
	if (c == ':')
		return edp_usage_error(prog, "option '%s' needs an argument", name);
	if (is_long && optopt && strchr(arg, '=')) /* a known option given a value */
		return edp_usage_error(prog, "option '%s' takes no argument", name);
	return edp_usage_error(prog, "unknown option '%s'", name);
}

void edp_print_move(char *buf, size_t n, double before, double after, double measured, double speedup,
		    double speedup_measured)
{
	int len = snprintf(buf, n, "spread %.2f -> %.2f predicted", before, after);
	if (measured >= 0 && len >= 0 && (size_t)len < n)
		len += snprintf(buf + len, n - (size_t)len, ", %.2f measured after", measured);
	if (speedup != 1 && len >= 0 && (size_t)len < n)
		len += snprintf(buf + len, n - (size_t)len, "; rate x%.2f predicted (saturated)", speedup);
	if (speedup != 1 && speedup_measured >= 0 && len >= 0 && (size_t)len < n)
		snprintf(buf + len, n - (size_t)len, ", x%.2f measured", speedup_measured);
}

void edp_print_move_json(struct edp_json *j, uint32_t moved, double before, double after, double measured,
			 double speedup, double speedup_measured)
{
	edp_json_uint(j, "moved", moved);
	edp_json_fixed(j, "spread_before", before, 4);
	edp_json_fixed(j, "spread_after", after, 4);
	edp_json_fixed(j, "spread_measured", measured >= 0 ? measured : NAN, 4); /* not finite: null */
	edp_json_fixed(j, "speedup", speedup, 4);
	edp_json_fixed(j, "speedup_measured", speedup_measured >= 0 ? speedup_measured : NAN, 4);
}

/* "drops": each reason's count (reason 0 is none). */
/* An interface's port: the kernel's drops, and its rings' size when they
 * are edp-run's own (0: libpcap's, not known). */
static void json_live(struct edp_json *j, uint8_t socket, uint64_t kernel_drops, uint32_t ring_frames,
		      uint64_t ring_bytes)
{
	edp_json_string(j, "socket", edp_pcap_socket_name(socket));
	edp_json_uint(j, "kernel_drops", kernel_drops);
	edp_json_uint(j, "ring_frames", ring_frames);
	edp_json_uint(j, "ring_bytes", ring_bytes);
}

static void json_drops(struct edp_json *j, const uint64_t *drops)
{
	edp_json_object(j, "drops");
	for (int r = 1; r < EDP_DROP_REASONS; r++)
		edp_json_uint(j, edp_drop_reason_name(r), drops[r]);
	edp_json_end(j);
}

void edp_print_summary_json(FILE *f, const struct edp_datapath_stats *s)
{
	struct edp_json j;
	uint64_t lookups = s->flow_cache.hits + s->flow_cache.misses;
	edp_json_begin(&j, f);
	edp_json_uint(&j, "packets_in", s->packets_in);
	edp_json_uint(&j, "bytes_in", s->bytes_in);
	edp_json_uint(&j, "packets_forwarded", s->packets_forwarded);
	edp_json_uint(&j, "packets_dropped", s->packets_dropped);
	edp_json_uint(&j, "packets_filtered", s->packets_filtered);
	edp_json_string(&j, "filter", s->filter); /* NULL: null */
	json_drops(&j, s->drops);
	edp_json_object(&j, "flow_cache");
	edp_json_uint(&j, "hits", s->flow_cache.hits);
	edp_json_uint(&j, "misses", s->flow_cache.misses);
	edp_json_fixed(&j, "hit_rate", lookups ? (double)s->flow_cache.hits / (double)lookups : 0.0, 6);
	edp_json_uint(&j, "inserts", s->flow_cache.inserts);
	edp_json_uint(&j, "evictions", s->flow_cache.evictions);
	edp_json_uint(&j, "invalidations", s->flow_cache.invalidations);
	edp_json_end(&j);
	edp_json_uint(&j, "slow_path_runs", s->slow_path_runs);
	edp_json_object(&j, "balancer");
	edp_json_uint(&j, "rebalances", s->rebalances);
	edp_json_uint(&j, "queues_moved", s->queues_moved);
	edp_json_array(&j, "events");
	for (uint32_t i = 0; i < s->n_events; i++) {
		const struct edp_rebalance *e = &s->events[i];
		edp_json_object(&j, NULL);
		edp_json_fixed(&j, "at_s", e->at_s, 3);
		edp_print_move_json(&j, e->moved, e->spread_before, e->spread_after, e->spread_measured, e->speedup,
				    e->speedup_measured);
		edp_json_string(&j, "what", e->what);
		edp_json_end(&j);
	}
	edp_json_end(&j);
	edp_json_end(&j);
	edp_json_array(&j, "ports");
	for (uint32_t i = 0; i < s->n_ports; i++) {
		const struct edp_port_stats *p = &s->ports[i].s;
		edp_json_object(&j, NULL);
		edp_json_string(&j, "name", s->ports[i].name);
		edp_json_uint(&j, "rx_packets", p->rx_packets);
		edp_json_uint(&j, "rx_bytes", p->rx_bytes);
		edp_json_uint(&j, "tx_packets", p->tx_packets);
		edp_json_uint(&j, "tx_bytes", p->tx_bytes);
		edp_json_uint(&j, "tx_errors", p->tx_errors);
		edp_json_uint(&j, "drops", p->drops);
		edp_json_uint(&j, "filtered", p->filtered);
		if (s->ports[i].link) {
			edp_json_string(&j, "link", s->ports[i].link);
			edp_json_uint(&j, "framed", p->framed);
		}
		if (s->ports[i].vport)
			edp_json_uint(&j, "vport_queued", p->queued);
		if (s->ports[i].live)
			json_live(&j, s->ports[i].live, p->kernel_drops, p->ring_frames, p->ring_bytes);
		edp_json_end(&j);
	}
	edp_json_end(&j);
	edp_json_uint(&j, "threads", s->threads);
	edp_json_string(&j, "mode", s->mode);
	edp_json_uint(&j, "suspends", s->suspends);
	edp_json_fixed(&j, "suspended_s", s->suspended_s, 3);
	edp_json_uint(&j, "stats_clears", s->stats_clears);
	if (s->stats_clears)
		edp_json_fixed(&j, "stats_cleared_s", s->stats_cleared_s, 3);
	else
		edp_json_null(&j, "stats_cleared_s");
	edp_json_fixed(&j, "seconds", s->seconds, 6);
	edp_json_fixed(&j, "mpps", s->seconds > 0 ? (double)s->packets_in / s->seconds / 1e6 : 0.0, 6);
	edp_json_finish(&j);
}

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

/* A queue's share of its thread's busy cycles. A queue's block is written
 * every batch, its thread's at most every EDP_PUBLISH_CYCLES, so a snapshot
 * may find the queue a little ahead: at most the whole (as edp-top shows). */
static double queue_share(const struct edp_stats_snapshot *s, const struct edp_stats_queue *q)
{
	double r = q->thread < s->header.n_threads ? ratio(q->cycles, s->threads[q->thread].busy_cycles) : 0;
	return r > 1 ? 1 : r;
}

/* The packets received on port p and dropped, over the threads. */
static uint64_t port_drops(const struct edp_stats_snapshot *s, uint32_t p)
{
	uint64_t n = 0;
	for (uint32_t t = 0; t < s->header.n_threads; t++)
		n += s->threads[t].port_drops[p];
	return n;
}

/* Each drop reason's count, over the threads. */
static void drops_by_reason(const struct edp_stats_snapshot *s, uint64_t drops[EDP_DROP_REASONS])
{
	memset(drops, 0, EDP_DROP_REASONS * sizeof(drops[0]));
	for (uint32_t t = 0; t < s->header.n_threads; t++)
		for (int r = 0; r < EDP_DROP_REASONS; r++)
			drops[r] += s->threads[t].drops[r];
}

void edp_print_stats_json(FILE *f, const struct edp_stats_snapshot *s, double uptime_s)
{
	const struct edp_stats_header *h = &s->header;
	struct edp_json j;
	edp_json_begin(&j, f);
	edp_json_string(&j, "name", h->name);
	edp_json_int(&j, "pid", h->pid);
	edp_json_fixed(&j, "uptime_s", uptime_s, 3);
	edp_json_uint(&j, "start_time_ns", h->start_ns);
	edp_json_uint(&j, "cycles_per_s", h->cycles_per_s);
	edp_json_string(&j, "config", h->control.config);
	edp_json_uint(&j, "config_generation", h->control.generation);
	edp_json_uint(&j, "stats_clears", s->clears);
	if (s->clears)
		edp_json_uint(&j, "stats_cleared_ns", s->cleared_at_ns);
	else
		edp_json_null(&j, "stats_cleared_ns");
	edp_json_bool(&j, "running", h->running);
	edp_json_bool(&j, "suspended", h->control.state == EDP_STATE_SUSPENDED);
	edp_json_string(&j, "state", edp_stats_state_name(h->control.state));
	edp_json_array(&j, "threads");
	for (uint32_t i = 0; i < h->n_threads; i++) {
		const struct edp_stats_thread *t = &s->threads[i];
		edp_json_object(&j, NULL);
		edp_json_uint(&j, "thread", i);
		edp_json_int(&j, "cpu", t->cpu);
		edp_json_int(&j, "numa_node", t->numa_node);
		edp_json_uint(&j, "queues", t->n_queues);
		edp_json_uint(&j, "packets", t->packets);
		edp_json_uint(&j, "bytes", t->bytes);
		edp_json_uint(&j, "forwarded", t->forwarded);
		edp_json_object(&j, "flow_cache");
		edp_json_uint(&j, "hits", t->flow_cache_hits);
		edp_json_uint(&j, "misses", t->flow_cache_misses);
		edp_json_uint(&j, "evictions", t->flow_cache_evictions);
		edp_json_fixed(&j, "hit_rate", ratio(t->flow_cache_hits, t->flow_cache_hits + t->flow_cache_misses), 6);
		edp_json_end(&j);
		edp_json_uint(&j, "slow_path_runs", t->slow_path_runs);
		edp_json_uint(&j, "slow_path_cycles", t->slow_path_cycles);
		json_drops(&j, t->drops);
		edp_json_uint(&j, "busy_cycles", t->busy_cycles);
		edp_json_uint(&j, "idle_cycles", t->idle_cycles);
		edp_json_fixed(&j, "busy_ratio", ratio(t->busy_cycles, t->busy_cycles + t->idle_cycles), 6);
		edp_json_uint(&j, "batches", t->batches);
		edp_json_fixed(&j, "packets_per_batch", ratio(t->packets, t->batches), 3);
		edp_json_fixed(&j, "cycles_per_packet", ratio(t->busy_cycles, t->packets), 1);
		edp_json_end(&j);
	}
	edp_json_end(&j);
	edp_json_array(&j, "queues");
	for (uint32_t i = 0; i < h->n_queues; i++) {
		const struct edp_stats_queue *q = &s->queues[i];
		edp_json_object(&j, NULL);
		edp_json_uint(&j, "queue", i);
		edp_json_string(&j, "port", q->port < h->n_ports ? s->ports[q->port].name : "");
		edp_json_uint(&j, "thread", q->thread);
		edp_json_uint(&j, "packets", q->packets);
		edp_json_uint(&j, "cycles", q->cycles);
		edp_json_fixed(&j, "share", queue_share(s, q), 6);
		edp_json_end(&j);
	}
	edp_json_end(&j);
	edp_json_array(&j, "ports");
	for (uint32_t i = 0; i < h->n_ports; i++) {
		uint64_t drops = port_drops(s, i);
		edp_json_object(&j, NULL);
		edp_json_string(&j, "name", s->ports[i].name);
		edp_json_uint(&j, "rx_packets", s->ports[i].rx_packets);
		edp_json_uint(&j, "rx_bytes", s->ports[i].rx_bytes);
		edp_json_uint(&j, "tx_packets", s->ports_tx[i].tx_packets);
		edp_json_uint(&j, "tx_bytes", s->ports_tx[i].tx_bytes);
		edp_json_uint(&j, "drops", drops);
		if (s->ports[i].live)
			json_live(&j, s->ports[i].live, s->ports[i].kernel_drops, s->ports[i].ring_frames,
				  s->ports[i].ring_bytes);
		edp_json_end(&j);
	}
	edp_json_end(&j);
	uint64_t drops[EDP_DROP_REASONS];
	drops_by_reason(s, drops);
	json_drops(&j, drops);
	edp_json_object(&j, "balancer");
	edp_json_uint(&j, "rebalances", h->n_events);
	edp_json_array(&j, "events"); /* the last EDP_STATS_EVENTS */
	uint64_t first = h->n_events > EDP_STATS_EVENTS ? h->n_events - EDP_STATS_EVENTS : 0;
	for (uint64_t e = first; e < h->n_events; e++) {
		const struct edp_stats_event *ev = &h->events[e % EDP_STATS_EVENTS];
		edp_json_object(&j, NULL);
		edp_json_uint(&j, "time_ns", ev->time_ns);
		edp_print_move_json(&j, ev->moved, ev->spread_before, ev->spread_after, ev->spread_measured, ev->speedup,
				    ev->speedup_measured);
		edp_json_string(&j, "what", ev->what);
		edp_json_end(&j);
	}
	edp_json_end(&j);
	edp_json_end(&j);
	const struct edp_stats_control *c = &h->control;
	edp_json_object(&j, "control");
	edp_json_uint(&j, "requests", c->requests);
	edp_json_uint(&j, "refused_peer", c->refused_peer);
	edp_json_uint(&j, "refused_busy", c->refused_busy);
	edp_json_uint(&j, "refused_long", c->refused_long);
	edp_json_uint(&j, "timed_out", c->timed_out);
	edp_json_uint(&j, "unread", c->unread);
	edp_json_finish(&j);
}

void edp_print_stats_text(FILE *f, const struct edp_stats_snapshot *s, double uptime_s)
{
	const struct edp_stats_header *h = &s->header;
	const char *state = !h->running ? "ending" : h->control.state ? edp_stats_state_name(h->control.state) : NULL;
	fprintf(f, "instance %s, pid %d, up %.1f s, %s, config generation %llu%s%s%s\n", h->name, h->pid, uptime_s,
		h->control.config, (unsigned long long)h->control.generation, state ? " (" : "", state ? state : "",
		state ? ")" : "");
	if (s->clears)
		fprintf(f, "  counters since they were cleared %.1f s ago (%llu time%s)\n",
			(double)(edp_clock_ns(CLOCK_REALTIME) - s->cleared_at_ns) / 1e9, (unsigned long long)s->clears,
			s->clears == 1 ? "" : "s");
	fprintf(f, "  %-6s %4s %4s %6s %12s %9s %12s %10s %8s\n", "thread", "cpu", "node", "queues", "packets",
		"busy", "cache hit", "slow path", "cyc/pkt");
	for (uint32_t i = 0; i < h->n_threads; i++) {
		const struct edp_stats_thread *t = &s->threads[i];
		char hit[16];
		percent(hit, sizeof(hit), t->flow_cache_hits, t->flow_cache_hits + t->flow_cache_misses);
		fprintf(f, "  %-6u %4d %4d %6u %12llu %8.1f%% %12s %10llu %8.0f\n", i, t->cpu, t->numa_node,
			t->n_queues, (unsigned long long)t->packets,
			100 * ratio(t->busy_cycles, t->busy_cycles + t->idle_cycles), hit,
			(unsigned long long)t->slow_path_runs, ratio(t->busy_cycles, t->packets));
	}
	fprintf(f, "  %-6s %-16s %6s %12s %8s\n", "queue", "port", "thread", "packets", "share");
	for (uint32_t i = 0; i < h->n_queues; i++) {
		const struct edp_stats_queue *q = &s->queues[i];
		fprintf(f, "  %-6u %-16s %6u %12llu %7.1f%%\n", i, q->port < h->n_ports ? s->ports[q->port].name : "?",
			q->thread, (unsigned long long)q->packets, 100 * queue_share(s, q));
	}
	fprintf(f, "  %-16s %12s %14s %12s %14s %10s\n", "port", "rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
		"drops");
	for (uint32_t i = 0; i < h->n_ports; i++)
		fprintf(f, "  %-16s %12llu %14llu %12llu %14llu %10llu\n", s->ports[i].name,
			(unsigned long long)s->ports[i].rx_packets, (unsigned long long)s->ports[i].rx_bytes,
			(unsigned long long)s->ports_tx[i].tx_packets, (unsigned long long)s->ports_tx[i].tx_bytes,
			(unsigned long long)port_drops(s, i));
	for (uint32_t i = 0; i < h->n_ports; i++)
		if (s->ports[i].live && s->ports[i].ring_frames)
			fprintf(f, "  port %s: an interface read through %s, %u ring frames (%.1f MiB); %llu dropped by "
				"the kernel (a full ring)\n", s->ports[i].name,
				s->ports[i].live == EDP_SOCKET_AF_XDP ? "AF_XDP" : "AF_PACKET", s->ports[i].ring_frames,
				(double)s->ports[i].ring_bytes / (1 << 20), (unsigned long long)s->ports[i].kernel_drops);
	uint64_t drops[EDP_DROP_REASONS];
	drops_by_reason(s, drops);
	print_drops(f, drops);
	if (h->n_threads < 2 || h->chunks) /* chunks: no queues to move */
		return;
	fprintf(f, "  balancer: %llu rebalance%s\n", (unsigned long long)h->n_events, h->n_events == 1 ? "" : "s");
	for (uint64_t e = h->n_events > EDP_STATS_EVENTS ? h->n_events - EDP_STATS_EVENTS : 0; e < h->n_events; e++) {
		const struct edp_stats_event *ev = &h->events[e % EDP_STATS_EVENTS];
		char move[200];
		edp_print_move(move, sizeof(move), ev->spread_before, ev->spread_after, ev->spread_measured, ev->speedup,
			       ev->speedup_measured);
		fprintf(f, "    at %.1f s: %s; %s\n", ev->time_ns > h->start_ns ? (double)(ev->time_ns - h->start_ns) / 1e9 : 0,
			ev->what, move);
	}
}
