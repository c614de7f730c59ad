#include "edp_pcapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORD_HEADER 16u

struct edp_pcapfile {
	int fd;
	uint8_t *buf;  /* the window: the file's [base, base + have) */
	uint32_t have;
	uint32_t off;  /* the next record, in the window */
	uint64_t base;
	uint64_t pos;  /* base + off, for any thread to ask */
	uint32_t snapshot;
	bool swapped, usec;
	bool ended;    /* the end was met: it stays (libpcap's stdio stream does) */
};

struct edp_pcapfile *edp_pcapfile_open(int fd, uint64_t pos, uint32_t snapshot, bool swapped, bool usec)
{
	struct edp_pcapfile *f = calloc(1, sizeof(*f));
	uint8_t *buf = malloc(EDP_PCAPFILE_WINDOW);
	if (!f || !buf) {
		free(f);
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	*f = (struct edp_pcapfile){ .fd = fd, .buf = buf, .base = pos, .pos = pos,
				    .snapshot = snapshot, .swapped = swapped, .usec = usec };
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return f;
}

/* The window moved to the next record and filled from the file as far as
 * it goes: 0, or -1 with msg set. */
static int refill(struct edp_pcapfile *f, char *msg, size_t msg_len)
{
	uint32_t left = f->have - f->off;
	memmove(f->buf, f->buf + f->off, left);
	f->base += f->off;
	f->off = 0;
	f->have = left;
	while (f->have < EDP_PCAPFILE_WINDOW) {
		ssize_t n = pread(f->fd, f->buf + f->have, EDP_PCAPFILE_WINDOW - f->have, (off_t)(f->base + f->have));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(msg, msg_len, "error reading dump file: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		f->have += (uint32_t)n;
	}
	return 0;
}

static inline uint32_t word(const struct edp_pcapfile *f, uint32_t v) { return f->swapped ? __builtin_bswap32(v) : v; }

/* A time stamp's word as libpcap 1.10 hands it over: signed in a file of
 * our byte order, unsigned in the other (its byte swap widens it). */
static inline int64_t stamp(const struct edp_pcapfile *f, uint32_t v)
{
	return f->swapped ? (int64_t)__builtin_bswap32(v) : (int64_t)(int32_t)v;
}

/* A record's header as libpcap's reader hands it over (opened with
 * nanosecond precision). */
static inline void header(const struct edp_pcapfile *f, const uint32_t w[4], uint32_t caplen, struct pcap_pkthdr *h)
{
	h->caplen = caplen > f->snapshot ? f->snapshot : caplen;
	h->len = word(f, w[3]);
	h->ts.tv_sec = stamp(f, w[0]);
	h->ts.tv_usec = stamp(f, w[1]) * (f->usec ? 1000 : 1);
}

int edp_pcapfile_next(struct edp_pcapfile *f, struct pcap_pkthdr *h, const u_char **data, char *msg, size_t msg_len)
{
	if (f->ended)
		return 0;
	uint32_t left = f->have - f->off;
	if (left < RECORD_HEADER) {
		if (refill(f, msg, msg_len) < 0)
			return -1;
		if ((left = f->have) == 0) {
			f->ended = true;
			return 0;
		}
		if (left < RECORD_HEADER) {
			snprintf(msg, msg_len, "truncated dump file; tried to read %u header bytes, only got %u",
				 RECORD_HEADER, left);
			return -1;
		}
	}
	uint32_t w[4];
	memcpy(w, f->buf + f->off, sizeof(w));
	uint32_t caplen = word(f, w[2]);
	if (caplen > EDP_PCAPFILE_MAX_CAPLEN) { /* libpcap's words, as it says them */
		if (caplen > f->snapshot)
			snprintf(msg, msg_len, "invalid packet capture length %u, bigger than snaplen of %d", caplen,
				 (int)f->snapshot);
		else
			snprintf(msg, msg_len, "invalid packet capture length %u, bigger than maximum of %u", caplen,
				 EDP_PCAPFILE_MAX_CAPLEN);
		return -1;
	}
	if (left - RECORD_HEADER < caplen) {
		if (refill(f, msg, msg_len) < 0)
			return -1;
		left = f->have;
	}
	if (left - RECORD_HEADER < caplen) { /* libpcap reads the snapshot's bytes first, then passes over the rest */
		uint32_t got = left - RECORD_HEADER;
		bool cut = caplen > f->snapshot;
		snprintf(msg, msg_len, "truncated dump file; tried to read %u captured bytes, only got %u",
			 cut && got < f->snapshot ? f->snapshot : caplen, got);
		return -1;
	}
	header(f, w, caplen, h);
	*data = f->buf + f->off + RECORD_HEADER;
	f->off += RECORD_HEADER + caplen;
	__atomic_store_n(&f->pos, f->base + f->off, __ATOMIC_RELAXED); /* edp_pcapfile_pos */
	return 1;
}

int edp_pcapfile_next_batch(struct edp_pcapfile *f, uint32_t max, struct pcap_pkthdr *h, const u_char **data,
			    char *msg, size_t msg_len)
{
	/* f's fields in locals: the stores to h[] might alias them */
	const uint8_t *buf = f->buf;
	uint32_t off = f->off, have = f->have, n = 0;
	const struct edp_pcapfile c = *f;
	/* whole records in the window; anything else (its end, the file's,
	 * a record cut short or too long) is edp_pcapfile_next's */
	while (n < max && have - off >= RECORD_HEADER) {
		uint32_t w[4];
		memcpy(w, buf + off, sizeof(w));
		uint32_t caplen = word(&c, w[2]);
		if (caplen > EDP_PCAPFILE_MAX_CAPLEN || have - off - RECORD_HEADER < caplen)
			break;
		header(&c, w, caplen, &h[n]);
		data[n++] = buf + off + RECORD_HEADER;
		off += RECORD_HEADER + caplen;
	}
	if (n == 0)
		return edp_pcapfile_next(f, h, data, msg, msg_len);
	f->off = off;
	__atomic_store_n(&f->pos, f->base + off, __ATOMIC_RELAXED); /* edp_pcapfile_pos */
	return (int)n;
}

uint64_t edp_pcapfile_pos(const struct edp_pcapfile *f) { return __atomic_load_n(&f->pos, __ATOMIC_RELAXED); }

void edp_pcapfile_close(struct edp_pcapfile *f)
{
	if (!f)
		return;
	free(f->buf);
	free(f);
}
