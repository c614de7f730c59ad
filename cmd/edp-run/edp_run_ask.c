/* edp-run's questions to a running instance: --stats (its stats segment)
 * and ctl (its control socket). */
#include "edp-run/edp_run_ask.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/edp_ctl_print.h"
#include "common/edp_print.h"
#include "edp_clock.h"
#include "edp_ctl.h"
#include "edp_stats.h"

#define PROG "edp-run"
#define usage_error(...) edp_usage_error(PROG, __VA_ARGS__)

static void ctl_usage(void)
{
	printf("Usage: " PROG " ctl [NAME] COMMAND [ARG]... [--json]\n"
	       "Send COMMAND to the control socket of running instance NAME (left out: the\n"
	       "only one running) and print the reply: \"key: value\" lines, or with --json\n"
	       "the JSON line as it came. Commands: status, stop, suspend, resume,\n"
	       "rebalance, reload [FILE], flows [--limit N], macs, stats-clear,\n"
	       "pin PORT:QUEUE CPU, unpin PORT:QUEUE, version, help. Exit status: 0 yes,\n"
	       "1 no, 2 a wrong request or a config that does not load.\n"
	       "See edp-run(1), CONTROL.\n");
}

static int show_stats(const char *name, int json, const char *json_path)
{
	struct edp_stats_snapshot snap;
	struct edp_error err = { 0 };
	if (edp_stats_read(name, &snap, &err)) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return err.status;
	}
	double uptime = (double)(edp_clock_ns(CLOCK_REALTIME) - snap.header.start_ns) / 1e9;
	FILE *f = json ? edp_print_json_open(PROG, json_path) : stdout;
	int rc = 1;
	if (f && json) {
		edp_print_stats_json(f, &snap, uptime);
		rc = edp_print_json_close(PROG, f, json_path);
	} else if (f) {
		edp_print_stats_text(f, &snap, uptime);
		rc = edp_print_flush(PROG, stdout, "stdout");
	}
	edp_stats_snapshot_free(&snap);
	return rc;
}

/* The commands this edp-run knows (the server says which it has: help):
 * a first word that is one of them is the command, not an instance name;
 * so is a word alone. */
static const char *const ctl_commands[] = { "status", "stop", "suspend", "resume", "rebalance", "reload",
					    "flows",  "macs", "stats-clear", "pin", "unpin", "version", "help", NULL };

/* The instance meant when none is named: the only one running, into name.
 * Returns 0, or the exit status after saying why not (none: 1; several:
 * 2, naming them). */
static int only_instance(char *name, size_t size)
{
	char names[64][EDP_NAME_MAX + 1];
	struct edp_error err = { 0 };
	int n = edp_stats_only(names, 64, &err);
	if (n > 1)
		return usage_error("%s", err.msg);
	if (n != 1) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 1;
	}
	snprintf(name, size, "%s", names[0]);
	return 0;
}

int edp_run_stats(const char *name, int json, const char *json_path)
{
	char only[EDP_NAME_MAX + 1];
	int rc = name ? 0 : only_instance(only, sizeof(only));
	return rc ? rc : show_stats(name ? name : only, json, json_path);
}

/* Send the request of words w (NAME first unless the first word is a
 * command) and print the reply: as JSON, or as "key: value" lines. */
static int ctl_request(char **w, int words, int json)
{
	bool named = words > 1; /* one word is the command */
	for (int i = 0; named && ctl_commands[i]; i++)
		named = strcmp(w[0], ctl_commands[i]) != 0;
	if (words - named < 1)
		return usage_error("%s", "ctl: which command? (status, stop, suspend, resume, rebalance, reload, flows, "
				   "macs, stats-clear, pin, unpin, version, help)");
	char name[EDP_NAME_MAX + 1];
	if (named) {
		if (!edp_rundir_name_valid(w[0]))
			return usage_error("ctl: instance name '%s' must be 1 to 32 of a-z 0-9 _ -", w[0]);
		snprintf(name, sizeof(name), "%s", w[0]);
		w++, words--;
	} else {
		int rc = only_instance(name, sizeof(name));
		if (rc)
			return rc;
	}
	/* the instance reads a file from its own directory: a relative one is ours */
	char file[PATH_MAX + 1];
	if (!strcmp(w[0], "reload") && words > 1 && w[1][0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) || snprintf(file, sizeof(file), "%s/%s", cwd, w[1]) >= (int)sizeof(file))
			return usage_error("ctl: reload: cannot make '%s' a full path", w[1]);
		w[1] = file;
	}
	char request[EDP_CTL_MAX_LINE] = "";
	for (int i = 0; i < words; i++) {
		size_t len = strlen(request);
		if (strpbrk(w[i], " \t\r\n") || len + strlen(w[i]) + 2 > sizeof(request))
			return usage_error("ctl: '%s': a word of a request has no blanks, and a request fits in %d bytes", w[i],
					   EDP_CTL_MAX_LINE - 1);
		snprintf(request + len, sizeof(request) - len, "%s%s", i ? " " : "", w[i]);
	}
	char *reply;
	struct edp_error err = { 0 };
	if (edp_ctl_request(name, request, 10000, &reply, &err)) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 1;
	}
	struct edp_reply r;
	int rc = edp_reply_parse(reply, &r);
	if (rc) {
		fprintf(stderr, PROG ": instance '%s': a reply that is not JSON\n", name);
		rc = 1;
	} else if (json) {
		printf("%s\n", reply);
	} else if (r.ok) {
		edp_print_reply(stdout, reply);
	}
	if (!rc && !r.ok) {
		fprintf(stderr, PROG ": %s: %s\n", name, r.error);
		rc = r.usage ? 2 : 1;
	}
	free(reply);
	return edp_print_flush(PROG, stdout, "stdout") ? 1 : rc;
}

/* edp-run ctl [NAME] COMMAND [ARG]... [--json]: --json and --help are
 * taken wherever they stand; every other word is the request's (a command's
 * own options, such as flows --limit, go to the instance). */
int edp_run_ctl(int argc, char **argv)
{
	int json = 0, words = 0;
	char **w = calloc((size_t)argc + 1, sizeof(char *));
	if (!w)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return free(w), ctl_usage(), 0;
		else
			w[words++] = argv[i];
	}
	int rc = ctl_request(w, words, json);
	free(w);
	return rc;
}
