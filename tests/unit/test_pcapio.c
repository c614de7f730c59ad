#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
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
	};
	return cmocka_run_group_tests_name("pcapio", tests, NULL, NULL);
}
