/* edp_print: output shared by the binaries: the run summary (text and JSON)
 * and the live stats of an instance (text and JSON). */
#include "edp_print.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *threads_text(uint32_t n)
{
	static char buf[32];
	if (n == 0)
		return "inline";
	snprintf(buf, sizeof(buf), "%u thread%s", n, n == 1 ? "" : "s");
	return buf;
}

void edp_print_summary(FILE *f, const char *prog, const struct edp_datapath_stats *s)
{
	double mpps = s->seconds > 0 ? (double)s->packets_in / s->seconds / 1e6 : 0;
	fprintf(f, "%s: %llu packets in, %llu forwarded, %llu dropped in %.3f s (%.3f Mpps), %s\n",
		prog, (unsigned long long)s->packets_in, (unsigned long long)s->packets_forwarded,
		(unsigned long long)s->packets_dropped, s->seconds, mpps, threads_text(s->threads));
	fprintf(f, "  %-16s %12s %14s %12s %14s %10s\n", "port", "rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
		"drops");
	for (uint32_t i = 0; i < s->n_ports; i++)
		fprintf(f, "  %-16s %12llu %14llu %12llu %14llu %10llu\n", s->ports[i].name,
			(unsigned long long)s->ports[i].s.rx_packets, (unsigned long long)s->ports[i].s.rx_bytes,
			(unsigned long long)s->ports[i].s.tx_packets, (unsigned long long)s->ports[i].s.tx_bytes,
			(unsigned long long)s->ports[i].s.drops);
	fprintf(f, "  drops:");
	int any = 0;
	for (int r = 1; r < EDP_DROP_REASONS; r++)
		if (s->drops[r]) {
			fprintf(f, " %s=%llu", edp_drop_reason_name(r), (unsigned long long)s->drops[r]);
			any = 1;
		}
	fprintf(f, "%s\n", any ? "" : " none");
	uint64_t lookups = s->flow_cache.hits + s->flow_cache.misses;
	fprintf(f, "  flow cache: %llu hits, %llu misses, %.2f%% hit rate, %llu evictions; slow path runs: %llu\n",
		(unsigned long long)s->flow_cache.hits, (unsigned long long)s->flow_cache.misses,
		lookups ? 100.0 * (double)s->flow_cache.hits / (double)lookups : 0.0,
		(unsigned long long)s->flow_cache.evictions, (unsigned long long)s->slow_path_runs);
	if (s->threads > 1)
		fprintf(f, "  balancer: %llu rebalances, %llu queues moved\n", (unsigned long long)s->rebalances,
			(unsigned long long)s->queues_moved);
	for (uint32_t i = 0; i < s->n_events; i++)
		fprintf(f, "    at %.1f s: %s; spread %.2f -> %.2f\n", s->events[i].at_s, s->events[i].what,
			s->events[i].spread_before, s->events[i].spread_after);
	fprintf(f, "  conservation: %llu read = %llu forwarded + %llu dropped\n",
		(unsigned long long)s->packets_in, (unsigned long long)s->packets_forwarded,
		(unsigned long long)s->packets_dropped);
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

void edp_print_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
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

void edp_print_json_key(FILE *f, const char *key, const char *value, bool comma)
{
	fprintf(f, "\"%s\":", key);
	edp_print_json_string(f, value);
	if (comma)
		fputc(',', f);
}

void edp_print_json_lines(FILE *f, const char *text)
{
	fputc('[', f);
	for (const char *s = text; *s;) {
		size_t n = strcspn(s, "\n");
		char line[2048];
		snprintf(line, sizeof(line), "%.*s", (int)n, s);
		if (s != text)
			fputc(',', f);
		edp_print_json_string(f, line);
		s += n + (s[n] == '\n');
	}
	fputc(']', f);
}

void edp_print_summary_json(FILE *f, const struct edp_datapath_stats *s)
{
	uint64_t lookups = s->flow_cache.hits + s->flow_cache.misses;
	fprintf(f, "{\"packets_in\":%llu,\"bytes_in\":%llu,\"packets_forwarded\":%llu,\"packets_dropped\":%llu,\"drops\":{",
		(unsigned long long)s->packets_in, (unsigned long long)s->bytes_in,
		(unsigned long long)s->packets_forwarded, (unsigned long long)s->packets_dropped);
	for (int r = 1; r < EDP_DROP_REASONS; r++)
		fprintf(f, "%s\"%s\":%llu", r > 1 ? "," : "", edp_drop_reason_name(r), (unsigned long long)s->drops[r]);
	fprintf(f, "},\"flow_cache\":{\"hits\":%llu,\"misses\":%llu,\"hit_rate\":%.6f,\"inserts\":%llu,"
		   "\"evictions\":%llu,\"invalidations\":%llu},\"slow_path_runs\":%llu,"
		   "\"balancer\":{\"rebalances\":%llu,\"queues_moved\":%llu,\"events\":[",
		(unsigned long long)s->flow_cache.hits, (unsigned long long)s->flow_cache.misses,
		lookups ? (double)s->flow_cache.hits / (double)lookups : 0.0,
		(unsigned long long)s->flow_cache.inserts, (unsigned long long)s->flow_cache.evictions,
		(unsigned long long)s->flow_cache.invalidations, (unsigned long long)s->slow_path_runs,
		(unsigned long long)s->rebalances, (unsigned long long)s->queues_moved);
	for (uint32_t i = 0; i < s->n_events; i++) {
		fprintf(f, "%s{\"at_s\":%.3f,\"moved\":%u,\"spread_before\":%.4f,\"spread_after\":%.4f,\"what\":",
			i ? "," : "", s->events[i].at_s, s->events[i].moved, s->events[i].spread_before,
			s->events[i].spread_after);
		edp_print_json_string(f, s->events[i].what);
		fputc('}', f);
	}
	fprintf(f, "]},\"ports\":[");
	for (uint32_t i = 0; i < s->n_ports; i++) {
		fprintf(f, "%s{\"name\":", i ? "," : "");
		edp_print_json_string(f, s->ports[i].name);
		fprintf(f, ",\"rx_packets\":%llu,\"rx_bytes\":%llu,\"tx_packets\":%llu,\"tx_bytes\":%llu,\"tx_errors\":%llu"
			   ",\"drops\":%llu",
			(unsigned long long)s->ports[i].s.rx_packets, (unsigned long long)s->ports[i].s.rx_bytes,
			(unsigned long long)s->ports[i].s.tx_packets, (unsigned long long)s->ports[i].s.tx_bytes,
			(unsigned long long)s->ports[i].s.tx_errors, (unsigned long long)s->ports[i].s.drops);
		if (s->ports[i].vport)
			fprintf(f, ",\"vport_queued\":%llu", (unsigned long long)s->ports[i].s.queued);
		if (s->ports[i].live)
			fprintf(f, ",\"kernel_drops\":%llu", (unsigned long long)s->ports[i].s.kernel_drops);
		fputc('}', f);
	}
	fprintf(f, "],\"threads\":%u,\"seconds\":%.6f,\"mpps\":%.6f}\n", s->threads, s->seconds,
		s->seconds > 0 ? (double)s->packets_in / s->seconds / 1e6 : 0.0);
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

void edp_print_stats_json(FILE *f, const struct edp_stats_snapshot *s, double uptime_s)
{
	const struct edp_stats_header *h = &s->header;
	fprintf(f, "{\"name\":");
	edp_print_json_string(f, h->name);
	fprintf(f, ",\"pid\":%d,\"uptime_s\":%.3f,\"start_time_ns\":%llu,\"cycles_per_s\":%llu,\"config\":", h->pid,
		uptime_s, (unsigned long long)h->start_ns, (unsigned long long)h->cycles_per_s);
	edp_print_json_string(f, h->config);
	fprintf(f, ",\"running\":%s,\"threads\":[", h->running ? "true" : "false");
	for (uint32_t i = 0; i < h->n_threads; i++) {
		const struct edp_stats_thread *t = &s->threads[i];
		fprintf(f, "%s{\"thread\":%u,\"cpu\":%d,\"numa_node\":%d,\"queues\":%u,\"packets\":%llu,\"bytes\":%llu,"
			   "\"forwarded\":%llu,\"flow_cache\":{\"hits\":%llu,\"misses\":%llu,\"evictions\":%llu,"
			   "\"hit_rate\":%.6f},\"slow_path_runs\":%llu,\"slow_path_cycles\":%llu,\"drops\":{",
			i ? "," : "", i, t->cpu, t->numa_node, t->n_queues, (unsigned long long)t->packets,
			(unsigned long long)t->bytes, (unsigned long long)t->forwarded,
			(unsigned long long)t->flow_cache_hits, (unsigned long long)t->flow_cache_misses,
			(unsigned long long)t->flow_cache_evictions,
			ratio(t->flow_cache_hits, t->flow_cache_hits + t->flow_cache_misses),
			(unsigned long long)t->slow_path_runs, (unsigned long long)t->slow_path_cycles);
		for (int r = 1; r < EDP_DROP_REASONS; r++)
			fprintf(f, "%s\"%s\":%llu", r > 1 ? "," : "", edp_drop_reason_name(r), (unsigned long long)t->drops[r]);
		fprintf(f, "},\"busy_cycles\":%llu,\"idle_cycles\":%llu,\"busy_ratio\":%.6f,\"batches\":%llu,"
			   "\"packets_per_batch\":%.3f,\"cycles_per_packet\":%.1f}",
			(unsigned long long)t->busy_cycles, (unsigned long long)t->idle_cycles,
			ratio(t->busy_cycles, t->busy_cycles + t->idle_cycles), (unsigned long long)t->batches,
			ratio(t->packets, t->batches), ratio(t->busy_cycles, t->packets));
	}
	fprintf(f, "],\"queues\":[");
	for (uint32_t i = 0; i < h->n_queues; i++) {
		const struct edp_stats_queue *q = &s->queues[i];
		fprintf(f, "%s{\"queue\":%u,\"port\":", i ? "," : "", i);
		edp_print_json_string(f, q->port < h->n_ports ? s->ports[q->port].name : "");
		fprintf(f, ",\"thread\":%u,\"packets\":%llu,\"cycles\":%llu,\"share\":%.6f}", q->thread,
			(unsigned long long)q->packets, (unsigned long long)q->cycles, queue_share(s, q));
	}
	fprintf(f, "],\"ports\":[");
	for (uint32_t i = 0; i < h->n_ports; i++) {
		uint64_t drops = 0;
		for (uint32_t t = 0; t < h->n_threads; t++)
			drops += s->threads[t].port_drops[i];
		fprintf(f, "%s{\"name\":", i ? "," : "");
		edp_print_json_string(f, s->ports[i].name);
		fprintf(f, ",\"rx_packets\":%llu,\"rx_bytes\":%llu,\"tx_packets\":%llu,\"tx_bytes\":%llu,\"drops\":%llu}",
			(unsigned long long)s->ports[i].rx_packets, (unsigned long long)s->ports[i].rx_bytes,
			(unsigned long long)s->ports_tx[i].tx_packets, (unsigned long long)s->ports_tx[i].tx_bytes,
			(unsigned long long)drops);
	}
	fprintf(f, "],\"events_total\":%llu,\"events\":[", (unsigned long long)h->n_events);
	uint64_t first = h->n_events > EDP_STATS_EVENTS ? h->n_events - EDP_STATS_EVENTS : 0;
	for (uint64_t e = first; e < h->n_events; e++) {
		const struct edp_stats_event *ev = &h->events[e % EDP_STATS_EVENTS];
		fprintf(f, "%s{\"time_ns\":%llu,\"moved\":%u,\"spread_before\":%.4f,\"spread_after\":%.4f,\"what\":",
			e > first ? "," : "", (unsigned long long)ev->time_ns, ev->moved, ev->spread_before,
			ev->spread_after);
		edp_print_json_string(f, ev->what);
		fputc('}', f);
	}
	fprintf(f, "]}\n");
}

void edp_print_stats_text(FILE *f, const struct edp_stats_snapshot *s, double uptime_s)
{
	const struct edp_stats_header *h = &s->header;
	fprintf(f, "instance %s, pid %d, up %.1f s, %s%s\n", h->name, h->pid, uptime_s, h->config,
		h->running ? "" : " (ending)");
	fprintf(f, "  %-6s %4s %4s %6s %12s %9s %12s %10s %8s\n", "thread", "cpu", "node", "queues", "packets",
		"busy", "cache hit", "slow path", "cyc/pkt");
	for (uint32_t i = 0; i < h->n_threads; i++) {
		const struct edp_stats_thread *t = &s->threads[i];
		fprintf(f, "  %-6u %4d %4d %6u %12llu %8.1f%% %11.2f%% %10llu %8.0f\n", i, t->cpu, t->numa_node,
			t->n_queues, (unsigned long long)t->packets,
			100 * ratio(t->busy_cycles, t->busy_cycles + t->idle_cycles),
			100 * ratio(t->flow_cache_hits, t->flow_cache_hits + t->flow_cache_misses),
			(unsigned long long)t->slow_path_runs, ratio(t->busy_cycles, t->packets));
	}
	fprintf(f, "  %-6s %-16s %6s %12s %8s\n", "queue", "port", "thread", "packets", "share");
	for (uint32_t i = 0; i < h->n_queues; i++) {
		const struct edp_stats_queue *q = &s->queues[i];
		fprintf(f, "  %-6u %-16s %6u %12llu %7.1f%%\n", i, q->port < h->n_ports ? s->ports[q->port].name : "?",
			q->thread, (unsigned long long)q->packets, 100 * queue_share(s, q));
	}
	fprintf(f, "  %-16s %12s %14s %12s %14s\n", "port", "rx_packets", "rx_bytes", "tx_packets", "tx_bytes");
	for (uint32_t i = 0; i < h->n_ports; i++)
		fprintf(f, "  %-16s %12llu %14llu %12llu %14llu\n", s->ports[i].name,
			(unsigned long long)s->ports[i].rx_packets, (unsigned long long)s->ports[i].rx_bytes,
			(unsigned long long)s->ports_tx[i].tx_packets, (unsigned long long)s->ports_tx[i].tx_bytes);
}
