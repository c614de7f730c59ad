#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "edp_mbuf.h"
#include "edp_pcapio.h"

/* Write packets with nanosecond timestamps and truncated captures (the
 * first half one at a time, the second ten at a time), read them back:
 * every field survives; microsecond files round timestamps down. */
static void roundtrip(bool nano)
{
	char path[] = "/tmp/edp-pcapio-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(11, 2048, NULL);
	struct edp_mbuf *m[11];
	edp_mbuf_alloc_bulk(pool, m, 11);
	struct edp_pcap_writer *w = edp_pcap_writer_open(path, nano, 1500, NULL);
	assert_non_null(w);
	struct edp_pcap_record rec[10];
	for (uint32_t i = 0; i < 100; i++) {
		struct edp_mbuf *p = m[i % 10];
		p->data_len = 60 + i;
		p->wire_len = 60 + 3 * i;
		p->ts_ns = 1700000000123456789ull + i * 1001ull;
		memset(p->data, (int)i, p->data_len);
		rec[i % 10] = edp_pcap_record_of(p);
		if (i < 50)
			assert_int_equal(edp_pcap_writer_write(w, p, NULL), 0);
		else if (i % 10 == 9)
			assert_int_equal(edp_pcap_writer_write_records(w, rec, 10, NULL), 0);
	}
	assert_int_equal(edp_pcap_writer_close(w, NULL), 0);
	struct edp_error err;
	struct edp_pcap_reader *r = edp_pcap_reader_open(path, &err);
	assert_non_null(r);
	assert_int_equal(edp_pcap_reader_nanosecond(r), nano);
	assert_int_equal(edp_pcap_reader_snaplen(r), 1500);
	for (uint32_t i = 0; i < 100; i++) {
		assert_int_equal(edp_pcap_reader_next(r, m[10], &err), 1);
		assert_int_equal(m[10]->data_len, 60 + i);
		assert_int_equal(m[10]->wire_len, 60 + 3 * i);
		uint64_t ts = 1700000000123456789ull + i * 1001ull;
		assert_int_equal(m[10]->ts_ns, nano ? ts : ts - ts % 1000);
		assert_int_equal(m[10]->data[59 + i], i);
	}
	assert_int_equal(edp_pcap_reader_next(r, m[10], &err), 0);
	edp_pcap_reader_close(r);
	edp_mbuf_free_bulk(m, 11);
	edp_mbuf_pool_destroy(pool);
	unlink(path);
}

static void test_roundtrip_nano(void **state) { (void)state; roundtrip(true); }
static void test_roundtrip_micro(void **state) { (void)state; roundtrip(false); }

struct seen {
	uint32_t n;
	uint32_t len[64];
	uint64_t ts[64];
};

static void see(void *ctx, const struct edp_pcap_packet *pkt)
{
	struct seen *s = ctx;
	s->len[s->n] = pkt->caplen;
	s->ts[s->n++] = pkt->ts_ns;
	assert_int_equal(pkt->data[pkt->caplen - 1], (uint8_t)(pkt->caplen - 60));
}

/* A capture of 11 packets (60 + i bytes, time 1000 + i ns) cut inside the
 * last one: 30 of its 70 bytes. */
static void write_cut_capture(char *path)
{
	int fd = mkstemp(path);
	close(fd);
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(1, 2048, NULL);
	struct edp_mbuf *m;
	edp_mbuf_alloc_bulk(pool, &m, 1);
	struct edp_pcap_writer *w = edp_pcap_writer_open(path, true, 1500, NULL);
	for (uint32_t i = 0; i < 11; i++) {
		m->data_len = m->wire_len = 60 + i;
		m->ts_ns = 1000 + i;
		memset(m->data, (int)i, m->data_len);
		assert_int_equal(edp_pcap_writer_write(w, m, NULL), 0);
	}
	assert_int_equal(edp_pcap_writer_close(w, NULL), 0);
	assert_int_equal(truncate(path, 24 + 10 * 16 + 60 * 10 + 45 + 16 + 30), 0);
	edp_mbuf_free_bulk(&m, 1);
	edp_mbuf_pool_destroy(pool);
}

/* A reader of write_cut_capture's file. */
static struct edp_pcap_reader *open_cut_capture(char *path)
{
	write_cut_capture(path);
	struct edp_error err = { 0 };
	struct edp_pcap_reader *r = edp_pcap_reader_open(path, &err);
	assert_non_null(r);
	return r;
}

static void assert_seen_ten(const struct seen *s)
{
	assert_int_equal(s->n, 10);
	for (uint32_t i = 0; i < 10; i++) {
		assert_int_equal(s->len[i], 60 + i);
		assert_int_equal(s->ts[i], 1000 + i);
	}
}

#define CUT_ERROR ": after packet 10: truncated dump file; tried to read 70 captured bytes, only got 30"

/* Bursts hand the packets over in order, max at a time; an error met after
 * some packets of a burst (here a file cut inside packet 11) comes with the
 * next burst, once the packets before it are delivered. */
static void test_burst(void **state)
{
	(void)state;
	char path[] = "/tmp/edp-pcapio-XXXXXX";
	struct edp_pcap_reader *r = open_cut_capture(path);
	struct edp_error err = { 0 };
	struct seen s = { 0 };
	assert_int_equal(edp_pcap_reader_read_burst(r, 4, see, &s, &err), 4);
	assert_int_equal(edp_pcap_reader_read_burst(r, 32, see, &s, &err), 6);
	assert_int_equal(edp_pcap_reader_packets(r), 10);
	assert_int_equal(edp_pcap_reader_read_burst(r, 32, see, &s, &err), -1);
	assert_string_equal(err.msg + strlen(path), CUT_ERROR);
	assert_seen_ten(&s);
	edp_pcap_reader_close(r);
	unlink(path);
}

/* The caller's own libpcap callback: the same packets, the count in the
 * user data adds up over the calls while each call returns its own. */
struct dispatched {
	struct edp_pcap_burst burst;
	struct seen s;
};

static void see_raw(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct dispatched *d = (struct dispatched *)user;
	struct edp_pcap_packet pkt;
	assert_int_equal(edp_pcap_burst_take(user, h, data, &pkt), d->s.n); /* its index in the burst */
	see(&d->s, &pkt);
}

static void test_dispatch(void **state)
{
	(void)state;
	char path[] = "/tmp/edp-pcapio-XXXXXX";
	struct edp_pcap_reader *r = open_cut_capture(path);
	struct edp_error err = { 0 };
	struct dispatched d = { { 0 }, { 0 } };
	assert_int_equal(edp_pcap_reader_dispatch(r, 3, see_raw, &d.burst, &err), 3);
	assert_int_equal(edp_pcap_reader_dispatch(r, 32, see_raw, &d.burst, &err), 7);
	assert_int_equal(d.burst.n, 10);
	assert_int_equal(edp_pcap_reader_packets(r), 10);
	assert_int_equal(edp_pcap_reader_dispatch(r, 32, see_raw, &d.burst, &err), -1);
	assert_string_equal(err.msg + strlen(path), CUT_ERROR);
	assert_int_equal(d.burst.n, 10);
	assert_seen_ten(&d.s);
	edp_pcap_reader_close(r);
	unlink(path);
}

/* A pcap file's seconds are unsigned 32 bits: past 2038 libpcap hands them
 * over negative, and the packet's time stays after 2038. */
static void test_file_packet_time(void **state)
{
	(void)state;
	struct pcap_pkthdr h = { .ts = { .tv_sec = (time_t)(int32_t)0x80000001u, .tv_usec = 5 }, .caplen = 60, .len = 50 };
	u_char data[60] = { 0 };
	struct edp_pcap_packet pkt;
	edp_pcap_file_packet(&h, data, &pkt);
	assert_int_equal(pkt.ts_ns, 0x80000001ull * 1000000000ull + 5);
	assert_int_equal(pkt.caplen, 60);
	assert_int_equal(pkt.wire_len, 60); /* never shorter than what was captured */
	assert_ptr_equal(pkt.data, data);
}

static void test_errors(void **state)
{
	(void)state;
	struct edp_error err;
	assert_null(edp_pcap_reader_open("/nonexistent.pcap", &err));
	assert_int_equal(err.status, EDP_ERR_RUNTIME);
	assert_string_equal(err.msg, "/nonexistent.pcap: cannot open: No such file or directory");
	assert_null(edp_pcap_reader_open("/tmp", &err));
	assert_string_equal(err.msg, "/tmp: is a directory, not a capture file");
	assert_null(edp_pcap_writer_open("/nonexistent/x.pcap", false, 100, &err));
	assert_string_equal(err.msg, "/nonexistent/x.pcap: cannot create: No such file or directory");
}

/* Packet i of a numbered capture: its own length, time and bytes. */
static void fill_numbered(struct edp_mbuf *m, uint32_t i)
{
	m->data_len = m->wire_len = 60 + i % 900;
	m->ts_ns = 1700000000000000000ull + i * 1000ull;
	for (uint32_t k = 0; k < m->data_len; k++)
		m->data[k] = (uint8_t)(i * 7 + k);
}

/* A capture of n numbered packets. */
static void write_numbered(const char *path, uint32_t n, bool nano)
{
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(1, 2048, NULL);
	struct edp_mbuf *m;
	edp_mbuf_alloc_bulk(pool, &m, 1);
	struct edp_pcap_writer *w = edp_pcap_writer_open(path, nano, 2048, NULL);
	for (uint32_t i = 0; i < n; i++) {
		fill_numbered(m, i);
		assert_int_equal(edp_pcap_writer_write(w, m, NULL), 0);
	}
	assert_int_equal(edp_pcap_writer_close(w, NULL), 0);
	edp_mbuf_free_bulk(&m, 1);
	edp_mbuf_pool_destroy(pool);
}

static void assert_packet_numbered(const struct edp_pcap_packet *pkt, uint32_t i)
{
	assert_int_equal(pkt->caplen, 60 + i % 900);
	assert_int_equal(pkt->ts_ns, 1700000000000000000ull + i * 1000ull);
	for (uint32_t k = 0; k < pkt->caplen; k++)
		assert_int_equal(pkt->data[k], (uint8_t)(i * 7 + k));
}

static void assert_numbered(struct edp_pcap_reader *r, uint32_t i)
{
	struct edp_pcap_packet pkt;
	assert_int_equal(edp_pcap_reader_read(r, &pkt, NULL), 1);
	assert_packet_numbered(&pkt, i);
}

static void see_numbered(void *ctx, const struct edp_pcap_packet *pkt)
{
	uint32_t *next = ctx;
	assert_packet_numbered(pkt, (*next)++);
}

struct pump {
	const char *path;
	int fd;
};

static void *pump_file(void *arg)
{
	struct pump *p = arg;
	FILE *f = fopen(p->path, "rb");
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		assert_int_equal(write(p->fd, buf, n), (ssize_t)n);
	fclose(f);
	close(p->fd);
	return NULL;
}

/* A reader handed over after some packets (one at a time, then a burst):
 * the next reader goes on at the next record, from a file and from a pipe
 * (whose bytes the first had read ahead are carried along). */
static void handover(bool pipe_input)
{
	char path[] = "/tmp/edp-pcapio-XXXXXX";
	close(mkstemp(path));
	write_numbered(path, 3000, true);
	int fds[2] = { -1, -1 };
	pthread_t t;
	struct pump p = { path, -1 };
	char name[64];
	snprintf(name, sizeof(name), "%s", path);
	if (pipe_input) {
		assert_int_equal(pipe(fds), 0);
		p.fd = fds[1];
		pthread_create(&t, NULL, pump_file, &p);
		snprintf(name, sizeof(name), "/dev/fd/%d", fds[0]);
	}
	struct edp_error err = { 0 };
	struct edp_pcap_reader *a = edp_pcap_reader_open(name, &err);
	assert_non_null(a);
	if (pipe_input)
		close(fds[0]); /* the reader has its own */
	for (uint32_t i = 0; i < 1000; i++)
		assert_numbered(a, i);
	uint32_t next = 1000;
	assert_int_equal(edp_pcap_reader_read_burst(a, 7, see_numbered, &next, &err), 7);
	struct edp_pcap_handover h;
	assert_int_equal(edp_pcap_reader_handover(a, &h, &err), 0);
	edp_pcap_reader_close(a);
	struct edp_pcap_reader *b = edp_pcap_reader_adopt(&h, "moved", &err);
	assert_non_null(b);
	assert_true(edp_pcap_reader_nanosecond(b));
	for (uint32_t i = 1007; i < 3000; i++)
		assert_numbered(b, i);
	struct edp_pcap_packet pkt;
	assert_int_equal(edp_pcap_reader_read(b, &pkt, &err), 0);
	edp_pcap_reader_close(b);
	if (pipe_input)
		pthread_join(t, NULL);
	unlink(path);
}

/* A writer handed over: the next one goes on in the same file, no second
 * header; the file reads back as one capture of every packet. */
static void test_writer_handover(void **state)
{
	(void)state;
	char path[] = "/tmp/edp-pcapio-XXXXXX";
	close(mkstemp(path));
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(1, 2048, NULL);
	struct edp_mbuf *m;
	edp_mbuf_alloc_bulk(pool, &m, 1);
	struct edp_pcap_writer *w = edp_pcap_writer_open(path, true, 2048, NULL);
	uint64_t bytes = 24;
	for (uint32_t i = 0; i < 1000; i++) {
		if (i == 600) { /* buffered records go out before the descriptor does */
			int fd;
			bool nano = false;
			assert_int_equal(edp_pcap_writer_handover(w, &fd, &nano, NULL), 0);
			assert_true(nano);
			assert_int_equal(edp_pcap_writer_close(w, NULL), 0);
			assert_non_null(w = edp_pcap_writer_adopt(fd, nano, "moved", NULL));
		}
		fill_numbered(m, i);
		assert_int_equal(edp_pcap_writer_write(w, m, NULL), 0);
		bytes += 16 + m->data_len;
	}
	assert_int_equal(edp_pcap_writer_close(w, NULL), 0);
	edp_mbuf_free_bulk(&m, 1);
	edp_mbuf_pool_destroy(pool);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, bytes);
	struct edp_pcap_reader *r = edp_pcap_reader_open(path, NULL);
	assert_non_null(r);
	for (uint32_t i = 0; i < 1000; i++)
		assert_numbered(r, i);
	edp_pcap_reader_close(r);
	unlink(path);
}

static void test_handover_file(void **state) { (void)state; handover(false); }
static void test_handover_pipe(void **state) { (void)state; handover(true); }

/* A burst's packets, copied out of the reader's callback. */
struct copied {
	struct edp_pcap_packet pkt[EDP_BATCH];
	uint8_t data[EDP_BATCH][262144]; /* the largest record read */
	uint32_t n;
};

static void copy_packet(void *ctx, const struct edp_pcap_packet *pkt)
{
	struct copied *c = ctx;
	assert_true(c->n < EDP_BATCH && pkt->caplen <= sizeof(c->data[0]));
	memcpy(c->data[c->n], pkt->data, pkt->caplen);
	c->pkt[c->n] = *pkt;
	c->pkt[c->n].data = c->data[c->n];
	c->n++;
}

/* The next packet of a, one at a time or from bursts of `burst` (>1). */
static int read_next(struct edp_pcap_reader *a, uint32_t burst, struct copied *c, uint32_t *at,
		     struct edp_pcap_packet *pkt, struct edp_error *err)
{
	if (burst == 1)
		return edp_pcap_reader_read(a, pkt, err);
	if (*at == c->n) {
		c->n = *at = 0;
		int rc = edp_pcap_reader_read_burst(a, burst, copy_packet, c, err);
		if (rc <= 0)
			return rc;
		assert_int_equal(rc, c->n);
	}
	*pkt = c->pkt[(*at)++];
	return 1;
}

/* Both readers of path, edp's own (edp_pcap_reader_open, one packet at a
 * time and in bursts) and libpcap's: the same packets, then the same end
 * or the same error. Returns whether the first read in windows (-1: both
 * refused it, with the same words). */
static int read_alike(const char *path)
{
	static struct copied c;
	const uint32_t bursts[] = { 1, EDP_BATCH };
	int windowed = -1;
	for (uint32_t t = 0; t < 2; t++) {
		uint32_t burst = bursts[t];
		struct edp_error ea = { 0 }, eb = { 0 };
		struct edp_pcap_reader *a = edp_pcap_reader_open(path, &ea), *b = edp_pcap_reader_open_libpcap(path, &eb);
		if (!a || !b) {
			assert_null(a);
			assert_null(b);
			assert_string_equal(ea.msg, eb.msg);
			return -1;
		}
		windowed = edp_pcap_reader_windowed(a);
		assert_false(edp_pcap_reader_windowed(b));
		struct edp_pcap_packet pa, pb;
		int ra, rb;
		uint32_t at = c.n = 0;
		do {
			ra = read_next(a, burst, &c, &at, &pa, &ea);
			rb = edp_pcap_reader_read(b, &pb, &eb);
			assert_int_equal(ra, rb);
			if (ra == 1) {
				assert_int_equal(pa.caplen, pb.caplen);
				assert_int_equal(pa.wire_len, pb.wire_len);
				assert_int_equal(pa.ts_ns, pb.ts_ns);
				assert_memory_equal(pa.data, pb.data, pa.caplen);
			}
		} while (ra == 1);
		if (ra < 0)
			assert_string_equal(ea.msg, eb.msg);
		edp_pcap_reader_close(a);
		edp_pcap_reader_close(b);
	}
	return windowed;
}

/* Every capture of tests/data and ../shared/traces reads the same both
 * ways; the classic pcaps of version 2.4 in windows. */
static void test_windowed_traces(void **state)
{
	(void)state;
	const char *dirs[] = { "tests/data", "../shared/traces" };
	uint32_t read = 0, windowed = 0;
	for (uint32_t d = 0; d < 2; d++) {
		DIR *dir = opendir(dirs[d]);
		for (struct dirent *e; dir && (e = readdir(dir));) {
			size_t l = strlen(e->d_name);
			if (l < 5 || (strcmp(e->d_name + l - 5, ".pcap") != 0 && strcmp(e->d_name + l - 7, ".pcapng") != 0))
				continue;
			char path[512];
			snprintf(path, sizeof(path), "%s/%s", dirs[d], e->d_name);
			unsigned char head[8] = { 0 };
			FILE *f = fopen(path, "rb");
			assert_non_null(f);
			assert_int_equal(fread(head, 1, 8, f), 8);
			fclose(f);
			uint32_t magic = (uint32_t)head[0] | (uint32_t)head[1] << 8 | (uint32_t)head[2] << 16 |
					 (uint32_t)head[3] << 24;
			bool le = magic == 0xa1b2c3d4u || magic == 0xa1b23c4du,
			     be = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
			bool v24 = (le && head[4] == 2 && head[6] == 4) || (be && head[5] == 2 && head[7] == 4);
			int m = read_alike(path);
			if (m < 0) /* a link type edp does not read */
				continue;
			assert_int_equal(m, v24);
			read++;
			windowed += (uint32_t)m;
		}
		if (dir)
			closedir(dir);
	}
	assert_true(read >= 10 && windowed >= 8); /* run from the top of the tree, as make test does */
}

/* A classic pcap made byte by byte: magic, version, snapshot length,
 * link type Ethernet, then `n` records of the given lengths and times,
 * each record's bytes its index; in the other byte order when asked. */
struct rec_spec {
	uint32_t sec, frac, caplen, len;
};

static void craft(const char *path, uint32_t magic, uint16_t major, uint16_t minor, uint32_t snaplen, bool swap,
		  const struct rec_spec *rec, uint32_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	uint32_t hdr[6] = { magic, (uint32_t)major | (uint32_t)minor << 16, 0, 0, snaplen, 1 };
	if (swap) {
		for (int i = 0; i < 6; i++)
			hdr[i] = __builtin_bswap32(hdr[i]);
		hdr[1] = (uint32_t)__builtin_bswap16(major) | (uint32_t)__builtin_bswap16(minor) << 16;
	}
	fwrite(hdr, 4, 6, f);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t r[4] = { rec[i].sec, rec[i].frac, rec[i].caplen, rec[i].len };
		for (int k = 0; swap && k < 4; k++)
			r[k] = __builtin_bswap32(r[k]);
		fwrite(r, 4, 4, f);
		for (uint32_t k = 0; k < rec[i].caplen && k < 300000; k++)
			fputc((int)(i + k), f);
	}
	fclose(f);
}

/* Crafted files read the same both ways, whole and cut at every byte:
 * both byte orders, micro- and nanoseconds, time words with the top bit
 * set, a record longer than the snapshot length (cut to it), one longer
 * than libpcap takes; a version before 2.4 is left to libpcap. */
static void test_windowed_crafted(void **state)
{
	(void)state;
	char path[] = "/tmp/edp-pcapio-XXXXXX", cut[] = "/tmp/edp-pcapio-XXXXXX";
	close(mkstemp(path));
	close(mkstemp(cut));
	const struct rec_spec recs[] = { { 1700000000, 999999, 60, 60 },
					 { 0x80000001u, 0xb8000100u, 14, 1514 },
					 { 5, 1000000, 150, 150 }, /* over the snapshot length of 100 */
					 { 7, 3, 0, 0 } };
	for (int swap = 0; swap < 2; swap++) {
		for (int nano = 0; nano < 2; nano++) {
			craft(path, nano ? 0xa1b23c4du : 0xa1b2c3d4u, 2, 4, 100, swap, recs, 4);
			struct stat st;
			assert_int_equal(stat(path, &st), 0);
			assert_int_equal(1, read_alike(path));
			for (off_t size = 24; size < st.st_size; size++) {
				assert_int_equal(truncate(path, st.st_size), 0);
				FILE *in = fopen(path, "rb"), *out = fopen(cut, "wb");
				char buf[1024];
				size_t got = fread(buf, 1, (size_t)size, in);
				fwrite(buf, 1, got, out);
				fclose(in);
				fclose(out);
				assert_int_equal(1, read_alike(cut));
			}
		}
		const struct rec_spec huge[] = { { 1, 1, 60, 60 }, { 2, 2, 262145, 262145 } };
		craft(path, 0xa1b2c3d4u, 2, 4, 0, swap, huge, 2); /* snapshot 0: libpcap's largest */
		assert_int_equal(1, read_alike(path));
		/* the largest record libpcap takes, across the first window's end */
		const struct rec_spec largest[] = { { 1, 1, 60, 60 }, { 2, 2, 262144, 262144 }, { 3, 3, 70, 70 } };
		craft(path, 0xa1b2c3d4u, 2, 4, 0, swap, largest, 3);
		assert_int_equal(1, read_alike(path));
		craft(path, 0xa1b2c3d4u, 2, 4, 1000, swap, huge, 2);
		assert_int_equal(1, read_alike(path));
		craft(path, 0xa1b2c3d4u, 2, 2, 1000, swap, recs, 4); /* lengths read the other way round */
		assert_int_equal(read_alike(path), 0);
	}
	unlink(path);
	unlink(cut);
}

/* A file another process cuts while it is read, past the window: the
 * packets before the cut, then the error libpcap gives for a file cut
 * there; a file that grows is read on. */
static void test_windowed_file_changes(void **state)
{
	(void)state;
	char path[] = "/tmp/edp-pcapio-XXXXXX";
	close(mkstemp(path));
	uint64_t rec_end[3001] = { 24 }; /* where record i ends */
	for (uint32_t i = 0; i < 3000; i++)
		rec_end[i + 1] = rec_end[i] + 16 + 60 + i % 900;
	const struct {
		uint32_t read, cut_after;
		off_t extra;
		const char *error;
	} cuts[] = {
		{ 1000, 2000, 10, ": after packet 2000: truncated dump file; tried to read 16 header bytes, only got 10" },
		{ 1000, 1500, 20, ": after packet 1500: truncated dump file; tried to read 660 captured bytes, only got 4" },
		{ 10, 2999, 16 + 5, NULL },
	};
	/* after the cut, read one at a time and in bursts: a burst that
	 * crosses the cut brings the packets before it, then the error */
	for (uint32_t t = 0; t < 6; t++) {
		uint32_t c = t % 3, burst = t < 3 ? 1 : EDP_BATCH;
		write_numbered(path, 3000, true);
		struct edp_error err = { 0 };
		struct edp_pcap_reader *r = edp_pcap_reader_open(path, &err);
		assert_non_null(r);
		assert_true(edp_pcap_reader_windowed(r));
		for (uint32_t i = 0; i < cuts[c].read; i++)
			assert_numbered(r, i);
		assert_int_equal(truncate(path, (off_t)rec_end[cuts[c].cut_after] + cuts[c].extra), 0);
		uint32_t next = cuts[c].read;
		int rc;
		struct edp_pcap_packet pkt;
		if (burst == 1)
			while ((rc = edp_pcap_reader_read(r, &pkt, &err)) == 1)
				see_numbered(&next, &pkt);
		else
			while ((rc = edp_pcap_reader_read_burst(r, burst, see_numbered, &next, &err)) > 0)
				;
		assert_int_equal(rc, -1);
		assert_int_equal(next, cuts[c].cut_after);
		if (cuts[c].error)
			assert_string_equal(err.msg + strlen(path), cuts[c].error);
		edp_pcap_reader_close(r);
		assert_int_equal(1, read_alike(path)); /* libpcap says the same of the cut file */
	}
	/* grown while read: read on to the new end */
	write_numbered(path, 100, true);
	struct edp_error err = { 0 };
	struct edp_pcap_reader *r = edp_pcap_reader_open(path, &err);
	assert_non_null(r);
	for (uint32_t i = 0; i < 100; i++)
		assert_numbered(r, i);
	char more[] = "/tmp/edp-pcapio-XXXXXX";
	close(mkstemp(more));
	write_numbered(more, 200, true);
	FILE *in = fopen(more, "rb"), *out = fopen(path, "ab");
	char buf[4096];
	size_t n;
	assert_int_equal(fseek(in, (long)rec_end[100], SEEK_SET), 0);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
	for (uint32_t i = 100; i < 200; i++)
		assert_numbered(r, i);
	struct edp_pcap_packet pkt;
	assert_int_equal(edp_pcap_reader_read(r, &pkt, &err), 0);
	edp_pcap_reader_close(r);
	unlink(more);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_nano),
		cmocka_unit_test(test_roundtrip_micro),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_file_packet_time),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_handover_file),
		cmocka_unit_test(test_handover_pipe),
		cmocka_unit_test(test_writer_handover),
		cmocka_unit_test(test_windowed_traces),
		cmocka_unit_test(test_windowed_crafted),
		cmocka_unit_test(test_windowed_file_changes),
	};
	return cmocka_run_group_tests_name("pcapio", tests, NULL, NULL);
}
