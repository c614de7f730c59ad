/* edp-top: the live per-thread load of a running edp-run, in the terminal
 * (ncurses) or as snapshots for runbooks (-b, --json). Options, samples
 * from libcore's monitor, and output. */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/edp_monitor_print.h"
#include "common/edp_print.h"
#include "common/edp_signals.h"
#include "edp-top/edp_top_screen.h"
#include "edp_monitor.h"

#define MAX_INSTANCES 256

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
		"s < > sort column, p pause, d delay, r reset deltas, h ? F1 help, q F10 quit.\n"
		"Without -b it needs a terminal on standard input and output.\n"
		"Exit status: 0 ok, 1 no such instance, 2 usage error. See edp-top(1).\n");
}

#define usage_error(...) edp_usage_error(PROG, __VA_ARGS__)

static void sleep_s(double s)
{
	struct timespec d = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (!edp_stop_requested && nanosleep(&d, &d) < 0 && errno == EINTR)
		;
}

static int run_batch(struct edp_monitor *m, long iterations, double delay, bool json)
{
	for (long i = 0; !edp_stop_requested && (iterations == 0 || i < iterations); i++) {
		if (i)
			sleep_s(delay);
		if (edp_stop_requested)
			break;
		struct edp_monitor_sample s;
		struct edp_error err = { 0 };
		if (edp_monitor_sample(m, &s, &err)) {
			if (i == 0) { /* nothing to watch */
				fprintf(stderr, PROG ": %s\n", err.msg);
				return 1;
			}
			if (json)
				edp_print_sample_json(stdout, &s, err.msg);
			else
				printf(PROG " - %s: gone: %s\n\n", s.name, err.msg);
		} else if (json) {
			edp_print_sample_json(stdout, &s, NULL);
		} else {
			edp_print_sample_text(stdout, &s);
		}
		if (edp_print_flush(PROG, stdout, "stdout"))
			return 1;
	}
	return 0;
}

/* ---- the terminal ---- */

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
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":bn:d:hV", opts, NULL)) != -1) {
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
		default: return edp_option_error(PROG, c, argv);
		}
	}
	if (argc - optind > 1)
		return usage_error("one instance at a time, not '%s' too", argv[optind + 1]);
	if (json && !batch)
		return usage_error("%s", "--json goes with -b (batch mode)");
	if (iterations && !batch)
		return usage_error("%s", "-n goes with -b (batch mode)");
	const char *name = optind < argc ? argv[optind] : NULL;
	if (name && !edp_rundir_name_valid(name))
		return usage_error("instance name '%s' must be 1 to 32 of a-z 0-9 _ -", name);
	const char *no_screen = batch ? NULL : edp_top_screen_unusable();
	if (no_screen) { /* never a screen drawn into a pipe, nor a spin on a missing terminal */
		fprintf(stderr, PROG ": %s\n", no_screen);
		return 2;
	}

	edp_catch_stop_signals();

	static char names[MAX_INSTANCES][EDP_NAME_MAX + 1];
	int n = 0;
	struct edp_error err = { 0 };
	if (!name) {
		n = edp_stats_only(names, MAX_INSTANCES, &err);
		if (n == 1) {
			name = names[0];
		} else if (n <= 0 || batch) { /* several without a screen to offer them on */
			fprintf(stderr, PROG ": %s%s\n", err.msg,
				n == 0 ? " (start one, e.g. edp-run --name lab -r trace.pcap --loop 0 -w /dev/null)" : "");
			return n > 1 ? 2 : 1;
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
			edp_top_screen_open(color);
			rc = edp_top_screen_run(m, delay, color);
			edp_top_screen_close();
		}
		edp_monitor_destroy(m);
		return rc;
	}
	edp_top_screen_open(color);
	int pick = edp_top_screen_choose(names, n);
	int rc = 0;
	if (pick >= 0) {
		struct edp_monitor *m = edp_monitor_create(names[pick], &err);
		rc = m ? edp_top_screen_run(m, delay, color) : 1;
		edp_monitor_destroy(m);
	}
	edp_top_screen_close();
	return rc;
}
