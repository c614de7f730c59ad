#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "edp_chunk.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edp_clock.h"
#include "edp_datapath_impl.h"
#include "edp_doorbell.h"
#include "edp_publish.h"

#define FREE_WAIT_NS 1000000ull /* the longest sleep for a stage to be written */
#define CHUNK_SPIN_NS 500000ull /* a wait polls this long before it sleeps (a chunk takes 50-200 us) */

/* A chunk's staged records: free (its worker may fill it), or taken. */
struct stage {
	struct edp_output_stage out;
	_Atomic int free;
};

struct chunk_run;

struct cworker {
	struct chunk_run *run;
	uint32_t index;
	struct edp_lane *lane;
	struct edp_pools *pools;
	struct edp_doorbell bell; /* rung when one of its stages was written */
	struct stage stage[EDP_CHUNK_STAGES];
	struct edp_mbuf *mbufs[EDP_CHUNK_PACKETS];
	uint64_t last_packets, last_cycles; /* its last chunk's, published at its next claim */
	pthread_t tid;
	int rc;
	struct edp_error err;
};

/* A chunk taken, done, waiting for its turn to be written. */
struct slot {
	_Atomic uint64_t done; /* the chunk's number + 1 once it is here */
	struct stage *st;
	struct cworker *owner;
};

struct chunk_run {
	struct edp_datapath *dp;
	const volatile sig_atomic_t *stop;
	struct cworker *w;
	uint32_t n_workers, n_slots;
	struct slot *slot; /* chunk k's: slot[k % n_slots] (a chunk taken holds a stage until written) */
	uint64_t spin_ns; /* how long a worker polls before it sleeps (a lock, a stage) */
	/* the claim lock and what it guards: the input, the chunks' numbers */
	_Alignas(64) pthread_mutex_t claim;
	uint64_t claimed;
	bool ended;
	int read_rc;
	struct edp_error read_err;
	/* the writer role: whoever set `writing`; next is the chunk it writes next */
	_Alignas(64) atomic_bool writing;
	_Atomic uint64_t next;
	int write_rc;
	struct edp_error write_err;
	_Alignas(64) atomic_int abort; /* a write failed: take no more */
};

const char *edp_chunk_unfit(const struct edp_datapath *dp)
{
	const struct edp_config *cfg = dp->cfg;
	bool pinned = false;
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		pinned |= cfg->ports[i].n_rx_queue_cpus > 0;
	if (cfg->parallel == EDP_PARALLEL_FLOWS)
		return "datapath.parallel is flows";
	if (cfg->parallel == EDP_PARALLEL_AUTO && cfg->rx_queues)
		return "datapath.rx-queues is set (datapath.parallel: chunks takes chunks all the same)";
	if (cfg->parallel == EDP_PARALLEL_AUTO && pinned)
		return "receive queues are pinned (rx-queue-cpus)";
	if (dp->in.n != 1)
		return "more than one input (their packets are merged by time)";
	const struct edp_input *in = &dp->in.of[0];
	if (in->live || !in->reader)
		return "the input is an interface or a virtual port";
	if (edp_pcap_reader_pipe(in->reader))
		return "the input is a pipe (its records come as they are written)";
	if (cfg->has_switch)
		return "a learning switch (a verdict depends on what the packets before it taught the switch)";
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		if (cfg->ports[i].tx && edp_pcap_iface(cfg->ports[i].tx))
			return "an output is an interface";
	return NULL;
}

/* Write the chunks that are ready, in order (the writer role). */
static void write_ready(struct chunk_run *run)
{
	for (;;) {
		uint64_t next = atomic_load_explicit(&run->next, memory_order_relaxed);
		struct slot *sl = &run->slot[next % run->n_slots];
		if (atomic_load_explicit(&sl->done, memory_order_acquire) != next + 1)
			return;
		struct edp_error err;
		if (edp_output_commit(&run->dp->out, &sl->st->out, &err) && !run->write_rc) {
			run->write_rc = EDP_ERR_RUNTIME;
			run->write_err = err;
			atomic_store(&run->abort, 1);
		}
		atomic_store(&run->next, next + 1);
		struct cworker *owner = sl->owner;
		atomic_store_explicit(&sl->st->free, 1, memory_order_release);
		edp_doorbell_ring(&owner->bell);
	}
}

/* Take the writer role when the next chunk is ready and nobody has it.
 * A chunk made ready while another held the role is written by that one:
 * it looks again after it let go. */
static void try_write(struct chunk_run *run)
{
	for (;;) {
		uint64_t next = atomic_load(&run->next);
		if (atomic_load(&run->slot[next % run->n_slots].done) != next + 1)
			return;
		if (atomic_load_explicit(&run->writing, memory_order_relaxed) || atomic_exchange(&run->writing, true))
			return;
		write_ready(run);
		atomic_store(&run->writing, false);
	}
}

/* A wait of a worker that has a core of its own: poll for run->spin_ns
 * from *since (0: from now) before it sleeps, a wake-up costing tens of
 * microseconds on a VM (a chunk takes about as long). Whether to go on
 * polling. */
static bool poll_more(const struct chunk_run *run, uint64_t *since)
{
	if (!run->spin_ns)
		return false;
	uint64_t now = edp_clock_ns(CLOCK_MONOTONIC);
	if (!*since)
		*since = now;
	if (now - *since >= run->spin_ns)
		return false;
#if defined(__x86_64__) || defined(__i386__)
	for (int i = 0; i < 32; i++)
		__builtin_ia32_pause();
#endif
	return true;
}

/* A stage of w's to make a chunk in: one that is free, or the first to be
 * written (w waits for it). */
static struct stage *free_stage(struct cworker *w)
{
	uint64_t since = 0;
	for (;;) {
		for (uint32_t s = 0; s < EDP_CHUNK_STAGES; s++)
			if (atomic_load_explicit(&w->stage[s].free, memory_order_acquire))
				return &w->stage[s];
		try_write(w->run);
		if (poll_more(w->run, &since))
			continue;
		uint32_t ticket = edp_doorbell_prepare(&w->bell);
		bool any = false;
		for (uint32_t s = 0; s < EDP_CHUNK_STAGES; s++)
			any |= atomic_load_explicit(&w->stage[s].free, memory_order_acquire) != 0;
		if (any) {
			edp_doorbell_cancel(&w->bell);
			continue;
		}
		uint64_t c0 = edp_stats_cycles();
		edp_doorbell_wait(&w->bell, ticket, FREE_WAIT_NS);
		w->lane->idle_cycles += edp_stats_cycles() - c0;
	}
}

/* Take the next chunk into w's buffers: its packets and its number; 0
 * when there are none, and *more says whether any may come (a suspended
 * run, which sleeps here a while). */
static uint32_t claim(struct cworker *w, uint64_t *number, bool *more)
{
	struct chunk_run *run = w->run;
	struct edp_datapath *dp = run->dp;
	struct edp_input *in = &dp->in.of[0];
	uint32_t n = 0;
	size_t bytes = 0;
	*more = false;
	uint64_t since = 0;
	while (pthread_mutex_trylock(&run->claim))
		if (!poll_more(run, &since)) {
			pthread_mutex_lock(&run->claim);
			break;
		}
	if (w->last_packets) /* the input's queue block: the reading thread's, the holder of the lock */
		edp_publish_queue(dp, 0, w->index, w->last_packets, w->last_cycles);
	w->last_packets = w->last_cycles = 0;
	if (!run->ended && !atomic_load_explicit(&run->abort, memory_order_relaxed)) {
		struct edp_pools *own = in->pools;
		in->pools = w->pools;
		while (n < EDP_CHUNK_PACKETS && bytes < EDP_CHUNK_BYTES && edp_pools_have(w->pools, EDP_BATCH)) {
			uint32_t k, max = EDP_CHUNK_PACKETS - n < EDP_BATCH ? EDP_CHUNK_PACKETS - n : EDP_BATCH;
			int got = edp_inputs_pick_burst(&dp->in, run->stop, w->mbufs + n, NULL, NULL, max, &k, &run->read_rc,
							&run->read_err);
			for (uint32_t i = 0; i < k; i++)
				bytes += w->mbufs[n + i]->data_len;
			n += k;
			if (got == EDP_PICK_IDLE) { /* suspended */
				*more = true;
				break;
			}
			if (got == 0) {
				run->ended = true;
				break;
			}
		}
		in->pools = own;
		if (!n && !*more && !run->ended) { /* (its buffers are all free between chunks) */
			run->ended = true;
			if (!run->read_rc)
				run->read_rc = edp_error_set(&run->read_err, EDP_ERR_RUNTIME, "packet pool exhausted");
		}
		edp_publish_rx(dp);
	}
	*number = run->claimed;
	run->claimed += n > 0;
	if (!n && *more && atomic_load(&dp->suspended)) /* the others wait for the lock meanwhile */
		edp_inputs_wait(&dp->in, run->stop, EDP_LIVE_WAIT_NS);
	pthread_mutex_unlock(&run->claim);
	return n;
}

/* Carry chunk `number`, n packets in w's buffers, through w's lane into
 * stage st, and leave it to be written. */
static void process(struct cworker *w, struct stage *st, uint64_t number, uint32_t n)
{
	struct chunk_run *run = w->run;
	uint64_t c0 = edp_stats_cycles();
	atomic_store_explicit(&st->free, 0, memory_order_relaxed);
	for (uint32_t at = 0; at < n; at += EDP_BATCH) {
		uint32_t k = n - at < EDP_BATCH ? n - at : EDP_BATCH;
		edp_lane_process(w->lane, w->mbufs + at, k);
		struct edp_error err;
		if (edp_output_stage_mbufs(&run->dp->out, &st->out, w->mbufs + at, k, &err) && !w->rc) {
			w->rc = EDP_ERR_RUNTIME;
			w->err = err;
			atomic_store(&run->abort, 1);
		}
		edp_mbuf_free_bulk(w->mbufs + at, k);
	}
	uint64_t cycles = edp_stats_cycles() - c0;
	w->lane->busy_cycles += cycles;
	w->last_packets = n;
	w->last_cycles = cycles;
	struct slot *sl = &run->slot[number % run->n_slots];
	sl->st = st;
	sl->owner = w;
	atomic_store(&sl->done, number + 1);
	try_write(run);
	edp_publish_lane(run->dp, w->lane, false);
}

static void work(struct cworker *w)
{
	struct edp_datapath *dp = w->run->dp;
	edp_lane_place(w->lane, &dp->topo, dp->worker_cpu[w->index], dp->worker_node[w->index], true);
	w->lane->n_queues = 1;
	for (;;) {
		struct stage *st = free_stage(w);
		uint64_t number;
		bool more;
		uint32_t n = claim(w, &number, &more);
		if (n)
			process(w, st, number, n);
		else if (!more)
			break;
	}
	w->lane->n_queues = 0;
	edp_publish_lane(dp, w->lane, true);
}

static void *worker_main(void *arg)
{
	work(arg);
	return NULL;
}

/* Worker k's pools (k >= 1): a chunk and a read's room of each class, on
 * its node; made once, kept for a run resumed after a stun. */
static int worker_pools(struct edp_datapath *dp, uint32_t k, struct edp_error *err)
{
	struct edp_pools *p = &dp->worker_pools[k];
	if (p->of[EDP_POOL_TINY])
		return 0;
	uint32_t room = edp_inputs_read_room(&dp->in) + 1;
	return edp_pools_create(p, dp->worker_node[k], EDP_CHUNK_PACKETS + room,
				EDP_CHUNK_BYTES / EDP_SMALL_BUF + room, dp->in.snaplen, err);
}

static void run_free(struct chunk_run *run)
{
	for (uint32_t k = 0; k < run->n_workers; k++)
		for (uint32_t s = 0; s < EDP_CHUNK_STAGES; s++)
			edp_output_stage_free(&run->w[k].stage[s].out);
	free(run->w);
	free(run->slot);
	pthread_mutex_destroy(&run->claim);
	free(run);
}

static struct chunk_run *run_new(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	uint32_t n = dp->n_lanes;
	struct chunk_run *run = aligned_alloc(64, (sizeof(*run) + 63) & ~(size_t)63);
	if (!run) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		return NULL;
	}
	memset(run, 0, sizeof(*run));
	pthread_mutex_init(&run->claim, NULL);
	run->dp = dp;
	run->stop = stop;
	run->n_workers = n;
	run->n_slots = n * EDP_CHUNK_STAGES;
	run->spin_ns = n <= dp->topo.n_cpus ? CHUNK_SPIN_NS : 0;
	run->w = aligned_alloc(64, ((sizeof(*run->w) * n) + 63) & ~(size_t)63);
	run->slot = calloc(run->n_slots, sizeof(*run->slot));
	if (run->w)
		memset(run->w, 0, sizeof(*run->w) * n);
	bool ok = run->w && run->slot;
	for (uint32_t k = 0; k < n && ok; k++) {
		struct cworker *w = &run->w[k];
		*w = (struct cworker){ .run = run, .index = k, .lane = &dp->lanes[k],
				       .pools = k ? &dp->worker_pools[k] : dp->in.of[0].pools };
		edp_doorbell_init(&w->bell);
		ok = !(k && worker_pools(dp, k, err));
		for (uint32_t s = 0; s < EDP_CHUNK_STAGES && ok; s++) {
			atomic_init(&w->stage[s].free, 1);
			ok = !edp_output_stage_init(&dp->out, &w->stage[s].out, EDP_CHUNK_PACKETS, EDP_CHUNK_BYTES, err);
		}
	}
	if (!ok) {
		if (!run->w || !run->slot)
			edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		run_free(run);
		return NULL;
	}
	return run;
}

int edp_chunk_run(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	struct chunk_run *run = run_new(dp, stop, err);
	if (!run)
		return EDP_ERR_RUNTIME;
	uint32_t started = 1;
	sigset_t old; /* signals go to the calling thread, worker 0 */
	edp_datapath_block_stop_signals(&old);
	for (uint32_t k = 1; k < run->n_workers; k++) {
		if (edp_datapath_start_worker(&run->w[k].tid, worker_main, &run->w[k], k)) {
			run->w[0].rc = edp_error_set(&run->w[0].err, EDP_ERR_RUNTIME, "cannot start worker %u", k);
			atomic_store(&run->abort, 1);
			break;
		}
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	work(&run->w[0]);
	for (uint32_t k = 1; k < started; k++)
		pthread_join(run->w[k].tid, NULL);
	try_write(run); /* each worker wrote what it could; nothing is left, but look */
	int rc = 0;
	if (run->read_rc)
		rc = run->read_rc, *err = run->read_err;
	else if (run->write_rc)
		rc = run->write_rc, *err = run->write_err;
	for (uint32_t k = 0; k < run->n_workers && !rc; k++)
		if (run->w[k].rc)
			rc = run->w[k].rc, *err = run->w[k].err;
	if (!rc && atomic_load(&run->next) != run->claimed)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "internal error: %llu chunks read and not written",
				   (unsigned long long)(run->claimed - atomic_load(&run->next)));
	run_free(run);
	return rc;
}
