#include "edp_commands.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edp_clock.h"
#include "edp_datapath_impl.h"
#include "edp_reload.h"

/* The config in force: "config":{"file","hash","generation"}. */
static void config_id(struct edp_json *j, struct edp_datapath *dp)
{
	struct edp_config_id id;
	edp_datapath_config_id(dp, &id);
	edp_json_object(j, "config");
	edp_json_string(j, "file", id.path);
	char hash[32];
	snprintf(hash, sizeof(hash), "fnv1a64:%016llx", (unsigned long long)id.hash);
	edp_json_string(j, "hash", id.path ? hash : NULL);
	edp_json_uint(j, "generation", id.generation);
	edp_json_end(j);
}

static int status(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)argc, (void)argv, (void)err;
	const struct edp_commands *env = aux;
	const struct edp_config *cfg = env->dp->cfg;
	edp_json_string(j, "name", env->name);
	edp_json_int(j, "pid", getpid());
	config_id(j, env->dp);
	edp_json_string(j, "state", edp_datapath_suspended(env->dp) ? "suspended" : "running");
	edp_json_fixed(j, "uptime_s", (double)(edp_clock_ns(CLOCK_MONOTONIC) - env->start_ns) / 1e9, 3);
	edp_json_uint(j, "threads", cfg->threads);
	edp_json_array(j, "ports");
	for (uint32_t i = 0; i < cfg->n_ports; i++) {
		edp_json_object(j, NULL);
		edp_json_string(j, "name", cfg->ports[i].name);
		edp_json_string(j, "rx", cfg->ports[i].rx);
		edp_json_string(j, "tx", cfg->ports[i].tx);
		edp_json_end(j);
	}
	edp_json_end(j);
	return 0;
}

static int stop(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)argc, (void)argv, (void)err;
	const struct edp_commands *env = aux;
	env->stop(env->ctx);
	edp_json_string(j, "state", "stopping");
	return 0;
}

/* suspend and resume: the state asked for, and whether it changed (asking
 * for the state it is in is no error: a runbook may repeat itself). The
 * stats segment says it too (edp-top shows it). */
static int set_suspended(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)argc, (void)err;
	const struct edp_commands *env = aux;
	bool on = !strcmp(argv[0], "suspend");
	bool was = edp_datapath_suspend(env->dp, on);
	struct edp_stats_writer *w = edp_datapath_stats_writer(env->dp);
	if (w) {
		struct edp_stats_control *b = edp_stats_control(w);
		edp_stats_write_begin(&b->seq);
		b->suspended = on;
		edp_stats_write_end(&b->seq);
	}
	edp_json_string(j, "state", on ? "suspended" : "running");
	edp_json_bool(j, "changed", was != on);
	return 0;
}

/* rebalance: the balancer's plan now, and whether it was applied. */
static int rebalance(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)argc, (void)argv;
	const struct edp_commands *env = aux;
	struct edp_rebalance_answer a;
	if (edp_datapath_rebalance(env->dp, 3000, &a, err))
		return -1;
	edp_json_bool(j, "applied", a.applied);
	edp_json_uint(j, "moved", a.moved);
	edp_json_fixed(j, "spread_before", a.spread_before, 4);
	edp_json_fixed(j, "spread_after", a.spread_after, 4);
	edp_json_string(j, "what", a.what);
	edp_json_string(j, "reason", a.reason);
	return 0;
}

/* reload [FILE]: the config read, checked and swapped in; its identity. */
static int reload(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	const struct edp_commands *env = aux;
	struct edp_config_id id;
	edp_datapath_config_id(env->dp, &id);
	struct edp_config cfg;
	if (env->load(env->ctx, argc > 1 ? argv[1] : id.path, &cfg, err))
		return -1;
	int rc = edp_datapath_reload(env->dp, &cfg, err);
	edp_config_free(&cfg);
	if (rc)
		return -1;
	edp_datapath_config_id(env->dp, &id);
	struct edp_stats_writer *w = edp_datapath_stats_writer(env->dp);
	if (w) {
		struct edp_stats_control *b = edp_stats_control(w);
		edp_stats_write_begin(&b->seq);
		b->generation = id.generation;
		edp_stats_write_end(&b->seq);
	}
	config_id(j, env->dp);
	return 0;
}

int edp_commands_register(struct edp_ctl *c, struct edp_commands *env)
{
	if (!env->start_ns)
		env->start_ns = edp_clock_ns(CLOCK_MONOTONIC);
	return edp_ctl_register(c, "status", "", 0, 0, status, env) || edp_ctl_register(c, "stop", "", 0, 0, stop, env) ||
		       edp_ctl_register(c, "suspend", "", 0, 0, set_suspended, env) ||
		       edp_ctl_register(c, "resume", "", 0, 0, set_suspended, env) ||
		       edp_ctl_register(c, "rebalance", "", 0, 0, rebalance, env) ||
		       (env->load && edp_ctl_register(c, "reload", "[FILE]", 0, 1, reload, env))
		       ? -1
		       : 0;
}
