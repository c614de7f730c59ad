#include "edp_reload.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "edp_datapath_impl.h"

static bool same_str(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static const char *shown(const char *s) { return s ? s : "none"; }

/* The same rx or tx: the same words, or the same file spelled another way
 * (a reloaded file's relative paths are its directory's). */
static bool same_io(const char *a, const char *b)
{
	struct stat sa, sb;
	return same_str(a, b) || (a && b && edp_port_io_kind(a) == EDP_IO_FILE && edp_port_io_kind(b) == EDP_IO_FILE &&
				  strcmp(a, "-") && strcmp(b, "-") && !stat(a, &sa) && !stat(b, &sb) &&
				  sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

/* The first thing b changes that a running datapath cannot take, said in
 * why; false when there is none. */
static bool live_change_refused(const struct edp_config *a, const struct edp_config *b, char *why, size_t size)
{
#define REFUSE(...) return snprintf(why, size, __VA_ARGS__), true
	if (a->n_ports != b->n_ports)
		REFUSE("ports: %u ports -> %u", a->n_ports, b->n_ports);
	for (uint32_t i = 0; i < a->n_ports; i++) {
		const struct edp_port_config *p = &a->ports[i], *q = &b->ports[i];
		if (strcmp(p->name, q->name))
			REFUSE("ports: port %u '%s' -> '%s'", i + 1, p->name, q->name);
		if (!same_io(p->rx, q->rx))
			REFUSE("port %s: rx '%s' -> '%s'", p->name, shown(p->rx), shown(q->rx));
		if (!same_io(p->tx, q->tx))
			REFUSE("port %s: tx '%s' -> '%s'", p->name, shown(p->tx), shown(q->tx));
		if (strcmp(p->device, q->device))
			REFUSE("port %s: device '%s' -> '%s'", p->name, p->device, q->device);
		if (p->numa_node != q->numa_node)
			REFUSE("port %s: numa-node %d -> %d", p->name, p->numa_node, q->numa_node);
		if (p->n_rx_queue_cpus != q->n_rx_queue_cpus ||
		    memcmp(p->rx_queue_cpus, q->rx_queue_cpus, p->n_rx_queue_cpus * sizeof(p->rx_queue_cpus[0])))
			REFUSE("port %s: rx-queue-cpus", p->name);
	}
	if (a->threads != b->threads)
		REFUSE("datapath: threads %u -> %u", a->threads, b->threads);
	if (a->rx_queues != b->rx_queues)
		REFUSE("datapath: rx-queues %u -> %u", a->rx_queues, b->rx_queues);
	if (a->ordered != b->ordered)
		REFUSE("datapath: ordered %s -> %s", a->ordered ? "true" : "false", b->ordered ? "true" : "false");
	if (a->parallel != b->parallel)
		REFUSE("datapath: parallel %s -> %s", edp_parallel_name(a->parallel), edp_parallel_name(b->parallel));
	if (a->n_cpus != b->n_cpus || memcmp(a->cpus, b->cpus, a->n_cpus * sizeof(a->cpus[0])))
		REFUSE("datapath: cpus");
	if (a->loop != b->loop)
		REFUSE("datapath: loop %u -> %u", a->loop, b->loop);
	if (a->flow_cache_entries != b->flow_cache_entries)
		REFUSE("flow-cache: entries %u -> %u", a->flow_cache_entries, b->flow_cache_entries);
	if (a->tlb_enabled != b->tlb_enabled || a->tlb_interval_ms != b->tlb_interval_ms ||
	    a->tlb_threshold != b->tlb_threshold || a->tlb_min_improvement != b->tlb_min_improvement ||
	    a->tlb_min_gain != b->tlb_min_gain || a->tlb_sustain != b->tlb_sustain || a->tlb_verify != b->tlb_verify ||
	    a->tlb_backoff != b->tlb_backoff || a->tlb_shift != b->tlb_shift)
		REFUSE("tlb: the balancer's settings");
	if (a->has_switch != b->has_switch)
		REFUSE("pipeline: the switch %s", a->has_switch ? "removed" : "added");
	if (a->has_switch && a->mac_table_size != b->mac_table_size)
		REFUSE("switch: mac-table-size %u -> %u", a->mac_table_size, b->mac_table_size);
	return false;
#undef REFUSE
}

/* Until no lane runs a batch it began before the new generation was
 * current: each lane is between batches (even), or has moved on from the
 * batch it was in. Batches take microseconds; this sleeps in between. */
static void wait_for_lanes(struct edp_datapath *dp)
{
	for (uint32_t i = 0; i < dp->n_lanes; i++) {
		uint32_t seen = atomic_load_explicit(&dp->lanes[i].batch_seq, memory_order_seq_cst);
		while ((seen & 1) && atomic_load_explicit(&dp->lanes[i].batch_seq, memory_order_acquire) == seen)
			nanosleep(&(struct timespec){ 0, 20000 }, NULL);
	}
}

int edp_datapath_reload(struct edp_datapath *dp, const struct edp_config *cfg, struct edp_error *err)
{
	char why[160];
	if (live_change_refused(dp->cfg, cfg, why, sizeof(why)))
		return edp_error_set(err, EDP_ERR_RUNTIME,
				     "not reloaded: %s cannot change while the instance runs (restart it to change that)", why);
	char *path = NULL;
	if (cfg->path && !(path = strdup(cfg->path)))
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	struct edp_pipeline *old = atomic_load(&dp->pipeline);
	struct edp_pipeline *pl = edp_pipeline_create(cfg, dp->tx_ports, old, err);
	if (!pl) {
		free(path);
		return err ? err->status : EDP_ERR_RUNTIME;
	}
	atomic_store_explicit(&dp->pipeline, pl, memory_order_seq_cst);
	wait_for_lanes(dp);
	edp_pipeline_destroy(old);
	free(dp->config_path);
	dp->config_path = path;
	dp->config_hash = cfg->file_hash;
	if (dp->stats) { /* the control block is the control thread's */
		struct edp_stats_control *b = edp_stats_control(dp->stats);
		edp_stats_write_begin(&b->seq);
		b->generation = pl->generation;
		edp_datapath_summary(dp, cfg, b->config, sizeof(b->config));
		edp_stats_write_end(&b->seq);
	}
	return 0;
}

void edp_datapath_config_id(struct edp_datapath *dp, struct edp_config_id *out)
{
	out->path = dp->config_path;
	out->hash = dp->config_hash;
	out->generation = atomic_load(&dp->pipeline)->generation;
}
