/* Control requests to a datapath's commands (edp_commands): the input is
 * lines a client sends, answered by the commands of a real datapath (two
 * threads' lanes, a firewall, a switch; set up, not running): flows with
 * its --limit, macs, pin and unpin with their PORT:QUEUE and CPU, reload of
 * a file or of the running config, stats-clear, suspend, resume, status,
 * and a move's source steps (migrate-copy, -stun, -commit, -done, -abort;
 * no descriptor comes with a line, so none gets as far as a stun). A line
 * that starts with @ goes to an incoming instance instead (no datapath:
 * status, the refusals, migrate-in, -go, -cancel).
 * Every answer is one JSON object line that starts with the schema. */
#include "fuzz.h"

#include "edp_commands.h"
#include "edp_config.h"
#include "edp_ctl.h"
#include "edp_datapath.h"
#include "edp_migrate.h"

static int load(void *ctx, const char *file, struct edp_config *cfg, struct edp_error *err)
{
	(void)ctx;
	if (!file) {
		edp_config_default(cfg);
		return 0;
	}
	return edp_config_load(cfg, file, err);
}

static void stop(void *ctx) { (void)ctx; }

static void end_run(void *ctx, bool on) { (void)ctx, (void)on; }

static struct edp_ctl *server(void)
{
	static struct edp_ctl *c;
	static struct edp_config cfg;
	static struct edp_commands env;
	if (c)
		return c;
	struct edp_datapath *dp = fuzz_datapath(&cfg, "datapath: { threads: 2, rx-queues: 2 }\n"
						      "pipeline:\n  firewall: { default: allow, rules: [ { proto: tcp, "
						      "action: drop } ] }\n  switch: { ageing-s: 10 }\n");
	struct edp_error err;
	FUZZ_CHECK(edp_datapath_publish(dp, "fuzzcmd", &err) == 0);
	env = (struct edp_commands){ .dp = dp, .name = "fuzzcmd", .stop = stop, .load = load };
	FUZZ_CHECK((c = edp_ctl_create()));
	FUZZ_CHECK(edp_commands_register(c, &env) == 0);
	struct edp_move *m = edp_move_source(&env, end_run, NULL);
	FUZZ_CHECK(m && edp_move_register(c, m) == 0);
	return c;
}

static struct edp_ctl *incoming(void)
{
	static struct edp_ctl *c;
	static struct edp_config cfg;
	static struct edp_commands env;
	if (c)
		return c;
	edp_config_default(&cfg);
	env = (struct edp_commands){ .name = "fuzzin", .stop = stop, .load = load };
	struct edp_error err;
	struct edp_move *m = edp_move_destination(&env, &cfg, &err);
	FUZZ_CHECK(m);
	FUZZ_CHECK((c = edp_ctl_create()));
	FUZZ_CHECK(edp_commands_register(c, &env) == 0 && edp_move_register(c, m) == 0);
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4 * EDP_CTL_MAX_LINE)
		return 0;
	char line[EDP_CTL_MAX_LINE];
	for (size_t at = 0; at < size;) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t len = (nl ? (size_t)(nl - (data + at)) : size - at);
		size_t take = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
		memcpy(line, data + at, take);
		line[take] = 0; /* a NUL inside ends the line early, as the server refuses it */
		at += len + 1;
		char *reply = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&reply, &n);
		FUZZ_CHECK(f);
		if (line[0] == '@')
			edp_ctl_answer(incoming(), line + 1, f);
		else
			edp_ctl_answer(server(), line, f);
		FUZZ_CHECK(fclose(f) == 0);
		FUZZ_CHECK(n > 18 && !memcmp(reply, "{\"schema\":1,\"ok\":", 17) && reply[n - 1] == '\n');
		FUZZ_CHECK(memchr(reply, '\n', n) == reply + n - 1);
		free(reply);
	}
	return 0;
}
