#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "edp_pcapio.h"

/* Write packets with nanosecond timestamps and truncated captures, read them
 * back: every field survives; microsecond files round timestamps down. */
static void roundtrip(bool nano)
{
	char path[] = "/tmp/edp-pcapio-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(2, 2048, NULL);
	struct edp_mbuf *m[2];
	edp_mbuf_alloc_bulk(pool, m, 2);
	struct edp_pcap_writer *w = edp_pcap_writer_open(path, nano, 1500, NULL);
	assert_non_null(w);
	for (uint32_t i = 0; i < 100; i++) {
		m[0]->data_len = 60 + i;
		m[0]->wire_len = 60 + 3 * i;
		m[0]->ts_ns = 1700000000123456789ull + i * 1001ull;
		memset(m[0]->data, (int)i, m[0]->data_len);
		assert_int_equal(edp_pcap_writer_write(w, m[0], NULL), 0);
	}
	assert_int_equal(edp_pcap_writer_close(w, NULL), 0);
	struct edp_error err;
	struct edp_pcap_reader *r = edp_pcap_reader_open(path, &err);
	assert_non_null(r);
	assert_int_equal(edp_pcap_reader_nanosecond(r), nano);
	assert_int_equal(edp_pcap_reader_snaplen(r), 1500);
	for (uint32_t i = 0; i < 100; i++) {
		assert_int_equal(edp_pcap_reader_next(r, m[1], &err), 1);
		assert_int_equal(m[1]->data_len, 60 + i);
		assert_int_equal(m[1]->wire_len, 60 + 3 * i);
		uint64_t ts = 1700000000123456789ull + i * 1001ull;
		assert_int_equal(m[1]->ts_ns, nano ? ts : ts - ts % 1000);
		assert_int_equal(m[1]->data[59 + i], i);
	}
	assert_int_equal(edp_pcap_reader_next(r, m[1], &err), 0);
	edp_pcap_reader_close(r);
	edp_mbuf_free_bulk(m, 2);
	edp_mbuf_pool_destroy(pool);
	unlink(path);
}

static void test_roundtrip_nano(void **state) { (void)state; roundtrip(true); }
static void test_roundtrip_micro(void **state) { (void)state; roundtrip(false); }

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

/* Packet i of the deferred tests: its length (now and then more than a
 * 64 KiB buffer, written around the buffers) and its bytes. */
static uint32_t deferred_len(uint32_t i) { return i % 5000 == 17 ? 70000 + i % 3 : 60 + i % 1400; }
static uint8_t deferred_byte(uint32_t i, uint32_t k) { return (uint8_t)(i * 7 + k / 61); }

struct drainer {
	struct edp_pcap_writer *w;
	atomic_bool stop;
	uint64_t drained;
};

static void *drain_main(void *arg)
{
	struct drainer *d = arg;
	while (!atomic_load(&d->stop))
		d->drained += edp_pcap_writer_drain(d->w);
	return NULL;
}

/* A deferred writer with another thread writing its buffers out as the
 * owner fills them: the file holds every packet, in order, byte for byte;
 * the other thread wrote some of it. */
static void test_deferred_drained_by_another_thread(void **state)
{
	(void)state;
	enum { N = 60000 };
	char path[] = "/tmp/edp-pcapio-XXXXXX";
	close(mkstemp(path));
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(2, 80000, NULL);
	struct edp_mbuf *m[2];
	edp_mbuf_alloc_bulk(pool, m, 2);
	struct edp_error err;
	struct edp_pcap_writer *w = edp_pcap_writer_open(path, true, 80000, &err);
	assert_non_null(w);
	assert_int_equal(edp_pcap_writer_defer(w, &err), 0);
	struct drainer d = {.w = w};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, drain_main, &d), 0);
	for (uint32_t i = 0; i < N; i++) {
		m[0]->data_len = m[0]->wire_len = deferred_len(i);
		m[0]->ts_ns = 1700000000000000000ull + i;
		for (uint32_t k = 0; k < m[0]->data_len; k++)
			m[0]->data[k] = deferred_byte(i, k);
		assert_int_equal(edp_pcap_writer_write(w, m[0], &err), 0);
		if (i == N / 2) /* a flush on the way writes everything queued */
			assert_int_equal(edp_pcap_writer_flush(w, &err), 0);
	}
	atomic_store(&d.stop, true);
	pthread_join(t, NULL);
	assert_int_equal(edp_pcap_writer_close(w, &err), 0);
	assert_true(d.drained > 0);
	struct edp_pcap_reader *r = edp_pcap_reader_open(path, &err);
	assert_non_null(r);
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(edp_pcap_reader_next(r, m[1], &err), 1);
		assert_int_equal(m[1]->data_len, deferred_len(i));
		assert_int_equal(m[1]->ts_ns, 1700000000000000000ull + i);
		for (uint32_t k = 0; k < m[1]->data_len; k++)
			if (m[1]->data[k] != deferred_byte(i, k))
				fail_msg("packet %u byte %u", i, k);
	}
	assert_int_equal(edp_pcap_reader_next(r, m[1], &err), 0);
	edp_pcap_reader_close(r);
	edp_mbuf_free_bulk(m, 2);
	edp_mbuf_pool_destroy(pool);
	unlink(path);
}

/* A deferred write that fails (the pipe's reader went away) is reported by
 * the owner's next writes and by close, with the failed write's reason. */
static void test_deferred_failure_reported(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	int p[2];
	assert_int_equal(pipe(p), 0);
	char path[32];
	snprintf(path, sizeof(path), "/dev/fd/%d", p[1]);
	struct edp_error err;
	struct edp_pcap_writer *w = edp_pcap_writer_open(path, false, 1500, &err);
	assert_non_null(w);
	char header[24];
	assert_int_equal(read(p[0], header, sizeof(header)), 24);
	close(p[0]);
	assert_int_equal(edp_pcap_writer_defer(w, &err), 0);
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(1, 2048, NULL);
	struct edp_mbuf *m;
	edp_mbuf_alloc_bulk(pool, &m, 1);
	memset(m->data, 0xab, 1000);
	m->data_len = m->wire_len = 1000;
	int rc = 0;
	for (uint32_t i = 0; i < 100000 && rc == 0; i++)
		rc = edp_pcap_writer_write(w, m, &err);
	assert_int_equal(rc, -1);
	assert_int_equal(err.status, EDP_ERR_RUNTIME);
	char want[64];
	snprintf(want, sizeof(want), "%s: write failed: Broken pipe", path);
	assert_string_equal(err.msg, want);
	memset(&err, 0, sizeof(err));
	assert_int_equal(edp_pcap_writer_close(w, &err), -1);
	assert_string_equal(err.msg, want);
	close(p[1]);
	edp_mbuf_free_bulk(&m, 1);
	edp_mbuf_pool_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_nano),
		cmocka_unit_test(test_roundtrip_micro),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_deferred_drained_by_another_thread),
		cmocka_unit_test(test_deferred_failure_reported),
	};
	return cmocka_run_group_tests_name("pcapio", tests, NULL, NULL);
}
