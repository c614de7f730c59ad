#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "edp_fanout.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edp_datapath_impl.h"
#include "edp_doorbell.h"
#include "edp_loop.h"

#define WATCH_NS 100000000ull /* the longest the caller's wait for its workers */

bool edp_fanout_fits(const struct edp_config *cfg, const struct edp_inputs *in)
{
	if (cfg->threads < 2 || cfg->ordered || cfg->count || !in->n)
		return false;
	for (uint32_t i = 0; i < in->n; i++)
		if (!in->of[i].live || !in->of[i].reader)
			return false;
	return true;
}

struct fan_worker {
	struct edp_datapath *dp;
	struct edp_inputs *set;
	uint32_t index;
	volatile sig_atomic_t *stop; /* the run's: set by the caller on a stop, by a worker that fails */
	struct edp_doorbell *bell;   /* the caller's, rung when done */
	int rc;
	struct edp_error err;
	atomic_int done;
};

/* Worker k's inputs, one on each interface, none opened yet, and buffers
 * of its own on its node (made once: a run resumed after a stun keeps
 * them). */
static int make_set(struct edp_datapath *dp, uint32_t k, struct edp_error *err)
{
	if (dp->fan[k])
		return 0;
	struct edp_inputs *set = aligned_alloc(64, (sizeof(*set) + 63) & ~(size_t)63);
	if (!set)
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory"), EDP_ERR_RUNTIME;
	memset(set, 0, sizeof(*set));
	dp->fan[k] = set;
	set->wake_fd = -1;
	if (edp_inputs_wakeable(set, err))
		return EDP_ERR_RUNTIME;
	set->cfg = dp->cfg;
	set->suspended = &dp->suspended; /* suspended with the datapath's */
	set->queues_per_port = dp->in.queues_per_port;
	set->snaplen = dp->in.snaplen;
	memcpy(set->by_port, dp->in.by_port, sizeof(set->by_port));
	uint32_t room = edp_inputs_read_room(&dp->in) + 1;
	if (edp_pools_create(&dp->worker_pools[k], dp->worker_node[k], room, room, set->snaplen, err))
		return EDP_ERR_RUNTIME;
	for (uint32_t i = 0; i < dp->in.n; i++) {
		struct edp_input *in = &set->of[i];
		in->port = dp->in.of[i].port;
		in->passes = 1;
		in->live = true;
		in->pools = &dp->worker_pools[k];
		set->n++;
	}
	return 0;
}

/* Worker k's reader of input i: its share of worker 0's AF_XDP queues
 * (q % workers == k), or a socket of its own. An xdp: input with fewer
 * queues than workers is read through AF_PACKET by every worker. */
static int open_reader(struct edp_datapath *dp, uint32_t k, uint32_t i, struct edp_error *err)
{
	struct edp_input *in0 = &dp->in.of[i], *in = &dp->fan[k]->of[i];
	const char *rx = dp->cfg->ports[in->port].rx, *iface = edp_pcap_iface(rx);
	uint32_t queues = edp_pcap_reader_queues(in0->reader), n = dp->n_lanes;
	char live[64];
	snprintf(live, sizeof(live), "%s%s", EDP_LIVE_PREFIX, iface ? iface : "");
	if (queues && queues < n && k == 1) { /* before worker 0 read a frame */
		snprintf(dp->fan_note, sizeof(dp->fan_note), "%s: read through AF_PACKET: %u receive queue%s for %u "
			 "threads (AF_XDP gives each thread queues of its own: ethtool -L %s combined %u)", rx, queues,
			 queues == 1 ? "" : "s", n, iface, n);
		edp_pcap_reader_close(in0->reader);
		in0->reader = NULL;
		if (edp_input_open_reader(&dp->in, in0, live, err))
			return EDP_ERR_RUNTIME;
		queues = 0;
	}
	if (!queues)
		return edp_input_open_reader(dp->fan[k], in, iface ? live : rx, err);
	if (!(in->reader = edp_pcap_reader_split(in0->reader, k, n, err)))
		return EDP_ERR_RUNTIME;
	return edp_pcap_reader_set_filter(in->reader, dp->cfg->filter, err) ? EDP_ERR_USAGE : 0;
}

/* Worker k's inputs with a socket of its own on each interface (but the
 * ones it has: adopted, or opened by an earlier run). */
static int open_set(struct edp_datapath *dp, uint32_t k, struct edp_error *err)
{
	int rc = make_set(dp, k, err);
	for (uint32_t i = 0; i < dp->in.n && !rc; i++) {
		struct edp_input *in = &dp->fan[k]->of[i];
		in->done = false; /* the stop that ended a run ended it */
		if (!in->reader)
			rc = open_reader(dp, k, i, err);
	}
	return rc;
}

int edp_fanout_adopt(struct edp_datapath *dp, uint32_t k, uint32_t input, struct edp_pcap_reader *r,
		     struct edp_error *err)
{
	if (make_set(dp, k, err)) {
		edp_pcap_reader_close(r);
		return EDP_ERR_RUNTIME;
	}
	dp->fan[k]->of[input].reader = r;
	dp->fan_grouped = true; /* the source's groups */
	return 0;
}

static void *fan_main(void *arg)
{
	struct fan_worker *w = arg;
	struct edp_datapath *dp = w->dp;
	dp->lanes[w->index].n_queues = dp->in.n; /* a socket on each interface */
	edp_lane_place(&dp->lanes[w->index], &dp->topo, dp->worker_cpu[w->index], dp->worker_node[w->index], true);
	w->rc = edp_loop_run(dp, w->set, &dp->lanes[w->index], &dp->out_lock, w->stop, &w->err);
	if (w->rc)
		*w->stop = 1;
	atomic_store(&w->done, 1);
	edp_doorbell_ring(w->bell);
	return NULL;
}

int edp_fanout_prepare(struct edp_datapath *dp, struct edp_error *err)
{
	uint32_t n = dp->n_lanes;
	int rc = 0;
	for (uint32_t k = 1; k < n && !rc; k++)
		rc = open_set(dp, k, err);
	/* a group an interface, numbered apart from other processes'; worker
	 * 0's socket joins first, and what the others took before they joined
	 * is a copy of what it took. Once: a run resumed after a stun, or
	 * sockets handed over by a source, are in their groups. */
	uint16_t group = (uint16_t)(getpid() * 31u);
	for (uint32_t i = 0; i < dp->in.n && !rc && !dp->fan_grouped; i++) {
		for (uint32_t k = 0; k < n && !rc; k++)
			if (edp_pcap_reader_fanout(k ? dp->fan[k]->of[i].reader : dp->in.of[i].reader,
						   (uint16_t)(group + i), k > 0, err))
				rc = EDP_ERR_RUNTIME;
		if (!rc && edp_pcap_reader_fanout_spread(dp->in.of[i].reader, err))
			rc = EDP_ERR_RUNTIME;
	}
	dp->fan_grouped |= !rc;
	return rc;
}

int edp_fanout_run(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	uint32_t n = dp->n_lanes;
	int rc = edp_fanout_prepare(dp, err);
	if (rc)
		return rc;
	if (dp->log) {
		char line[200];
		bool xsk = false;
		for (uint32_t i = 0; i < dp->in.n; i++)
			xsk |= edp_pcap_reader_queues(dp->in.of[i].reader) > 0;
		snprintf(line, sizeof(line), "fanout: %u workers, each with its own socket on every interface (%s: a flow "
			 "stays on one); the balancer does not move these queues", n,
			 xsk ? "AF_XDP receive queues of its own" : "PACKET_FANOUT hash");
		dp->log(dp->log_ctx, line);
	}
	volatile sig_atomic_t fan_stop = 0;
	struct edp_doorbell *bell = &dp->fan_bell; /* a worker rings it when it is done, a stun when it begins */
	struct fan_worker w[EDP_MAX_THREADS];
	pthread_t tid[EDP_MAX_THREADS];
	uint32_t started = 0;
	sigset_t old; /* signals go to this thread, whose wait below they end */
	edp_datapath_block_stop_signals(&old);
	for (uint32_t k = 0; k < n; k++) {
		w[k] = (struct fan_worker){
			.dp = dp, .set = k ? dp->fan[k] : &dp->in, .index = k, .stop = &fan_stop, .bell = bell
		};
		atomic_init(&w[k].done, 0);
		if (edp_datapath_start_worker(&tid[k], fan_main, &w[k], k)) {
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "cannot start worker %u", k);
			break;
		}
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (started < n)
		fan_stop = 1;
	/* until every worker is done; a signal (SIGINT, SIGTERM, --duration's
	 * SIGALRM) ends this wait, and the caller's stop (or a worker's
	 * failure) ends the workers' waits */
	bool woken = false;
	for (;;) {
		uint32_t ticket = edp_doorbell_prepare(bell), done = 0;
		if (*stop)
			fan_stop = 1;
		for (uint32_t k = 0; k < started && fan_stop && !woken; k++)
			edp_inputs_wake(w[k].set);
		woken |= fan_stop;
		for (uint32_t k = 0; k < started; k++)
			done += (uint32_t)atomic_load(&w[k].done);
		if (done == started) {
			edp_doorbell_cancel(bell);
			break;
		}
		edp_doorbell_wait(bell, ticket, WATCH_NS);
	}
	for (uint32_t k = 0; k < started; k++) {
		pthread_join(tid[k], NULL);
		if (w[k].rc && !rc) {
			rc = w[k].rc;
			if (err)
				*err = w[k].err;
		}
	}
	return rc;
}

void edp_fanout_wake(struct edp_datapath *dp) { edp_doorbell_ring(&dp->fan_bell); }

void edp_fanout_close(struct edp_datapath *dp)
{
	for (uint32_t k = 1; k < EDP_MAX_THREADS; k++) {
		if (!dp->fan[k])
			continue;
		edp_inputs_close(dp->fan[k]); /* its pools go with the datapath's */
		free(dp->fan[k]);
		dp->fan[k] = NULL;
	}
}
