#include "edp_replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edp_clock.h"
#include "edp_flow.h"
#include "edp_parse.h"
#include "edp_pcapio.h"
#include "edp_vport.h"

#define BUF_SIZE (262144 + 4) /* the largest snapshot length, and room for a VLAN push */
#define PROGRESS_NS 250000000ull
#define FLUSH_BEFORE_WAIT_NS 100000ull /* a wait longer than this hands the buffer over first */

/* A preloaded packet: its bytes live in the arena at `off`. */
struct stored {
	uint64_t ts_ns, off;
	uint32_t caplen, wire_len;
};

struct source {
	const struct edp_replay_config *cfg;
	struct edp_pcap_reader *readers[EDP_REPLAY_MAX_INPUTS];
	struct edp_mbuf *ahead[EDP_REPLAY_MAX_INPUTS]; /* merge: each input's next packet */
	struct edp_mbuf_pool *ahead_pool;
	uint32_t current;              /* in order: the input being read */
	bool new_segment;              /* the packet handed out first of a file or loop */
	struct edp_synth *synth;
	/* preload */
	bool from_memory;
	struct stored *stored;
	uint8_t *arena;
	uint64_t n_stored, cap_stored, arena_len, arena_cap, next_stored;
	bool nanosecond;
	uint32_t snaplen;
	uint64_t filtered, framed;     /* of the readers closed */
	const char *link;              /* the link type of a capture that was framed */
};

/* Input i opened through the filter expression; NULL with err set
 * (EDP_ERR_USAGE: the expression). */
static struct edp_pcap_reader *open_input(const struct edp_replay_config *cfg, uint32_t i, struct edp_error *err)
{
	struct edp_pcap_reader *r = edp_pcap_reader_open(cfg->inputs[i], err);
	if (r && edp_pcap_reader_set_filter(r, cfg->filter, err)) {
		edp_pcap_reader_close(r);
		return NULL;
	}
	return r;
}

/* Input i's reader closed, what it filtered and framed counted. */
static void close_input(struct source *s, uint32_t i)
{
	if (!s->readers[i])
		return;
	s->filtered += edp_pcap_reader_filtered(s->readers[i]);
	s->framed += edp_pcap_reader_framed(s->readers[i]);
	const char *link = edp_pcap_reader_link(s->readers[i]);
	if (link)
		s->link = !s->link || strcmp(s->link, link) == 0 ? link : "several";
	edp_pcap_reader_close(s->readers[i]);
	s->readers[i] = NULL;
}

static void close_readers(struct source *s)
{
	for (uint32_t i = 0; i < s->cfg->n_inputs; i++)
		close_input(s, i);
	if (s->ahead_pool)
		for (uint32_t i = 0; i < s->cfg->n_inputs; i++)
			if (s->ahead[i]) {
				edp_mbuf_free_bulk(&s->ahead[i], 1);
				s->ahead[i] = NULL;
			}
}

/* (Re)start the source at its first packet. */
static int source_open(struct source *s, struct edp_error *err)
{
	const struct edp_replay_config *cfg = s->cfg;
	s->new_segment = true;
	if (s->from_memory) {
		s->next_stored = 0;
		return 0;
	}
	if (cfg->synth) {
		edp_synth_destroy(s->synth);
		s->synth = edp_synth_create(&cfg->synth_spec, err);
		return s->synth ? 0 : EDP_ERR_RUNTIME;
	}
	close_readers(s);
	s->current = 0;
	for (uint32_t i = 0; i < cfg->n_inputs; i++) {
		if (!cfg->merge && i > 0)
			break; /* in order: each is opened when its turn comes */
		if (!(s->readers[i] = open_input(cfg, i, err)))
			return err ? err->status : EDP_ERR_RUNTIME;
	}
	return 0;
}

/* The next packet of the source into m. 1, 0 at the end, -1 on error. */
static int source_next(struct source *s, struct edp_mbuf *m, struct edp_error *err)
{
	const struct edp_replay_config *cfg = s->cfg;
	if (s->from_memory) {
		if (s->next_stored == s->n_stored)
			return 0;
		const struct stored *p = &s->stored[s->next_stored++];
		memcpy(m->data, s->arena + p->off, p->caplen);
		m->data_len = p->caplen;
		m->wire_len = p->wire_len;
		m->ts_ns = p->ts_ns;
		return 1;
	}
	if (cfg->synth)
		return edp_synth_next(s->synth, m);
	if (!cfg->merge) {
		for (;;) {
			int rc = edp_pcap_reader_next(s->readers[s->current], m, err);
			if (rc != 0 || s->current + 1 == cfg->n_inputs)
				return rc;
			close_input(s, s->current++);
			s->new_segment = true;
			if (!s->readers[s->current] && /* stdin is open already */
			    !(s->readers[s->current] = open_input(cfg, s->current, err)))
				return -1;
		}
	}
	/* merge: keep each input's next packet; hand out the earliest (the
	 * first input wins a tie, so equal times keep the order given) */
	for (uint32_t i = 0; i < cfg->n_inputs; i++) {
		if (s->ahead[i] || !s->readers[i])
			continue;
		if (edp_mbuf_alloc_bulk(s->ahead_pool, &s->ahead[i], 1) != 1)
			return edp_error_set(err, EDP_ERR_RUNTIME, "out of packet buffers"), -1;
		int rc = edp_pcap_reader_next(s->readers[i], s->ahead[i], err);
		if (rc <= 0) {
			edp_mbuf_free_bulk(&s->ahead[i], 1);
			s->ahead[i] = NULL;
			close_input(s, i);
			if (rc < 0)
				return -1;
		}
	}
	int best = -1;
	for (uint32_t i = 0; i < cfg->n_inputs; i++)
		if (s->ahead[i] && (best < 0 || s->ahead[i]->ts_ns < s->ahead[best]->ts_ns))
			best = (int)i;
	if (best < 0)
		return 0;
	struct edp_mbuf *a = s->ahead[best];
	memcpy(m->data, a->data, a->data_len);
	m->data_len = a->data_len;
	m->wire_len = a->wire_len;
	m->ts_ns = a->ts_ns;
	edp_mbuf_free_bulk(&s->ahead[best], 1);
	s->ahead[best] = NULL;
	return 1;
}

static int grow(void **p, uint64_t *cap, uint64_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	uint64_t n = *cap ? *cap : 4096;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* Read the whole source into memory. */
static int preload(struct source *s, struct edp_mbuf *m, struct edp_error *err)
{
	int rc;
	while ((rc = source_next(s, m, err)) == 1) {
		if (grow((void **)&s->stored, &s->cap_stored, s->n_stored + 1, sizeof(*s->stored)) ||
		    grow((void **)&s->arena, &s->arena_cap, s->arena_len + m->data_len, 1))
			return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory preloading packet %llu",
					     (unsigned long long)s->n_stored + 1);
		s->stored[s->n_stored++] = (struct stored){ m->ts_ns, s->arena_len, m->data_len, m->wire_len };
		memcpy(s->arena + s->arena_len, m->data, m->data_len);
		s->arena_len += m->data_len;
	}
	if (rc < 0)
		return EDP_ERR_RUNTIME;
	close_readers(s);
	s->from_memory = true;
	return 0;
}

static void source_close(struct source *s)
{
	close_readers(s);
	edp_mbuf_pool_destroy(s->ahead_pool);
	edp_synth_destroy(s->synth);
	free(s->stored);
	free(s->arena);
}

/* Distinct flows: an open-addressing set of 64-bit key hashes. */
struct flowset {
	uint64_t *slot;
	uint64_t n, cap;
	bool capped;
};

static uint64_t key_hash64(const struct edp_flow_key *k)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < sizeof(*k); i += 8) {
		h = (h ^ edp_flow_load64((const uint8_t *)k + i)) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 29;
	}
	return h ? h : 1;
}

static void flowset_add(struct flowset *fs, const struct edp_mbuf *m)
{
	if (fs->capped)
		return;
	if (fs->n * 2 >= fs->cap) {
		if (fs->cap >= 2ull * EDP_REPLAY_MAX_FLOWS) {
			fs->capped = true;
			return;
		}
		uint64_t ncap = fs->cap ? fs->cap * 2 : 1024;
		uint64_t *ns = calloc(ncap, sizeof(uint64_t));
		if (!ns) {
			fs->capped = true;
			return;
		}
		for (uint64_t i = 0; i < fs->cap; i++)
			if (fs->slot[i])
				for (uint64_t j = fs->slot[i] & (ncap - 1);; j = (j + 1) & (ncap - 1))
					if (!ns[j]) {
						ns[j] = fs->slot[i];
						break;
					}
		free(fs->slot);
		fs->slot = ns;
		fs->cap = ncap;
	}
	struct edp_flow_key key;
	struct edp_parse_result pr;
	edp_parse(m->data, m->data_len, m->wire_len, 0, &key, &pr);
	uint64_t h = key_hash64(&key);
	for (uint64_t j = h & (fs->cap - 1);; j = (j + 1) & (fs->cap - 1)) {
		if (fs->slot[j] == h)
			return;
		if (!fs->slot[j]) {
			fs->slot[j] = h;
			fs->n++;
			return;
		}
	}
}

/* Where packets go: a pcap writer (a file, stdout or live:IFACE) or a
 * vport. A paced live sink hands its batch over (a vport rings its
 * consumer) before every wait, so a frame on time leaves on time and a late
 * run goes out in batches. */
struct sink {
	struct edp_pcap_writer *w;
	bool live; /* an interface or a vport */
	struct edp_vport *vport;
};

#define VPORT_WAIT_NS 20000 /* a full vport is tried again this often */

/* Returns 0 when sent, 1 when dropped (a full vport, drop_when_full), 2 when
 * *stop came while waiting for room, -1 with err set. */
static int sink_send(struct sink *k, const struct edp_replay_config *cfg, const struct edp_mbuf *m,
		     const volatile sig_atomic_t *stop, struct edp_replay_result *res, struct edp_error *err)
{
	if (k->w)
		return edp_pcap_writer_write(k->w, m, err);
	bool waited = false;
	for (;;) {
		int rc = edp_vport_send(k->vport, m->data, m->data_len, m->wire_len, m->ts_ns, err);
		if (rc)
			return rc < 0 ? -1 : 0;
		if (cfg->drop_when_full) {
			res->dropped++;
			return 1;
		}
		if (*stop)
			return 2;
		edp_vport_ring(k->vport); /* a consumer asleep makes no room */
		if (!waited)
			res->retried++;
		waited = true;
		struct timespec ts = { 0, VPORT_WAIT_NS };
		nanosleep(&ts, NULL);
	}
}

static int sink_flush(struct sink *k, struct edp_error *err)
{
	if (k->vport)
		edp_vport_ring(k->vport);
	return k->w ? edp_pcap_writer_flush(k->w, err) : 0;
}

/* Returns 0, or -1 with err set when the last writes failed. Adds the
 * sends that waited for a full interface queue to res; what a failed
 * writer held is counted failed, not sent. */
static int sink_close(struct sink *k, struct edp_replay_result *res, struct edp_error *err)
{
	int rc = 0;
	if (k->w) {
		rc = edp_pcap_writer_flush(k->w, err);
		res->retried += edp_pcap_writer_retried(k->w);
		uint64_t accepted, written;
		edp_pcap_writer_counts(k->w, &accepted, &written, &res->bytes);
		res->failed += accepted - written;
		res->packets = written;
		if (edp_pcap_writer_close(k->w, rc ? NULL : err) < 0)
			rc = -1;
	}
	if (k->vport)
		edp_vport_ring(k->vport);
	edp_vport_close(k->vport);
	memset(k, 0, sizeof(*k));
	return rc;
}

static int sink_open(struct sink *k, const struct edp_replay_config *cfg, bool nano, uint32_t snaplen,
		     struct edp_error *err)
{
	if (cfg->vport_instance) {
		k->vport = edp_vport_attach(cfg->vport_instance, cfg->vport_port, err);
		k->live = true; /* rung before every wait, as a live writer is flushed */
		return k->vport ? 0 : EDP_ERR_RUNTIME;
	}
	char live[64];
	if (cfg->iface)
		snprintf(live, sizeof(live), "%s%s", EDP_LIVE_PREFIX, cfg->iface);
	k->w = edp_pcap_writer_open(cfg->iface ? live : cfg->output, nano || cfg->retime, snaplen, err);
	k->live = cfg->iface != NULL;
	return k->w ? 0 : EDP_ERR_RUNTIME;
}

static int check(const struct edp_replay_config *cfg, struct edp_error *err)
{
	if (!cfg->synth && cfg->n_inputs == 0)
		return edp_error_set(err, EDP_ERR_USAGE, "nothing to replay: name a capture, '-' for stdin, or --synth SPEC");
	if (cfg->synth && cfg->n_inputs)
		return edp_error_set(err, EDP_ERR_USAGE, "--synth replaces the captures: give one or the other");
	if (cfg->merge && cfg->n_inputs < 2)
		return edp_error_set(err, EDP_ERR_USAGE, "--merge needs two captures or more");
	for (uint32_t i = 0; i < cfg->n_inputs; i++) {
		if (strncmp(cfg->inputs[i], EDP_LIVE_PREFIX, strlen(EDP_LIVE_PREFIX)) == 0)
			return edp_error_set(err, EDP_ERR_USAGE, "%s: replays captures, not interfaces (a file of that name: ./%s)",
					     cfg->inputs[i], cfg->inputs[i]);
		if (cfg->output && edp_pcap_same_file(cfg->inputs[i], 0, cfg->output, 1))
			return edp_error_set(err, EDP_ERR_USAGE, "%s: is both a capture replayed and the output",
					     cfg->inputs[i]);
		if (strcmp(cfg->inputs[i], "-") != 0)
			continue;
		if (cfg->loops != 1 && !cfg->preload)
			return edp_error_set(err, EDP_ERR_USAGE, "stdin: cannot be read more than once (--loop without --preload)");
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(cfg->inputs[j], "-") == 0)
				return edp_error_set(err, EDP_ERR_USAGE, "stdin: named twice");
	}
	return 0;
}

static void finish(struct edp_replay_result *res, const struct edp_pace *pace, const struct flowset *fs)
{
	res->seconds = (double)edp_pace_elapsed_ns(pace) / 1e9;
	res->flows = fs->n;
	res->flows_capped = fs->capped;
	res->gap_p50_ns = edp_pace_percentile(&pace->gaps, 0.5);
	res->gap_p99_ns = edp_pace_percentile(&pace->gaps, 0.99);
	res->late_p50_ns = edp_pace_percentile(&pace->lateness, 0.5);
	res->late_p99_ns = edp_pace_percentile(&pace->lateness, 0.99);
}

int edp_replay_run(const struct edp_replay_config *cfg, const volatile sig_atomic_t *stop,
		   void (*progress)(void *ctx, const struct edp_replay_result *now), void *ctx,
		   struct edp_replay_result *res, struct edp_error *err)
{
	memset(res, 0, sizeof(*res));
	int rc = check(cfg, err);
	if (rc)
		return rc;
	struct source src = { .cfg = cfg };
	struct edp_pace *pace = calloc(1, sizeof(*pace));
	struct flowset fs = { 0 };
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(1, BUF_SIZE, err);
	struct edp_mbuf *m = NULL;
	struct sink sink = { 0 };
	if (!pace || !pool || edp_mbuf_alloc_bulk(pool, &m, 1) != 1 ||
	    (cfg->merge && !(src.ahead_pool = edp_mbuf_pool_create(cfg->n_inputs, BUF_SIZE, err)))) {
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		goto out;
	}
	edp_pace_init(pace, &cfg->pace);
	/* the output keeps the inputs' precision and snapshot length (the
	 * first of each, opened now: a missing one fails before anything is
	 * written) */
	bool nano = cfg->synth;
	uint32_t snaplen = cfg->synth ? 65535 : 0;
	for (uint32_t i = 0; i < cfg->n_inputs; i++) {
		struct edp_pcap_reader *r = open_input(cfg, i, err);
		if (!r) {
			rc = err ? err->status : EDP_ERR_RUNTIME;
			goto out;
		}
		nano |= edp_pcap_reader_nanosecond(r);
		if (edp_pcap_reader_snaplen(r) > snaplen)
			snaplen = edp_pcap_reader_snaplen(r);
		if (strcmp(cfg->inputs[i], "-") == 0)
			src.readers[i] = r; /* stdin opens once: keep it */
		else
			edp_pcap_reader_close(r);
	}
	if (cfg->rewrite.vlan_add >= 0)
		snaplen += 4;
	bool has_stdin = false;
	for (uint32_t i = 0; i < cfg->n_inputs; i++)
		has_stdin |= src.readers[i] != NULL;
	if (has_stdin) { /* read stdin from where it was opened, the files from their start */
		for (uint32_t i = 0; i < cfg->n_inputs; i++)
			if (!src.readers[i] && (cfg->merge || i == 0) &&
			    !(src.readers[i] = open_input(cfg, i, err))) {
				rc = EDP_ERR_RUNTIME;
				goto out;
			}
		src.new_segment = true;
	} else if (source_open(&src, err)) {
		rc = EDP_ERR_RUNTIME;
		goto out;
	}
	if (cfg->preload && (rc = preload(&src, m, err))) {
		if (!*stop)
			goto out;
		rc = 0; /* stopped while preloading: an empty output, nothing sent */
	}
	if ((rc = sink_open(&sink, cfg, nano, snaplen, err)))
		goto out;
	uint64_t ts_shift = 0, first_ts = 0, last_ts = 0, next_progress = edp_clock_ns(CLOCK_MONOTONIC) + PROGRESS_NS;
	for (uint64_t loop = 0; cfg->loops == 0 || loop < cfg->loops; loop++) {
		if (loop > 0 && source_open(&src, err)) {
			rc = EDP_ERR_RUNTIME;
			break;
		}
		res->loops++;
		uint64_t in_loop = 0;
		int got = 0;
		while (!*stop && (!cfg->limit || res->packets < cfg->limit) && (got = source_next(&src, m, err)) == 1) {
			/* a loop or a file whose times go back continues one mean gap
			 * after the last packet */
			in_loop++;
			if (src.new_segment && res->packets && m->ts_ns + ts_shift <= last_ts)
				ts_shift = last_ts + (last_ts - first_ts) / (res->packets > 1 ? res->packets - 1 : 1) -
					   m->ts_ns;
			src.new_segment = false;
			m->ts_ns += ts_shift;
			if (!res->packets)
				first_ts = m->ts_ns;
			last_ts = m->ts_ns;
			if (edp_rewrite_active(&cfg->rewrite) && edp_rewrite_apply(&cfg->rewrite, m, loop) < 0)
				res->rewrite_skipped++;
			uint64_t due = edp_pace_due(pace, m->ts_ns, m->wire_len);
			if (cfg->duration_ns && due >= pace->start_ns + cfg->duration_ns)
				goto done;
			if (due) {
				uint64_t now = edp_clock_ns(CLOCK_MONOTONIC);
				if (due > now + (sink.live ? 0 : FLUSH_BEFORE_WAIT_NS) && sink_flush(&sink, err) < 0) {
					rc = EDP_ERR_RUNTIME;
					goto done;
				}
				if (!edp_pace_wait(due, stop))
					goto done; /* stopped during the gap: this packet is not sent */
			}
			if (cfg->retime)
				m->ts_ns = edp_clock_ns(CLOCK_REALTIME);
			int sent = sink_send(&sink, cfg, m, stop, res, err);
			if (sent < 0) {
				res->failed++;
				rc = EDP_ERR_RUNTIME;
				goto done;
			}
			if (sent == 2)
				goto done;
			edp_pace_sent(pace, due);
			if (sent == 1)
				continue;
			res->packets++;
			res->bytes += m->wire_len;
			flowset_add(&fs, m);
			/* a paced run ends by its schedule (above): a packet due in time
			 * counts even when the machine sent it late; an unpaced one
			 * ends by the clock */
			if (cfg->duration_ns && !due && pace->last_departure - pace->start_ns >= cfg->duration_ns)
				goto done;
			if (progress && (res->packets & 255) == 0 && pace->last_departure >= next_progress) {
				next_progress = pace->last_departure + PROGRESS_NS;
				finish(res, pace, &fs);
				progress(ctx, res);
			}
		}
		if (got < 0) { /* unless a stop signal interrupted the read (a pipe that went quiet) */
			rc = *stop ? 0 : EDP_ERR_RUNTIME;
			break;
		}
		if (*stop || (cfg->limit && res->packets >= cfg->limit) || in_loop == 0)
			break; /* an empty source is not looped: that would spin forever */
	}
done:
	if (sink_close(&sink, res, rc ? NULL : err) < 0 && !rc)
		rc = EDP_ERR_RUNTIME;
	finish(res, pace, &fs);
out:
	sink_close(&sink, res, NULL);
	if (m)
		edp_mbuf_free_bulk(&m, 1);
	source_close(&src);
	res->filtered = src.filtered;
	res->framed = src.framed;
	res->link = src.link;
	edp_mbuf_pool_destroy(pool);
	free(fs.slot);
	free(pace);
	return rc;
}
