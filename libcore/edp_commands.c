#include "edp_commands.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "edp_clock.h"
#include "edp_datapath_impl.h"
#include "edp_migrate.h"
#include "edp_reload.h"
#include "edp_state.h"

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
	const char *moving = env->move ? edp_move_state(env->move) : NULL;
	edp_json_string(j, "name", env->name);
	edp_json_int(j, "pid", getpid());
	if (!env->dp) { /* incoming */
		edp_json_string(j, "state", moving ? moving : "incoming");
		edp_json_fixed(j, "uptime_s", (double)(edp_clock_ns(CLOCK_MONOTONIC) - env->start_ns) / 1e9, 3);
		return 0;
	}
	const struct edp_config *cfg = env->dp->cfg;
	config_id(j, env->dp);
	edp_json_string(j, "state", moving ? moving : edp_datapath_suspended(env->dp) ? "suspended" : "running");
	edp_json_fixed(j, "uptime_s", (double)(edp_clock_ns(CLOCK_MONOTONIC) - env->start_ns) / 1e9, 3);
	edp_json_uint(j, "first_packet_ns", edp_datapath_first_packet_ns(env->dp));
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
	edp_stats_set_state(edp_datapath_stats_writer(env->dp), on ? EDP_STATE_SUSPENDED : EDP_STATE_RUNNING);
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
	const char *file = argc > 1 ? argv[1] : id.path;
	/* a regular file: a FIFO would hold the control thread until a writer came */
	struct stat st;
	if (file && stat(file, &st) == 0 && !S_ISREG(st.st_mode))
		return edp_error_set(err, EDP_ERR_USAGE, "%s: not a regular file", file);
	struct edp_config cfg;
	if (env->load(env->ctx, file, &cfg, err))
		return -1;
	int rc = edp_datapath_reload(env->dp, &cfg, err);
	edp_config_free(&cfg);
	if (rc)
		return -1;
	config_id(j, env->dp);
	return 0;
}

/* MAC a:b:c:d:e:f into buf (18 bytes). */
static const char *mac_text(const uint8_t m[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static void json_vlan(struct edp_json *j, const char *key, uint16_t tag)
{
	if (tag & EDP_VLAN_PRESENT)
		edp_json_uint(j, key, tag & 0x0fff);
	else
		edp_json_null(j, key);
}

/* A flow's key as flat fields (what the packet did not have is null). */
static void json_flow_key(struct edp_json *j, const struct edp_config *cfg, const struct edp_flow_key *k)
{
	char buf[INET6_ADDRSTRLEN];
	edp_json_string(j, "in_port", k->in_port < cfg->n_ports ? cfg->ports[k->in_port].name : "?");
	json_vlan(j, "vlan", k->vlan_outer);
	json_vlan(j, "inner_vlan", k->vlan_inner);
	edp_json_string(j, "eth_src", mac_text(k->eth_src, buf));
	edp_json_string(j, "eth_dst", mac_text(k->eth_dst, buf));
	snprintf(buf, sizeof(buf), "0x%04x", k->eth_type);
	edp_json_string(j, "eth_type", buf);
	bool ip = k->flags & EDP_KEY_IS_IP, v6 = k->eth_type == EDP_ETH_TYPE_IPV6;
	bool arp = k->eth_type == EDP_ETH_TYPE_ARP && !(k->flags & EDP_KEY_L3_TRUNC);
	edp_json_string(j, "src", ip || arp ? inet_ntop(v6 ? AF_INET6 : AF_INET, k->nw_src, buf, sizeof(buf)) : NULL);
	edp_json_string(j, "dst", ip || arp ? inet_ntop(v6 ? AF_INET6 : AF_INET, k->nw_dst, buf, sizeof(buf)) : NULL);
	if (ip)
		edp_json_uint(j, "proto", k->nw_proto);
	else
		edp_json_null(j, "proto");
	bool ports = k->flags & EDP_KEY_HAS_PORTS;
	bool icmp = ip && !(k->flags & EDP_KEY_L4_TRUNC) && (k->nw_proto == 1 || k->nw_proto == 58);
	if (ports) {
		edp_json_uint(j, "src_port", k->tp_src);
		edp_json_uint(j, "dst_port", k->tp_dst);
	} else {
		edp_json_null(j, "src_port");
		edp_json_null(j, "dst_port");
	}
	if (icmp) {
		edp_json_uint(j, "icmp_type", k->tp_src);
		edp_json_uint(j, "icmp_code", k->tp_dst);
	} else {
		edp_json_null(j, "icmp_type");
		edp_json_null(j, "icmp_code");
	}
}

/* A verdict as text: "set_eth_src(MAC),set_eth_dst(MAC),dec_ttl,out(a,b)"
 * or "drop(reason)". */
static const char *actions_text(const struct edp_config *cfg, const struct edp_action_prog *p, char *buf,
				size_t size)
{
	char mac[18];
	size_t n = 0;
	if (!p->out_ports) {
		snprintf(buf, size, "drop(%s)", edp_drop_reason_name(p->drop_reason));
		return buf;
	}
	buf[0] = 0;
	if (p->flags & EDP_ACT_SET_ETH_SRC)
		n += (size_t)snprintf(buf + n, size - n, "set_eth_src(%s),", mac_text(p->eth + 6, mac));
	if (p->flags & EDP_ACT_SET_ETH_DST && n < size)
		n += (size_t)snprintf(buf + n, size - n, "set_eth_dst(%s),", mac_text(p->eth, mac));
	if (p->flags & EDP_ACT_DEC_TTL && n < size)
		n += (size_t)snprintf(buf + n, size - n, "dec_ttl,");
	const char *sep = "out(";
	for (uint32_t i = 0; i < cfg->n_ports && n < size; i++)
		if (p->out_ports & (1ull << i)) {
			n += (size_t)snprintf(buf + n, size - n, "%s%s", sep, cfg->ports[i].name);
			sep = ",";
		}
	if (n < size)
		snprintf(buf + n, size - n, ")");
	return buf;
}

/* flows [--limit N]: every thread's flow-cache entries (at most N), each
 * with its hits and its age: how long before the newest entry's last
 * packet its own last packet was (packet time). */
static int flows(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	const struct edp_commands *env = aux;
	struct edp_datapath *dp = env->dp;
	uint64_t limit = UINT64_MAX;
	if (argc > 1) {
		char *end;
		errno = 0;
		unsigned long long v = argc == 3 && !strcmp(argv[1], "--limit") ? strtoull(argv[2], &end, 10) : 0;
		if (argc != 3 || strcmp(argv[1], "--limit") || !*argv[2] || *end || errno || v == 0 || argv[2][0] == '-')
			return edp_error_set(err, EDP_ERR_USAGE, "usage: flows [--limit N] (N: 1 or more)");
		limit = v;
	}
	struct edp_flowcache_entry **got = calloc(dp->n_lanes, sizeof(*got));
	uint32_t *n = calloc(dp->n_lanes, sizeof(*n));
	int rc = got && n ? 0 : edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	uint64_t shown = 0, newest = 0;
	bool more = false;
	struct edp_pipeline *current = atomic_load(&dp->pipeline); /* a reload is this thread's */
	for (uint32_t l = 0; l < dp->n_lanes && !rc; l++) {
		/* a thread that has not taken the running config yet holds the
		 * last one's verdicts, which it will never use: none to show */
		if (atomic_load_explicit(&dp->lanes[l].pl, memory_order_acquire) != current)
			continue;
		uint32_t max = edp_flowcache_dump_room(dp->lanes[l].fc);
		if (limit - shown < max) /* one more than fits: were there more? */
			max = (uint32_t)(limit - shown) + 1;
		if (!(got[l] = malloc((size_t)max * sizeof(**got)))) {
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "out of memory for %u flows", max);
			break;
		}
		n[l] = edp_flowcache_dump(dp->lanes[l].fc, got[l], max);
		if (n[l] > limit - shown) {
			n[l] = (uint32_t)(limit - shown);
			more = true;
		}
		shown += n[l];
		for (uint32_t i = 0; i < n[l]; i++)
			newest = got[l][i].used_ns > newest ? got[l][i].used_ns : newest;
	}
	if (!rc) {
		struct edp_config_id id;
		edp_datapath_config_id(dp, &id);
		edp_json_uint(j, "generation", id.generation);
		edp_json_uint(j, "shown", shown);
		edp_json_bool(j, "truncated", more);
		edp_json_array(j, "flows");
		char act[256];
		for (uint32_t l = 0; l < dp->n_lanes; l++)
			for (uint32_t i = 0; i < n[l]; i++) {
				const struct edp_flowcache_entry *e = &got[l][i];
				edp_json_object(j, NULL);
				edp_json_uint(j, "thread", l);
				json_flow_key(j, dp->cfg, &e->key);
				edp_json_string(j, "actions", actions_text(dp->cfg, &e->prog, act, sizeof(act)));
				edp_json_uint(j, "hits", e->hits);
				edp_json_fixed(j, "age_s", (double)(newest - e->used_ns) / 1e9, 3);
				edp_json_end(j);
			}
		edp_json_end(j);
	}
	for (uint32_t l = 0; got && l < dp->n_lanes; l++)
		free(got[l]);
	free(got);
	free(n);
	return rc ? -1 : 0;
}

/* macs: the learning switch's table, each MAC with its VLAN, its port and
 * its age (as flows: before the newest sighting, packet time); entries
 * past the ageing time, which no lookup returns, left out. */
static int macs(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)argc, (void)argv;
	const struct edp_commands *env = aux;
	struct edp_pipeline *pl = atomic_load(&env->dp->pipeline); /* a reload is this thread's */
	if (!pl->sw)
		return edp_error_set(err, EDP_ERR_RUNTIME, "no switch: the config has no pipeline.switch");
	uint32_t cap = edp_switch_capacity(pl->sw);
	struct edp_switch_entry *e = malloc((size_t)cap * sizeof(*e));
	if (!e)
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory for %u MACs", cap);
	edp_switch_lock(pl->sw);
	uint32_t n = edp_switch_dump(pl->sw, e, cap);
	edp_switch_unlock(pl->sw);
	uint64_t newest = 0, shown = 0;
	for (uint32_t i = 0; i < n; i++)
		newest = e[i].seen_ns > newest ? e[i].seen_ns : newest;
	for (uint32_t i = 0; i < n; i++)
		if (newest - e[i].seen_ns <= pl->ageing_ns)
			e[shown++] = e[i];
	edp_json_uint(j, "entries", shown);
	edp_json_uint(j, "capacity", cap);
	edp_json_fixed(j, "ageing_s", (double)pl->ageing_ns / 1e9, 3);
	edp_json_array(j, "macs");
	char mac[18];
	for (uint32_t i = 0; i < shown; i++) {
		edp_json_object(j, NULL);
		edp_json_string(j, "mac", mac_text(e[i].mac, mac));
		edp_json_uint(j, "vlan", e[i].vlan);
		edp_json_string(j, "port", e[i].port < env->dp->cfg->n_ports ? env->dp->cfg->ports[e[i].port].name : "?");
		edp_json_fixed(j, "age_s", (double)(newest - e[i].seen_ns) / 1e9, 3);
		edp_json_end(j);
	}
	edp_json_end(j);
	free(e);
	return 0;
}

/* "PORT:QUEUE" into its port's index and the queue's number. */
static int port_queue(const struct edp_config *cfg, const char *arg, uint32_t *port, uint32_t *queue,
		      struct edp_error *err)
{
	const char *colon = strrchr(arg, ':');
	char name[EDP_PORT_NAME_MAX + 1], *end;
	if (!colon || colon == arg || (size_t)(colon - arg) > EDP_PORT_NAME_MAX)
		return edp_error_set(err, EDP_ERR_USAGE, "'%.64s': expected PORT:QUEUE (e.g. in:0)", arg);
	snprintf(name, sizeof(name), "%.*s", (int)(colon - arg), arg);
	int p = edp_config_port_index(cfg, name);
	if (p < 0)
		return edp_error_set(err, EDP_ERR_USAGE, "unknown port '%s'", name);
	errno = 0;
	unsigned long q = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || colon[1] == '-' || q >= EDP_MAX_QUEUES)
		return edp_error_set(err, EDP_ERR_USAGE, "'%.64s': a queue is a number from 0", colon + 1);
	*port = (uint32_t)p;
	*queue = (uint32_t)q;
	return 0;
}

/* pin PORT:QUEUE CPU and unpin PORT:QUEUE: where the queue is now bound. */
static int pin(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	const struct edp_commands *env = aux;
	const struct edp_config *cfg = env->dp->cfg;
	(void)argc; /* pin takes 2 words, unpin 1 */
	bool on = !strcmp(argv[0], "pin");
	uint32_t port = 0, queue = 0;
	if (port_queue(cfg, argv[1], &port, &queue, err))
		return -1;
	long cpu = -1;
	if (on) {
		char *end;
		errno = 0;
		cpu = strtol(argv[2], &end, 10);
		if (!*argv[2] || *end || errno || cpu < 0 || cpu > EDP_MAX_CPU)
			return edp_error_set(err, EDP_ERR_USAGE, "'%.64s': a CPU is a number from 0 to %d", argv[2], EDP_MAX_CPU);
	}
	struct edp_pin_answer a;
	if (edp_datapath_pin(env->dp, port, queue, (int32_t)cpu, &a, err))
		return -1;
	edp_json_string(j, "port", cfg->ports[port].name);
	edp_json_uint(j, "port_queue", queue);
	edp_json_uint(j, "queue", a.queue);
	edp_json_bool(j, "pinned", on);
	if (on) {
		edp_json_int(j, "thread", a.thread);
		edp_json_int(j, "cpu", a.cpu);
	} else {
		edp_json_null(j, "thread");
		edp_json_null(j, "cpu");
	}
	edp_json_bool(j, "moved", a.moved);
	return 0;
}

/* stats-clear: the live counters to zero; how often so far. */
static int stats_clear(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)argc, (void)argv, (void)err;
	const struct edp_commands *env = aux;
	edp_json_uint(j, "stats_clears", edp_datapath_clear_stats(env->dp));
	return 0;
}

/* save [--no-pause]: the state, as a checkpoint, to the descriptor the
 * request came with; what it held and what the copy cost. */
static int save(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	const struct edp_commands *env = aux;
	bool pause = true;
	if (argc == 2 && !strcmp(argv[1], "--no-pause"))
		pause = false;
	else if (argc > 1)
		return edp_error_set(err, EDP_ERR_USAGE, "usage: save [--no-pause]");
	int fd = edp_ctl_take_fd(env->ctl);
	if (fd < 0)
		return edp_error_set(err, EDP_ERR_USAGE,
				     "save writes to a file passed with the request (SCM_RIGHTS): edp-migrate save does");
	struct edp_checkpoint ck = { 0 };
	struct edp_save_report r;
	int rc = edp_datapath_save(env->dp, env->name, pause, &ck, &r, err) || edp_checkpoint_send(&ck, fd, err);
	close(fd);
	if (!rc) {
		edp_json_uint(j, "macs", ck.n_macs);
		edp_json_uint(j, "flows", ck.n_flows);
		edp_json_uint(j, "bytes", ck.bytes);
		edp_json_bool(j, "paused", r.paused);
		edp_json_bool(j, "drained", r.drained);
		edp_json_fixed(j, "pause_ms", r.pause_ms, 3);
		edp_json_fixed(j, "copy_ms", r.copy_ms, 3);
	}
	edp_checkpoint_free(&ck);
	return rc ? -1 : 0;
}

/* The commands that need a datapath (an instance that is --incoming has
 * none until a migration moves one into it). */
static const struct {
	const char *name, *usage;
	int min, max;
	edp_ctl_handler fn;
} need_datapath[] = {
	{ "suspend", "", 0, 0, set_suspended },	   { "resume", "", 0, 0, set_suspended },
	{ "rebalance", "", 0, 0, rebalance },	   { "reload", "[FILE]", 0, 1, reload },
	{ "flows", "[--limit N]", 0, 2, flows },   { "macs", "", 0, 0, macs },
	{ "stats-clear", "", 0, 0, stats_clear }, { "pin", "PORT:QUEUE CPU", 2, 2, pin },
	{ "unpin", "PORT:QUEUE", 1, 1, pin },	   { "save", "[--no-pause]", 0, 1, save },
};

static int with_datapath(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	const struct edp_commands *env = aux;
	if (!env->dp)
		return edp_error_set(err, EDP_ERR_RUNTIME,
				     "instance %s is incoming: it has no datapath until edp-migrate moves one into it", env->name);
	for (size_t i = 0; i < sizeof(need_datapath) / sizeof(need_datapath[0]); i++)
		if (!strcmp(argv[0], need_datapath[i].name))
			return need_datapath[i].fn(aux, argc, argv, j, err);
	return edp_error_set(err, EDP_ERR_RUNTIME, "%s: no such command", argv[0]);
}

int edp_commands_register(struct edp_ctl *c, struct edp_commands *env)
{
	env->ctl = c;
	if (!env->start_ns)
		env->start_ns = edp_clock_ns(CLOCK_MONOTONIC);
	if (edp_ctl_register(c, "status", "", 0, 0, status, env) || edp_ctl_register(c, "stop", "", 0, 0, stop, env))
		return -1;
	for (size_t i = 0; i < sizeof(need_datapath) / sizeof(need_datapath[0]); i++)
		if ((need_datapath[i].fn != reload || env->load) &&
		    edp_ctl_register(c, need_datapath[i].name, need_datapath[i].usage, need_datapath[i].min,
				     need_datapath[i].max, with_datapath, env))
			return -1;
	return 0;
}
