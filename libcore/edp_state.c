#include "edp_state.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "edp_clock.h"
#include "edp_datapath_impl.h"
#include "edp_tlb.h"

/* Until every packet read has been processed (as the reader and the lanes
 * count them: monitoring reads of counters their threads own), or
 * timeout_ns. Whether it got there. */
static bool wait_drained(struct edp_datapath *dp, uint64_t timeout_ns)
{
	uint64_t until = edp_clock_ns(CLOCK_MONOTONIC) + timeout_ns;
	for (;;) {
		uint64_t read = 0, done = 0;
		for (uint32_t p = 0; p < dp->cfg->n_ports; p++) {
			uint64_t packets, bytes;
			edp_datapath_rx(dp, (uint16_t)p, &packets, &bytes);
			read += packets;
		}
		for (uint32_t l = 0; l < dp->n_lanes; l++)
			done += __atomic_load_n(&dp->lanes[l].packets_in, __ATOMIC_RELAXED);
		if (done >= read)
			return true;
		if (edp_clock_ns(CLOCK_MONOTONIC) >= until)
			return false;
		nanosleep(&(struct timespec){ 0, 50000 }, NULL);
	}
}

/* The switch's MACs into ck. */
static int save_macs(struct edp_pipeline *pl, struct edp_checkpoint *ck, struct edp_error *err)
{
	if (!pl->sw)
		return 0;
	uint32_t cap = edp_switch_capacity(pl->sw);
	struct edp_switch_entry *e = malloc((size_t)cap * sizeof(*e));
	ck->macs = malloc((size_t)cap * sizeof(*ck->macs));
	if (!e || !ck->macs) {
		free(e);
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory for %u MACs", cap);
	}
	edp_switch_lock(pl->sw);
	uint32_t n = edp_switch_dump(pl->sw, e, cap);
	edp_switch_unlock(pl->sw);
	for (uint32_t i = 0; i < n; i++) {
		struct edp_checkpoint_mac *m = &ck->macs[i];
		memcpy(m->mac, e[i].mac, 6);
		m->vlan = e[i].vlan;
		m->port = e[i].port;
		m->seen_ns = e[i].seen_ns;
	}
	ck->n_macs = n;
	free(e);
	return 0;
}

/* Memory for a big array that is written once, in order: 2 MB pages where
 * the kernel gives them on asking (a million flows' keys in 4 KB pages
 * fault 17,000 times inside the pause). free() releases it. */
static void *big_array(size_t size)
{
	size_t huge = 2u << 20;
	if (size < huge)
		return malloc(size ? size : 1);
	size = (size + huge - 1) & ~(huge - 1);
	void *p = aligned_alloc(huge, size);
	if (p)
		madvise(p, size, MADV_HUGEPAGE);
	return p;
}

struct flow_sink {
	struct edp_checkpoint *ck;
	uint32_t *bucket; /* each flow's bucket (chunks: unique_flows), or NULL */
	uint32_t lane, start; /* where this lane's flows begin in ck */
};

static void take_flow(void *ctx, const struct edp_flowcache_entry *e, uint32_t bucket)
{
	struct flow_sink *s = ctx;
	if (!e) {
		s->ck->n_flows = s->start;
		return;
	}
	if (s->bucket)
		s->bucket[s->ck->n_flows] = bucket;
	s->ck->flows[s->ck->n_flows++] = (struct edp_checkpoint_flow){ (uint16_t)s->lane, e->key };
}

/* ck's flows, each key once, when every lane holds (nearly) every flow
 * (chunks). lane[l] .. lane[l + 1] are lane l's, as dumped: in the order
 * of their buckets, which they share with every lane (one geometry, one
 * hash). A flow is kept when no lane before its own kept its key in the
 * same bucket: one cursor a lane before it, moving as the buckets do (a
 * merge: the qsort it replaces held a paused instance 1 s at 1,000,000
 * flows). */
static void unique_flows(struct edp_checkpoint *ck, uint32_t *bucket, const uint32_t *lane, uint32_t n_lanes)
{
	uint32_t from[EDP_MAX_THREADS], to[EDP_MAX_THREADS], at[EDP_MAX_THREADS], w = 0;
	for (uint32_t l = 0; l < n_lanes; l++) {
		for (uint32_t j = 0; j < l; j++)
			at[j] = from[j];
		from[l] = w;
		for (uint32_t i = lane[l]; i < lane[l + 1]; i++) {
			uint32_t b = bucket[i];
			bool seen = false;
			for (uint32_t j = 0; j < l && !seen; j++) {
				while (at[j] < to[j] && bucket[at[j]] < b)
					at[j]++;
				for (uint32_t k = at[j]; k < to[j] && bucket[k] == b && !seen; k++)
					seen = edp_flow_equal(&ck->flows[k].key, &ck->flows[i].key);
			}
			if (!seen) {
				bucket[w] = b;
				ck->flows[w++] = ck->flows[i];
			}
		}
		to[l] = w;
	}
	ck->n_flows = w;
}

/* The arrays a save writes its flows in: room for every lane's, as
 * edp_flowcache_dump_room sizes them. */
struct flow_arrays {
	struct edp_checkpoint_flow *flows;
	uint32_t *bucket; /* each flow's bucket (chunks: unique_flows), or NULL */
	uint64_t cap;
};

/* The lanes' dump rooms (each in room[l] when room is not NULL), summed. */
static uint64_t rooms(const struct edp_datapath *dp, uint32_t *room)
{
	uint64_t cap = 0;
	for (uint32_t l = 0; l < dp->n_lanes; l++) {
		uint32_t r = edp_flowcache_dump_room(dp->lanes[l].fc);
		if (room)
			room[l] = r;
		cap += r;
	}
	return cap;
}

/* a->cap flows' arrays; touched, when `touch`, so that their pages
 * fault now, not in the pause (a whole save writes them all: taken inside
 * it, at 1,000,000 flows, half of the first saves here paused 366 ms
 * instead of 95-100). */
static int reserve_flows(const struct edp_datapath *dp, struct flow_arrays *a, bool touch)
{
	if (!(a->flows = big_array(a->cap * sizeof(*a->flows))) ||
	    (dp->chunks && !(a->bucket = big_array(a->cap * sizeof(*a->bucket))))) { /* every worker sees every flow */
		free(a->flows);
		a->flows = NULL;
		return -1;
	}
	if (touch) {
		memset(a->flows, 0, a->cap * sizeof(*a->flows));
		if (a->bucket)
			memset(a->bucket, 0, a->cap * sizeof(*a->bucket));
	}
	return 0;
}

/* Every thread's flow-cache keys of the running config into ck (with
 * marks: those of the buckets changed since the marks were taken), in
 * a's arrays: taken again, untouched, when the lanes hold more flows now
 * than they were made for. */
static int save_flows(struct edp_datapath *dp, struct edp_pipeline *pl, uint32_t *const *marks,
		      struct flow_arrays *a, struct edp_checkpoint *ck, struct edp_error *err)
{
	uint32_t room[EDP_MAX_THREADS], lane[EDP_MAX_THREADS + 1];
	uint64_t cap = rooms(dp, room);
	if (cap > a->cap || !a->flows) {
		free(a->flows);
		free(a->bucket);
		*a = (struct flow_arrays){ .cap = cap };
		if (reserve_flows(dp, a, false))
			return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory for %llu flows", (unsigned long long)cap);
	}
	ck->flows = a->flows;
	a->flows = NULL; /* ck's now */
	for (uint32_t l = 0; l < dp->n_lanes; l++) {
		lane[l] = ck->n_flows;
		/* a thread that has not taken the running config holds none of its verdicts */
		if (atomic_load_explicit(&dp->lanes[l].pl, memory_order_acquire) != pl)
			continue;
		struct flow_sink s = { ck, a->bucket, l, ck->n_flows };
		if (marks)
			edp_flowcache_dump_changed(dp->lanes[l].fc, marks[l], room[l], take_flow, &s);
		else
			edp_flowcache_dump_each(dp->lanes[l].fc, room[l], take_flow, &s);
	}
	lane[dp->n_lanes] = ck->n_flows;
	if (a->bucket) /* each key once (restored to every lane) */
		unique_flows(ck, a->bucket, lane, dp->n_lanes);
	return 0;
}

int edp_datapath_save(struct edp_datapath *dp, const char *name, bool pause, struct edp_checkpoint *ck,
		      struct edp_save_report *report, struct edp_error *err)
{
	return edp_datapath_save_changed(dp, name, pause, NULL, ck, report, err);
}

int edp_datapath_save_changed(struct edp_datapath *dp, const char *name, bool pause, uint32_t *const *marks,
			      struct edp_checkpoint *ck, struct edp_save_report *report, struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	memset(ck, 0, sizeof(*ck));
	memset(report, 0, sizeof(*report));
	ck->version = EDP_CHECKPOINT_VERSION;
	ck->config_hash = dp->config_hash;
	ck->created_ns = edp_clock_ns(CLOCK_REALTIME);
	snprintf(ck->name, sizeof(ck->name), "%s", name);
	ck->threads = cfg->threads;
	ck->n_ports = cfg->n_ports;
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		snprintf(ck->ports[i], sizeof(ck->ports[i]), "%s", cfg->ports[i].name);
	/* a whole save's arrays made before the pause, with the lanes' room
	 * now (a change's few flows touch few of their pages) */
	struct flow_arrays a = { .cap = rooms(dp, NULL) };
	if (reserve_flows(dp, &a, !marks))
		a = (struct flow_arrays){ 0 }; /* tried again in the pause, and said there */
	uint64_t t0 = edp_clock_ns(CLOCK_MONOTONIC);
	/* the pause is not an operator's suspend: not counted as one */
	bool was = pause && atomic_exchange(&dp->suspended, 1);
	report->paused = pause;
	report->drained = pause && wait_drained(dp, 1000000000ull);
	uint64_t t1 = edp_clock_ns(CLOCK_MONOTONIC);
	struct edp_pipeline *pl = atomic_load(&dp->pipeline); /* a reload is the caller's thread's */
	int rc = save_macs(pl, ck, err) || save_flows(dp, pl, marks, &a, ck, err) ? -1 : 0;
	uint64_t t2 = edp_clock_ns(CLOCK_MONOTONIC);
	if (pause && !was)
		atomic_store(&dp->suspended, 0);
	report->copy_ms = (double)(t2 - t1) / 1e6;
	report->pause_ms = pause ? (double)(edp_clock_ns(CLOCK_MONOTONIC) - t0) / 1e6 : 0;
	free(a.flows);
	free(a.bucket);
	if (rc) {
		free(ck->macs);
		free(ck->flows);
		memset(ck, 0, sizeof(*ck));
		return err ? err->status : EDP_ERR_RUNTIME;
	}
	return 0;
}

/* Where a flow's packets will meet a flow cache, as the run that starts
 * will send them: the lane that owns its receive queue at the start (the
 * queue its RSS hash picks on its input, placed as edp_worker places
 * queues), and the hash that lane looks it up by (the RSS-based one when
 * its packets come with an RSS hash: more than one queue a port). */
static struct edp_lane *flow_lane(struct edp_datapath *dp, const int32_t *owner, const struct edp_flow_key *key,
				  uint32_t *hash)
{
	uint32_t qpp = dp->in.queues_per_port, input = 0;
	while (input < dp->in.n && dp->in.of[input].port != key->in_port)
		input++;
	uint32_t rss = edp_flow_rss_hash(key);
	*hash = qpp > 1 ? edp_flow_cache_hash(rss, key) : edp_flow_hash(key);
	if (!owner || input == dp->in.n)
		return &dp->lanes[0];
	uint32_t q = input * qpp + (qpp > 1 ? edp_flow_rss_queue(rss, qpp) : 0);
	return &dp->lanes[owner[q] >= 0 && (uint32_t)owner[q] < dp->n_lanes ? owner[q] : 0];
}

int edp_checkpoint_fits(const struct edp_checkpoint *ck, const struct edp_config *cfg, unsigned flags, const char *what,
			struct edp_error *err)
{
	bool same = ck->n_ports == cfg->n_ports;
	for (uint32_t i = 0; same && i < cfg->n_ports; i++)
		same = !strcmp(ck->ports[i], cfg->ports[i].name);
	if (!same) {
		char theirs[256] = "", ours[256] = "";
		for (uint32_t i = 0, n = 0; i < ck->n_ports && n < sizeof(theirs); i++)
			n += (uint32_t)snprintf(theirs + n, sizeof(theirs) - n, "%s%s", i ? ", " : "", ck->ports[i]);
		for (uint32_t i = 0, n = 0; i < cfg->n_ports && n < sizeof(ours); i++)
			n += (uint32_t)snprintf(ours + n, sizeof(ours) - n, "%s%s", i ? ", " : "", cfg->ports[i].name);
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: its ports (%s) are not the config's (%s)", what, theirs, ours);
	}
	for (uint32_t i = 0; i < ck->n_macs; i++)
		if (ck->macs[i].port >= cfg->n_ports || ck->macs[i].vlan > 4095)
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s: MAC %u: port %u, VLAN %u: not this config's", what,
					     i + 1, ck->macs[i].port, ck->macs[i].vlan);
	for (uint32_t i = 0; i < ck->n_flows; i++)
		if (ck->flows[i].key.in_port >= cfg->n_ports)
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s: flow %u: port %u: the config has %u", what, i + 1,
					     ck->flows[i].key.in_port, cfg->n_ports);
	if (ck->config_hash != cfg->file_hash && !(flags & EDP_RESTORE_ALLOW_CONFIG_CHANGE))
		return edp_error_set(err, EDP_ERR_RUNTIME,
				     "%s was taken under another config (fnv1a64:%016llx; this one is fnv1a64:%016llx): "
				     "--allow-config-change carries its MACs only",
				     what, (unsigned long long)ck->config_hash, (unsigned long long)cfg->file_hash);
	return 0;
}

int edp_datapath_restore(struct edp_datapath *dp, const struct edp_checkpoint *ck, const char *what,
			 unsigned flags, struct edp_restore_report *report, struct edp_error *err)
{
	memset(report, 0, sizeof(*report));
	if (edp_checkpoint_fits(ck, dp->cfg, flags, what, err))
		return EDP_ERR_RUNTIME;
	bool flows = ck->config_hash == dp->config_hash;
	struct edp_pipeline *pl = atomic_load(&dp->pipeline);
	uint64_t now = 0;
	if (pl->sw) {
		uint32_t bucket;
		edp_switch_lock(pl->sw);
		if (flags & EDP_RESTORE_EXACT_MACS) { /* the others first: learning must not evict one kept */
			edp_switch_unmark_all(pl->sw);
			for (uint32_t i = 0; i < ck->n_macs; i++)
				edp_switch_mark(pl->sw, ck->macs[i].vlan, ck->macs[i].mac);
			edp_switch_forget_unmarked(pl->sw);
		}
		for (uint32_t i = 0; i < ck->n_macs; i++) {
			const struct edp_checkpoint_mac *m = &ck->macs[i];
			edp_switch_learn(pl->sw, m->vlan, m->mac, m->port, m->seen_ns, &bucket);
			now = m->seen_ns > now ? m->seen_ns : now;
		}
		edp_switch_unlock(pl->sw);
		report->macs = ck->n_macs;
	} else {
		report->macs_left = ck->n_macs;
	}
	if (!flows) {
		report->flows_left = ck->n_flows;
		return 0;
	}
	/* the queues' first owners, as edp_worker will place them */
	uint32_t nq = dp->in.n * dp->in.queues_per_port;
	bool spread = dp->cfg->threads > 1 && !dp->chunks; /* chunks: every lane gets every flow */
	int32_t *owner = spread ? calloc(nq ? nq : 1, sizeof(*owner)) : NULL;
	if (spread && !owner)
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	if (owner)
		edp_tlb_place(dp->queue_node, dp->queue_pin, nq, dp->worker_node, dp->cfg->threads, owner);
	for (uint32_t i = 0; i < ck->n_flows; i++) {
		const struct edp_flow_key *key = &ck->flows[i].key;
		struct edp_action_prog prog;
		edp_pipeline_classify(pl, key, now, &prog);
		if (dp->chunks) { /* any worker may take the flow's next packet (one that comes without an RSS hash) */
			uint32_t hash = edp_flow_hash(key);
			for (uint32_t l = 0; l < dp->n_lanes; l++)
				edp_flowcache_insert(dp->lanes[l].fc, key, hash, &prog, now);
		} else {
			uint32_t hash;
			struct edp_lane *lane = flow_lane(dp, owner, key, &hash);
			edp_flowcache_insert(lane->fc, key, hash, &prog, now);
		}
	}
	free(owner);
	report->flows = ck->n_flows;
	return 0;
}
