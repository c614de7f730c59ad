/* edp-run: run the datapath over ports (pcap files, pipes). Options, one call
 * into libcore, and the summary. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "edp_config.h"
#include "edp_datapath.h"
#include "edp_ledger.h"
#include "common/edp_print.h"
#include "common/edp_signals.h"
#include "edp-run/edp_run_ask.h"
#include "edp-run/edp_run_config.h"
#include "edp-run/edp_run_progress.h"
#include "edp-run/edp_run_serve.h"
#include "edp_rundir.h"

#define PROG "edp-run"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [-c CONFIG] [-r [PORT=]FILE]... [-w [PORT=]FILE]... [-t N] [--ordered]\n"
		"               [--loop N] [--count N] [--duration S] [--name NAME] [--restore FILE]\n"
		"               [--json[=FILE]] [-q] [EXPRESSION]\n"
		"       " PROG " --incoming --name NAME [-c CONFIG] [-t N] [--ordered] ...\n"
		"       " PROG " --stats [NAME] [--json]\n"
		"       " PROG " ctl [NAME] COMMAND [ARG]... [--json]\n"
		"Run the edp datapath: read packets from pcap/pcapng inputs, classify them\n"
		"through the flow cache and the firewall/router/switch pipeline, write pcaps.\n"
		"EXPRESSION (pcap-filter(7), as tcpdump takes it) selects the packets read in;\n"
		"the others are counted as filtered.\n"
		"\n"
		"  -c, --config FILE       configuration (edp.yaml(5)); default: a two-port wire\n"
		"                          with ports 'in' and 'out'\n"
		"  -r, --read [PORT=]FILE  read PORT's packets from FILE ('-' = stdin);\n"
		"                          without PORT=, the first port\n"
		"  -w, --write [PORT=]FILE write PORT's output to FILE ('-' = stdout); without\n"
		"                          PORT=, every port when no port has an output, else\n"
		"                          the first port\n"
		"  -t, --threads N         worker threads (default 1, or datapath.threads);\n"
		"                          0 runs the datapath inline on one thread\n"
		"      --ordered           keep the global input order on output, so the\n"
		"                          output is the same for any number of threads\n"
		"      --loop N            read each input N times (default 1; 0 = until stopped)\n"
		"      --count N           stop after N packets read in (after the filter)\n"
		"      --duration S        stop after S seconds (fractions allowed)\n"
		"      --name NAME         publish live stats as instance NAME (default\n"
		"                          'default'; taken implicitly: 'default-PID')\n"
		"      --stats [NAME]      print the live stats of running instance NAME\n"
		"                          (left out: the only one running) once, and exit\n"
		"  ctl [NAME] COMMAND      send COMMAND to the control socket of running\n"
		"                          instance NAME (left out: the only one running);\n"
		"                          commands: status, stop, suspend, resume,\n"
		"                          rebalance, reload, flows, macs, stats-clear,\n"
		"                          pin, unpin, save, version, help (and a move's\n"
		"                          migrate-*, edp-migrate(1))\n"
		"      --restore FILE      start warm from a checkpoint (edp-migrate save):\n"
		"                          its switch MACs and flow-cache keys; '-' = stdin\n"
		"      --allow-config-change  restore a checkpoint taken under another\n"
		"                          config: its MACs only\n"
		"      --incoming          open nothing and wait for edp-migrate to move a\n"
		"                          running instance, its state, inputs and outputs,\n"
		"                          into this one (edp-migrate(1))\n"
		"      --json[=FILE]       write the summary as JSON to stdout or FILE\n"
		"  -q, --quiet             no summary on stderr\n"
		"  -h, --help              this help\n"
		"  -V, --version           version\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure (unreadable input, write error),\n"
		"2 usage or config error. See edp-run(1), edp.yaml(5).\n");
}

#define usage_error(...) edp_usage_error(PROG, __VA_ARGS__)

static void log_line(void *ctx, const char *line)
{
	edp_run_progress_clear(ctx); /* a line of its own, not over the progress */
	fprintf(stderr, PROG ": %s\n", line);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return edp_run_ctl(argc - 1, argv + 1);
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "read", required_argument, NULL, 'r' },
		{ "write", required_argument, NULL, 'w' },  { "json", optional_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },        { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },      { "threads", required_argument, NULL, 't' },
		{ "ordered", no_argument, NULL, 'o' },      { "loop", required_argument, NULL, 'l' },
		{ "duration", required_argument, NULL, 'd' }, { "name", required_argument, NULL, 'n' },
		{ "stats", optional_argument, NULL, 's' },  { "restore", required_argument, NULL, 'R' },
		{ "allow-config-change", no_argument, NULL, 'A' }, { "incoming", no_argument, NULL, 'I' },
		{ "count", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 } };
	const char *config_path = NULL, *json_path = NULL, *threads = NULL, *loop = NULL, *duration = NULL;
	const char *name = NULL, *stats_name = NULL, *restore = NULL, *count = NULL;
	static char filter[EDP_PRINT_FILTER_MAX]; /* the reloads' too: for the whole run */
	int json = 0, quiet = 0, stats = 0, allow_change = 0, incoming = 0, c;
	static struct run_args args = { .threads = -1, .loop = -1 }; /* the reloads' too: for the whole run */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:r:w:t:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'r': case 'w':
			if (args.n_io == (int)(sizeof(args.io) / sizeof(args.io[0])))
				return usage_error("too many -r and -w options (at most %d: one of each a port)", args.n_io);
			args.io[args.n_io++] = (struct io_arg){ (char)c, optarg };
			break;
		case 'j': json = 1; json_path = optarg; break;
		case 'q': quiet = 1; break;
		case 't': threads = optarg; break;
		case 'o': args.ordered = true; break;
		case 'l': loop = optarg; break;
		case 'd': duration = optarg; break;
		case 'n': name = optarg; break;
		case 'R': restore = optarg; break;
		case 'A': allow_change = 1; break;
		case 'I': incoming = 1; break;
		case 'C': count = optarg; break;
		case 's':
			stats = 1;
			stats_name = optarg;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " " EDP_VERSION "\n"); return 0;
		default: return edp_option_error(PROG, c, argv);
		}
	}
	if (stats && !stats_name && optind < argc) /* --stats NAME */
		stats_name = argv[optind++];
	if (stats && optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	const char *run_only = config_path ? "-c" : args.n_io ? (args.io[0].kind == 'r' ? "-r" : "-w")
			       : threads ? "-t" : args.ordered ? "--ordered" : loop ? "--loop" : count ? "--count"
			       : duration ? "--duration" : name ? "--name" : restore ? "--restore"
			       : allow_change ? "--allow-config-change" : incoming ? "--incoming" : quiet ? "-q" : NULL;
	if (stats && run_only)
		return usage_error("--stats reads a running instance: it takes NAME and --json[=FILE], not %s", run_only);
	if (stats)
		return edp_run_stats(stats_name, json, json_path);
	if (optind < argc) { /* the filter expression, its words joined as tcpdump does */
		if (incoming)
			return usage_error("%s", "--incoming takes its inputs from the source: no filter expression");
		if (!edp_print_join(argv + optind, argc - optind, filter, sizeof(filter)))
			return usage_error("the filter expression is longer than %d bytes", EDP_PRINT_FILTER_MAX - 1);
		args.filter = filter;
	}
	if (name && !edp_rundir_name_valid(name))
		return usage_error("--name: '%s' must be 1 to 32 of a-z 0-9 _ -", name);

	if (allow_change && !restore)
		return usage_error("%s", "--allow-config-change goes with --restore");
	if (incoming && (restore || args.n_io || !name))
		return usage_error("%s", restore ? "--incoming takes its state from the source, not --restore"
					 : args.n_io ? "--incoming takes its inputs and outputs from the source: no -r or -w"
						     : "--incoming needs --name (edp-migrate names the destination)");
	struct edp_config cfg;
	struct edp_error err = { 0 };
	struct edp_checkpoint ck = { 0 };
	if (config_path) {
		if (edp_config_load(&cfg, config_path, &err)) {
			fprintf(stderr, PROG ": %s\n", err.msg);
			return err.status;
		}
	} else {
		edp_config_default(&cfg);
	}
	int rc = 0;
	if (threads) {
		char *end;
		args.threads = strtol(threads, &end, 10);
		if (!*threads || *end || args.threads < 0 || args.threads > EDP_MAX_THREADS) {
			rc = usage_error("-t: the number of threads must be 0 to 64, not '%s'", threads);
			goto out;
		}
	}
	if (loop) {
		char *end;
		args.loop = strtol(loop, &end, 10);
		if (!*loop || *end || args.loop < 0 || args.loop > 1000000000) {
			rc = usage_error("--loop: expected a count (0 = until stopped), not '%s'", loop);
			goto out;
		}
	}
	if (count) {
		char *end;
		errno = 0;
		args.count = strtoull(count, &end, 10);
		if (!*count || *end || errno || count[0] == '-' || !args.count) {
			rc = usage_error("--count: expected a number of packets greater than 0, not '%s'", count);
			goto out;
		}
	}
	double seconds = 0;
	if (duration && (rc = edp_parse_positive(PROG, "--duration", "seconds", duration, 999999999, &seconds)))
		goto out;
	if (edp_run_apply_args(&args, &cfg, config_path != NULL, &err)) {
		rc = usage_error("%s", err.msg);
		goto out;
	}
	bool any_rx = false, pcap_on_stdout = false, any_vport = false;
	for (uint32_t i = 0; i < cfg.n_ports; i++) {
		any_rx |= cfg.ports[i].rx != NULL;
		any_vport |= cfg.ports[i].rx && edp_port_io_kind(cfg.ports[i].rx) == EDP_IO_VPORT;
	}
	if (!name && any_vport) /* vports are named after the instance: no fallback name */
		name = "default";
	args.instance = cfg.instance = name ? name : "default";
	if (!any_rx && !incoming) {
		rc = usage_error("%s", "nothing to read: give -r FILE or a port with rx in the config");
		goto out;
	}
	for (uint32_t i = 0; i < cfg.n_ports; i++)
		pcap_on_stdout |= cfg.ports[i].tx && strcmp(cfg.ports[i].tx, "-") == 0;
	if (json && !json_path && pcap_on_stdout) {
		rc = usage_error("%s", "--json needs a FILE (--json=FILE) when a capture is written to stdout");
		goto out;
	}
	for (uint32_t i = 0; json && i < cfg.n_ports; i++)
		if (cfg.ports[i].tx && edp_port_io_kind(cfg.ports[i].tx) == EDP_IO_FILE &&
		    edp_print_json_clash(json_path, cfg.ports[i].tx)) {
			rc = usage_error("--json: '%s' is where port %s's capture goes: give another FILE",
					 json_path ? json_path : "stdout",
					 cfg.ports[i].name);
			goto out;
		}

	if (restore && (rc = edp_run_read_checkpoint(restore, &cfg, &ck))) /* checked whole before anything opens */
		goto out;
	if (!incoming && edp_ledger_check_ports(&cfg, &err)) { /* a port's device: ours in the ledger? */
		fprintf(stderr, PROG ": %s\n", err.msg);
		rc = err.status;
		goto out;
	}
	edp_catch_stop_signals();
	/* SIGHUP is a reload, taken by the control thread (edp_ctl_on_signal):
	 * blocked before any thread starts, so that none takes it */
	sigset_t hup;
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &hup, NULL);

	struct edp_datapath *dp = NULL;
	struct edp_run_serve serving;
	if (incoming) { /* the control socket first: the datapath comes with the move */
		if (!(dp = edp_run_serve_incoming(&serving, name, &cfg, &args, quiet, &rc)))
			goto out;
	} else {
		dp = edp_datapath_create(&cfg, &err);
		if (!dp && edp_stop_requested) {
			fprintf(stderr, PROG ": interrupted while opening the inputs; no packet was read\n");
			goto out; /* a requested stop, not a failure */
		}
		if (!dp) {
			fprintf(stderr, PROG ": %s\n", err.msg);
			rc = err.status;
			goto out;
		}
		if (restore && (rc = edp_run_restore(dp, &ck, restore, allow_change, quiet))) {
			edp_datapath_destroy(dp);
			goto out;
		}
	}
	if (duration) {
		struct itimerval it = { { 0, 0 }, { (time_t)seconds, (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6) } };
		if (!it.it_value.tv_sec && !it.it_value.tv_usec)
			it.it_value.tv_usec = 1;
		setitimer(ITIMER_REAL, &it, NULL);
	}
	char fallback[48];
	if (!incoming && !name) { /* implicitly "default"; a second unnamed instance takes default-PID */
		snprintf(fallback, sizeof(fallback), "default-%d", (int)getpid());
		if (edp_datapath_publish(dp, "default", NULL))
			name = fallback;
	}
	if (!incoming && name && edp_datapath_publish(dp, name, &err)) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		edp_datapath_destroy(dp);
		rc = 1;
		goto out;
	}
	if (!incoming && edp_run_serve_source(&serving, name ? name : "default" /* as published */, dp, &args, quiet)) {
		edp_datapath_destroy(dp);
		rc = 1;
		goto out;
	}
	struct edp_run_progress *progress = NULL;
	if (!quiet) {
		edp_print_framing(stderr, PROG, dp);
		if (!edp_datapath_numa(dp))
			fprintf(stderr, PROG ": libnuma reports no NUMA support: one node, no per-node memory placement\n");
		if (!incoming)
			progress = edp_run_progress_start(dp, name ? name : "default");
		edp_datapath_set_log(dp, log_line, progress);
	}
	rc = edp_run_serve_run(&serving, dp, &err);
	edp_run_progress_stop(progress);
	struct edp_error close_err = { 0 };
	int crc = edp_datapath_close_outputs(dp, &close_err);
	if (rc)
		fprintf(stderr, PROG ": %s\n", err.msg);
	if (crc) { /* a failed write fails the close again: said once */
		if (!rc || strcmp(close_err.msg, err.msg) != 0)
			fprintf(stderr, PROG ": %s\n", close_err.msg);
		rc = rc ? rc : crc;
	}
	struct edp_datapath_stats st;
	edp_datapath_stats(dp, &st);
	if (!quiet)
		edp_print_summary(stderr, PROG, &st);
	if (json) {
		FILE *jf = edp_print_json_open(PROG, json_path);
		if (!jf) {
			rc = 1;
		} else {
			edp_print_summary_json(jf, &st);
			if (edp_print_json_close(PROG, jf, json_path))
				rc = 1;
		}
	}
	edp_run_serve_free(&serving);
	edp_datapath_destroy(dp);
	if (edp_print_flush(PROG, stdout, "stdout"))
		rc = rc ? rc : 1;
out:
	edp_checkpoint_free(&ck);
	edp_config_free(&cfg);
	return rc;
}
