/* edp-migrate: a running instance's state as a checkpoint, and back.
 * save asks the instance (its control socket) to write its checkpoint to a
 * file this process opens and passes it; inspect reads and checks one.
 * Options, one libcore call, output. */
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
#include "edp_rundir.h"

#define PROG "edp-migrate"
#define usage_error(...) edp_usage_error(PROG, __VA_ARGS__)

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " save NAME -o FILE|- [--no-pause] [--json]\n"
		"       " PROG " inspect FILE|- [--json]\n"
		"Checkpoints of a running edp-run instance: its learned state (the switch's\n"
		"MACs, the flow-cache keys) as one checked byte stream, which edp-run can\n"
		"start warm from (its restore option, edp-run(1)).\n"
		"\n"
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
					      { "no-pause", no_argument, NULL, 'P' },
					      { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      { "version", no_argument, NULL, 'V' },
					      { NULL, 0, NULL, 0 } };
	const char *out = NULL;
	int json = 0, no_pause = 0, c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'P': no_pause = 1; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " " EDP_VERSION "\n"); return 0;
		default: return edp_option_error(PROG, c, argv);
		}
	}
	if (optind == argc)
		return usage_error("%s", "which command? (save, inspect)");
	const char *cmd = argv[optind++];
	if (!strcmp(cmd, "save")) {
		if (optind != argc - 1)
			return usage_error("%s", "save NAME -o FILE|-: one instance name");
		if (!out)
			return usage_error("%s", "save: where to? -o FILE, or -o - for stdout");
		return save(argv[optind], out, no_pause, json);
	}
	if (!strcmp(cmd, "inspect")) {
		if (optind != argc - 1)
			return usage_error("%s", "inspect FILE|-: one checkpoint");
		if (out || no_pause)
			return usage_error("%s", "inspect takes no -o or --no-pause");
		return inspect(argv[optind], json);
	}
	return usage_error("unknown command '%s' (save, inspect)", cmd);
}
