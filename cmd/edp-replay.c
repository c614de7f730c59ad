/* edp-replay: replay captures or synthetic traffic, paced, into a pcap file
 * or a pipe. Options, one call into libcore, and the summary. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/edp_print.h"
#include "common/edp_replay_print.h"
#include "edp_config.h"
#include "common/edp_signals.h"
#include "edp_replay.h"

#define PROG "edp-replay"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [OPTION]... [CAPTURE]...\n"
		"Replay pcap/pcapng captures (or synthetic traffic) at their own pace or at a\n"
		"set rate, into a pcap file, a pipe, a network interface or a running edp-run.\n"
		"\n"
		"Source (captures are replayed one after the other; '-' = stdin):\n"
		"      --merge             merge the captures by timestamp instead\n"
		"      --synth SPEC        synthetic traffic instead of captures, e.g.\n"
		"                          flows=10000,packets=1000000,size=64|imix|MIN-MAX,\n"
		"                          proto=udp|tcp|mix,v6=0.2,vlan=100,zipf=1.1,seed=7\n"
		"      --preload           read the source into memory before sending\n"
		"Timing (default: the capture's own gaps):\n"
		"  -x, --multiplier X      X times as fast as captured\n"
		"  -p, --pps N             N packets per second\n"
		"      --mbps N            N megabits per second of frames\n"
		"      --wire-bits         with --mbps: count preamble and inter-frame gap\n"
		"  -T, --topspeed          as fast as the output takes them\n"
		"  -l, --loop N            replay the source N times (default 1; 0 = until stopped)\n"
		"  -L, --limit N           stop after N packets\n"
		"      --duration S        stop after S seconds (fractions allowed)\n"
		"Rewrite (checksums are fixed):\n"
		"      --src-mac MAC       set the source MAC\n"
		"      --dst-mac MAC       set the destination MAC\n"
		"      --vlan-add VID      push an 802.1Q tag\n"
		"      --vlan-strip        pop the outermost VLAN tag\n"
		"      --ip-offset N       add N times the loop number to IPv4/IPv6 addresses\n"
		"                          (each loop makes new flows)\n"
		"Output:\n"
		"  -w, --write FILE        pcap file, '-' = stdout (the default when stdout is\n"
		"                          not a terminal)\n"
		"  -i, --interface IFACE   send on a network interface instead (libpcap)\n"
		"      --to NAME:PORT      send into vport PORT of the running edp-run NAME\n"
		"      --drop-when-full    a full vport drops (and counts) instead of waiting\n"
		"      --retime            stamp each packet with its departure time\n"
		"      --json[=FILE]       write the summary as JSON to stdout or FILE\n"
		"  -q, --quiet             no summary or progress on stderr\n"
		"  -h, --help              this help\n"
		"  -V, --version           version\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure (unreadable capture, write error,\n"
		"output gone), 2 usage error. See edp-replay(1).\n");
}

static int usage_error(const char *opt, const char *msg, const char *arg)
{
	fprintf(stderr, PROG ": %s%s", opt ? opt : "", opt ? ": " : "");
	fprintf(stderr, msg, arg);
	fprintf(stderr, "\nTry '" PROG " --help' for more information.\n");
	return 2;
}

static bool parse_count(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v > max)
		return false;
	*out = v;
	return true;
}

/* A capture, not a filter expression's first word: "-", a file that
 * exists, or a name with a '/', a capture's suffix or "live:" (a missing
 * capture is then said to be missing, an interface refused). */
static bool looks_like_capture(const char *arg)
{
	struct stat st;
	size_t n = strlen(arg);
	return strcmp(arg, "-") == 0 || stat(arg, &st) == 0 || strchr(arg, '/') ||
	       strncmp(arg, EDP_LIVE_PREFIX, strlen(EDP_LIVE_PREFIX)) == 0 ||
	       (n > 5 && strcmp(arg + n - 5, ".pcap") == 0) || (n > 7 && strcmp(arg + n - 7, ".pcapng") == 0) ||
	       (n > 4 && strcmp(arg + n - 4, ".cap") == 0);
}

enum { O_MERGE = 256, O_SYNTH, O_PRELOAD, O_MBPS, O_WIRE, O_DURATION, O_SRC, O_DST, O_VADD, O_VSTRIP,
       O_IPOFF, O_RETIME, O_JSON, O_TO, O_DROPFULL };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "merge", no_argument, NULL, O_MERGE },        { "synth", required_argument, NULL, O_SYNTH },
		{ "preload", no_argument, NULL, O_PRELOAD },    { "multiplier", required_argument, NULL, 'x' },
		{ "pps", required_argument, NULL, 'p' },        { "mbps", required_argument, NULL, O_MBPS },
		{ "wire-bits", no_argument, NULL, O_WIRE },     { "topspeed", no_argument, NULL, 'T' },
		{ "loop", required_argument, NULL, 'l' },       { "limit", required_argument, NULL, 'L' },
		{ "duration", required_argument, NULL, O_DURATION }, { "src-mac", required_argument, NULL, O_SRC },
		{ "dst-mac", required_argument, NULL, O_DST },  { "vlan-add", required_argument, NULL, O_VADD },
		{ "vlan-strip", no_argument, NULL, O_VSTRIP },  { "ip-offset", required_argument, NULL, O_IPOFF },
		{ "write", required_argument, NULL, 'w' },      { "retime", no_argument, NULL, O_RETIME },
		{ "interface", required_argument, NULL, 'i' },  { "to", required_argument, NULL, O_TO },
		{ "drop-when-full", no_argument, NULL, O_DROPFULL },
		{ "json", optional_argument, NULL, O_JSON },    { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },             { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 } };
	struct edp_replay_config cfg = { .loops = 1, .pace = { .mode = EDP_PACE_CAPTURE, .multiplier = 1 },
					 .rewrite = EDP_REWRITE_NONE };
	const char *output = NULL, *json_path = NULL, *to = NULL;
	char to_instance[64];
	bool json = false, quiet = false, wire_bits = false;
	int timing = 0, c;
	uint64_t u;
	double d;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":x:p:Tl:L:w:i:qhV", opts, NULL)) != -1) {
		switch (c) {
		case O_MERGE: cfg.merge = true; break;
		case O_SYNTH: {
			struct edp_error err = { 0 };
			if (edp_synth_parse(optarg, &cfg.synth_spec, &err))
				return usage_error("--synth", "%s", err.msg);
			cfg.synth = true;
			break;
		}
		case O_PRELOAD: cfg.preload = true; break;
		case 'x':
			if (edp_parse_positive(PROG, "--multiplier", "a factor", optarg, 1e9, &cfg.pace.multiplier))
				return 2;
			timing++;
			break;
		case 'p':
		case O_MBPS:
			if (edp_parse_positive(PROG, c == 'p' ? "--pps" : "--mbps", "a rate", optarg, c == 'p' ? 1e9 : 1e7, &d))
				return 2;
			cfg.pace = (struct edp_pace_config){ c == 'p' ? EDP_PACE_PPS : EDP_PACE_MBPS, 1, d, false };
			timing++;
			break;
		case O_WIRE: wire_bits = true; break;
		case 'T': cfg.pace = (struct edp_pace_config){ EDP_PACE_TOPSPEED, 1, 0, false }; timing++; break;
		case 'l':
			if (!parse_count(optarg, UINT64_MAX, &cfg.loops))
				return usage_error("--loop", "expected a count (0 = until stopped), not '%s'", optarg);
			break;
		case 'L':
			if (!parse_count(optarg, UINT64_MAX, &cfg.limit) || !cfg.limit)
				return usage_error("--limit", "expected a packet count greater than 0, not '%s'", optarg);
			break;
		case O_DURATION:
			if (edp_parse_positive(PROG, "--duration", "seconds", optarg, 1e9, &d))
				return 2;
			cfg.duration_ns = (uint64_t)(d * 1e9);
			break;
		case O_SRC:
		case O_DST:
			if (edp_parse_mac(optarg, c == O_SRC ? cfg.rewrite.src_mac : cfg.rewrite.dst_mac))
				return usage_error(c == O_SRC ? "--src-mac" : "--dst-mac", "expected xx:xx:xx:xx:xx:xx, not '%s'", optarg);
			*(c == O_SRC ? &cfg.rewrite.set_src_mac : &cfg.rewrite.set_dst_mac) = true;
			break;
		case O_VADD:
			if (!parse_count(optarg, 4095, &u))
				return usage_error("--vlan-add", "expected a VLAN ID from 0 to 4095, not '%s'", optarg);
			cfg.rewrite.vlan_add = (int32_t)u;
			break;
		case O_VSTRIP: cfg.rewrite.vlan_strip = true; break;
		case O_IPOFF:
			if (!parse_count(optarg, UINT32_MAX, &u) || !u)
				return usage_error("--ip-offset", "expected an offset from 1 to 4294967295, not '%s'", optarg);
			cfg.rewrite.ip_offset = (uint32_t)u;
			break;
		case 'w':
		case 'i':
		case O_TO: { /* one destination, given once */
			const char **dst = c == 'w' ? &output : c == 'i' ? &cfg.iface : &to;
			if (*dst)
				return usage_error(c == 'w' ? "-w" : c == 'i' ? "-i" : "--to", "given twice (first '%s')", *dst);
			*dst = optarg;
			break;
		}
		case O_DROPFULL: cfg.drop_when_full = true; break;
		case O_RETIME: cfg.retime = true; break;
		case O_JSON: json = true; json_path = optarg; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " " EDP_VERSION "\n"); return 0;
		default: return edp_option_error(PROG, c, argv);
		}
	}
	if (timing > 1)
		return usage_error(NULL, "%s", "choose one timing: --multiplier, --pps, --mbps or --topspeed");
	if (wire_bits && cfg.pace.mode != EDP_PACE_MBPS)
		return usage_error("--wire-bits", "%s", "only goes with --mbps");
	cfg.pace.wire_bits = wire_bits;
	int words = optind; /* the captures, then the filter expression's words (tcpdump's) */
	while (words < argc && !cfg.synth && looks_like_capture(argv[words])) {
		if (cfg.n_inputs == EDP_REPLAY_MAX_INPUTS)
			return usage_error(NULL, "at most %s captures", "64");
		cfg.inputs[cfg.n_inputs++] = argv[words++];
	}
	static char filter[EDP_PRINT_FILTER_MAX];
	if (words < argc) {
		if (cfg.synth)
			return usage_error("--synth", "takes no capture and no filter expression, not '%s'", argv[words]);
		if (!edp_print_join(argv + words, argc - words, filter, sizeof(filter)))
			return usage_error(NULL, "the filter expression is longer than %s bytes", "8191");
		cfg.filter = filter;
	}
	if (!!output + !!cfg.iface + !!to > 1)
		return usage_error(NULL, "%s", "give one of -w FILE, -i IFACE and --to NAME:PORT");
	if (to) {
		const char *colon = strchr(to, ':');
		size_t n = colon ? (size_t)(colon - to) : 0;
		if (!colon || n == 0 || n >= sizeof(to_instance) || !colon[1])
			return usage_error("--to", "expected NAME:PORT (an edp-run instance and its vport), not '%s'", to);
		memcpy(to_instance, to, n);
		to_instance[n] = 0;
		cfg.vport_instance = to_instance;
		cfg.vport_port = colon + 1;
	}
	if (cfg.drop_when_full && !to)
		return usage_error("--drop-when-full", "%s", "only goes with --to NAME:PORT");
	if (!output && !cfg.iface && !to) {
		if (isatty(STDOUT_FILENO))
			return usage_error(NULL, "%s", "refusing to write a capture to a terminal: give -w FILE or a pipe");
		output = "-";
	}
	cfg.output = output;
	if (json && !json_path && output && strcmp(output, "-") == 0)
		return usage_error("--json", "%s", "needs a FILE (--json=FILE) when the capture goes to stdout");
	if (json && output && edp_print_json_clash(json_path, output))
		return usage_error("--json", "'%s' is where the capture goes: give another FILE",
				   json_path ? json_path : "stdout");

	edp_catch_stop_signals();
	bool live = !quiet && isatty(STDERR_FILENO);
	struct edp_replay_result res;
	struct edp_error err = { 0 };
	int rc = edp_replay_run(&cfg, &edp_stop_requested, live ? edp_replay_print_progress : NULL, NULL, &res, &err);
	if (live)
		fprintf(stderr, "\r\033[K");
	if (rc)
		fprintf(stderr, PROG ": %s\n", err.msg);
	if (rc == EDP_ERR_USAGE)
		return 2;
	if (!quiet && res.loops) /* it started: say what was sent */
		edp_replay_print_summary(stderr, &cfg, &res);
	if (json) {
		FILE *jf = edp_print_json_open(PROG, json_path);
		if (!jf)
			return 1;
		edp_replay_print_json(jf, &cfg, &res);
		if (edp_print_json_close(PROG, jf, json_path))
			return 1;
	}
	return rc ? 1 : 0;
}
