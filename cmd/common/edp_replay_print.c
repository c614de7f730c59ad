/* edp_replay_print: edp-replay's output: the progress line, the summary
 * and its JSON. */
#include "edp_replay_print.h"

#include <stdio.h>

#include "edp_json.h"

static void human_ns(char *buf, size_t size, uint64_t ns)
{
	if (ns < 10000)
		snprintf(buf, size, "%llu ns", (unsigned long long)ns);
	else if (ns < 10000000)
		snprintf(buf, size, "%.1f us", (double)ns / 1e3);
	else
		snprintf(buf, size, "%.1f ms", (double)ns / 1e6);
}

static double achieved_pps(const struct edp_replay_result *r)
{
	return r->seconds > 0 && r->packets > 1 ? (double)(r->packets - 1) / r->seconds : 0;
}

/* Megabits per second of frames (plus 20 bytes each on the wire). */
static double achieved_mbps(const struct edp_replay_result *r, bool wire)
{
	return r->packets ? achieved_pps(r) * 8 * ((double)r->bytes / (double)r->packets + (wire ? 20 : 0)) / 1e6 : 0;
}

void edp_replay_print_progress(void *ctx, const struct edp_replay_result *r)
{
	(void)ctx;
	fprintf(stderr, "\r" "edp-replay: %llu packets, %.1f s, %.0f pps, %llu flows\033[K",
		(unsigned long long)r->packets, r->seconds, achieved_pps(r), (unsigned long long)r->flows);
}

static double target_error(const struct edp_replay_config *c, const struct edp_replay_result *r)
{
	if (c->pace.mode == EDP_PACE_PPS)
		return achieved_pps(r) / c->pace.rate - 1;
	if (c->pace.mode == EDP_PACE_MBPS)
		return achieved_mbps(r, c->pace.wire_bits) / c->pace.rate - 1;
	return 0;
}

static const char *mode_name(enum edp_pace_mode m)
{
	return m == EDP_PACE_PPS ? "pps" : m == EDP_PACE_MBPS ? "mbps" : m == EDP_PACE_TOPSPEED ? "topspeed" : "capture";
}

void edp_replay_print_summary(FILE *f, const struct edp_replay_config *c, const struct edp_replay_result *r)
{
	double mbps = achieved_mbps(r, false);
	fprintf(f, "edp-replay: %llu packets (%llu bytes) in %.3f s: %.1f pps, %.2f Mbps; %s%llu flows, %llu loop%s",
		(unsigned long long)r->packets, (unsigned long long)r->bytes, r->seconds, achieved_pps(r), mbps,
		r->flows_capped ? "over " : "", (unsigned long long)r->flows, (unsigned long long)r->loops,
		r->loops == 1 ? "" : "s");
	if (r->failed)
		fprintf(f, ", %llu failed", (unsigned long long)r->failed);
	if (r->retried)
		fprintf(f, ", %llu retried", (unsigned long long)r->retried);
	if (r->dropped)
		fprintf(f, ", %llu dropped (vport full)", (unsigned long long)r->dropped);
	if (r->rewrite_skipped)
		fprintf(f, ", %llu VLAN pushes skipped (no room)", (unsigned long long)r->rewrite_skipped);
	if (c->filter)
		fprintf(f, ", %llu filtered", (unsigned long long)r->filtered);
	fprintf(f, "\n");
	if (r->link)
		fprintf(f, "  %llu packets of link type %s given an Ethernet header\n", (unsigned long long)r->framed,
			r->link);
	char g50[32], g99[32], l50[32], l99[32];
	human_ns(g50, sizeof(g50), r->gap_p50_ns);
	human_ns(g99, sizeof(g99), r->gap_p99_ns);
	human_ns(l50, sizeof(l50), r->late_p50_ns);
	human_ns(l99, sizeof(l99), r->late_p99_ns);
	if (c->pace.mode == EDP_PACE_PPS || c->pace.mode == EDP_PACE_MBPS)
		fprintf(f, "  pacing: target %.10g %s, achieved %+.3f%%; gap p50 %s, p99 %s; late p50 %s, p99 %s\n",
			c->pace.rate, c->pace.mode == EDP_PACE_PPS ? "pps" : c->pace.wire_bits ? "Mbps (wire)" : "Mbps",
			100 * target_error(c, r), g50, g99, l50, l99);
	else if (c->pace.mode == EDP_PACE_CAPTURE)
		fprintf(f, "  pacing: capture gaps x%g; gap p50 %s, p99 %s; late p50 %s, p99 %s\n", c->pace.multiplier,
			g50, g99, l50, l99);
	else
		fprintf(f, "  pacing: top speed; gap p50 %s, p99 %s\n", g50, g99);
}

void edp_replay_print_json(FILE *f, const struct edp_replay_config *c, const struct edp_replay_result *r)
{
	struct edp_json j;
	edp_json_begin(&j, f);
	edp_json_uint(&j, "packets", r->packets);
	edp_json_uint(&j, "bytes", r->bytes);
	edp_json_fixed(&j, "seconds", r->seconds, 6);
	edp_json_fixed(&j, "pps", achieved_pps(r), 3);
	edp_json_fixed(&j, "mbps", achieved_mbps(r, false), 3);
	edp_json_fixed(&j, "wire_mbps", achieved_mbps(r, true), 3);
	edp_json_uint(&j, "flows", r->flows);
	edp_json_bool(&j, "flows_capped", r->flows_capped);
	edp_json_uint(&j, "loops", r->loops);
	edp_json_uint(&j, "failed", r->failed);
	edp_json_uint(&j, "retried", r->retried);
	edp_json_uint(&j, "dropped", r->dropped);
	edp_json_uint(&j, "rewrite_skipped", r->rewrite_skipped);
	edp_json_uint(&j, "filtered", r->filtered);
	edp_json_string(&j, "filter", c->filter); /* NULL: null */
	edp_json_uint(&j, "framed", r->framed);
	edp_json_object(&j, "pacing");
	edp_json_string(&j, "mode", mode_name(c->pace.mode));
	if (c->pace.mode == EDP_PACE_PPS || c->pace.mode == EDP_PACE_MBPS) {
		edp_json_fixed(&j, "target", c->pace.rate, 3);
		edp_json_bool(&j, "wire_bits", c->pace.wire_bits);
		edp_json_fixed(&j, "rate_error", target_error(c, r), 6);
	}
	if (c->pace.mode == EDP_PACE_CAPTURE)
		edp_json_fixed(&j, "multiplier", c->pace.multiplier, 3);
	edp_json_uint(&j, "gap_p50_ns", r->gap_p50_ns);
	edp_json_uint(&j, "gap_p99_ns", r->gap_p99_ns);
	edp_json_uint(&j, "late_p50_ns", r->late_p50_ns);
	edp_json_uint(&j, "late_p99_ns", r->late_p99_ns);
	edp_json_finish(&j);
}
