#include "edp_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char MAGIC[8] = { 'E', 'D', 'P', 'C', 'K', 'P', 'T', '\n' };
#define HEADER_BYTES 32   /* magic, version, flags, config hash, time */
#define SECTION_HEAD 16   /* type, 0, length */
#define MAC_BYTES 18
#define FLOW_BYTES (2 + (uint64_t)sizeof(struct edp_flow_key))

const char *edp_checkpoint_section_name(uint32_t type)
{
	static const char *const names[EDP_CK_SECTIONS] = { "end", "meta", "macs", "flows", "io", "counters", "reading" };
	return type < EDP_CK_SECTIONS ? names[type] : NULL;
}

#ifdef __x86_64__
#include <nmmintrin.h>

/* The SSE4.2 instruction: 8 bytes a step (a 2.4 MB round: 0.3 ms, not 3). */
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = _mm_crc32_u8(c32, *p++);
	return c32;
}
#endif

uint32_t edp_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
#ifdef __x86_64__
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc32c_sse42(~crc, p, len);
#endif
	static uint32_t table[256];
	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			table[i] = c;
		}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- writing ---- */

struct out {
	uint8_t *buf;
	size_t len, cap;
	bool oom;
};

static void put(struct out *o, const void *p, size_t n)
{
	if (o->oom || !n)
		return;
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap < o->len + n)
			cap *= 2;
		uint8_t *b = realloc(o->buf, cap);
		if (!b) {
			o->oom = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void put16(struct out *o, uint16_t v) { put(o, (uint8_t[2]){ (uint8_t)v, (uint8_t)(v >> 8) }, 2); }

static void put32(struct out *o, uint32_t v)
{
	put16(o, (uint16_t)v);
	put16(o, (uint16_t)(v >> 16));
}

static void put64(struct out *o, uint64_t v)
{
	put32(o, (uint32_t)v);
	put32(o, (uint32_t)(v >> 32));
}

static void put_string(struct out *o, const char *s)
{
	size_t n = strnlen(s, EDP_PORT_NAME_MAX);
	put16(o, (uint16_t)n);
	put(o, s, n);
}

#define PATH_BYTES 4095 /* an IO section's names: at most this long */

static void put_path(struct out *o, const char *s)
{
	size_t n = s ? strnlen(s, PATH_BYTES) : 0;
	put16(o, (uint16_t)n);
	put(o, s, n);
}

/* Frame the payload o holds as a section of `type` onto stream s. */
static void section(struct out *s, uint32_t type, struct out *o, struct edp_checkpoint *ck)
{
	struct out head = { 0 };
	put32(&head, type);
	put32(&head, 0);
	put64(&head, o->len);
	uint32_t crc = edp_crc32c(0, head.buf, 4);
	crc = edp_crc32c(crc, head.buf + 8, 8);
	crc = edp_crc32c(crc, o->buf, o->len);
	put(s, head.buf, head.len);
	put(s, o->buf, o->len);
	put32(s, crc);
	s->oom |= head.oom || o->oom;
	if (type < EDP_CK_SECTIONS)
		ck->section_bytes[type] = SECTION_HEAD + o->len + 4;
	ck->n_sections++;
	free(head.buf);
	free(o->buf);
	*o = (struct out){ 0 };
}

int edp_checkpoint_write(FILE *f, const char *what, struct edp_checkpoint *ck, struct edp_error *err)
{
	struct out s = { 0 }, o = { 0 };
	ck->n_sections = 0;
	memset(ck->section_bytes, 0, sizeof(ck->section_bytes));
	put(&s, MAGIC, sizeof(MAGIC));
	put32(&s, EDP_CHECKPOINT_VERSION);
	put32(&s, 0);
	put64(&s, ck->config_hash);
	put64(&s, ck->created_ns);
	put_string(&o, ck->name);
	put32(&o, ck->threads);
	put32(&o, ck->n_ports);
	for (uint32_t i = 0; i < ck->n_ports && i < EDP_MAX_PORTS; i++)
		put_string(&o, ck->ports[i]);
	section(&s, EDP_CK_META, &o, ck);
	put32(&o, ck->n_macs);
	for (uint32_t i = 0; i < ck->n_macs; i++) {
		const struct edp_checkpoint_mac *m = &ck->macs[i];
		put(&o, m->mac, 6);
		put16(&o, m->vlan);
		put16(&o, m->port);
		put64(&o, m->seen_ns);
	}
	section(&s, EDP_CK_MACS, &o, ck);
	put32(&o, ck->n_flows);
	for (uint32_t i = 0; i < ck->n_flows; i++) {
		put16(&o, ck->flows[i].thread);
		put(&o, &ck->flows[i].key, sizeof(ck->flows[i].key));
	}
	section(&s, EDP_CK_FLOWS, &o, ck);
	if (ck->has_io) {
		put32(&o, ck->io_snaplen);
		put(&o, (uint8_t[1]){ ck->io_nanosecond }, 1);
		put32(&o, ck->n_ports);
		for (uint32_t i = 0; i < ck->n_ports && i < EDP_MAX_PORTS; i++) {
			const struct edp_checkpoint_io *io = &ck->io[i];
			put(&o, &io->rx_kind, 1);
			put_path(&o, io->rx);
			put_path(&o, io->tx);
			put(&o, &io->flags, 1);
			if (io->flags & EDP_CK_IO_HANDED_RX) {
				put32(&o, io->head_len);
				put(&o, io->head, io->head_len);
			}
		}
		section(&s, EDP_CK_IO, &o, ck);
	}
	if (ck->has_counters) {
		const struct edp_checkpoint_counters *c = &ck->counters;
		put64(&o, c->packets_in);
		put64(&o, c->bytes_in);
		put64(&o, c->forwarded);
		put64(&o, c->dropped);
		put64(&o, c->last_packet_ns);
		section(&s, EDP_CK_COUNTERS, &o, ck);
	}
	if (ck->has_reading) {
		put_path(&o, ck->filter);
		put64(&o, ck->count_left);
		section(&s, EDP_CK_READING, &o, ck);
	}
	put32(&o, ck->n_sections);
	section(&s, EDP_CK_END, &o, ck);
	ck->bytes = s.len;
	int rc = 0;
	if (s.oom)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory for the checkpoint", what);
	else if (fwrite(s.buf, 1, s.len, f) != s.len || fflush(f) != 0)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot write the checkpoint", what);
	free(s.buf);
	return rc;
}

/* Write buf to fd as fast as its reader takes it; a reader that takes
 * nothing for 10 s (a pipe no one reads, a FIFO with no reader) is given
 * up on: the control thread is not held for good. */
static int write_patiently(int fd, const char *buf, size_t len, struct edp_error *err)
{
	int flags = fcntl(fd, F_GETFL), rc = 0;
	if (flags >= 0) /* the description is the client's too: put back after */
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	for (size_t at = 0; at < len && !rc;) {
		ssize_t n = write(fd, buf + at, len - at);
		if (n > 0) {
			at += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "the checkpoint: cannot write it: %s", strerror(errno));
			break;
		}
		struct pollfd p = { fd, POLLOUT, 0 };
		int ready;
		while ((ready = poll(&p, 1, 10000)) < 0 && errno == EINTR) /* a signal's handler ran */
			;
		if (ready == 0)
			rc = edp_error_set(err, EDP_ERR_RUNTIME,
					   "the checkpoint: its reader took nothing for 10 s (%zu of %zu bytes written)", at, len);
		else if (ready < 0 || !(p.revents & POLLOUT))
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "the checkpoint: %s (%zu of %zu bytes written)",
					   ready < 0 ? strerror(errno) : "its reader is gone", at, len);
	}
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags);
	return rc;
}

int edp_checkpoint_send(struct edp_checkpoint *ck, int fd, struct edp_error *err)
{
	/* the stream is made in memory, then written as the reader takes it */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = !f ? edp_error_set(err, EDP_ERR_RUNTIME, "out of memory") : edp_checkpoint_write(f, "the checkpoint", ck, err);
	if (f && fclose(f) != 0 && !rc)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "out of memory for the checkpoint");
	if (!rc)
		rc = write_patiently(fd, buf, len, err);
	free(buf);
	return rc;
}

/* ---- reading ---- */

struct in {
	const uint8_t *p;
	size_t len, at;
};

static bool take(struct in *i, void *dst, size_t n)
{
	if (i->len - i->at < n)
		return false;
	memcpy(dst, i->p + i->at, n);
	i->at += n;
	return true;
}

static bool get16(struct in *i, uint16_t *v)
{
	uint8_t b[2];
	if (!take(i, b, 2))
		return false;
	*v = (uint16_t)(b[0] | b[1] << 8);
	return true;
}

static bool get32(struct in *i, uint32_t *v)
{
	uint16_t a, b;
	if (!get16(i, &a) || !get16(i, &b))
		return false;
	*v = a | (uint32_t)b << 16;
	return true;
}

static bool get64(struct in *i, uint64_t *v)
{
	uint32_t a, b;
	if (!get32(i, &a) || !get32(i, &b))
		return false;
	*v = a | (uint64_t)b << 32;
	return true;
}

/* A name: at most EDP_PORT_NAME_MAX printable bytes. */
static bool get_string(struct in *i, char *dst)
{
	uint16_t n;
	if (!get16(i, &n) || n > EDP_PORT_NAME_MAX || !take(i, dst, n))
		return false;
	dst[n] = 0;
	for (uint16_t k = 0; k < n; k++)
		if (dst[k] < 0x20 || dst[k] > 0x7e)
			return false;
	return true;
}

/* An IO section's name: at most PATH_BYTES bytes, none of them NUL; a
 * length of 0 is none (NULL). */
static bool get_path(struct in *i, char **dst)
{
	uint16_t n;
	*dst = NULL;
	if (!get16(i, &n) || n > PATH_BYTES || i->len - i->at < n)
		return false;
	if (!n)
		return true;
	if (memchr(i->p + i->at, 0, n) || !(*dst = malloc((size_t)n + 1)))
		return false;
	take(i, *dst, n);
	(*dst)[n] = 0;
	return true;
}

static int take_io(struct in *p, struct edp_checkpoint *ck, const char *where, struct edp_error *err)
{
	uint8_t nano;
	uint32_t n;
	if (!get32(p, &ck->io_snaplen) || !take(p, &nano, 1) || nano > 1 || !get32(p, &n))
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: truncated in its head", where);
	if (n != ck->n_ports)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: %u ports; the meta section has %u", where, n, ck->n_ports);
	ck->io_nanosecond = nano;
	ck->has_io = true;
	for (uint32_t k = 0; k < n; k++) {
		struct edp_checkpoint_io *io = &ck->io[k];
		if (!take(p, &io->rx_kind, 1) || io->rx_kind > EDP_IO_LIVE + 1 || !get_path(p, &io->rx) ||
		    !get_path(p, &io->tx) || !take(p, &io->flags, 1) || io->flags > 15 || !io->rx != !io->rx_kind ||
		    ((io->flags & EDP_CK_IO_FANOUT) && io->rx_kind != EDP_IO_LIVE + 1) ||
		    ((io->flags & EDP_CK_IO_HANDED_RX) && !io->rx) || ((io->flags & EDP_CK_IO_HANDED_TX) && !io->tx))
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s: port %u: a kind, a name or flags that do not fit",
					     where, k + 1);
		if (!(io->flags & EDP_CK_IO_HANDED_RX))
			continue;
		if (!get32(p, &io->head_len) || io->head_len > EDP_CK_MAX_HEAD || io->head_len > p->len - p->at)
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s: port %u: its input's bytes do not fit the section",
					     where, k + 1);
		if (!(io->head = malloc(io->head_len ? io->head_len : 1)))
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", where);
		take(p, io->head, io->head_len);
	}
	return 0;
}

/* A section of a count and `count` entries of `bytes` each, which must
 * fill the rest of it exactly: room for them (`size` each in memory), or
 * NULL with err set. An empty one gets a 1-byte allocation (never NULL). */
static void *counted(struct in *p, uint64_t bytes, size_t size, uint32_t *count, const char *what, const char *where,
		     struct edp_error *err)
{
	if (!get32(p, count) || (p->len - p->at) / bytes != *count || (p->len - p->at) % bytes)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: its count does not fit its length", where), NULL;
	void *a = calloc(*count ? *count : 1, size);
	if (!a)
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory for %u %s", where, *count, what);
	return a;
}

/* A section's payload, taken by its type. -1 with err set when it does
 * not hold what its type says. */
static int payload(struct in *p, uint32_t type, struct edp_checkpoint *ck, uint32_t sections_before, bool seen_meta,
		   const char *where, struct edp_error *err)
{
	uint32_t count;
	switch (type) {
	case EDP_CK_META:
		if (!get_string(p, ck->name) || !get32(p, &ck->threads) || !get32(p, &ck->n_ports) ||
		    ck->n_ports > EDP_MAX_PORTS)
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s: a name, a thread count or a port count that does not fit",
					     where);
		for (uint32_t k = 0; k < ck->n_ports; k++)
			if (!get_string(p, ck->ports[k]))
				return edp_error_set(err, EDP_ERR_RUNTIME, "%s: port %u's name does not fit", where, k + 1);
		break;
	case EDP_CK_MACS:
		if (!(ck->macs = counted(p, MAC_BYTES, sizeof(*ck->macs), &count, "MACs", where, err)))
			return EDP_ERR_RUNTIME;
		for (uint32_t k = 0; k < count; k++) {
			struct edp_checkpoint_mac *m = &ck->macs[k];
			take(p, m->mac, 6);
			get16(p, &m->vlan);
			get16(p, &m->port);
			get64(p, &m->seen_ns);
		}
		ck->n_macs = count;
		break;
	case EDP_CK_FLOWS:
		if (!(ck->flows = counted(p, FLOW_BYTES, sizeof(*ck->flows), &count, "flows", where, err)))
			return EDP_ERR_RUNTIME;
		for (uint32_t k = 0; k < count; k++) {
			get16(p, &ck->flows[k].thread);
			take(p, &ck->flows[k].key, sizeof(ck->flows[k].key));
		}
		ck->n_flows = count;
		break;
	case EDP_CK_IO:
		if (!seen_meta)
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s: comes before the meta section", where);
		if (take_io(p, ck, where, err))
			return EDP_ERR_RUNTIME;
		break;
	case EDP_CK_COUNTERS: {
		struct edp_checkpoint_counters *c = &ck->counters;
		if (!get64(p, &c->packets_in) || !get64(p, &c->bytes_in) || !get64(p, &c->forwarded) ||
		    !get64(p, &c->dropped) || !get64(p, &c->last_packet_ns))
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s: truncated", where);
		ck->has_counters = true;
		break;
	}
	case EDP_CK_READING:
		if (!get_path(p, &ck->filter) || !get64(p, &ck->count_left))
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s: truncated, or a filter expression with a NUL",
					     where);
		ck->has_reading = true;
		break;
	case EDP_CK_END:
		if (!get32(p, &count) || count != sections_before)
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s: says %u sections came before it, not %u", where,
					     count, sections_before);
		break;
	}
	if (p->at != p->len)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: %zu bytes more than it holds", where, p->len - p->at);
	return 0;
}

int edp_checkpoint_parse(const uint8_t *buf, size_t len, const char *what, struct edp_checkpoint *ck,
			 struct edp_error *err)
{
	memset(ck, 0, sizeof(*ck));
	struct in i = { buf, len, 0 };
	uint8_t magic[8];
	uint32_t flags;
	if (!take(&i, magic, 8) || memcmp(magic, MAGIC, 8) != 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: not an edp checkpoint (no EDPCKPT magic)", what);
	if (!get32(&i, &ck->version) || !get32(&i, &flags) || !get64(&i, &ck->config_hash) || !get64(&i, &ck->created_ns))
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: truncated in its header", what);
	if (ck->version != EDP_CHECKPOINT_VERSION || flags) {
		uint32_t v = ck->version;
		memset(ck, 0, sizeof(*ck));
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: checkpoint version %u%s; this edp reads version %d", what, v,
				     flags ? " with flags" : "", EDP_CHECKPOINT_VERSION);
	}
	bool seen[EDP_CK_SECTIONS] = { false }, ended = false;
	int rc = 0;
	while (!rc && !ended) {
		size_t at = i.at;
		uint32_t type, zero;
		uint64_t n;
		char where[96];
		if (i.at == i.len) {
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "%s: truncated at byte %zu: no end record", what, at);
			break;
		}
		if (!get32(&i, &type) || !get32(&i, &zero) || !get64(&i, &n)) {
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "%s: truncated in the head of the section at byte %zu", what, at);
			break;
		}
		const char *name = edp_checkpoint_section_name(type);
		snprintf(where, sizeof(where), "section %u (%s) at byte %zu", ck->n_sections + 1, name ? name : "unknown", at);
		if (!name || zero) {
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "%s: %s: an unknown section type %u", what, where, type);
			break;
		}
		if (seen[type]) {
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "%s: %s: a second %s section", what, where, name);
			break;
		}
		if (n > i.len - i.at || i.len - i.at - n < 4) {
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "%s: %s: truncated (%llu bytes of payload and a CRC announced, %zu left)",
					   what, where, (unsigned long long)n, i.len - i.at);
			break;
		}
		uint32_t crc = edp_crc32c(0, buf + at, 4);
		crc = edp_crc32c(crc, buf + at + 8, 8);
		crc = edp_crc32c(crc, buf + i.at, (size_t)n);
		struct in p = { buf + i.at, (size_t)n, 0 };
		i.at += (size_t)n;
		uint32_t want;
		get32(&i, &want);
		if (crc != want) {
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "%s: %s: CRC mismatch", what, where);
			break;
		}
		char full[sizeof(where) + 512];
		snprintf(full, sizeof(full), "%s: %s", what, where);
		rc = payload(&p, type, ck, ck->n_sections, seen[EDP_CK_META], full, err);
		seen[type] = true;
		ck->section_bytes[type] = SECTION_HEAD + n + 4;
		ck->n_sections++;
		ended = type == EDP_CK_END;
	}
	if (!rc && i.at != i.len)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "%s: %zu bytes after the end record", what, i.len - i.at);
	if (!rc && (!seen[EDP_CK_META] || !seen[EDP_CK_MACS] || !seen[EDP_CK_FLOWS]))
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "%s: no %s section", what,
				   !seen[EDP_CK_META] ? "meta" : !seen[EDP_CK_MACS] ? "macs" : "flows");
	if (rc) {
		edp_checkpoint_free(ck);
		return rc;
	}
	ck->bytes = len;
	return 0;
}

int edp_checkpoint_read(FILE *f, const char *what, struct edp_checkpoint *ck, struct edp_error *err)
{
	memset(ck, 0, sizeof(*ck));
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			if (cap >= EDP_CHECKPOINT_MAX_BYTES) {
				free(buf);
				return edp_error_set(err, EDP_ERR_RUNTIME, "%s: larger than %llu bytes", what,
						     (unsigned long long)EDP_CHECKPOINT_MAX_BYTES);
			}
			size_t more = cap ? cap * 2 : 65536;
			uint8_t *b = realloc(buf, more);
			if (!b) {
				free(buf);
				return edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", what);
			}
			buf = b;
			cap = more;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	int rc = ferror(f) ? edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot read", what)
			   : edp_checkpoint_parse(buf, len, what, ck, err);
	free(buf);
	return rc;
}

void edp_checkpoint_free(struct edp_checkpoint *ck)
{
	for (uint32_t i = 0; i < EDP_MAX_PORTS; i++) {
		free(ck->io[i].rx);
		free(ck->io[i].tx);
		free(ck->io[i].head);
	}
	free(ck->macs);
	free(ck->flows);
	free(ck->filter);
	memset(ck, 0, sizeof(*ck));
}
