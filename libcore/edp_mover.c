#include "edp_mover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "edp_assign.h"
#include "edp_clock.h"
#include "edp_ctl.h"
#include "edp_ledger.h"
#include "edp_rundir.h"
#include "edp_stats.h"

#define ASK_MS 10000 /* a request's answer; a round of a million flows takes a fraction */

/* A number of a flat reply object (ours: "key":value), or dflt. */
static double field(const char *reply, const char *key, double dflt)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(reply, pat);
	return p ? strtod(p + strlen(pat), NULL) : dflt;
}

/* Ask instance `name`; 0 with *reply (free it) when it answered ok, else
 * -1 with err: what it said, or why it did not. */
static int ask(const char *name, const char *request, const int *pass, int n_pass, int *got, int *n_got, char **reply,
	       struct edp_error *err)
{
	*reply = NULL;
	if (edp_ctl_exchange_fds(name, request, pass, n_pass, ASK_MS, reply, got, n_got, err))
		return -1;
	if (strncmp(*reply, "{\"schema\":1,\"ok\":true", 21) == 0)
		return 0;
	const char *e = strstr(*reply, "\"error\":\"");
	char msg[400] = "an answer that is not ok";
	if (e) {
		snprintf(msg, sizeof(msg), "%s", e + 9);
		char *q = strrchr(msg, '"');
		if (q)
			*q = 0;
	}
	edp_error_set(err, EDP_ERR_RUNTIME, "%s: %s: %s", name, request, msg);
	free(*reply);
	*reply = NULL;
	if (got && n_got) /* an error carries none, but be sure */
		for (int i = 0; i < *n_got; i++)
			close(got[i]);
	return -1;
}

/* Ask and drop the answer (the clean-up steps: they say nothing more). */
static void tell(const char *name, const char *request)
{
	char *reply = NULL;
	struct edp_error e = { 0 };
	if (!ask(name, request, NULL, 0, NULL, NULL, &reply, &e))
		free(reply);
}

/* Instance `name`'s state is `want` (or, with want NULL, one that has a
 * datapath to move: running or suspended). */
int edp_mover_state(const char *name, char *state, size_t size, struct edp_error *err)
{
	char *reply;
	if (ask(name, "status", NULL, 0, NULL, NULL, &reply, err))
		return EDP_ERR_RUNTIME;
	const char *s = strstr(reply, "\"state\":\"");
	size_t n = s ? strcspn(s + 9, "\"") : 0;
	snprintf(state, size, "%.*s", (int)n, s ? s + 9 : "");
	free(reply);
	return 0;
}

static int state_is(const char *name, const char *want, struct edp_error *err)
{
	char now[32];
	if (edp_mover_state(name, now, sizeof(now), err))
		return -1;
	bool ok = want ? !strcmp(now, want) : !strcmp(now, "running") || !strcmp(now, "suspended");
	return ok ? 0 : edp_error_set(err, EDP_ERR_RUNTIME, "instance %s is %s, not %s", name, now,
					 want ? want : "running or suspended");
}

/* Claims of workload `who` in the ledger at path (0 when there is none). */
static int claims_of(const char *path, const char *who)
{
	if (access(path, F_OK) != 0)
		return 0;
	struct edp_ledger l = { 0 };
	struct edp_error e = { 0 };
	int fd = edp_ledger_lock(path, false, &e), n = 0;
	if (fd >= 0 && !edp_ledger_read(&l, path, &e))
		for (uint32_t i = 0; i < l.n; i++)
			n += !strcmp(l.claims[i].workload, who);
	if (fd >= 0)
		edp_ledger_unlock(fd);
	edp_ledger_free(&l);
	return n;
}

static void fail_at(struct edp_mover_report *r, const char *where, uint64_t stun_t0)
{
	snprintf(r->failed_at, sizeof(r->failed_at), "%s", where);
	if (stun_t0)
		r->stunned_ms = (double)(edp_clock_ns(CLOCK_MONOTONIC) - stun_t0) / 1e6;
}

/* One pre-copy round: SRC writes, DST reads. */
static int precopy_round(const struct edp_mover_options *o, bool first, struct edp_mover_round *out,
			 struct edp_error *err)
{
	int fd = memfd_create("edp-migrate-round", MFD_CLOEXEC);
	if (fd < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, "memfd_create: cannot make a round's buffer");
	char *a = NULL, *b = NULL;
	int rc = ask(o->src, first ? "migrate-copy --first" : "migrate-copy", &fd, 1, NULL, NULL, &a, err) ||
			 ask(o->dst, o->allow_config_change ? "migrate-in --allow-config-change" : "migrate-in", &fd, 1,
			     NULL, NULL, &b, err)
		 ? -1
		 : 0;
	close(fd);
	if (!rc)
		*out = (struct edp_mover_round){ (uint32_t)field(a, "macs", 0), (uint32_t)field(a, "flows", 0),
						 (uint64_t)field(a, "bytes", 0), field(a, "copy_ms", 0),
						 field(b, "restore_ms", 0) };
	free(a);
	free(b);
	return rc;
}

/* DST's first packet and its hit rate over its first packets, read after
 * it went. */
static void watch_destination(const struct edp_mover_options *o, uint64_t stun_t0, struct edp_mover_report *r)
{
	r->stun_ms = -1;
	r->dst_hit_rate = -1;
	uint64_t until = edp_clock_ns(CLOCK_MONOTONIC) + 5000000000ull;
	while (edp_clock_ns(CLOCK_MONOTONIC) < until) {
		char *reply;
		struct edp_error e = { 0 };
		if (r->stun_ms < 0 && !ask(o->dst, "status", NULL, 0, NULL, NULL, &reply, &e)) {
			double first = field(reply, "first_packet_ns", 0);
			free(reply);
			if (first > 0)
				r->stun_ms = (first - (double)stun_t0) / 1e6;
		}
		struct edp_stats_snapshot s;
		if (edp_stats_read(o->dst, &s, &e))
			break; /* gone: it ended (a short input) */
		uint64_t packets = 0, hits = 0, misses = 0;
		for (uint32_t t = 0; t < s.header.n_threads; t++) {
			packets += s.threads[t].packets;
			hits += s.threads[t].flow_cache_hits;
			misses += s.threads[t].flow_cache_misses;
		}
		edp_stats_snapshot_free(&s);
		if (hits + misses) {
			r->dst_hit_rate = (double)hits / (double)(hits + misses);
			r->dst_hit_packets = packets;
		}
		if (packets >= EDP_MOVER_HIT_PACKETS && r->stun_ms >= 0)
			break;
		nanosleep(&(struct timespec){ 0, 200000 }, NULL);
	}
}

int edp_mover_run(const struct edp_mover_options *o, struct edp_mover_report *r, struct edp_error *err)
{
	memset(r, 0, sizeof(*r));
	r->stun_ms = r->dst_hit_rate = -1;
	if (!edp_rundir_name_valid(o->src) || !edp_rundir_name_valid(o->dst))
		return edp_error_set(err, EDP_ERR_USAGE, "instance names must be 1 to 32 of a-z 0-9 _ -");
	if (!strcmp(o->src, o->dst))
		return edp_error_set(err, EDP_ERR_USAGE, "%s is both SRC and DST", o->src);
	double budget = o->max_stun_ms > 0 ? o->max_stun_ms : EDP_MOVER_STUN_MS;
	char ledger[4096];
	if (state_is(o->src, NULL, err) || state_is(o->dst, "incoming", err) ||
	    edp_ledger_path(ledger, sizeof(ledger), o->ledger, err))
		return fail_at(r, "check", 0), EDP_ERR_RUNTIME;
	/* 1. pre-copy */
	for (uint32_t i = 0; i < EDP_MOVER_MAX_ROUNDS; i++) {
		struct edp_mover_round *rd = &r->rounds[i];
		if (precopy_round(o, i == 0, rd, err)) {
			if (i > 0) /* DST holds rounds: it goes; before one, it took nothing (or cancelled itself) */
				tell(o->dst, "migrate-cancel");
			return fail_at(r, "pre-copy", 0), EDP_ERR_RUNTIME;
		}
		r->n_rounds = i + 1;
		/* the next round brings about what this one did since the last */
		if (i > 0 && rd->copy_ms + rd->restore_ms <= budget / 2) {
			r->converged = true;
			break;
		}
		if (i > 1 && rd->flows * 10 >= r->rounds[i - 1].flows * 9) /* no longer shrinking */
			break;
	}
	if (!r->converged && o->strict) {
		tell(o->dst, "migrate-cancel");
		fail_at(r, "pre-copy", 0);
		return edp_error_set(err, EDP_ERR_RUNTIME,
				     "the pre-copy did not get under half of %.1f ms a round in %u rounds (--strict): "
				     "%s was never stunned",
				     budget, r->n_rounds, o->src);
	}
	/* 2. the stun */
	int fd = memfd_create("edp-migrate-stun", MFD_CLOEXEC), io[EDP_CTL_MAX_FDS], n_io = 0;
	if (fd < 0) {
		tell(o->dst, "migrate-cancel");
		fail_at(r, "stun", 0);
		return edp_error_set(err, EDP_ERR_RUNTIME, "memfd_create: cannot make the stun's buffer");
	}
	char req[128], *a = NULL, *b = NULL;
	snprintf(req, sizeof(req), "migrate-stun %d %s", o->commit_wait_ms > 0 ? o->commit_wait_ms : 5000, o->dst);
	uint64_t asked = edp_clock_ns(CLOCK_MONOTONIC);
	if (ask(o->src, req, &fd, 1, io, &n_io, &a, err)) {
		close(fd);
		tell(o->dst, "migrate-cancel");
		return fail_at(r, "stun", asked), EDP_ERR_RUNTIME;
	}
	uint64_t t0 = (uint64_t)field(a, "stun_began_ns", (double)asked);
	r->final = (struct edp_mover_round){ (uint32_t)field(a, "macs", 0), (uint32_t)field(a, "flows", 0),
					     (uint64_t)field(a, "bytes", 0), field(a, "copy_ms", 0), 0 };
	r->drain_ms = field(a, "drain_ms", 0);
	r->descriptors = (uint32_t)n_io;
	r->queued_packets = (uint64_t)field(a, "queued_packets", 0);
	r->queued_bytes = (uint64_t)field(a, "queued_bytes", 0);
	r->src_packets_in = (uint64_t)field(a, "packets_in", 0);
	r->src_forwarded = (uint64_t)field(a, "packets_forwarded", 0);
	r->src_dropped = (uint64_t)field(a, "packets_dropped", 0);
	r->lost = r->src_packets_in - r->src_forwarded - r->src_dropped;
	r->src_hit_rate = field(a, "hit_rate", 0);
	free(a);
	int pass[EDP_CTL_MAX_FDS];
	pass[0] = fd;
	for (int i = 0; i < n_io && i + 1 < EDP_CTL_MAX_FDS; i++)
		pass[i + 1] = io[i];
	int rc = ask(o->dst, o->allow_config_change ? "migrate-in --final --allow-config-change" : "migrate-in --final",
		     pass, n_io + 1, NULL, NULL, &b, err);
	for (int i = 0; i < n_io + 1; i++) /* DST holds them now, or nobody needs them */
		close(pass[i]);
	if (rc) {
		tell(o->src, "migrate-abort");
		tell(o->dst, "migrate-cancel");
		return fail_at(r, "hand-over", t0), EDP_ERR_RUNTIME;
	}
	r->final.restore_ms = field(b, "restore_ms", 0);
	free(b);
	/* 3. the ledger */
	int held = claims_of(ledger, o->src);
	if (held > 0 && (r->devices = edp_assign_move(ledger, o->src, o->dst, NULL, 0, &r->ledger_generation, err)) < 0) {
		r->devices = 0;
		tell(o->src, "migrate-abort");
		tell(o->dst, "migrate-cancel");
		return fail_at(r, "ledger", t0), EDP_ERR_RUNTIME;
	}
	/* 4. commit, go, done */
	const char *step = NULL;
	if (ask(o->src, "migrate-commit", NULL, 0, NULL, NULL, &a, err))
		step = "commit";
	else if (free(a), ask(o->dst, "migrate-go", NULL, 0, NULL, NULL, &b, err))
		step = "go";
	if (step) {
		struct edp_error ignored = { 0 };
		uint64_t g;
		tell(o->src, "migrate-abort");
		tell(o->dst, "migrate-cancel");
		if (r->devices > 0)
			edp_assign_move(ledger, o->dst, o->src, NULL, 0, &g, &ignored);
		r->devices = 0;
		return fail_at(r, step, t0), EDP_ERR_RUNTIME;
	}
	free(b);
	r->handover_ms = (double)(edp_clock_ns(CLOCK_MONOTONIC) - t0) / 1e6;
	tell(o->src, "migrate-done"); /* if it does not hear it, it asks DST itself */
	watch_destination(o, t0, r);
	return 0;
}
