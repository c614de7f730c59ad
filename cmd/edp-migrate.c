/* edp-migrate: a running instance moved into another (edp_mover.h), and
 * its state as a checkpoint, and back: save asks the instance (its control
 * socket) to write its checkpoint to a file this process opens and passes
 * it; inspect reads and checks one. Options, one libcore call, output. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/edp_ctl_print.h"
#include "common/edp_print.h"
#include "edp_checkpoint.h"
#include "edp_ctl.h"
#include "edp_json.h"
#include "edp_mover.h"
#include "edp_rundir.h"

#define PROG "edp-migrate"
#define usage_error(...) edp_usage_error(PROG, __VA_ARGS__)

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " SRC DST [--max-stun-ms MS] [--strict] [--allow-config-change]\n"
		"                   [--ledger FILE] [--json]\n"
		"       " PROG " save NAME -o FILE|- [--no-pause] [--json]\n"
		"       " PROG " inspect FILE|- [--json]\n"
		"Move running edp-run instance SRC, its learned state, inputs, outputs and\n"
		"assigned devices, into instance DST (an edp-run waiting for it: its\n"
		"incoming option) with a stun of milliseconds and no packet lost; or take\n"
		"checkpoints of an instance's learned state (the switch's MACs, the\n"
		"flow-cache keys) as one checked byte stream, which edp-run can start warm\n"
		"from (its restore option, edp-run(1)).\n"
		"\n"
		"  SRC DST             pre-copy SRC's state into DST while SRC forwards,\n"
		"                      stun SRC, hand its inputs and outputs over, move its\n"
		"                      ledger claims, and run DST; SRC then ends\n"
		"      --max-stun-ms MS  the stun budget the pre-copy aims for (default 20)\n"
		"      --strict        give up (SRC never stunned) when the pre-copy does not\n"
		"                      get under the budget\n"
		"      --allow-config-change  DST's config may differ from SRC's: the MACs\n"
		"                      move, the flows are not carried (another config's)\n"
		"      --ledger FILE   the edp-assign ledger (default: edp-assign's)\n"
		"  save NAME -o FILE   ask instance NAME for its checkpoint, written to FILE\n"
		"                      (mode 0600) or '-' (stdout, not a terminal); the\n"
		"                      instance stops taking packets for the copy only\n"
		"      --no-pause      copy while it keeps taking packets\n"
		"  inspect FILE        check a checkpoint whole and say what it holds\n"
		"      --json          the report as JSON (save: to stdout, so not with -o -)\n"
		"  -h, --help          this help\n"
		"  -V, --version       version\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure (no such instance, a checkpoint that\n"
		"does not check out), 2 usage error. See edp-migrate(1).\n");
}

/* save NAME -o FILE: open FILE (0600) here, pass it, print the report. */
static int save(const char *name, const char *out, int no_pause, int json)
{
	if (!edp_rundir_name_valid(name))
		return usage_error("save: instance name '%s' must be 1 to 32 of a-z 0-9 _ -", name);
	bool to_stdout = !strcmp(out, "-");
	if (to_stdout && json)
		return usage_error("%s", "--json needs -o FILE: stdout carries the checkpoint");
	if (to_stdout && isatty(STDOUT_FILENO))
		return usage_error("%s", "save: refusing to write a checkpoint to a terminal (-o FILE, or a pipe)");
	int fd = to_stdout ? STDOUT_FILENO : open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || (!to_stdout && fchmod(fd, 0600) != 0)) {
		fprintf(stderr, PROG ": %s: %s\n", out, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	char *reply;
	struct edp_error err = { 0 };
	int rc = edp_ctl_request_fd(name, no_pause ? "save --no-pause" : "save", fd, 60000, &reply, &err);
	if (!to_stdout)
		close(fd);
	if (rc) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 1;
	}
	struct edp_reply r;
	if (edp_reply_parse(reply, &r)) {
		fprintf(stderr, PROG ": instance '%s': a reply that is not JSON\n", name);
		free(reply);
		return 1;
	}
	if (!r.ok) {
		fprintf(stderr, PROG ": %s: %s\n", name, r.error);
		free(reply);
		return r.usage ? 2 : 1;
	}
	if (json)
		printf("%s\n", reply);
	else
		edp_print_reply(stderr, reply);
	free(reply);
	return edp_print_flush(PROG, stdout, "stdout");
}

static void print_move_text(const struct edp_mover_options *o, const struct edp_mover_report *r)
{
	for (uint32_t i = 0; i < r->n_rounds; i++)
		fprintf(stderr, PROG ": pre-copy round %u: %u MACs, %u flows, %llu bytes (%.3f ms copy, %.3f ms restore)\n",
			i + 1, r->rounds[i].macs, r->rounds[i].flows, (unsigned long long)r->rounds[i].bytes,
			r->rounds[i].copy_ms, r->rounds[i].restore_ms);
	if (r->n_rounds && !r->converged)
		fprintf(stderr, PROG ": the pre-copy did not get under half the %.1f ms budget: the stun carries the rest\n",
			o->max_stun_ms > 0 ? o->max_stun_ms : EDP_MOVER_STUN_MS);
	if (r->failed_at[0] && r->stunned_ms > 0) /* a stun refused or given up on: at most the request's time */
		fprintf(stderr, PROG ": failed at %s; %s was stunned %s%.3f ms and goes on\n", r->failed_at, o->src,
			strcmp(r->failed_at, "stun") ? "" : "at most ", r->stunned_ms);
	else if (r->failed_at[0])
		fprintf(stderr, PROG ": failed at %s; %s was never stunned\n", r->failed_at, o->src);
	if (r->failed_at[0])
		return;
	fprintf(stderr, PROG ": stun round: %u MACs, %u flows, %llu bytes, %u descriptors; drain %.3f ms, hand-over %.3f ms\n",
		r->final.macs, r->final.flows, (unsigned long long)r->final.bytes, r->descriptors, r->drain_ms,
		r->handover_ms);
	fprintf(stderr,
		PROG ": queued for %s at the hand-over: %llu packets in vports and interface rings, %llu bytes of captures\n",
		o->dst, (unsigned long long)r->queued_packets, (unsigned long long)r->queued_bytes);
	if (r->stun_ms >= 0)
		fprintf(stderr, PROG ": stun %.3f ms (%s told to stop taking packets to %s's first)\n", r->stun_ms, o->src,
			o->dst);
	else
		fprintf(stderr, PROG ": stun: %s has taken no packet yet\n", o->dst);
	fprintf(stderr, PROG ": %s: %llu packets in, %llu forwarded, %llu dropped, %llu lost; %d device claim%s moved\n",
		o->src, (unsigned long long)r->src_packets_in, (unsigned long long)r->src_forwarded,
		(unsigned long long)r->src_dropped, (unsigned long long)r->lost, r->devices, r->devices == 1 ? "" : "s");
	if (r->dst_hit_rate >= 0)
		fprintf(stderr, PROG ": flow-cache hit rate: %s %.2f%%, %s %.2f%% over its first %llu packets\n", o->src,
			100 * r->src_hit_rate, o->dst, 100 * r->dst_hit_rate, (unsigned long long)r->dst_hit_packets);
}

static void print_move_json(const struct edp_mover_report *r)
{
	struct edp_json j;
	edp_json_begin(&j, stdout);
	edp_json_bool(&j, "ok", !r->failed_at[0]);
	if (r->failed_at[0]) {
		edp_json_string(&j, "failed_at", r->failed_at);
		edp_json_fixed(&j, "stunned_ms", r->stunned_ms, 3);
	}
	edp_json_array(&j, "rounds");
	for (uint32_t i = 0; i <= r->n_rounds; i++) {
		const struct edp_mover_round *rd = i < r->n_rounds ? &r->rounds[i] : &r->final;
		if (i == r->n_rounds && r->failed_at[0])
			break;
		edp_json_object(&j, NULL);
		edp_json_bool(&j, "stun", i == r->n_rounds);
		edp_json_uint(&j, "macs", rd->macs);
		edp_json_uint(&j, "flows", rd->flows);
		edp_json_uint(&j, "bytes", rd->bytes);
		edp_json_fixed(&j, "copy_ms", rd->copy_ms, 3);
		edp_json_fixed(&j, "restore_ms", rd->restore_ms, 3);
		edp_json_end(&j);
	}
	edp_json_end(&j);
	edp_json_bool(&j, "converged", r->converged);
	if (!r->failed_at[0]) {
		edp_json_fixed(&j, "drain_ms", r->drain_ms, 3);
		edp_json_fixed(&j, "handover_ms", r->handover_ms, 3);
		if (r->stun_ms >= 0)
			edp_json_fixed(&j, "stun_ms", r->stun_ms, 3);
		else
			edp_json_null(&j, "stun_ms");
		edp_json_uint(&j, "descriptors", r->descriptors);
		edp_json_uint(&j, "queued_packets", r->queued_packets);
		edp_json_uint(&j, "queued_bytes", r->queued_bytes);
		edp_json_uint(&j, "packets_in", r->src_packets_in);
		edp_json_uint(&j, "packets_forwarded", r->src_forwarded);
		edp_json_uint(&j, "packets_dropped", r->src_dropped);
		edp_json_uint(&j, "packets_lost", r->lost);
		edp_json_fixed(&j, "src_hit_rate", r->src_hit_rate, 4);
		if (r->dst_hit_rate >= 0)
			edp_json_fixed(&j, "dst_hit_rate", r->dst_hit_rate, 4);
		else
			edp_json_null(&j, "dst_hit_rate");
		edp_json_uint(&j, "dst_hit_packets", r->dst_hit_packets);
		edp_json_int(&j, "devices", r->devices);
	}
	edp_json_finish(&j);
}

/* SRC DST: the live move. */
static int move(const struct edp_mover_options *o, int json)
{
	struct edp_mover_report r;
	struct edp_error err = { 0 };
	int rc = edp_mover_run(o, &r, &err);
	if (rc == EDP_ERR_USAGE)
		return usage_error("%s", err.msg);
	if (rc)
		fprintf(stderr, PROG ": %s\n", err.msg);
	if (json)
		print_move_json(&r);
	else
		print_move_text(o, &r);
	int frc = edp_print_flush(PROG, stdout, "stdout");
	return rc ? 1 : frc;
}

static void print_inspect_text(const char *what, const struct edp_checkpoint *ck)
{
	char when[64] = "?";
	time_t t = (time_t)(ck->created_ns / 1000000000ull);
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("%s: edp checkpoint version %u, %llu bytes\n", what, ck->version, (unsigned long long)ck->bytes);
	printf("  instance %s, %u thread%s, taken %s\n", ck->name, ck->threads, ck->threads == 1 ? "" : "s", when);
	printf("  config fnv1a64:%016llx\n", (unsigned long long)ck->config_hash);
	printf("  ports:");
	for (uint32_t i = 0; i < ck->n_ports; i++)
		printf(" %s", ck->ports[i]);
	printf("\n  macs %u, flows %u\n", ck->n_macs, ck->n_flows);
	if (ck->has_counters)
		printf("  counters: %llu packets in, %llu forwarded, %llu dropped\n",
		       (unsigned long long)ck->counters.packets_in, (unsigned long long)ck->counters.forwarded,
		       (unsigned long long)ck->counters.dropped);
	printf("  sections:");
	for (uint32_t s = 1; s < EDP_CK_SECTIONS; s++)
		printf(" %s %llu B,", edp_checkpoint_section_name(s), (unsigned long long)ck->section_bytes[s]);
	printf(" end %llu B\n", (unsigned long long)ck->section_bytes[EDP_CK_END]);
}

static void print_inspect_json(const struct edp_checkpoint *ck)
{
	struct edp_json j;
	char hash[32];
	edp_json_begin(&j, stdout);
	edp_json_uint(&j, "version", ck->version);
	edp_json_uint(&j, "bytes", ck->bytes);
	snprintf(hash, sizeof(hash), "fnv1a64:%016llx", (unsigned long long)ck->config_hash);
	edp_json_string(&j, "config_hash", hash);
	edp_json_uint(&j, "created_ns", ck->created_ns);
	edp_json_string(&j, "name", ck->name);
	edp_json_uint(&j, "threads", ck->threads);
	edp_json_array(&j, "ports");
	for (uint32_t i = 0; i < ck->n_ports; i++)
		edp_json_string(&j, NULL, ck->ports[i]);
	edp_json_end(&j);
	edp_json_uint(&j, "macs", ck->n_macs);
	edp_json_uint(&j, "flows", ck->n_flows);
	edp_json_object(&j, "sections");
	for (uint32_t s = 0; s < EDP_CK_SECTIONS; s++)
		edp_json_uint(&j, edp_checkpoint_section_name(s), ck->section_bytes[s]);
	edp_json_end(&j);
	edp_json_finish(&j);
}

static int inspect(const char *path, int json)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct edp_checkpoint ck;
	struct edp_error err = { 0 };
	int rc = edp_checkpoint_read(f, path, &ck, &err);
	if (f != stdin)
		fclose(f);
	if (rc) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 1;
	}
	if (json)
		print_inspect_json(&ck);
	else
		print_inspect_text(path, &ck);
	edp_checkpoint_free(&ck);
	return edp_print_flush(PROG, stdout, "stdout");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "output", required_argument, NULL, 'o' },
					      { "max-stun-ms", required_argument, NULL, 'm' },
					      { "strict", no_argument, NULL, 'S' },
					      { "ledger", required_argument, NULL, 'L' },
					      { "allow-config-change", no_argument, NULL, 'A' },
					      { "no-pause", no_argument, NULL, 'P' },
					      { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      { "version", no_argument, NULL, 'V' },
					      { NULL, 0, NULL, 0 } };
	const char *out = NULL, *stun = NULL;
	struct edp_mover_options mo = { 0 };
	int json = 0, no_pause = 0, c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'P': no_pause = 1; break;
		case 'm': stun = optarg; break;
		case 'S': mo.strict = true; break;
		case 'L': mo.ledger = optarg; break;
		case 'A': mo.allow_config_change = true; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " " EDP_VERSION "\n"); return 0;
		default: return edp_option_error(PROG, c, argv);
		}
	}
	if (optind == argc)
		return usage_error("%s", "which command? (SRC DST, save, inspect)");
	const char *cmd = argv[optind++];
	bool moving = strcmp(cmd, "save") && strcmp(cmd, "inspect");
	if (!moving && (stun || mo.strict || mo.ledger || mo.allow_config_change))
		return usage_error("%s", "--max-stun-ms, --strict, --allow-config-change and --ledger go with SRC DST");
	if (moving) {
		if (optind != argc - 1)
			return usage_error("%s", "SRC DST: two instance names (or save, inspect)");
		if (out || no_pause)
			return usage_error("%s", "SRC DST takes no -o or --no-pause");
		if (stun) {
			char *end;
			mo.max_stun_ms = strtod(stun, &end);
			if (!*stun || *end || !(mo.max_stun_ms > 0 && mo.max_stun_ms <= 60000))
				return usage_error("--max-stun-ms: expected milliseconds, more than 0 up to 60000, not '%s'", stun);
		}
		mo.src = cmd;
		mo.dst = argv[optind];
		return move(&mo, json);
	}
	if (!strcmp(cmd, "save")) {
		if (optind != argc - 1)
			return usage_error("%s", "save NAME -o FILE|-: one instance name");
		if (!out)
			return usage_error("%s", "save: where to? -o FILE, or -o - for stdout");
		return save(argv[optind], out, no_pause, json);
	}
	if (optind != argc - 1)
		return usage_error("%s", "inspect FILE|-: one checkpoint");
	if (out || no_pause)
		return usage_error("%s", "inspect takes no -o or --no-pause");
	return inspect(argv[optind], json);
}
