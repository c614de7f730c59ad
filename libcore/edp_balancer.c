/* The Thread Load Balancer's thread and the pins (edp_datapath_pin): who
 * owns each receive queue of a threaded run. Both ask an owner to hand a
 * queue over (move_to) and never move it themselves; they take turns on
 * the datapath's moves_lock, which no datapath thread takes. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edp_clock.h"
#include "edp_tlb.h"
#include "edp_worker_impl.h"

/* A move's spread (and a saturated run's rate) measured over the intervals
 * after it: into its summary event (event >= 0) and its stats segment
 * event, and said, with the hold-off that follows. */
static void measured(struct edp_datapath *dp, const struct edp_tlb_verdict *v, int32_t event, uint64_t stats_event,
		     uint32_t intervals)
{
	if (dp->stats)
		edp_stats_event_measured(dp->stats, stats_event, (float)v->measured, (float)v->speedup);
	if (event >= 0) {
		dp->events[event].spread_measured = v->measured;
		dp->events[event].speedup_measured = v->speedup;
	}
	if (!dp->log)
		return;
	char line[240], rate[64] = "";
	if (v->speedup_predicted != 1)
		snprintf(rate, sizeof(rate), " (saturated: rate x%.2f predicted, x%.2f measured)", v->speedup_predicted,
			 v->speedup);
	snprintf(line, sizeof(line),
		 "balancer: the last move: predicted %.2f, measured %.2f over the next %u interval%s%s; %sholding off "
		 "%u interval%s",
		 v->predicted, v->measured, intervals, intervals == 1 ? "" : "s", rate,
		 v->delivered ? "" : "it did not deliver: ", v->hold, v->hold == 1 ? "" : "s");
	dp->log(dp->log_ctx, line);
}

/* The Thread Load Balancer: every interval, measure each queue's share of the
 * interval and its packets, each thread's reading and writing (a load that
 * stays where it is) and the packet rate, learn the threads' costs from the
 * interval after a move (edp_tlb_learn), plan (edp_tlb_plan), decide
 * (edp_tlb_decide) and, when worth it, ask the owners to hand the moved
 * queues over. */
void *edp_balancer_main(void *arg)
{
	struct run *run = arg;
	struct edp_datapath *dp = run->dp;
	const struct edp_config *cfg = dp->cfg;
	uint32_t nq = run->n_queues < EDP_TLB_MAX_QUEUES ? run->n_queues : EDP_TLB_MAX_QUEUES;
	uint64_t *last = calloc(2 * (nq + 1), sizeof(uint64_t)), *last_packets = last + nq + 1;
	uint64_t last_io[EDP_TLB_MAX_THREADS] = { 0 };
	/* this interval's queues, and those of the interval the last move was planned on */
	struct edp_tlb_queue *tq = calloc(2 * (nq + 1), sizeof(*tq)), *planned_on = tq + nq + 1;
	struct edp_tlb_plan *plan = malloc(sizeof(*plan));
	struct edp_tlb_threads threads;
	uint32_t nt = run->n_workers < EDP_TLB_MAX_THREADS ? run->n_workers : EDP_TLB_MAX_THREADS;
	edp_tlb_threads_init(&threads, nt);
	for (uint32_t t = 0; t < nt; t++)
		threads.numa[t] = dp->worker_node[t];
	bool learning = false; /* the first interval after a move teaches the threads' costs */
	const struct edp_tlb_policy policy = { cfg->tlb_threshold, cfg->tlb_min_improvement, cfg->tlb_min_gain,
					      cfg->tlb_sustain, cfg->tlb_verify, cfg->tlb_backoff, cfg->tlb_shift };
	struct edp_tlb_state hysteresis = { 0 };
	int32_t measuring = -1; /* the summary event of the move being measured */
	uint64_t stats_event = 0; /* its number in the stats segment */
	uint64_t t0 = edp_stats_cycles(), ns0 = edp_clock_ns(CLOCK_MONOTONIC);
	atomic_store(&dp->balancer_on, last && tq && plan);
	while (last && tq && plan && !atomic_load_explicit(&run->finished, memory_order_acquire)) {
		/* one interval, cut short when the run finishes or a rebalance is
		 * asked for now (edp_datapath_rebalance) */
		uint64_t until = edp_clock_ns(CLOCK_MONOTONIC) + (uint64_t)cfg->tlb_interval_ms * 1000000ull, now;
		uint32_t asked;
		while (!atomic_load_explicit(&run->finished, memory_order_acquire) &&
		       (asked = atomic_load(&dp->rebalance_asked)) == atomic_load(&dp->rebalance_answered) &&
		       (now = edp_clock_ns(CLOCK_MONOTONIC)) < until) {
			uint32_t ticket = edp_doorbell_prepare(&dp->balancer_bell);
			if (atomic_load_explicit(&run->finished, memory_order_acquire) ||
			    atomic_load(&dp->rebalance_asked) != atomic_load(&dp->rebalance_answered))
				edp_doorbell_cancel(&dp->balancer_bell);
			else
				edp_doorbell_wait(&dp->balancer_bell, ticket, until - now);
		}
		if (atomic_load_explicit(&run->finished, memory_order_acquire))
			break;
		asked = atomic_load(&dp->rebalance_asked);
		bool now_asked = asked != atomic_load(&dp->rebalance_answered);
		struct edp_rebalance_answer *ans = &dp->rebalance_answer;
		pthread_mutex_lock(&dp->moves_lock); /* the pins hold still until the plan is applied */
		uint64_t t1 = edp_stats_cycles(), ns1 = edp_clock_ns(CLOCK_MONOTONIC), packets = 0;
		bool pending = false;
		for (uint32_t i = 0; i < nq; i++) {
			struct queue *q = &run->q[i];
			uint64_t c = atomic_load_explicit(&q->cycles, memory_order_relaxed);
			uint64_t p = atomic_load_explicit(&q->packets, memory_order_relaxed);
			tq[i] = (struct edp_tlb_queue){ t1 > t0 ? (double)(c - last[i]) / (double)(t1 - t0) : 0,
							atomic_load_explicit(&q->owner, memory_order_acquire),
							dp->queue_node[i], dp->queue_pin[i] >= 0, p - last_packets[i] };
			last[i] = c;
			last_packets[i] = p;
			packets += tq[i].packets;
			pending |= atomic_load_explicit(&q->move_to, memory_order_relaxed) >= 0;
		}
		for (uint32_t t = 0; t < nt; t++) {
			uint64_t c = atomic_load_explicit(&run->w[t].io_cycles, memory_order_relaxed);
			threads.base[t] = t1 > t0 ? (double)(c - last_io[t]) / (double)(t1 - t0) : 0;
			last_io[t] = c;
		}
		double rate = ns1 > ns0 ? (double)packets * 1e9 / (double)(ns1 - ns0) : 0;
		t0 = t1;
		ns0 = ns1;
		if (now_asked)
			memset(ans, 0, sizeof(*ans));
		if (pending) { /* the last moves are not done yet: measure again first */
			pthread_mutex_unlock(&dp->moves_lock);
			if (now_asked) {
				snprintf(ans->reason, sizeof(ans->reason), "the moves of the last plan are not done yet");
				atomic_store_explicit(&dp->rebalance_answered, asked, memory_order_release);
			}
			continue;
		}
		if (learning)
			edp_tlb_learn(&threads, planned_on, tq, nq);
		learning = false;
		edp_tlb_plan(tq, nq, &threads, plan);
		struct edp_tlb_verdict verdict;
		char why[200];
		bool worth = edp_tlb_decide(&hysteresis, &policy, plan, rate, now_asked, &verdict, why, sizeof(why));
		if (verdict.ready)
			measured(dp, &verdict, measuring, stats_event, cfg->tlb_verify);
		if (verdict.shifted && dp->log) {
			char line[200];
			snprintf(line, sizeof(line), "balancer: the load shifted: %.0f%% of the packets are on other queues "
				 "than after the last move; no longer holding off", 100 * verdict.shift);
			dp->log(dp->log_ctx, line);
		}
		bool back = verdict.worse;
		if (back) { /* the owners before the last move, where no pin has moved them since */
			plan->moved = 0;
			for (uint32_t i = 0; i < nq; i++) {
				plan->owner[i] = dp->queue_pin[i] >= 0 ? tq[i].owner : planned_on[i].owner;
				plan->moved += plan->owner[i] != tq[i].owner;
			}
			plan->spread_after = hysteresis.spread_moved;
			plan->speedup = 1;
			worth = plan->moved > 0;
		} else if (worth) {
			memcpy(planned_on, tq, nq * sizeof(*tq));
			learning = true;
		}
		if (worth) {
			for (uint32_t i = 0; i < nq; i++)
				if (plan->owner[i] != tq[i].owner) {
					atomic_store_explicit(&run->q[i].move_to, plan->owner[i], memory_order_relaxed);
					edp_doorbell_ring(&run->w[tq[i].owner].bell); /* a sleeping owner hands it over */
				}
		}
		pthread_mutex_unlock(&dp->moves_lock);
		if (now_asked) {
			ans->spread_before = plan->spread_before;
			ans->spread_after = plan->spread_after;
		}
		if (!worth) {
			if (now_asked) {
				snprintf(ans->reason, sizeof(ans->reason), "%s", why);
				atomic_store_explicit(&dp->rebalance_answered, asked, memory_order_release);
			}
			continue;
		}
		char what[512];
		int head = back ? snprintf(what, sizeof(what), "back: ") : 0, len = head;
		for (uint32_t i = 0; i < nq; i++) {
			if (plan->owner[i] == tq[i].owner)
				continue;
			if (len < (int)sizeof(what))
				len += snprintf(what + len, sizeof(what) - (size_t)len, "%squeue %u (%s) %d->%d",
						len > head ? ", " : "", i, cfg->ports[dp->in.of[i / dp->in.queues_per_port].port].name,
						tq[i].owner, plan->owner[i]);
		}
		dp->rebalances++;
		dp->queues_moved += plan->moved;
		measuring = dp->n_events < EDP_SUMMARY_EVENTS && !back ? (int32_t)dp->n_events : -1;
		if (dp->n_events < EDP_SUMMARY_EVENTS) {
			struct edp_rebalance *e = &dp->events[dp->n_events++];
			e->spread_measured = -1;
			e->speedup = plan->speedup;
			e->speedup_measured = -1;
			e->at_s = (double)(edp_clock_ns(CLOCK_MONOTONIC) - dp->run_start_ns) / 1e9;
			e->moved = plan->moved;
			e->spread_before = plan->spread_before;
			e->spread_after = plan->spread_after;
			snprintf(e->what, sizeof(e->what), "%.*s", (int)sizeof(e->what) - 1, what);
		}
		if (dp->stats)
			stats_event = edp_stats_event(dp->stats, plan->moved, (float)plan->spread_before,
						      (float)plan->spread_after, (float)plan->speedup, what);
		if (dp->log) {
			char line[700];
			char speed[48] = "";
			if (plan->speedup != 1)
				snprintf(speed, sizeof(speed), ", rate x%.2f (saturated)", plan->speedup);
			if (back)
				snprintf(line, sizeof(line), "balancer: the last move left the run worse than before it: moved "
					 "%u queue%s %s; spread %.2f -> %.2f (before the last move)", plan->moved,
					 plan->moved == 1 ? "" : "s", what, plan->spread_before, plan->spread_after);
			else
				snprintf(line, sizeof(line), "balancer: moved %u queue%s: %s; spread %.2f -> %.2f%s",
					 plan->moved, plan->moved == 1 ? "" : "s", what, plan->spread_before,
					 plan->spread_after, speed);
			dp->log(dp->log_ctx, line);
		}
		if (now_asked) {
			ans->applied = true;
			ans->moved = plan->moved;
			snprintf(ans->what, sizeof(ans->what), "%s", what);
			snprintf(ans->reason, sizeof(ans->reason), "moved %u queue%s: spread %.2f -> %.2f planned", plan->moved,
				 plan->moved == 1 ? "" : "s", plan->spread_before, plan->spread_after);
			atomic_store_explicit(&dp->rebalance_answered, asked, memory_order_release);
		}
	}
	atomic_store(&dp->balancer_on, 0);
	free(last);
	free(tq);
	free(plan);
	return NULL;
}

/* edp_datapath_pin's checks: the queue number, the worker on cpu in *to
 * (-1 for none asked). */
static int pin_target(const struct edp_datapath *dp, uint32_t port, uint32_t queue, int32_t cpu, uint32_t *q,
		      int32_t *to, struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	uint32_t input = 0;
	while (input < dp->in.n && dp->in.of[input].port != port)
		input++;
	if (input == dp->in.n)
		return edp_error_set(err, EDP_ERR_USAGE, "port %s reads nothing: it has no receive queues",
				     cfg->ports[port].name);
	if (queue >= dp->in.queues_per_port)
		return edp_error_set(err, EDP_ERR_USAGE, "port %s has %u receive queue%s (0 to %u)", cfg->ports[port].name,
				     dp->in.queues_per_port, dp->in.queues_per_port == 1 ? "" : "s",
				     dp->in.queues_per_port - 1);
	*q = input * dp->in.queues_per_port + queue;
	*to = -1;
	for (uint32_t w = 0; cpu >= 0 && w < cfg->threads && *to < 0; w++)
		if (dp->worker_cpu[w] == cpu)
			*to = (int32_t)w;
	if (cpu < 0 || *to >= 0)
		return 0;
	char list[256] = "";
	size_t n = 0;
	for (uint32_t w = 0; w < cfg->threads && n < sizeof(list); w++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%d", w ? ", " : "", dp->worker_cpu[w]);
	return edp_error_set(err, EDP_ERR_USAGE, "no worker thread runs on cpu %d (workers run on %s)", cpu, list);
}

int edp_datapath_pin(struct edp_datapath *dp, uint32_t port, uint32_t queue, int32_t cpu,
		     struct edp_pin_answer *out, struct edp_error *err)
{
	pthread_mutex_lock(&dp->moves_lock);
	struct run *run = dp->worker_run;
	uint32_t q;
	int32_t to;
	int rc = run	      ? pin_target(dp, port, queue, cpu, &q, &to, err)
		 : dp->fanout ? edp_error_set(err, EDP_ERR_RUNTIME, "no queue moves: the workers read sockets of a "
							     "fanout group, which the kernel's hash feeds")
			      : edp_error_set(err, EDP_ERR_RUNTIME, "no worker threads run: %s",
					      dp->cfg->threads ? "the run is inline on one thread"
							       : "the run is inline (threads: 0)");
	if (!rc) {
		dp->queue_pin[q] = to;
		int32_t owner = atomic_load_explicit(&run->q[q].owner, memory_order_acquire);
		*out = (struct edp_pin_answer){ q, to, cpu, to >= 0 && owner != to };
		if (out->moved) {
			atomic_store_explicit(&run->q[q].move_to, to, memory_order_relaxed);
			edp_doorbell_ring(&run->w[owner].bell); /* a sleeping owner hands it over */
		}
	}
	pthread_mutex_unlock(&dp->moves_lock);
	return rc;
}

