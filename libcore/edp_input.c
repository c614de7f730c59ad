#include "edp_input.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "edp_clock.h"
#include "edp_flow.h"
#include "edp_parse.h"

/* Where a read puts its packets: the input, and its receive queues
 * (first, first + 1, ..., first + rss_queues - 1). */
struct reading {
	struct edp_input *in;
	uint32_t first_queue, rss_queues;
};

/* A packet's buffer, from the right pool of its input (room for the read
 * was checked), filled from libpcap's copy. */
static inline struct edp_mbuf *fill_buffer(const struct edp_input *in, const struct edp_pcap_packet *pkt)
{
	struct edp_mbuf *m = edp_mbuf_alloc_buffer(edp_pools_for(in->pools, pkt->caplen));
	assert(m);
	memcpy(edp_mbuf_buf(m), pkt->data, pkt->caplen);
	return m;
}

/* What is known of a packet (time, lengths, and with more than one queue a
 * port its RSS hash, from libpcap's copy, hot in cache, and what the
 * hashing found out about the headers: enum edp_rx_flags) and its receive
 * queue, which it returns. */
static inline __attribute__((always_inline)) uint32_t rx_meta_of(const struct reading *rd,
								 const struct edp_pcap_packet *pkt,
								 struct edp_rx_meta *meta)
{
	*meta = (struct edp_rx_meta){ pkt->ts_ns, pkt->caplen, pkt->wire_len, 0, 0 };
	if (rd->rss_queues == 1)
		return rd->first_queue;
	bool plain;
	meta->rss_hash = edp_parse_rss_hash(pkt->data, pkt->caplen, pkt->wire_len, &plain);
	meta->rx_flags = (uint8_t)(EDP_RX_RSS | (plain ? EDP_RX_PLAIN_IPV4 : 0));
	return rd->first_queue + edp_flow_rss_queue(meta->rss_hash, rd->rss_queues);
}

/* A packet read, into its input's read-ahead. */
static inline void read_ahead(const struct reading *rd, const struct edp_pcap_packet *pkt)
{
	struct edp_input *in = rd->in;
	struct edp_read_ahead *a = &in->ahead[in->ahead_n++];
	a->m = fill_buffer(in, pkt);
	a->queue = rx_meta_of(rd, pkt, &a->meta);
}

/* A capture's read into the read-ahead (libpcap's callback, with it). */
struct ahead_burst {
	struct edp_pcap_burst burst; /* first: see edp_pcap_reader_dispatch */
	struct reading rd;
};

static void ahead_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct ahead_burst *b = (struct ahead_burst *)user;
	struct edp_pcap_packet pkt;
	edp_pcap_burst_take(user, h, data, &pkt);
	read_ahead(&b->rd, &pkt);
}

/* A burst of the only input, a capture, goes straight to the taker (there
 * is nothing to merge it with): its arrays as edp_inputs_pick_burst
 * fills them. */
struct solo_burst {
	struct edp_pcap_burst burst; /* first: see edp_pcap_reader_dispatch; n counts the burst */
	struct reading rd;
	struct edp_mbuf **mbufs;
	struct edp_rx_meta *meta;
	uint32_t *queues;
	uint64_t bytes;
};

static void solo_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct solo_burst *b = (struct solo_burst *)user;
	struct edp_pcap_packet pkt;
	edp_pcap_file_packet(h, data, &pkt);
	struct edp_mbuf *m = fill_buffer(b->rd.in, &pkt);
	uint32_t i = b->burst.n++; /* edp_pcap_burst_take's count, after the fill: 4 instructions a packet fewer */
	b->mbufs[i] = m;
	if (b->meta)
		b->queues[i] = rx_meta_of(&b->rd, &pkt, &b->meta[i]);
	else
		edp_mbuf_init(m, pkt.caplen, pkt.wire_len, pkt.ts_ns, b->rd.in->port);
	b->bytes += pkt.wire_len;
}

/* Read up to `max` packets of a capture, each handed to libpcap's callback
 * fn with b: at the end of a pass, with --loop, it opens the capture again
 * (a file without packets is not looped: that would spin forever). Returns
 * the packets read (0: the end) or -1 with err set. */
static int read_capture(struct edp_inputs *set, struct edp_input *in, uint32_t max, pcap_handler fn,
			struct edp_pcap_burst *b, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	if (!edp_pcap_reader_wait(in->reader, stop))
		return 0; /* stopped while the pipe brought nothing */
	int rc = edp_pcap_reader_dispatch(in->reader, max, fn, b, err);
	uint32_t loop = set->cfg->loop;
	while (rc == 0 && (loop == 0 || in->passes < loop) && !*stop && edp_pcap_reader_packets(in->reader)) {
		in->filtered += edp_pcap_reader_filtered(in->reader);
		in->framed += edp_pcap_reader_framed(in->reader);
		edp_pcap_reader_close(in->reader);
		in->reader = NULL;
		if (edp_input_open_reader(set, in, set->cfg->ports[in->port].rx, err))
			return -1;
		/* the buffers were sized by the first pass: a capture rewritten
		 * since (a FIFO, a rotated file) may not bring larger packets */
		if (edp_pcap_reader_snaplen(in->reader) > set->snaplen)
			return edp_error_set(err, EDP_ERR_RUNTIME,
					     "%s: pass %u: snapshot length %u is larger than the first pass's %u (--loop)",
					     set->cfg->ports[in->port].rx, in->passes + 1, edp_pcap_reader_snaplen(in->reader),
					     set->snaplen), -1;
		in->passes++;
		rc = edp_pcap_reader_dispatch(in->reader, max, fn, b, err);
	}
	return rc < 0 && *stop ? 0 : rc; /* a read a stop interrupted ends the input */
}

/* Read the input's next packets into its read-ahead (a capture: up to
 * EDP_READ_AHEAD records with one call into libpcap; a live source or a
 * vport: one if there is one now). Returns the records read, which may be
 * more than the read-ahead got when a filter rejected some (0: none now,
 * or the end), or -1 with err set. */
static int read_more(struct edp_inputs *set, struct edp_input *in, const volatile sig_atomic_t *stop,
		     struct edp_error *err)
{
	in->ahead_pos = in->ahead_n = 0;
	if (__builtin_expect(!edp_pools_have(in->pools, in->live ? 1 : EDP_READ_AHEAD), 0))
		return edp_error_set(err, EDP_ERR_RUNTIME, "packet pool exhausted"), -1;
	struct reading rd = { in, (uint32_t)(in - set->of) * set->queues_per_port, set->queues_per_port };
	if (__builtin_expect(in->live, 0)) {
		for (;;) { /* a vport's packets the filter rejects are passed over here (a reader's in it) */
			struct edp_pcap_packet pkt;
			int rc = in->vport ? edp_vport_peek(in->vport, &pkt, err) : edp_pcap_reader_read(in->reader, &pkt, err);
			if (rc != 1)
				return rc < 0 && !*stop ? -1 : 0; /* a vport's or a live reader's "nothing now" */
			bool take = !in->filter || edp_pcap_filter_takes(in->filter, &pkt);
			if (take)
				read_ahead(&rd, &pkt);
			if (in->vport)
				edp_vport_done(in->vport);
			if (take)
				return 1;
		}
	}
	struct ahead_burst b = { { 0 }, rd };
	return read_capture(set, in, EDP_READ_AHEAD, ahead_packet, &b.burst, stop, err);
}

/* An input without a lookahead gets its next packet as one: the next one
 * read ahead, or (when `may_read`) one of those read now. Only the buffer's lines were
 * written: the descriptor is set up when the packet is taken (pick_burst or
 * the worker). Returns 0 (with no lookahead at the end of a capture, or
 * when a live input has nothing now) or -1 with err set. */
static inline __attribute__((always_inline)) int advance(struct edp_inputs *set, struct edp_input *in,
							 bool may_read, const volatile sig_atomic_t *stop,
							 struct edp_error *err)
{
	while (in->ahead_pos == in->ahead_n) { /* again when the filter rejected all a read's records */
		int rc = may_read ? read_more(set, in, stop, err) : 0;
		if (rc <= 0)
			return rc;
	}
	in->next = &in->ahead[in->ahead_pos++];
	return 0;
}

int edp_inputs_prime(struct edp_inputs *set, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	if (set->solo) /* read at the first burst */
		return 0;
	for (uint32_t i = 0; i < set->n; i++) /* one that has a lookahead (a run resumed) keeps it */
		if (!set->of[i].next && advance(set, &set->of[i], true, stop, err) < 0)
			return EDP_ERR_RUNTIME;
	return 0;
}

/* The input whose lookahead packet is the earliest (the lowest index on a
 * tie), polling live inputs that have none; NULL when none has a packet
 * now, with *waiting telling whether a live input may still bring one. */
static struct edp_input *earliest(struct edp_inputs *set, const volatile sig_atomic_t *stop, int *rc,
				  bool *waiting, struct edp_error *err)
{
	struct edp_input *best = NULL;
	*waiting = false;
	for (uint32_t i = 0; i < set->n; i++) {
		struct edp_input *in = &set->of[i];
		if (__builtin_expect(in->live, 0) && !in->next && !in->done) {
			if (*rc || *stop)
				in->done = true;
			else if (advance(set, in, true, stop, err) < 0)
				in->done = true, *rc = EDP_ERR_RUNTIME;
			*waiting |= !in->next && !in->done;
		}
		if (in->next && (!best || in->next->meta.ts_ns < best->next->meta.ts_ns))
			best = in;
	}
	return best;
}

/* Until when `best` stays the earliest input, as far as the lookahead of
 * the others tells: its packets up to the returned time (inclusive) may be
 * taken one after the other. Another input wins a tie when it comes first. */
static uint64_t earliest_until(const struct edp_inputs *set, const struct edp_input *best)
{
	uint64_t until = UINT64_MAX;
	for (uint32_t i = 0; i < set->n; i++) {
		const struct edp_input *in = &set->of[i];
		if (in == best || !in->next)
			continue;
		uint64_t t = in->next->meta.ts_ns;
		if (in < best) /* it wins a tie */
			t = t ? t - 1 : 0;
		until = t < until ? t : until;
	}
	return until;
}

static inline bool suspended(const struct edp_inputs *set)
{
	return set->suspended && atomic_load_explicit(set->suspended, memory_order_relaxed);
}

int edp_inputs_pick_burst(struct edp_inputs *set, const volatile sig_atomic_t *stop, struct edp_mbuf **mbufs,
			  struct edp_rx_meta *meta, uint32_t *queues, uint32_t max, uint32_t *n_out, int *rc,
			  struct edp_error *err)
{
	if (__builtin_expect(suspended(set), 0) && !*stop) {
		*n_out = 0;
		return EDP_PICK_IDLE; /* the takers idle as with quiet live inputs: the writers flush */
	}
	if (set->cfg->count && set->cfg->count - set->taken < max)
		max = (uint32_t)(set->cfg->count - set->taken); /* 0: the count is reached, the inputs done */
	if (set->solo) {
		struct edp_input *in = &set->of[0];
		struct solo_burst b = { { 0 }, { in, 0, set->queues_per_port }, mbufs, meta, queues, 0 };
		if (!*rc && !*stop && max) {
			if (__builtin_expect(!edp_pools_have(in->pools, max), 0))
				*rc = edp_error_set(err, EDP_ERR_RUNTIME, "packet pool exhausted");
			else /* a pass of --loop that ends within the burst: the next one fills it (a
			      * pipe's short read is what it has now: taken as it is, unless the filter took none of it) */
				for (int got = 1; got > 0 && b.burst.n < max;)
					if ((got = read_capture(set, in, max - b.burst.n, solo_packet, &b.burst, stop, err)) < 0)
						*rc = EDP_ERR_RUNTIME;
					else if (edp_pcap_reader_pipe(in->reader) && b.burst.n)
						break;
		}
		set->taken += b.burst.n;
		set->rx[in->port].packets += b.burst.n;
		set->rx[in->port].bytes += b.bytes;
		*n_out = b.burst.n;
		if (__builtin_expect(!set->first_ns, 0) && b.burst.n) /* read by the control thread */
			__atomic_store_n(&set->first_ns, edp_clock_ns(CLOCK_MONOTONIC), __ATOMIC_RELAXED);
		return b.burst.n > 0;
	}
	uint32_t n = 0;
	int got = 1;
	while (n < max) {
		bool waiting;
		struct edp_input *best = earliest(set, stop, rc, &waiting, err);
		if (__builtin_expect(!best, 0)) {
			got = waiting ? EDP_PICK_IDLE : 0;
			break;
		}
		/* a live input is polled again before each packet; a capture goes
		 * on while it stays the earliest */
		uint64_t until = best->live ? 0 : earliest_until(set, best);
		/* after a stop request or a read error no input reads any more,
		 * but the packets already read are still delivered; a live input
		 * is polled at the next pick */
		bool live = best->live, may_read = !*rc;
		uint64_t packets = 0, bytes = 0; /* counted here, not through set */
		do {
			const struct edp_read_ahead *a = best->next; /* overwritten by the next read */
			if (meta) {
				meta[n] = a->meta;
				queues[n] = a->queue;
			} else
				edp_rx_meta_init(a->m, &a->meta, best->port);
			mbufs[n++] = a->m;
			best->next = NULL;
			packets++;
			bytes += a->meta.wire_len;
			if (live)
				break;
			if (advance(set, best, may_read && !*stop, stop, err) < 0) {
				*rc = EDP_ERR_RUNTIME;
				break;
			}
		} while (n < max && best->next && best->next->meta.ts_ns <= until);
		set->rx[best->port].packets += packets;
		set->rx[best->port].bytes += bytes;
	}
	*n_out = n;
	set->taken += n;
	if (max == 0)
		got = 0;
	if (__builtin_expect(!set->first_ns, 0) && n)
		__atomic_store_n(&set->first_ns, edp_clock_ns(CLOCK_MONOTONIC), __ATOMIC_RELAXED);
	return got;
}

/* The set's watch of its vports' doorbells, started at the first wait
 * that needs it; false when it cannot start (the vports are looked at). */
static bool watching(struct edp_inputs *set)
{
	struct edp_error e;
	if (!set->watch && !set->unwatched)
		set->unwatched = !(set->watch = edp_vport_watch_start(&e));
	return set->watch;
}

void edp_inputs_wait(struct edp_inputs *set, const volatile sig_atomic_t *stop, uint64_t timeout_ns)
{
	struct pollfd fds[EDP_MAX_PORTS + 2];
	nfds_t n = 0;
	struct edp_vport *vports[EDP_MAX_PORTS];
	uint32_t n_vports = 0;
	/* the kick before the looks at what it brings: one that comes after
	 * them ends the wait below */
	uint32_t kick = atomic_load_explicit(&set->kick, memory_order_seq_cst);
	int on = set->suspended ? atomic_load_explicit(set->suspended, memory_order_acquire) : 0;
	if (stop && *stop)
		return;
	if (on) { /* until resumed (edp_datapath_wake_inputs), or the timeout */
		struct timespec ts = { 0, (long)(timeout_ns < 999999999ull ? timeout_ns : 999999999ull) };
		syscall(SYS_futex, set->suspended, FUTEX_WAIT_PRIVATE, on, &ts, NULL, 0);
		return;
	}
	if (set->taken != set->taken_at_wait) { /* packets since the last wait: busy again */
		set->taken_at_wait = set->taken;
		set->idle_waits = 0;
	}
	bool pollable = true;
	for (uint32_t i = 0; i < set->n && pollable; i++) {
		const struct edp_input *in = &set->of[i];
		if (!in->live || in->done || in->next)
			continue;
		if (in->vport) {
			vports[n_vports++] = in->vport;
			continue;
		}
		int fd = in->reader ? edp_pcap_reader_pollfd(in->reader) : -1;
		pollable = fd >= 0;
		if (pollable)
			fds[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	/* what ends a wait besides its inputs (edp_inputs_wake) lets it be
	 * long: the kick, or the wake_fd among the sockets */
	uint64_t woken_wait = timeout_ns > EDP_LIVE_WAKE_WAIT_NS ? timeout_ns : EDP_LIVE_WAKE_WAIT_NS;
	if (pollable && n_vports && !n) { /* their producers ring */
		edp_vport_wait(vports, n_vports, &set->kick, kick, woken_wait);
		return;
	}
	int wake = -1, rung = -1; /* fds[wake]: the set's eventfd; fds[rung]: its watch's */
	bool short_poll = false;
	if (pollable && n_vports && n && set->idle_waits >= EDP_LIVE_POLL_FAST && watching(set)) {
		/* sockets and doorbells idle for 2 ms: the sockets polled, the
		 * doorbells slept on by the watch */
		edp_vport_watch_arm(set->watch, vports, n_vports);
		rung = (int)n;
		fds[n++] = (struct pollfd){ .fd = edp_vport_watch_fd(set->watch), .events = POLLIN };
	} else if (!pollable || n_vports || !n) {
		short_poll = true;
		/* sockets and doorbells (the sockets polled, the rings looked at
		 * when it ends), or a socket that cannot be polled: looked at
		 * every 50 us at first, every millisecond once they have been
		 * idle for 2 ms (without a watch) */
		timeout_ns = set->idle_waits < EDP_LIVE_POLL_FAST ? EDP_LIVE_POLL_NS : EDP_LIVE_POLL_IDLE_NS;
		set->idle_waits += set->idle_waits < EDP_LIVE_POLL_FAST;
		n = pollable ? n : 0;
	}
	if (n && set->wake_fd >= 0) {
		timeout_ns = short_poll ? timeout_ns : woken_wait;
		wake = (int)n;
		fds[n++] = (struct pollfd){ .fd = set->wake_fd, .events = POLLIN };
	}
	struct timespec ts = { (time_t)(timeout_ns / 1000000000ull), (long)(timeout_ns % 1000000000ull) };
	ppoll(fds, n, &ts, NULL); /* a signal ends it early, as it should */
	uint64_t count; /* a count another reader took: woken all the same */
	if (wake >= 0 && (fds[wake].revents & POLLIN) && read(set->wake_fd, &count, sizeof(count)) < 0)
		return;
	if (rung >= 0 && (fds[rung].revents & POLLIN) && read(fds[rung].fd, &count, sizeof(count)) < 0)
		return;
}

int edp_inputs_wakeable(struct edp_inputs *set, struct edp_error *err)
{
	if ((set->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, "eventfd: %s", strerror(errno)), EDP_ERR_RUNTIME;
	return 0;
}

void edp_inputs_wake(struct edp_inputs *set)
{
	atomic_fetch_add_explicit(&set->kick, 1, memory_order_seq_cst);
	syscall(SYS_futex, &set->kick, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	if (set->suspended) /* a suspended set sleeps on the flag */
		syscall(SYS_futex, set->suspended, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	uint64_t one = 1;
	if (set->wake_fd >= 0 && write(set->wake_fd, &one, sizeof(one)) < 0)
		return; /* the count is full: a wake is pending anyway */
}

int edp_input_open_reader(const struct edp_inputs *set, struct edp_input *in, const char *path, struct edp_error *err)
{
	if (!(in->reader = edp_pcap_reader_open(path, err)))
		return EDP_ERR_RUNTIME;
	return edp_pcap_reader_set_filter(in->reader, set->cfg->filter, err) ? EDP_ERR_USAGE : 0;
}

int edp_input_open_filter(const struct edp_inputs *set, struct edp_input *in, struct edp_error *err)
{
	if (set->cfg->filter && !(in->filter = edp_pcap_filter_new(set->cfg->filter, err)))
		return EDP_ERR_USAGE; /* or out of memory, said as such */
	return 0;
}

uint64_t edp_input_filtered(const struct edp_input *in)
{
	return in->filtered + (in->reader ? edp_pcap_reader_filtered(in->reader) : edp_pcap_filter_rejected(in->filter));
}

uint64_t edp_input_framed(const struct edp_input *in)
{
	return in->framed + (in->reader ? edp_pcap_reader_framed(in->reader) : 0);
}

int edp_pools_create(struct edp_pools *set, int32_t node, uint32_t n, uint32_t n_large, uint32_t snaplen,
		     struct edp_error *err)
{
	set->node = node;
	if (!(set->of[EDP_POOL_TINY] = edp_mbuf_pool_create_on(n, EDP_TINY_BUF, node, err)) ||
	    !(set->of[EDP_POOL_SMALL] = edp_mbuf_pool_create_on(n, EDP_SMALL_BUF, node, err)))
		return EDP_ERR_RUNTIME;
	if (snaplen > EDP_SMALL_BUF && !(set->of[EDP_POOL_LARGE] = edp_mbuf_pool_create_on(n_large, snaplen, node, err)))
		return EDP_ERR_RUNTIME;
	return 0;
}

void edp_pools_destroy(struct edp_pools *set)
{
	for (int c = 0; c < EDP_POOL_CLASSES; c++) {
		edp_mbuf_pool_destroy(set->of[c]);
		set->of[c] = NULL;
	}
}

void edp_inputs_close(struct edp_inputs *set)
{
	edp_vport_watch_stop(set->watch); /* before the rings it may look at go */
	set->watch = NULL;
	set->unwatched = false;
	if (set->wake_fd >= 0)
		close(set->wake_fd);
	set->wake_fd = -1;
	for (uint32_t i = 0; i < set->n; i++) {
		struct edp_input *in = &set->of[i];
		for (uint32_t k = in->ahead_pos - (in->next != NULL); k < in->ahead_n; k++) /* read, never taken */
			edp_mbuf_free_bulk(&in->ahead[k].m, 1);
		in->filtered = edp_input_filtered(in); /* the counts outlive the reader */
		in->framed = edp_input_framed(in);
		edp_pcap_reader_close(in->reader);
		edp_vport_close(in->vport);
		edp_pcap_filter_free(in->filter);
		in->reader = NULL;
		in->vport = NULL;
		in->filter = NULL;
		in->ahead_pos = in->ahead_n = 0;
		in->next = NULL;
	}
}
