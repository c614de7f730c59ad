#include "edp_worker.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edp_parse.h"
#include "edp_ring.h"
#include "edp_tlb.h"

#define RX_RING_SLOTS 1024

/* A queue is consumed only by the worker its `owner` names. Only that
 * worker changes it: when the balancer asks (move_to), the owner hands the
 * queue over between two batches, after pushing all it took from it, so no
 * packet is lost or reordered. */
struct queue {
	struct edp_ring *rx;  /* reader -> owning worker */
	struct edp_ring *out; /* owning worker -> writer; holds all in flight */
	_Atomic int32_t owner;
	_Atomic int32_t move_to;   /* -1, or the thread to hand over to */
	_Alignas(64) _Atomic uint64_t cycles; /* spent on it so far (by its owners); own line */
};

struct run;

struct worker {
	pthread_t tid;
	struct run *run;
	struct edp_lane *lane;
	uint32_t index;
	atomic_int done;
};

struct run {
	struct edp_datapath *dp;
	struct queue *q;
	uint32_t n_queues, per_port;
	struct worker *w;
	uint32_t n_workers;
	bool ordered;
	struct edp_ring *order; /* reader -> writer: queue of each packet, in input order */
	struct edp_ring *free;  /* writer -> reader: written mbufs; room for all of them */
	atomic_int input_done;  /* the reader has queued its last packet */
	atomic_int abort;       /* the writer failed: stop reading */
	pthread_t writer, balancer;
	atomic_int finished;    /* workers and writer are done: the balancer ends */
	int write_rc;
	struct edp_error write_err;
};

static void backoff(unsigned *idle)
{
	if (*idle < 64) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	} else if (*idle < 128) {
		sched_yield();
	} else {
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL);
	}
	(*idle)++;
}

static void push_all(struct edp_ring *r, struct edp_mbuf **m, uint32_t n)
{
	unsigned idle = 0;
	while (n) {
		uint32_t k = edp_ring_enqueue_burst(r, (void *const *)m, n);
		m += k;
		n -= k;
		if (n)
			backoff(&idle);
	}
}

/* Take the queues this worker owns, handing over the ones the balancer
 * moves. Returns how many it owns. */
static uint32_t my_queues(struct run *run, struct worker *w, uint32_t *mine)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < run->n_queues; i++) {
		struct queue *q = &run->q[i];
		if (atomic_load_explicit(&q->owner, memory_order_acquire) != (int32_t)w->index)
			continue;
		int32_t to = atomic_load_explicit(&q->move_to, memory_order_relaxed);
		if (to >= 0 && to != (int32_t)w->index) {
			atomic_store_explicit(&q->move_to, -1, memory_order_relaxed);
			atomic_store_explicit(&q->owner, to, memory_order_release); /* hand over */
			continue;
		}
		mine[n++] = i;
	}
	return n;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;
	struct edp_mbuf *batch[EDP_BATCH];
	struct edp_lane *lane = w->lane;
	struct edp_datapath *dp = run->dp;
	/* on its CPU, with its flow cache on its node */
	edp_topo_pin(dp->worker_cpu[w->index], NULL);
	edp_flowcache_place(lane->fc, &dp->topo, dp->worker_node[w->index]);
	uint32_t *mine = malloc(run->n_queues * sizeof(uint32_t) + 1);
	unsigned idle = 0;
	uint64_t mark = edp_stats_cycles();
	for (;;) {
		uint32_t did = 0, owned = mine ? my_queues(run, w, mine) : 0;
		lane->n_queues = owned;
		for (uint32_t i = 0; i < owned; i++) {
			struct queue *q = &run->q[mine[i]];
			uint32_t n = edp_ring_dequeue_burst(q->rx, (void **)batch, EDP_BATCH);
			if (!n)
				continue;
			uint64_t c0 = edp_stats_cycles();
			lane->idle_cycles += c0 - mark;
			edp_datapath_process_lane(run->dp, lane, batch, n);
			push_all(q->out, batch, n);
			mark = edp_stats_cycles();
			lane->busy_cycles += mark - c0;
			atomic_store_explicit(&q->cycles, atomic_load_explicit(&q->cycles, memory_order_relaxed) + (mark - c0),
					      memory_order_relaxed);
			edp_datapath_publish_queue(run->dp, mine[i], lane->index, n, mark - c0);
			did += n;
		}
		if (did) {
			edp_datapath_publish_lane(run->dp, lane);
			idle = 0;
			continue;
		}
		if (atomic_load_explicit(&run->input_done, memory_order_acquire)) {
			/* the end: every queue is drained, whoever owns it */
			uint32_t left = 0;
			for (uint32_t i = 0; i < run->n_queues; i++)
				left += edp_ring_count(run->q[i].rx);
			if (!left)
				break;
		}
		backoff(&idle);
		if ((idle & 1023) == 0) { /* idle time shows too */
			uint64_t now = edp_stats_cycles();
			lane->idle_cycles += now - mark;
			mark = now;
			edp_datapath_publish_lane(run->dp, lane);
		}
	}
	edp_datapath_publish_lane(run->dp, lane);
	free(mine);
	atomic_store_explicit(&w->done, 1, memory_order_release);
	return NULL;
}

/* The Thread Load Balancer: every interval, measure each queue's share of the
 * interval, plan (edp_tlb_plan) and, when worth it, ask the owners to hand
 * the moved queues over. */
static void *balancer_main(void *arg)
{
	struct run *run = arg;
	struct edp_datapath *dp = run->dp;
	const struct edp_config *cfg = dp->cfg;
	uint32_t nq = run->n_queues < EDP_TLB_MAX_QUEUES ? run->n_queues : EDP_TLB_MAX_QUEUES;
	uint64_t *last = calloc(nq + 1, sizeof(uint64_t));
	struct edp_tlb_queue *tq = calloc(nq + 1, sizeof(*tq));
	struct edp_tlb_plan *plan = malloc(sizeof(*plan));
	int32_t numa[EDP_TLB_MAX_THREADS];
	for (uint32_t t = 0; t < EDP_TLB_MAX_THREADS; t++)
		numa[t] = t < run->n_workers ? dp->worker_node[t] : -1;
	uint64_t t0 = edp_stats_cycles();
	while (last && tq && plan && !atomic_load_explicit(&run->finished, memory_order_acquire)) {
		for (uint32_t ms = 0; ms < cfg->tlb_interval_ms && !atomic_load(&run->finished); ms += 10) {
			struct timespec ts = { 0, 10000000 };
			nanosleep(&ts, NULL);
		}
		uint64_t t1 = edp_stats_cycles();
		bool pending = false;
		for (uint32_t i = 0; i < nq; i++) {
			struct queue *q = &run->q[i];
			uint64_t c = atomic_load_explicit(&q->cycles, memory_order_relaxed);
			tq[i] = (struct edp_tlb_queue){ t1 > t0 ? (double)(c - last[i]) / (double)(t1 - t0) : 0,
							atomic_load_explicit(&q->owner, memory_order_acquire),
							dp->queue_node[i], dp->queue_pin[i] >= 0 };
			last[i] = c;
			pending |= atomic_load_explicit(&q->move_to, memory_order_relaxed) >= 0;
		}
		t0 = t1;
		if (pending) /* the last moves are not done yet: measure again first */
			continue;
		edp_tlb_plan(tq, nq, numa, run->n_workers, plan);
		if (!edp_tlb_worth_it(plan, cfg->tlb_threshold, cfg->tlb_min_improvement))
			continue;
		char what[512];
		int len = 0;
		for (uint32_t i = 0; i < nq; i++) {
			if (plan->owner[i] == tq[i].owner)
				continue;
			if (len < (int)sizeof(what))
				len += snprintf(what + len, sizeof(what) - (size_t)len, "%squeue %u (%s) %d->%d",
						len ? ", " : "", i, cfg->ports[dp->inputs[i / run->per_port].port].name,
						tq[i].owner, plan->owner[i]);
			atomic_store_explicit(&run->q[i].move_to, plan->owner[i], memory_order_relaxed);
		}
		dp->rebalances++;
		dp->queues_moved += plan->moved;
		if (dp->n_events < EDP_SUMMARY_EVENTS) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			struct edp_rebalance *e = &dp->events[dp->n_events++];
			e->at_s = ((double)now.tv_sec * 1e9 + (double)now.tv_nsec - (double)dp->run_start_ns) / 1e9;
			e->moved = plan->moved;
			e->spread_before = plan->spread_before;
			e->spread_after = plan->spread_after;
			snprintf(e->what, sizeof(e->what), "%.*s", (int)sizeof(e->what) - 1, what);
		}
		if (dp->stats)
			edp_stats_event(dp->stats, plan->moved, (float)plan->spread_before, (float)plan->spread_after, what);
		if (dp->log) {
			char line[700];
			snprintf(line, sizeof(line), "balancer: moved %u queue%s: %s; spread %.2f -> %.2f", plan->moved,
				 plan->moved == 1 ? "" : "s", what, plan->spread_before, plan->spread_after);
			dp->log(dp->log_ctx, line);
		}
	}
	free(last);
	free(tq);
	free(plan);
	return NULL;
}

/* Write a batch (unless a write already failed) and hand the mbufs back. */
static void write_batch(struct run *run, struct edp_mbuf **batch, uint32_t n)
{
	if (!run->write_rc && edp_datapath_emit(run->dp, batch, n, &run->write_err)) {
		run->write_rc = EDP_ERR_RUNTIME;
		atomic_store_explicit(&run->abort, 1, memory_order_release);
	}
	push_all(run->free, batch, n);
}

static void *writer_ordered(void *arg)
{
	struct run *run = arg;
	void *ids[EDP_BATCH];
	struct edp_mbuf *batch[EDP_BATCH];
	unsigned idle = 0;
	for (;;) {
		uint32_t n = edp_ring_dequeue_burst(run->order, ids, EDP_BATCH);
		if (!n) {
			if (atomic_load_explicit(&run->input_done, memory_order_acquire) && !edp_ring_count(run->order))
				break;
			backoff(&idle);
			continue;
		}
		idle = 0;
		for (uint32_t i = 0; i < n; i++) {
			struct queue *q = &run->q[(uintptr_t)ids[i] - 1];
			unsigned wait = 0;
			while (!edp_ring_dequeue_burst(q->out, (void **)&batch[i], 1))
				backoff(&wait);
		}
		write_batch(run, batch, n);
	}
	return NULL;
}

static void *writer_any_order(void *arg)
{
	struct run *run = arg;
	struct edp_mbuf *batch[EDP_BATCH];
	unsigned idle = 0;
	bool last_pass = false;
	for (;;) {
		uint32_t did = 0;
		for (uint32_t i = 0; i < run->n_queues; i++) {
			uint32_t n = edp_ring_dequeue_burst(run->q[i].out, (void **)batch, EDP_BATCH);
			if (n) {
				write_batch(run, batch, n);
				did += n;
			}
		}
		if (did) {
			idle = 0;
			continue;
		}
		if (last_pass)
			break;
		/* once every worker is done, one more empty pass ends the run */
		last_pass = true;
		for (uint32_t i = 0; i < run->n_workers; i++)
			last_pass &= atomic_load_explicit(&run->w[i].done, memory_order_acquire) != 0;
		if (!last_pass)
			backoff(&idle);
	}
	return NULL;
}

/* Give the writer's mbufs back to their pools, waiting (when asked) until
 * each pool has a batch's worth: the reader allocates one per packet read,
 * and checking once a batch keeps it off the free ring's shared line. */
static void refill(struct run *run, bool wait)
{
	struct edp_datapath *dp = run->dp;
	void *objs[64];
	unsigned idle = 0;
	for (;;) {
		uint32_t n;
		while ((n = edp_ring_dequeue_burst(run->free, objs, 64)) > 0)
			edp_mbuf_free_bulk((struct edp_mbuf **)objs, n);
		bool ok = edp_mbuf_pool_available(dp->small) >= EDP_BATCH &&
			  (!dp->large || edp_mbuf_pool_available(dp->large) >= EDP_BATCH);
		if (ok || !wait)
			return;
		backoff(&idle);
	}
}

static int read_loop(struct run *run, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	struct edp_datapath *dp = run->dp;
	int rc = edp_datapath_prime(dp, stop, err);
	struct edp_mbuf *batch[EDP_BATCH];
	uint32_t qid[EDP_BATCH];
	/* a failed write ends the reading at once: the run has failed anyway */
	while (!atomic_load_explicit(&run->abort, memory_order_acquire)) {
		uint32_t n = 0;
		refill(run, true);
		while (n < EDP_BATCH && edp_datapath_pick(dp, stop, &batch[n], &rc, err))
			n++;
		if (n == 0)
			break;
		for (uint32_t i = 0; i < n; i++) {
			struct edp_mbuf *m = batch[i];
			qid[i] = (uint32_t)dp->port_input[m->in_port] * run->per_port;
			if (run->per_port > 1) { /* one queue per port needs no hash */
				struct edp_flow_key key;
				struct edp_parse_result pr;
				edp_parse(m->data, m->data_len, m->wire_len, m->in_port, &key, &pr);
				qid[i] += edp_flow_rss_hash(&key) % run->per_port;
			}
		}
		if (run->ordered) {
			void *ids[EDP_BATCH];
			for (uint32_t i = 0; i < n; i++)
				ids[i] = (void *)(uintptr_t)(qid[i] + 1);
			push_all(run->order, (struct edp_mbuf **)ids, n);
		}
		edp_datapath_publish_rx(dp);
		/* queue runs of packets bound for the same queue in one burst */
		for (uint32_t i = 0; i < n;) {
			uint32_t j = i + 1;
			while (j < n && qid[j] == qid[i])
				j++;
			push_all(run->q[qid[i]].rx, &batch[i], j - i);
			i = j;
		}
	}
	atomic_store_explicit(&run->input_done, 1, memory_order_release);
	return rc;
}

static void teardown(struct run *run)
{
	for (uint32_t i = 0; run->q && i < run->n_queues; i++) {
		edp_ring_destroy(run->q[i].rx);
		edp_ring_destroy(run->q[i].out);
	}
	free(run->q);
	free(run->w);
	edp_ring_destroy(run->order);
	edp_ring_destroy(run->free);
}

static int setup(struct run *run, struct edp_datapath *dp, struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	run->dp = dp;
	run->ordered = cfg->ordered;
	run->n_workers = cfg->threads;
	run->per_port = dp->queues_per_port;
	run->n_queues = dp->n_inputs * run->per_port;
	uint32_t in_flight = edp_mbuf_pool_available(dp->small) + (dp->large ? edp_mbuf_pool_available(dp->large) : 0);
	size_t qsize = (run->n_queues ? run->n_queues : 1) * sizeof(*run->q); /* a multiple of 64 */
	run->q = aligned_alloc(64, qsize);
	if (run->q)
		memset(run->q, 0, qsize);
	run->w = calloc(run->n_workers, sizeof(*run->w));
	if (!run->q || !run->w)
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	for (uint32_t i = 0; i < run->n_queues; i++)
		if (!(run->q[i].rx = edp_ring_create(RX_RING_SLOTS, err)) ||
		    !(run->q[i].out = edp_ring_create(in_flight, err)))
			return EDP_ERR_RUNTIME;
	if (!(run->free = edp_ring_create(in_flight, err)) ||
	    (run->ordered && !(run->order = edp_ring_create(in_flight, err))))
		return EDP_ERR_RUNTIME;
	for (uint32_t i = 0; i < run->n_workers; i++) {
		run->w[i].run = run;
		run->w[i].lane = &dp->lanes[i];
		run->w[i].index = i;
	}
	/* to start: pinned queues to their worker; the others round robin over
	 * the workers of their port's node (all workers when it has none) */
	uint32_t rr = 0;
	for (uint32_t q = 0; q < run->n_queues; q++) {
		int32_t owner = dp->queue_pin[q];
		for (uint32_t k = 0; owner < 0 && k < run->n_workers; k++) {
			uint32_t w = (rr + k) % run->n_workers;
			if (dp->worker_node[w] == dp->queue_node[q]) {
				owner = (int32_t)w;
				rr = w + 1;
			}
		}
		if (owner < 0)
			owner = (int32_t)(rr++ % run->n_workers);
		atomic_init(&run->q[q].owner, owner);
		atomic_init(&run->q[q].move_to, -1);
	}
	return 0;
}

int edp_worker_run(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	struct run run;
	memset(&run, 0, sizeof(run));
	if (setup(&run, dp, err)) {
		teardown(&run);
		return EDP_ERR_RUNTIME;
	}
	/* signals go to the reading thread, whose blocking read they interrupt */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	uint32_t started = 0;
	int rc = 0;
	for (; started < run.n_workers; started++) {
		if (pthread_create(&run.w[started].tid, NULL, worker_main, &run.w[started]))
			break;
		char name[16]; /* as top -H and ps -L show it */
		snprintf(name, sizeof(name), "edp-worker%u", started % 100);
		pthread_setname_np(run.w[started].tid, name);
	}
	bool writer = started == run.n_workers &&
		      pthread_create(&run.writer, NULL, run.ordered ? writer_ordered : writer_any_order, &run) == 0;
	bool balancer = writer && dp->cfg->tlb_enabled && run.n_workers > 1 &&
			pthread_create(&run.balancer, NULL, balancer_main, &run) == 0;
	if (writer)
		pthread_setname_np(run.writer, "edp-writer");
	if (balancer)
		pthread_setname_np(run.balancer, "edp-balancer");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (writer) {
		rc = read_loop(&run, stop, err);
	} else {
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "cannot start the datapath threads");
		atomic_store_explicit(&run.input_done, 1, memory_order_release);
	}
	for (uint32_t i = 0; i < started; i++)
		pthread_join(run.w[i].tid, NULL);
	if (writer)
		pthread_join(run.writer, NULL);
	atomic_store_explicit(&run.finished, 1, memory_order_release);
	if (balancer)
		pthread_join(run.balancer, NULL);
	refill(&run, false);
	if (!rc && run.write_rc) {
		rc = run.write_rc;
		if (err)
			*err = run.write_err;
	}
	teardown(&run);
	return rc;
}
