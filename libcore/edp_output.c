#include "edp_output.h"

#include <stdlib.h>
#include <string.h>

/* What a writer may hold, and what one call hands it on top */
#define SENT_RING (2 * EDP_PCAP_MAX_BUFFERED)
#define SENT_MASK (SENT_RING - 1)
_Static_assert((SENT_RING & SENT_MASK) == 0, "the ring of what a writer holds is a power of 2");

int edp_output_plan(struct edp_output *o, const struct edp_config *cfg, struct edp_error *err)
{
	o->n_ports = cfg->n_ports;
	for (uint32_t i = 0; i < cfg->n_ports; i++) {
		const char *tx = cfg->ports[i].tx;
		o->port_sink[i] = -1;
		if (!tx)
			continue;
		for (uint32_t j = 0; j < i; j++)
			if (cfg->ports[j].tx && strcmp(cfg->ports[j].tx, tx) == 0)
				o->port_sink[i] = o->port_sink[j];
		if (o->port_sink[i] >= 0)
			continue;
		uint32_t s = o->n_sinks;
		if (!(o->sent[s] = calloc(SENT_RING, sizeof(*o->sent[s]))))
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", tx);
		o->port_sink[i] = (int8_t)o->n_sinks++;
	}
	return 0;
}

int edp_output_open(struct edp_output *o, const struct edp_config *cfg, bool nanosecond, uint32_t snaplen,
		    struct edp_error *err)
{
	if (edp_output_plan(o, cfg, err))
		return EDP_ERR_RUNTIME;
	for (uint32_t i = 0; i < cfg->n_ports; i++) {
		int8_t s = o->port_sink[i];
		if (s >= 0 && !o->sinks[s] &&
		    !(o->sinks[s] = edp_pcap_writer_open(cfg->ports[i].tx, nanosecond, snaplen, err)))
			return EDP_ERR_RUNTIME;
	}
	return 0;
}

/* A packet that was to be written and was not. */
static void lose(struct edp_output *o, uint64_t serial, uint16_t in_port)
{
	if (o->n_lost == o->cap_lost) {
		uint32_t cap = o->cap_lost ? o->cap_lost * 2 : 1024;
		struct edp_output_lost *l = realloc(o->lost, cap * sizeof(*l));
		if (!l) { /* counted all the same, if perhaps twice (a flood's copies) */
			o->unwritten[in_port]++;
			return;
		}
		o->lost = l;
		o->cap_lost = cap;
	}
	o->lost[o->n_lost++] = (struct edp_output_lost){ serial, (uint8_t)in_port };
}

/* A copy counted as sent that did not reach its output. */
static void unsend(struct edp_output *o, const struct edp_output_sent *c)
{
	o->tx[c->out_port].packets--;
	o->tx[c->out_port].bytes -= c->wire_len;
	o->tx[c->out_port].errors++;
	lose(o, c->serial, c->in_port);
}

/* What sink s's writer took and has not written, now that it failed (or
 * was closed): counted lost, taken off the port's tx. */
static void settle(struct edp_output *o, uint32_t s)
{
	uint64_t accepted, written;
	edp_pcap_writer_counts(o->sinks[s], &accepted, &written, NULL);
	if (o->settled[s] < written)
		o->settled[s] = written;
	for (; o->settled[s] < accepted; o->settled[s]++)
		unsend(o, &o->sent[s][o->settled[s] & SENT_MASK]);
	o->taken[s] = accepted;
}

/* The outputs failed: packets from here on are counted, not written. */
static void count_unwritten(struct edp_output *o, uint64_t ports, uint64_t serial, uint16_t in_port)
{
	lose(o, serial, in_port);
	for (; ports; ports &= ports - 1)
		o->tx[__builtin_ctzll(ports)].errors++;
}

/* Hand records [i, i + n) to port p's writer, noting each as sent. */
static int hand_over(struct edp_output *o, unsigned p, const struct edp_pcap_record *rec, const uint16_t *in_ports,
		uint32_t in_step, uint32_t i, uint32_t n, uint64_t bytes, struct edp_error *err)
{
	uint32_t s = (uint32_t)o->port_sink[p];
	struct edp_output_sent *ring = o->sent[s];
	for (uint32_t k = 0; k < n; k++)
		ring[(o->taken[s] + k) & SENT_MASK] = (struct edp_output_sent){
			o->serial + i + k, rec[i + k].wire_len, (uint8_t)in_ports[(i + k) * in_step], (uint8_t)p
		};
	o->tx[p].packets += n;
	o->tx[p].bytes += bytes;
	if (__builtin_expect(edp_pcap_writer_write_records(o->sinks[s], rec + i, n, err) == 0, 1)) {
		o->taken[s] += n;
		return 0;
	}
	/* what it did not take is not written; nor is what it held */
	uint64_t accepted, written;
	edp_pcap_writer_counts(o->sinks[s], &accepted, &written, NULL);
	for (uint64_t k = accepted; k < o->taken[s] + n; k++)
		unsend(o, &ring[k & SENT_MASK]);
	settle(o, s);
	o->failed = true;
	return EDP_ERR_RUNTIME;
}

/* The ports' tx counters to the stats segment, where they changed. */
static void publish_tx(struct edp_output *o)
{
	for (uint32_t p = 0; p < o->n_ports; p++) {
		struct edp_stats_port_tx *b = edp_stats_port_tx(o->stats, p);
		if (b->tx_packets == o->tx[p].packets)
			continue;
		edp_stats_write_begin(&b->seq);
		b->tx_packets = o->tx[p].packets;
		b->tx_bytes = o->tx[p].bytes;
		edp_stats_write_end(&b->seq);
	}
}

int edp_output_emit(struct edp_output *o, const struct edp_pcap_record *rec, const uint64_t *out_ports,
		    const uint16_t *in_ports, uint32_t in_step, uint32_t n, struct edp_error *err)
{
	int rc = 0;
	for (uint32_t i = 0, next; i < n; i = next) {
		uint64_t ports = out_ports[i], bytes = rec[i].wire_len;
		next = i + 1;
		if (__builtin_expect(o->failed, 0)) {
			if (ports)
				count_unwritten(o, ports, o->serial + i, in_ports[i * in_step]);
			continue;
		}
		if (ports && !(ports & (ports - 1))) { /* to one port: with the packets after it that go there too */
			while (next < n && out_ports[next] == ports)
				bytes += rec[next++].wire_len;
			unsigned p = (unsigned)__builtin_ctzll(ports);
			if (hand_over(o, p, rec, in_ports, in_step, i, next - i, bytes, err))
				rc = EDP_ERR_RUNTIME;
			continue;
		}
		for (; ports; ports &= ports - 1) { /* flooded, mirrored: a copy to each port */
			unsigned p = (unsigned)__builtin_ctzll(ports);
			if (hand_over(o, p, rec, in_ports, in_step, i, 1, bytes, err)) {
				rc = EDP_ERR_RUNTIME; /* its copies still to go are missed too */
				count_unwritten(o, ports & (ports - 1), o->serial + i, in_ports[i * in_step]);
				break;
			}
		}
	}
	o->serial += n;
	if (o->stats)
		publish_tx(o);
	return rc ? rc : o->failed ? EDP_ERR_RUNTIME : 0;
}

int edp_output_emit_mbufs(struct edp_output *o, struct edp_mbuf **mbufs, uint32_t n, struct edp_error *err)
{
	struct edp_pcap_record rec[EDP_BATCH];
	uint64_t ports[EDP_BATCH];
	uint16_t in_ports[EDP_BATCH];
	int rc = 0;
	for (uint32_t base = 0; base < n; base += EDP_BATCH) {
		uint32_t count = n - base < EDP_BATCH ? n - base : EDP_BATCH;
		for (uint32_t k = 0; k < count; k++) {
			rec[k] = edp_pcap_record_of(mbufs[base + k]);
			ports[k] = mbufs[base + k]->out_ports;
			in_ports[k] = mbufs[base + k]->in_port;
		}
		if (edp_output_emit(o, rec, ports, in_ports, 1, count, err)) /* err: set by the first */
			rc = EDP_ERR_RUNTIME;
	}
	return rc;
}

int edp_output_stage_init(const struct edp_output *o, struct edp_output_stage *st, uint32_t packets, size_t bytes,
			  struct edp_error *err)
{
	memset(st, 0, sizeof(*st));
	for (uint32_t s = 0; s < o->n_sinks; s++) {
		struct edp_output_block *b = &st->of[s];
		b->refused = UINT32_MAX;
		b->nanosecond = edp_pcap_writer_nanosecond(o->sinks[s]);
		b->cap = bytes + 16 * (size_t)packets;
		b->cap_n = packets;
		if (!(b->bytes = malloc(b->cap)) || !(b->sent = malloc(packets * sizeof(*b->sent)))) {
			edp_output_stage_free(st);
			return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		}
	}
	return 0;
}

void edp_output_stage_free(struct edp_output_stage *st)
{
	for (uint32_t s = 0; s < EDP_MAX_PORTS; s++) {
		free(st->of[s].bytes);
		free(st->of[s].sent);
	}
	memset(st, 0, sizeof(*st));
}

/* Room in b for one more copy of caplen bytes: 0, or -1 (out of memory). */
static int block_room(struct edp_output_block *b, uint32_t caplen)
{
	if (b->used + 16 + caplen > b->cap) {
		size_t cap = b->cap * 2 > b->used + 16 + caplen ? b->cap * 2 : b->used + 16 + caplen;
		uint8_t *p = realloc(b->bytes, cap);
		if (!p)
			return -1;
		b->bytes = p;
		b->cap = cap;
	}
	if (b->n == b->cap_n) {
		uint32_t cap = b->cap_n ? b->cap_n * 2 : 64;
		struct edp_output_sent *p = realloc(b->sent, cap * sizeof(*p));
		if (!p)
			return -1;
		b->sent = p;
		b->cap_n = cap;
	}
	return 0;
}

int edp_output_stage_mbufs(const struct edp_output *o, struct edp_output_stage *st, struct edp_mbuf *const *mbufs,
			   uint32_t n, struct edp_error *err)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct edp_mbuf *m = mbufs[i];
		for (uint64_t ports = m->out_ports; ports; ports &= ports - 1) {
			unsigned p = (unsigned)__builtin_ctzll(ports);
			struct edp_output_block *b = &st->of[o->port_sink[p]];
			if (__builtin_expect(block_room(b, m->data_len) < 0, 0)) /* its copies staged so far are undone */
				return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory: %llu packets could not be staged",
						     (unsigned long long)(n - i));
			b->sent[b->n] = (struct edp_output_sent){ st->packets + i, m->wire_len, (uint8_t)m->in_port,
								  (uint8_t)p };
			struct edp_pcap_record rec = edp_pcap_record_of(m);
			if (b->refused != UINT32_MAX) {
				/* after a refused copy: no more in bytes */
			} else if (__builtin_expect(edp_pcap_record_fits(&rec), 1)) {
				b->used += edp_pcap_record_format(b->bytes + b->used, &rec, b->nanosecond);
				b->wire_bytes += m->wire_len;
				st->tx[p].packets++;
				st->tx[p].bytes += m->wire_len;
			} else {
				b->refused = b->n;
				b->refused_ts = m->ts_ns;
			}
			b->n++;
		}
	}
	st->packets += n;
	return 0;
}

/* The copies of block b that are in its bytes: those before a refused one. */
static inline uint32_t in_bytes(const struct edp_output_block *b) { return b->refused < b->n ? b->refused : b->n; }

/* The copies of block b from sent[from] on did not reach sink s (after
 * `in_tx` of them had been counted sent). */
static void unsent(struct edp_output *o, const struct edp_output_block *b, uint32_t from, uint32_t in_tx)
{
	for (uint32_t k = from; k < b->n; k++) {
		struct edp_output_sent c = b->sent[k];
		c.serial += o->serial;
		if (k < in_tx)
			unsend(o, &c);
		else
			count_unwritten(o, 1ull << c.out_port, c.serial, c.in_port);
	}
}

/* Write block b to sink s's writer (what the writer holds goes out first).
 * Returns 0, or -1 with the copies that did not reach the output counted
 * (those in bytes were counted sent). */
static int commit_block(struct edp_output *o, uint32_t s, const struct edp_output_block *b, struct edp_error *err)
{
	struct edp_pcap_writer *w = o->sinks[s];
	uint32_t whole = in_bytes(b);
	if (edp_pcap_writer_flush(w, err) < 0) { /* what emit handed it: settled as emit's */
		settle(o, s);
		unsent(o, b, 0, whole);
		return -1;
	}
	uint64_t before, accepted, written;
	edp_pcap_writer_counts(w, &before, &written, NULL);
	int rc = edp_pcap_writer_write_block(w, b->bytes, b->used, whole, b->wire_bytes, err);
	if (rc == 0 && whole < b->n) { /* the refusal, in the writer's words */
		struct edp_pcap_record late = { NULL, b->refused_ts, 0, 0 };
		rc = edp_pcap_writer_write_records(w, &late, 1, err);
	}
	edp_pcap_writer_counts(w, &accepted, &written, NULL);
	o->taken[s] = o->settled[s] = accepted;
	if (rc)
		unsent(o, b, (uint32_t)(written - before), whole);
	return rc;
}

int edp_output_commit(struct edp_output *o, struct edp_output_stage *st, struct edp_error *err)
{
	int rc = 0;
	bool counted = !o->failed; /* the copies in bytes count as sent, until one is not */
	for (uint32_t p = 0; p < o->n_ports && counted; p++) {
		o->tx[p].packets += st->tx[p].packets;
		o->tx[p].bytes += st->tx[p].bytes;
	}
	for (uint32_t s = 0; s < o->n_sinks; s++) {
		struct edp_output_block *b = &st->of[s];
		if (!b->n)
			continue;
		if (o->failed) {
			unsent(o, b, 0, counted ? in_bytes(b) : 0);
		} else if (commit_block(o, s, b, err)) {
			o->failed = true;
			rc = EDP_ERR_RUNTIME;
		}
		b->used = 0;
		b->n = 0;
		b->wire_bytes = 0;
		b->refused = UINT32_MAX;
	}
	memset(st->tx, 0, sizeof(st->tx));
	o->serial += st->packets;
	st->packets = 0;
	if (o->stats)
		publish_tx(o);
	return rc ? rc : o->failed ? EDP_ERR_RUNTIME : 0;
}

void edp_output_publish(struct edp_output *o, struct edp_stats_writer *stats)
{
	o->stats = stats;
	publish_tx(o);
}

int edp_output_flush(struct edp_output *o, struct edp_error *err)
{
	for (uint32_t s = 0; s < o->n_sinks; s++)
		if (edp_pcap_writer_flush(o->sinks[s], err) < 0) {
			settle(o, s);
			o->failed = true;
			return EDP_ERR_RUNTIME;
		}
	return 0;
}

static int by_serial(const void *a, const void *b)
{
	uint64_t x = ((const struct edp_output_lost *)a)->serial, y = ((const struct edp_output_lost *)b)->serial;
	return x < y ? -1 : x > y;
}

/* The packets lost, each once (a flood's copies may be listed apart), by
 * ingress port; the list goes. */
static void count_lost(struct edp_output *o)
{
	if (o->n_lost)
		qsort(o->lost, o->n_lost, sizeof(*o->lost), by_serial);
	for (uint32_t i = 0; i < o->n_lost; i++)
		if (i == 0 || o->lost[i].serial != o->lost[i - 1].serial)
			o->unwritten[o->lost[i].in_port]++;
	free(o->lost);
	o->lost = NULL;
	o->n_lost = o->cap_lost = 0;
}

int edp_output_close(struct edp_output *o, struct edp_error *err)
{
	int rc = 0;
	for (uint32_t s = 0; s < o->n_sinks; s++) {
		if (edp_pcap_writer_flush(o->sinks[s], rc ? NULL : err) < 0)
			rc = EDP_ERR_RUNTIME;
		settle(o, s);
		if (edp_pcap_writer_close(o->sinks[s], rc ? NULL : err) < 0)
			rc = EDP_ERR_RUNTIME;
		o->sinks[s] = NULL;
	}
	o->n_sinks = 0;
	count_lost(o);
	return rc;
}


void edp_output_destroy(struct edp_output *o)
{
	for (uint32_t s = 0; s < EDP_MAX_PORTS; s++) {
		if (s < o->n_sinks)
			edp_pcap_writer_close(o->sinks[s], NULL);
		free(o->sent[s]);
	}
	free(o->lost);
	memset(o, 0, sizeof(*o));
}
