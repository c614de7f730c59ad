#include "edp_worker.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edp_parse.h"
#include "edp_ring.h"

#define RX_RING_SLOTS 1024

struct queue {
	struct edp_ring *rx;  /* reader -> owning worker */
	struct edp_ring *out; /* owning worker -> writer; holds all in flight */
};

struct run;

struct worker {
	pthread_t tid;
	struct run *run;
	struct edp_lane *lane;
	uint32_t *queues;
	uint32_t n_queues;
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
	pthread_t writer;
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

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;
	struct edp_mbuf *batch[EDP_BATCH];
	struct edp_lane *lane = w->lane;
	unsigned idle = 0;
	uint64_t mark = edp_stats_cycles();
	for (;;) {
		uint32_t did = 0;
		for (uint32_t i = 0; i < w->n_queues; i++) {
			struct queue *q = &run->q[w->queues[i]];
			uint32_t n = edp_ring_dequeue_burst(q->rx, (void **)batch, EDP_BATCH);
			if (!n)
				continue;
			uint64_t c0 = edp_stats_cycles();
			lane->idle_cycles += c0 - mark;
			edp_datapath_process_lane(run->dp, lane, batch, n);
			push_all(q->out, batch, n);
			mark = edp_stats_cycles();
			lane->busy_cycles += mark - c0;
			edp_datapath_publish_queue(run->dp, w->queues[i], lane->index, n, mark - c0);
			did += n;
		}
		if (did) {
			edp_datapath_publish_lane(run->dp, lane);
			idle = 0;
			continue;
		}
		if (atomic_load_explicit(&run->input_done, memory_order_acquire)) {
			uint32_t left = 0;
			for (uint32_t i = 0; i < w->n_queues; i++)
				left += edp_ring_count(run->q[w->queues[i]].rx);
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
	atomic_store_explicit(&w->done, 1, memory_order_release);
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

/* Give the writer's mbufs back to their pools, waiting until each pool has
 * at least one (the reader allocates one per packet read). */
static void refill(struct run *run, bool wait)
{
	struct edp_datapath *dp = run->dp;
	void *objs[64];
	unsigned idle = 0;
	for (;;) {
		uint32_t n;
		while ((n = edp_ring_dequeue_burst(run->free, objs, 64)) > 0)
			edp_mbuf_free_bulk((struct edp_mbuf **)objs, n);
		bool ok = edp_mbuf_pool_available(dp->small) && (!dp->large || edp_mbuf_pool_available(dp->large));
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
		for (; n < EDP_BATCH; n++) {
			refill(run, true);
			if (!edp_datapath_pick(dp, stop, &batch[n], &rc, err))
				break;
		}
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
	for (uint32_t i = 0; run->w && i < run->n_workers; i++)
		free(run->w[i].queues);
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
	run->q = calloc(run->n_queues ? run->n_queues : 1, sizeof(*run->q));
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
		struct worker *w = &run->w[i];
		w->run = run;
		w->lane = &dp->lanes[i];
		w->queues = calloc(run->n_queues ? run->n_queues : 1, sizeof(uint32_t));
		if (!w->queues)
			return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	}
	for (uint32_t q = 0; q < run->n_queues; q++) { /* round robin */
		struct worker *w = &run->w[q % run->n_workers];
		w->queues[w->n_queues++] = q;
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
	for (; started < run.n_workers; started++)
		if (pthread_create(&run.w[started].tid, NULL, worker_main, &run.w[started]))
			break;
	bool writer = started == run.n_workers &&
		      pthread_create(&run.writer, NULL, run.ordered ? writer_ordered : writer_any_order, &run) == 0;
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
	refill(&run, false);
	if (!rc && run.write_rc) {
		rc = run.write_rc;
		if (err)
			*err = run.write_err;
	}
	teardown(&run);
	return rc;
}
