#include "edp_worker.h"

#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edp_clock.h"
#include "edp_doorbell.h"
#include "edp_publish.h"
#include "edp_ring.h"
#include "edp_tlb.h"
#include "edp_worker_impl.h"

/* A sleeping worker is woken once this many packets wait for it (or when
 * the thread feeding it runs dry): a context switch per batch would cost
 * more than the batch. */
#define WAKE_AT 128
#define SLEEP_NS 1000000ull /* longest sleep: idle time is published this often */
#define SPIN_PAUSES 16      /* pauses between two looks for work while polling (~0.5 us) */
#define WRITE_MAX 128       /* packets written per turn before a worker's queues come first again */
#define WRITE_BEHIND RX_RING_SLOTS /* processed packets waiting: the reader writes too */

/* An idle thread: poll for spin_ns since it ran dry (*idle_since), then
 * sleep on its doorbell unless ready(w) says work arrived after it announced
 * itself. Returns whether it slept. */
static bool idle_wait(struct worker *w, uint64_t *idle_since, bool (*ready)(struct worker *))
{
	uint64_t now = edp_clock_ns(CLOCK_MONOTONIC);
	if (!*idle_since)
		*idle_since = now;
	if (now - *idle_since < w->run->spin_ns) {
#if defined(__x86_64__) || defined(__i386__)
		for (int i = 0; i < SPIN_PAUSES; i++)
			__builtin_ia32_pause();
#endif
		return false;
	}
	uint32_t ticket = edp_doorbell_prepare(&w->bell);
	if (ready(w)) {
		edp_doorbell_cancel(&w->bell);
	} else if (atomic_load_explicit(&w->run->live_idle, memory_order_relaxed)) {
		/* a long wait, the counters told first (its timeout would be
		 * their next chance): the reader waits for its inputs (what its
		 * bell brings, it sees at the bound), a worker for a ring (the
		 * reader's when it has packets or runs dry, a stop's, a queue
		 * moved to it) */
		if (w->index == 0)
			edp_doorbell_cancel(&w->bell);
		edp_publish_lane(w->run->dp, w->lane, true);
		if (w->index == 0)
			edp_inputs_wait(&w->run->dp->in, w->run->stop, EDP_LIVE_WAIT_NS);
		else
			edp_doorbell_wait(&w->bell, ticket, EDP_LIVE_WAKE_WAIT_NS);
	} else {
		edp_doorbell_wait(&w->bell, ticket, SLEEP_NS);
	}
	return true;
}

/* Wake a thread that sleeps on db once WAKE_AT packets wait for it on
 * ring r. The ring is counted only for a sleeper: a count reads the other
 * side's index, a line that moves with every burst. */
static inline void nudge(struct edp_doorbell *db, struct edp_ring *r)
{
	if (edp_doorbell_waiting(db) && edp_ring_count(r) >= WAKE_AT)
		edp_doorbell_wake(db);
}

static void wake_all(struct run *run)
{
	for (uint32_t i = 0; i < run->n_workers; i++)
		edp_doorbell_ring(&run->w[i].bell);
}

/* Ask for the first buffer line of n received packets, which the reader
 * wrote last. For reading: the reader's copy stays valid, so that writing
 * the packet out on the reader's core (it writes about half) and filling
 * the buffer again there do not have to fetch it back; a rewrite (the
 * router's) takes the line when it stores (-t 2 with 1,000 rules: 0.779x
 * -> 0.765x of tcpdump, tests/bench/ab 25). Not their descriptors: the
 * worker's own lines, set up as they are taken (a prefetch of each cost
 * more than it saved: 1.5%). */
static inline void prefetch_buffers(struct edp_mbuf *const *m, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		__builtin_prefetch(edp_mbuf_buf(m[i]));
}

/* Ask for the lines of the packets next on q's receive ring (the batch
 * after the one just taken) and of their entries beside it, so that they
 * arrive from the core that last wrote them while this batch is handled: a
 * batch's own prefetch, issued just before use, left the first packets
 * waiting the whole cross-core latency. */
static void prefetch_next_rx(struct queue *q)
{
	struct edp_mbuf *next[EDP_BATCH];
	uint32_t n = edp_ring_peek(q->rx, (void **)next, EDP_BATCH);
	prefetch_buffers(next, n);
	edp_ring_prefetch_entries(q->rx, q->meta, sizeof(*q->meta), edp_ring_consumer_slot(q->rx), n, false);
}

/* The reader: ask for the lines of the n slots of q it fills next and of
 * their entries beside them, last read by the worker: the stores of the
 * next batch then find them on this core. */
static void prefetch_free_rx(struct queue *q, uint32_t n)
{
	edp_ring_prefetch_free(q->rx, n);
	edp_ring_prefetch_entries(q->rx, q->meta, sizeof(*q->meta), edp_ring_producer_slot(q->rx), n, true);
}

/* The writer: the same for the packets next on q's out ring, whose bytes
 * (the first line of each buffer) and records beside the ring it reads. */
static void prefetch_next_out(struct queue *q)
{
	struct edp_mbuf *next[EDP_BATCH];
	uint32_t n = edp_ring_peek(q->out, (void **)next, EDP_BATCH);
	uint32_t at = edp_ring_consumer_slot(q->out);
	for (uint32_t i = 0; i < n; i++)
		__builtin_prefetch(edp_mbuf_buf(next[i]));
	edp_ring_prefetch_entries(q->out, q->out_rec, sizeof(*q->out_rec), at, n, false);
	edp_ring_prefetch_entries(q->out, q->out_ports, sizeof(*q->out_ports), at, n, false);
}

/* Rings sized for everything in flight never fill up. */
static void push_sized(struct edp_ring *r, void *const *objs, uint32_t n)
{
	uint32_t k = edp_ring_enqueue_burst(r, objs, n);
	(void)k;
	assert(k == n);
}

/* Take the queues this worker owns, handing over the ones the balancer
 * moves. Returns how many it owns. */
static uint32_t my_queues(struct run *run, struct worker *w)
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
			edp_doorbell_ring(&run->w[to].bell);
			continue;
		}
		w->mine[n++] = i;
	}
	return n;
}

/* Reading and writing time: only its worker adds to it (the balancer reads). */
static inline void count_io(struct worker *w, uint64_t cycles)
{
	atomic_store_explicit(&w->io_cycles, atomic_load_explicit(&w->io_cycles, memory_order_relaxed) + cycles,
			      memory_order_relaxed);
}

/* The worker loop's phases (reading, processing, writing) share their clock
 * readings: *now is the cycle count at the start of a phase, and a phase
 * that did work leaves the count at its end there (the next one's start). */

/* A worker's turn takes a batch from each queue it owns (asking for the
 * batch's lines), writes if it may, and only then processes the batches:
 * the lines, last written on the reading core, arrive during the writing
 * instead of stalling the parser. The turn processes all it took before
 * the next one looks at who owns what, so a queue is still handed over
 * between two batches. Returns the packets taken. */
static uint32_t take_queues(struct run *run, struct worker *w)
{
	uint32_t did = 0, backlog = 0, owned = w->owned = my_queues(run, w);
	w->lane->n_queues = owned;
	for (uint32_t i = 0; i < owned; i++) {
		struct queue *q = &run->q[w->mine[i]];
		struct edp_mbuf **batch = w->taken + (size_t)i * EDP_BATCH;
		uint32_t n = w->taken_n[i] = edp_ring_peek(q->rx, (void **)batch, EDP_BATCH);
		if (!n)
			continue;
		prefetch_buffers(batch, n);
		/* the descriptors (this core's lines) set up before the slots are freed */
		uint32_t at = edp_ring_consumer_slot(q->rx), mask = edp_ring_capacity(q->rx) - 1;
		uint16_t port = q->port;
		for (uint32_t k = 0; k < n; k++) {
			edp_rx_meta_init(batch[k], &q->meta[(at + k) & mask], port);
		}
		edp_ring_skip(q->rx, n);
		prefetch_next_rx(q);
		uint32_t left = edp_ring_waiting(q->rx);
		backlog = left > backlog ? left : backlog;
		if (w->index && left <= RX_RING_SLOTS / 2 && edp_doorbell_waiting(&run->w[0].bell))
			edp_doorbell_wake(&run->w[0].bell); /* the reader waits for room */
		did += n;
	}
	atomic_store_explicit(&w->backlog, backlog, memory_order_relaxed);
	return did;
}

/* Process what take_queues took and queue it for the writer. */
static void process_taken(struct run *run, struct worker *w, uint64_t *now)
{
	for (uint32_t i = 0; i < w->owned; i++) {
		uint32_t n = w->taken_n[i];
		if (!n)
			continue;
		struct queue *q = &run->q[w->mine[i]];
		struct edp_mbuf **batch = w->taken + (size_t)i * EDP_BATCH;
		uint64_t c0 = *now;
		edp_lane_process(w->lane, batch, n);
		/* the ring holds all in flight; seeing the room also sees the
		 * writer done with the entries beside the slots */
		int room = edp_ring_has_room(q->out, n);
		assert(room);
		(void)room;
		for (uint32_t k = 0; k < n; k++) {
			uint32_t slot = edp_ring_stage(q->out, k, batch[k]);
			q->out_rec[slot] = edp_pcap_record_of(batch[k]);
			q->out_ports[slot] = batch[k]->out_ports;
		}
		edp_ring_publish(q->out, n);
		*now = edp_stats_cycles();
		uint64_t c = *now - c0;
		atomic_store_explicit(&q->cycles, atomic_load_explicit(&q->cycles, memory_order_relaxed) + c,
				      memory_order_relaxed);
		atomic_store_explicit(&q->packets, atomic_load_explicit(&q->packets, memory_order_relaxed) + n,
				      memory_order_relaxed);
		edp_publish_queue(run->dp, w->mine[i], w->lane->index, n, c);
	}
}

/* The writer role, in order: take q's next processed packet, if there is
 * one, with what its worker put beside the ring for the writer. */
static bool take_one(struct queue *q, struct edp_mbuf **m, struct edp_pcap_record *rec, uint64_t *ports,
		     uint16_t *in_port)
{
	if (!edp_ring_peek(q->out, (void **)m, 1))
		return false;
	uint32_t at = edp_ring_consumer_slot(q->out);
	*rec = q->out_rec[at];
	*ports = q->out_ports[at];
	*in_port = q->port;
	edp_ring_skip(q->out, 1);
	return true;
}

/* Write a batch (after a failed write: count it, edp_output.h) and hand
 * the mbufs back to the reader. */
static void write_batch(struct run *run, struct edp_mbuf **batch, const struct edp_pcap_record *rec,
			const uint64_t *ports, const uint16_t *in_ports, uint32_t in_step, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) /* another core may have processed them: all at once */
		__builtin_prefetch(rec[i].data);
	if (edp_output_emit(&run->dp->out, rec, ports, in_ports, in_step, n, &run->write_err) && !run->write_rc) {
		run->write_rc = EDP_ERR_RUNTIME;
		atomic_store_explicit(&run->abort, 1, memory_order_release);
	}
	push_sized(run->free, (void *const *)batch, n);
	nudge(&run->w[0].bell, run->free);
}

/* Ordered: packets leave in the order the reader recorded; the turn ends at
 * a packet still being processed. */
static uint32_t write_ordered(struct run *run)
{
	struct edp_mbuf *batch[EDP_BATCH];
	struct edp_pcap_record rec[EDP_BATCH];
	uint64_t ports[EDP_BATCH];
	uint16_t in_ports[EDP_BATCH];
	uint32_t did = 0;
	while (did < WRITE_MAX) {
		if (run->ids_pos == run->ids_n) {
			run->ids_n = edp_ring_dequeue_burst(run->order, run->ids, EDP_BATCH);
			run->ids_pos = 0;
			if (!run->ids_n)
				break;
		}
		uint32_t n = 0;
		while (run->ids_pos < run->ids_n &&
		       take_one(&run->q[(uintptr_t)run->ids[run->ids_pos] - 1], &batch[n], &rec[n], &ports[n],
				&in_ports[n])) {
			n++;
			run->ids_pos++;
		}
		if (!n)
			break;
		write_batch(run, batch, rec, ports, in_ports, 1, n);
		did += n;
	}
	return did;
}

/* Any order: a queue's packets are written from the records beside its
 * out ring as they are (in two runs where the ring wraps), freed after. */
static uint32_t write_any_order(struct run *run)
{
	struct edp_mbuf *batch[EDP_BATCH];
	uint32_t did = 0, n;
	do {
		n = 0;
		for (uint32_t i = 0; i < run->n_queues; i++) {
			struct queue *q = &run->q[i];
			uint32_t k = edp_ring_peek(q->out, (void **)batch, EDP_BATCH);
			if (!k)
				continue;
			uint32_t at = edp_ring_consumer_slot(q->out), size = edp_ring_capacity(q->out);
			uint32_t first = size - at < k ? size - at : k;
			write_batch(run, batch, q->out_rec + at, q->out_ports + at, &q->port, 0, first);
			if (first < k)
				write_batch(run, batch + first, q->out_rec, q->out_ports, &q->port, 0, k - first);
			edp_ring_skip(q->out, k);
			prefetch_next_out(q);
			n += k;
		}
		did += n;
	} while (n && did < WRITE_MAX);
	return did;
}

/* Take the writer role, unless another worker has it (wait for it when
 * `wait`), and write what is ready. Returns the packets written. */
static uint32_t write_turn(struct run *run, struct worker *w, bool wait, uint64_t *now)
{
	while (atomic_load_explicit(&run->writing, memory_order_relaxed) ||
	       atomic_exchange_explicit(&run->writing, true, memory_order_acquire)) {
		if (!wait)
			return 0;
		sched_yield(); /* the writer may need this core */
	}
	uint64_t c0 = *now;
	uint32_t did = run->ordered ? write_ordered(run) : write_any_order(run);
	run->unflushed |= did > 0;
	if (!did && run->unflushed && atomic_load_explicit(&run->live_idle, memory_order_relaxed)) {
		/* live inputs went quiet: what was written goes down the pipe now */
		run->unflushed = false;
		if (!run->write_rc && edp_output_flush(&run->dp->out, &run->write_err)) {
			run->write_rc = EDP_ERR_RUNTIME;
			atomic_store_explicit(&run->abort, 1, memory_order_release);
		}
	}
	atomic_store_explicit(&run->writing, false, memory_order_release);
	if (did) {
		*now = edp_stats_cycles();
		count_io(w, *now - c0);
		edp_doorbell_ring(&run->w[0].bell); /* the reader may wait for mbufs */
	}
	return did;
}

/* The reader role (worker 0): give written mbufs back to their pools.
 * Returns how many came back. */
static uint32_t refill(struct run *run)
{
	void *objs[64];
	uint32_t n, got = 0;
	while ((n = edp_ring_dequeue_burst(run->free, objs, 64)) > 0) {
		edp_mbuf_free_bulk((struct edp_mbuf **)objs, n);
		got += n;
	}
	return got;
}

/* Refill, then (after a batch, or when mbufs came back) ask for the mbufs
 * the next batch takes first: the top of the free stacks, which nothing
 * changes until the next refill, their lines last written on the writer's
 * core (the allocations ask for the rest as they go). */
static void refill_and_prefetch(struct run *run, bool after_batch)
{
	struct edp_datapath *dp = run->dp;
	if (!refill(run) && !after_batch)
		return;
	for (uint32_t i = 0; i < dp->n_pools; i++)
		for (int c = EDP_POOL_TINY; c <= EDP_POOL_SMALL; c++) /* a large packet is rare */
			edp_mbuf_pool_prefetch(dp->pools[i].of[c]);
}

/* Can a batch be read: the mbufs its reading may take in each pool and
 * room for a batch on every rx ring? */
static bool can_read(struct run *run)
{
	struct edp_datapath *dp = run->dp;
	for (uint32_t i = 0; i < dp->n_pools; i++)
		if (!edp_pools_have(&dp->pools[i], edp_inputs_read_room(&dp->in)))
			return false;
	for (uint32_t i = 0; i < run->n_queues; i++)
		if (!edp_ring_has_room(run->q[i].rx, EDP_BATCH))
			return false;
	return true;
}

/* Read a batch and spread it over the queues by RSS hash. Returns the
 * packets read; at the end of the inputs it marks the input done. */
static uint32_t read_batch(struct run *run, struct worker *w, uint64_t *now)
{
	struct edp_datapath *dp = run->dp;
	if (!can_read(run)) {
		refill_and_prefetch(run, false);
		if (!can_read(run))
			return 0;
	}
	uint64_t c0 = *now;
	struct edp_mbuf *batch[EDP_BATCH];
	struct edp_rx_meta meta[EDP_BATCH];
	uint32_t qid[EDP_BATCH], n;
	int got = edp_inputs_pick_burst(&dp->in, run->stop, batch, meta, qid, EDP_BATCH, &n, &run->read_rc,
					run->read_err);
	int idle = n == 0 && got == EDP_PICK_IDLE;
	if (idle != atomic_load_explicit(&run->live_idle, memory_order_relaxed)) /* written when it flips */
		atomic_store_explicit(&run->live_idle, idle, memory_order_relaxed);
	if (idle) {
		edp_publish_rx(dp); /* the interfaces' drops, now that a burst is over */
		*now = edp_stats_cycles();
		count_io(w, *now - c0);
		return 0;
	}
	if (n == 0) {
		atomic_store_explicit(&run->input_done, 1, memory_order_release);
		wake_all(run);
		return 0;
	}
	if (run->ordered) {
		void *ids[EDP_BATCH];
		for (uint32_t i = 0; i < n; i++)
			ids[i] = (void *)(uintptr_t)(qid[i] + 1);
		push_sized(run->order, ids, n);
	}
	edp_publish_rx(dp);
	/* each packet straight into the next slot of its queue (and its entry
	 * beside it), in input order; each queue published once (can_read saw
	 * room for a batch on every ring) */
	uint32_t used[EDP_BATCH], n_used = 0, *staged = run->staged;
	for (uint32_t i = 0; i < n; i++) {
		struct queue *q = &run->q[qid[i]];
		uint32_t k = staged[qid[i]]++;
		if (k == 0)
			used[n_used++] = qid[i];
		q->meta[edp_ring_stage(q->rx, k, batch[i])] = meta[i];
	}
	for (uint32_t k = 0; k < n_used; k++) {
		struct queue *q = &run->q[used[k]];
		edp_ring_publish(q->rx, staged[used[k]]);
		prefetch_free_rx(q, staged[used[k]]); /* as many as this batch: the next one's likely share */
		staged[used[k]] = 0;
		int32_t owner = atomic_load_explicit(&q->owner, memory_order_relaxed);
		if (owner)
			nudge(&run->w[owner].bell, q->rx);
	}
	refill_and_prefetch(run, true);
	*now = edp_stats_cycles();
	count_io(w, *now - c0);
	return n;
}

/* Do at least `n` processed packets wait for a writer? (Counts the out
 * rings until it knows: each count reads the other sides' lines.) */
static bool out_waiting(struct run *run, uint32_t n)
{
	uint32_t waiting = 0;
	for (uint32_t i = 0; i < run->n_queues && waiting < n; i++)
		waiting += edp_ring_count(run->q[i].out);
	return waiting >= n;
}

/* Who writes: the writer role goes where there is time for it. A worker
 * whose queues back up leaves it to the others; the reader takes it when
 * it could not read (a full ring, no mbufs) or when WRITE_BEHIND processed
 * packets wait for a writer: a worker that falls behind fills its ring,
 * holds the mbufs or leaves its output waiting, and so hands the reader
 * the writing, while a reader that is the slower side rarely writes (and
 * rarely pulls the packets' lines back from the worker's core). Large
 * packets make writing the bigger part of the work (IMIX: the worker
 * wrote, the reader idled). */
static bool backed_up(const struct worker *w)
{
	return atomic_load_explicit(&w->backlog, memory_order_relaxed) >= RX_RING_SLOTS / 4;
}

static bool may_write(struct run *run, struct worker *w, uint32_t read)
{
	if (run->n_workers == 1 || atomic_load_explicit(&run->input_done, memory_order_relaxed))
		return true;
	if (w->index)
		return !backed_up(w);
	return !read || out_waiting(run, WRITE_BEHIND);
}

static bool rx_drained(struct run *run)
{
	for (uint32_t i = 0; i < run->n_queues; i++)
		if (edp_ring_count(run->q[i].rx))
			return false;
	return true;
}

/* Work for an idle worker: packets on a queue it owns, a queue to hand
 * over, the end of the input; for the reader also mbufs or room to read;
 * for the others output to write, but only while nobody writes: a worker
 * that cannot take the writer role would poll on without sleeping, on the
 * CPU the writer or the reader needs (-t 4 on two CPUs: 0.95 s where it
 * takes 0.18 s). */
static bool worker_ready(struct worker *w)
{
	struct run *run = w->run;
	bool done = atomic_load_explicit(&run->input_done, memory_order_acquire);
	if (done && rx_drained(run))
		return true;
	if (w->index == 0 && !done && (edp_ring_count(run->free) || can_read(run)) &&
	    !atomic_load_explicit(&run->live_idle, memory_order_relaxed))
		return true;
	if (w->index && !atomic_load_explicit(&run->writing, memory_order_relaxed) && out_waiting(run, 1))
		return true; /* output to write, and the writer role free to take */
	for (uint32_t i = 0; i < run->n_queues; i++) {
		struct queue *q = &run->q[i];
		if (atomic_load_explicit(&q->owner, memory_order_acquire) == (int32_t)w->index &&
		    (edp_ring_count(q->rx) || atomic_load_explicit(&q->move_to, memory_order_relaxed) >= 0))
			return true;
	}
	return false;
}

/* A worker's life: read (worker 0 only), process its queues, write when the
 * writer role is free; sleep when there is nothing to do. Every cycle counts
 * as busy or idle. It ends when the input is done and every queue drained,
 * with a last turn at writing. */
static void serve(struct worker *w)
{
	struct run *run = w->run;
	struct edp_lane *lane = w->lane;
	uint64_t idle_since = 0; /* 0: busy */
	uint64_t now = edp_stats_cycles();
	for (;;) {
		uint64_t c0 = now;
		uint32_t did = 0, read = 0;
		if (w->index == 0 && !atomic_load_explicit(&run->input_done, memory_order_relaxed)) {
			if (atomic_load_explicit(&run->abort, memory_order_acquire)) { /* the run has failed anyway */
				atomic_store_explicit(&run->input_done, 1, memory_order_release);
				wake_all(run);
			} else {
				read = read_batch(run, w, &now);
				did += read;
			}
		}
		uint32_t taken = take_queues(run, w);
		if (may_write(run, w, read))
			did += write_turn(run, w, false, &now);
		process_taken(run, w, &now);
		did += taken;
		if (did) {
			lane->busy_cycles += now - c0;
			edp_publish_lane(run->dp, lane, false);
			idle_since = 0;
			continue;
		}
		if (!idle_since) /* run dry: whatever was held back for a batch goes on */
			wake_all(run);
		if (atomic_load_explicit(&run->input_done, memory_order_acquire) && rx_drained(run))
			break;
		bool slept = idle_wait(w, &idle_since, worker_ready);
		now = edp_stats_cycles();
		lane->idle_cycles += now - c0;
		if (slept) /* idle time shows too */
			edp_publish_lane(run->dp, lane, false);
	}
	now = edp_stats_cycles();
	while (write_turn(run, w, true, &now)) /* a turn writes WRITE_MAX at most */
		;
	edp_publish_lane(run->dp, lane, true);
}

static void settle(struct worker *w)
{
	struct run *run = w->run;
	bool owns = false;
	for (uint32_t i = 0; i < run->n_queues && !owns; i++)
		owns = atomic_load_explicit(&run->q[i].owner, memory_order_relaxed) == (int32_t)w->index;
	struct edp_datapath *dp = run->dp;
	edp_lane_place(w->lane, &dp->topo, dp->worker_cpu[w->index], dp->worker_node[w->index], owns);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	settle(w);
	serve(w);
	atomic_store_explicit(&w->done, 1, memory_order_release);
	wake_all(w->run);
	return NULL;
}

/* Descriptors in the reader's pools now. */
static uint32_t mbufs_free(const struct edp_datapath *dp)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < dp->n_pools; i++)
		for (int c = 0; c < EDP_POOL_CLASSES; c++)
			n += dp->pools[i].of[c] ? edp_mbuf_pool_available(dp->pools[i].of[c]) : 0;
	return n;
}

/* Zeroed memory on lines of its own: what one thread writes on every turn
 * must not share a line with what another reads (a malloc'ed neighbour). */
static void *own_lines(size_t size)
{
	size = size ? (size + 63) & ~(size_t)63 : 64;
	void *p = aligned_alloc(64, size);
	if (p)
		memset(p, 0, size);
	return p;
}

static void teardown(struct run *run)
{
	for (uint32_t i = 0; run->q && i < run->n_queues; i++) {
		free(run->q[i].meta);
		free(run->q[i].out_rec);
		free(run->q[i].out_ports);
		edp_ring_destroy(run->q[i].rx);
		edp_ring_destroy(run->q[i].out);
	}
	for (uint32_t i = 0; run->w && i < run->n_workers; i++) {
		free(run->w[i].mine);
		free(run->w[i].taken);
		free(run->w[i].taken_n);
	}
	free(run->q);
	free(run->w);
	free(run->staged);
	edp_ring_destroy(run->order);
	edp_ring_destroy(run->free);
}

static int setup(struct run *run, struct edp_datapath *dp, struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	run->dp = dp;
	run->ordered = cfg->ordered;
	run->n_workers = cfg->threads;
	run->n_queues = dp->in.n * dp->in.queues_per_port;
	/* a thread per CPU polls 2 ms before it sleeps (waking a sleeping vCPU
	 * is slow); with more threads than CPUs polling takes a busy thread's
	 * time: none (-t 4 on two CPUs: 0.18 s with 20 us, 0.14 s without) */
	run->spin_ns = run->n_workers <= dp->topo.n_cpus ? 2000000 : 0;
	uint32_t in_flight = mbufs_free(dp);
	run->in_flight = in_flight;
	size_t qsize = (run->n_queues ? run->n_queues : 1) * sizeof(*run->q); /* a multiple of 64 */
	size_t wsize = run->n_workers * sizeof(*run->w);                      /* as well */
	run->q = aligned_alloc(64, qsize);
	run->w = aligned_alloc(64, wsize);
	run->staged = own_lines(run->n_queues * sizeof(uint32_t));
	if (!run->q || !run->w || !run->staged)
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	memset(run->q, 0, qsize);
	memset(run->w, 0, wsize);
	for (uint32_t i = 0; i < run->n_queues; i++) {
		struct queue *q = &run->q[i];
		q->port = dp->in.of[i / dp->in.queues_per_port].port;
		if (!(q->rx = edp_ring_create(RX_RING_SLOTS, err)) || !(q->out = edp_ring_create(in_flight, err)))
			return EDP_ERR_RUNTIME;
		if (!(q->meta = aligned_alloc(64, edp_ring_capacity(q->rx) * sizeof(*q->meta))) ||
		    !(q->out_rec = aligned_alloc(64, edp_ring_capacity(q->out) * sizeof(*q->out_rec))) ||
		    !(q->out_ports = aligned_alloc(64, edp_ring_capacity(q->out) * sizeof(*q->out_ports))))
			return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	}
	if (!(run->free = edp_ring_create(in_flight, err)) ||
	    (run->ordered && !(run->order = edp_ring_create(in_flight, err))))
		return EDP_ERR_RUNTIME;
	for (uint32_t i = 0; i < run->n_workers; i++) {
		struct worker *w = &run->w[i];
		edp_doorbell_init(&w->bell);
		w->run = run;
		w->lane = &dp->lanes[i];
		w->index = i;
		if (!(w->mine = own_lines(run->n_queues * sizeof(uint32_t))) ||
		    !(w->taken = own_lines(run->n_queues * EDP_BATCH * sizeof(*w->taken))) ||
		    !(w->taken_n = own_lines(run->n_queues * sizeof(uint32_t))))
			return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	}
	int32_t *owner = calloc(run->n_queues, sizeof(int32_t));
	if (!owner)
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	edp_tlb_place(dp->queue_node, dp->queue_pin, run->n_queues, dp->worker_node, run->n_workers, owner);
	for (uint32_t q = 0; q < run->n_queues; q++) {
		atomic_init(&run->q[q].owner, owner[q]);
		atomic_init(&run->q[q].move_to, -1);
	}
	free(owner);
	return 0;
}

int edp_worker_run(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	struct run run;
	memset(&run, 0, sizeof(run));
	atomic_init(&run.writing, false);
	if (setup(&run, dp, err)) {
		teardown(&run);
		return EDP_ERR_RUNTIME;
	}
	if (dp->log && run.n_workers > dp->topo.n_cpus) {
		char line[160];
		snprintf(line, sizeof(line), "%u threads on %u CPUs: they take turns, and an idle one sleeps at once instead "
			 "of polling", run.n_workers, dp->topo.n_cpus);
		dp->log(dp->log_ctx, line);
	}
	run.stop = stop;
	run.read_err = err;
	pthread_mutex_lock(&dp->moves_lock);
	dp->worker_run = &run;
	pthread_mutex_unlock(&dp->moves_lock);
	run.read_rc = edp_inputs_prime(&dp->in, stop, err);
	/* signals go to the calling thread (worker 0, the reader), whose
	 * blocking read they interrupt */
	sigset_t old;
	edp_datapath_block_stop_signals(&old);
	uint32_t started = 1;
	for (; started < run.n_workers; started++)
		if (edp_datapath_start_worker(&run.w[started].tid, worker_main, &run.w[started], started))
			break;
	bool balancer = started == run.n_workers && dp->cfg->tlb_enabled && run.n_workers > 1 &&
			pthread_create(&run.balancer, NULL, edp_balancer_main, &run) == 0;
	if (balancer)
		pthread_setname_np(run.balancer, "edp-balancer");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	int rc = 0;
	if (started == run.n_workers) {
		settle(&run.w[0]);
		serve(&run.w[0]);
		rc = run.read_rc;
	} else {
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "cannot start the datapath threads");
		atomic_store_explicit(&run.input_done, 1, memory_order_release);
		wake_all(&run);
	}
	for (uint32_t i = 1; i < started; i++)
		pthread_join(run.w[i].tid, NULL);
	uint64_t now = edp_stats_cycles();
	while (write_turn(&run, &run.w[0], true, &now)) /* all pushed now: the last of it */
		;
	atomic_store_explicit(&run.finished, 1, memory_order_release);
	pthread_mutex_lock(&dp->moves_lock);
	dp->worker_run = NULL;
	pthread_mutex_unlock(&dp->moves_lock);
	edp_doorbell_ring(&dp->balancer_bell);
	if (balancer)
		pthread_join(run.balancer, NULL);
	refill(&run);
	if (!rc && run.write_rc) {
		rc = run.write_rc;
		if (err)
			*err = run.write_err;
	}
	/* every packet read was written or dropped with a reason: a packet still
	 * out would be one lost without a count */
	uint32_t left = run.in_flight - mbufs_free(dp);
	if (!rc && left)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "internal error: %u packets still in the datapath at the end", left);
	teardown(&run);
	return rc;
}
