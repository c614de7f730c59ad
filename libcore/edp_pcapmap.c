#include "edp_pcapmap.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edp_shm.h"

#define GIVE_BACK (8u << 20) /* the pages read are given back this often */
#define RECORD_HEADER 16u
#define PREFETCH_AHEAD 4096u

struct edp_pcapmap {
	int fd;
	const uint8_t *map; /* the file's [0, len) */
	size_t len;
	int guard;
	const atomic_bool *lost; /* the guard's flag: the file shrank under the mapping */
	uint64_t pos;  /* the next record */
	uint64_t kept; /* the pages before it were given back */
	uint64_t fetched; /* the lines before it were prefetched */
	uint64_t page;    /* the page size: a file cut inside one faults only past it */
	uint32_t snapshot;
	bool swapped, usec;
	bool ended;    /* the end was met: it stays (libpcap's stdio stream does) */
};

/* The file mapped (again) at its size now. 0, or -1 with errno set. */
static int map_file(struct edp_pcapmap *m)
{
	struct stat st;
	if (fstat(m->fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode) || st.st_size < 0) {
		errno = EINVAL;
		return -1;
	}
	size_t len = (size_t)st.st_size;
	void *p = NULL;
	int g = -1;
	if (len) {
		if ((p = mmap(NULL, len, PROT_READ, MAP_SHARED, m->fd, 0)) == MAP_FAILED)
			return -1;
		if ((g = edp_shm_guard(p, len)) < 0) { /* unguarded, a truncation would kill */
			munmap(p, len);
			errno = EBUSY;
			return -1;
		}
		madvise(p, len, MADV_SEQUENTIAL);
	}
	m->map = p;
	m->len = len;
	m->guard = g;
	m->lost = edp_shm_lost_flag(g);
	m->kept = 0;
	m->fetched = m->pos & ~(uint64_t)63;
	return 0;
}

static void unmap(struct edp_pcapmap *m)
{
	if (m->len) {
		edp_shm_unguard(m->guard);
		munmap((void *)m->map, m->len);
	}
	m->map = NULL;
	m->len = 0;
	m->guard = -1;
	m->lost = edp_shm_lost_flag(-1);
}

struct edp_pcapmap *edp_pcapmap_open(int fd, uint64_t pos, uint32_t snapshot, bool swapped, bool usec)
{
	struct edp_pcapmap *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	*m = (struct edp_pcapmap){ .fd = fd, .guard = -1, .pos = pos, .page = (uint64_t)sysconf(_SC_PAGESIZE),
				   .snapshot = snapshot, .swapped = swapped, .usec = usec };
	if (map_file(m)) {
		int e = errno;
		free(m);
		errno = e;
		return NULL;
	}
	return m;
}

/* The file mapped again at its size now: 0, or -1 with msg set. */
static int remap(struct edp_pcapmap *m, char *msg, size_t msg_len)
{
	unmap(m);
	if (map_file(m) == 0)
		return 0;
	snprintf(msg, msg_len, "error reading dump file: mapping it again failed: %s", strerror(errno));
	return -1;
}

/* At the end of the mapping: whether the file is longer now (then mapped
 * again to its new end). */
static bool grew(struct edp_pcapmap *m)
{
	struct stat st;
	return fstat(m->fd, &st) == 0 && (uint64_t)st.st_size > m->len && remap(m, NULL, 0) == 0;
}

/* holds() for an end in the mapping's last page: the file's size asked. */
static __attribute__((noinline)) bool holds_at_end(const struct edp_pcapmap *m, uint64_t end)
{
	struct stat st;
	return !atomic_load_explicit(m->lost, memory_order_acquire) && fstat(m->fd, &st) == 0 &&
	       (uint64_t)st.st_size >= end;
}

/* Whether the file still holds its first `end` bytes, as the mapping
 * does. A file cut inside a page reads as zeros past its end there
 * without a fault: the page after end's is looked at (it faults if the
 * file ends before it, and the guard says so). Asked for every record:
 * inline, the guard's flag read in place. */
static inline __attribute__((always_inline)) bool holds(const struct edp_pcapmap *m, uint64_t end)
{
	uint64_t next_page = (end + m->page - 1) & ~(m->page - 1);
	if (__builtin_expect(next_page >= m->len, 0))
		return holds_at_end(m, end);
	volatile uint8_t look = m->map[next_page];
	(void)look;
	return !atomic_load_explicit(m->lost, memory_order_acquire);
}

/* The pages before the next record, this process's hold on them let go
 * every GIVE_BACK bytes. */
static void give_back(struct edp_pcapmap *m)
{
	if (m->pos - m->kept < GIVE_BACK || m->pos > m->len)
		return;
	uint64_t to = m->pos & ~(m->page - 1);
	madvise((void *)(m->map + m->kept), to - m->kept, MADV_DONTNEED);
	m->kept = to;
}

static inline uint32_t word(const struct edp_pcapmap *m, uint32_t v) { return m->swapped ? __builtin_bswap32(v) : v; }

/* A time stamp's word as libpcap 1.10 hands it over: signed in a file of
 * our byte order, unsigned in the other (its byte swap widens it). */
static inline int64_t stamp(const struct edp_pcapmap *m, uint32_t v)
{
	return m->swapped ? (int64_t)__builtin_bswap32(v) : (int64_t)(int32_t)v;
}

/* The lines up to PREFETCH_AHEAD bytes past `end`, from `fetched` on,
 * each asked for once, from memory while the records before them are
 * handled (the hardware's prefetch stops at every page). Returns the new
 * `fetched`. */
static inline uint64_t prefetch_ahead(const struct edp_pcapmap *m, uint64_t end, uint64_t fetched)
{
	uint64_t ahead = end + PREFETCH_AHEAD < m->len ? end + PREFETCH_AHEAD : m->len;
	for (; fetched < ahead; fetched += 64)
		__builtin_prefetch(m->map + fetched);
	return fetched;
}

/* A record's header as libpcap's reader hands it over (opened with
 * nanosecond precision). */
static inline void header(const struct edp_pcapmap *m, const uint32_t w[4], uint32_t caplen, struct pcap_pkthdr *h)
{
	h->caplen = caplen > m->snapshot ? m->snapshot : caplen;
	h->len = word(m, w[3]);
	h->ts.tv_sec = stamp(m, w[0]);
	h->ts.tv_usec = stamp(m, w[1]) * (m->usec ? 1000 : 1);
}

int edp_pcapmap_next(struct edp_pcapmap *m, struct pcap_pkthdr *h, const u_char **data, char *msg, size_t msg_len)
{
	if (m->ended)
		return 0;
	give_back(m);
	for (;;) {
		uint64_t left = m->len > m->pos ? m->len - m->pos : 0;
		if (left < RECORD_HEADER && grew(m))
			continue;
		if (left == 0) {
			m->ended = true;
			return 0;
		}
		if (left < RECORD_HEADER && !holds(m, m->len)) { /* cut shorter still */
			if (remap(m, msg, msg_len))
				return -1;
			continue;
		}
		if (left < RECORD_HEADER) {
			snprintf(msg, msg_len, "truncated dump file; tried to read %u header bytes, only got %llu",
				 RECORD_HEADER, (unsigned long long)left);
			return -1;
		}
		const uint8_t *p = m->map + m->pos;
		uint32_t w[4];
		memcpy(w, p, sizeof(w)); /* zeros if the file was cut before them: holds() says so below */
		uint32_t caplen = word(m, w[2]);
		if (caplen > EDP_PCAPMAP_MAX_CAPLEN) { /* libpcap's words, as it says them */
			if (!holds(m, m->pos + RECORD_HEADER)) {
				if (remap(m, msg, msg_len))
					return -1;
				continue;
			}
			if (caplen > m->snapshot)
				snprintf(msg, msg_len, "invalid packet capture length %u, bigger than snaplen of %d", caplen,
					 (int)m->snapshot);
			else
				snprintf(msg, msg_len, "invalid packet capture length %u, bigger than maximum of %u", caplen,
					 EDP_PCAPMAP_MAX_CAPLEN);
			return -1;
		}
		left -= RECORD_HEADER;
		if (!holds(m, m->pos + RECORD_HEADER + (left < caplen ? left : caplen))) { /* cut: read as cut */
			if (remap(m, msg, msg_len))
				return -1;
			continue;
		}
		if (left < caplen && grew(m))
			continue;
		if (left < caplen) { /* libpcap reads the snapshot's bytes first, then passes over the rest */
			bool cut = caplen > m->snapshot;
			snprintf(msg, msg_len, "truncated dump file; tried to read %u captured bytes, only got %llu",
				 cut && left < m->snapshot ? m->snapshot : caplen, (unsigned long long)left);
			return -1;
		}
		m->fetched = prefetch_ahead(m, m->pos + RECORD_HEADER + caplen, m->fetched);
		header(m, w, caplen, h);
		*data = p + RECORD_HEADER;
		__atomic_store_n(&m->pos, m->pos + RECORD_HEADER + caplen, __ATOMIC_RELAXED); /* edp_pcapmap_pos */
		return 1;
	}
}

int edp_pcapmap_next_batch(struct edp_pcapmap *m, uint32_t max, struct pcap_pkthdr *h, const u_char **data,
			   char *msg, size_t msg_len)
{
	if (m->ended)
		return 0;
	give_back(m);
	/* m's fields in locals: the stores to h[] might alias them */
	const struct edp_pcapmap c = *m;
	uint64_t pos = c.pos, fetched = c.fetched;
	uint32_t n = 0;
	/* whole records in the mapping, each header read before the next's;
	 * anything else (the end, a record cut short or too long, a file
	 * that grew or shrank) is edp_pcapmap_next's, one record at a time */
	while (n < max && c.len >= pos + RECORD_HEADER) {
		const uint8_t *p = c.map + pos;
		uint32_t w[4];
		memcpy(w, p, sizeof(w)); /* zeros if the file was cut: holds() says so below */
		uint32_t caplen = word(&c, w[2]);
		if (caplen > EDP_PCAPMAP_MAX_CAPLEN || c.len - pos - RECORD_HEADER < caplen)
			break;
		header(&c, w, caplen, &h[n]);
		data[n++] = p + RECORD_HEADER;
		pos += RECORD_HEADER + caplen;
		fetched = prefetch_ahead(&c, pos, fetched);
	}
	/* one look past the last record's end answers for all of them: a
	 * file cut before it faults there (or is shorter now) */
	if (n == 0 || !holds(m, pos))
		return edp_pcapmap_next(m, h, data, msg, msg_len);
	m->fetched = fetched;
	__atomic_store_n(&m->pos, pos, __ATOMIC_RELAXED); /* edp_pcapmap_pos */
	return (int)n;
}

uint64_t edp_pcapmap_pos(const struct edp_pcapmap *m) { return __atomic_load_n(&m->pos, __ATOMIC_RELAXED); }

void edp_pcapmap_close(struct edp_pcapmap *m)
{
	if (!m)
		return;
	unmap(m);
	free(m);
}
