#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "unit.h"
#include "edp_config.h"
#include "edp_output.h"

#define LIMIT 100000 /* bytes the file output may take (RLIMIT_FSIZE) */

/* Outputs of ports 1.. to the given files (port 0 has none): `path` gets a
 * new temporary file, named by "FILE" in txs. */
static void open_outputs(struct edp_output *o, struct edp_config *cfg, char *path, bool nano, const char *const *txs,
			 uint32_t n)
{
	close(mkstemp(path));
	edp_config_default(cfg);
	cfg->n_ports = n + 1;
	cfg->ports[0].tx = NULL;
	for (uint32_t i = 0; i < n; i++)
		cfg->ports[i + 1].tx = strdup(strcmp(txs[i], "FILE") == 0 ? path : txs[i]);
	memset(o, 0, sizeof(*o));
	assert_int_equal(edp_output_open(o, cfg, nano, 2048, NULL), 0);
}

/* Hand n packets to the outputs as the inline loop does (emit), or as
 * the chunk mode does (staged by a worker, committed in its turn). */
static int hand(struct edp_output *o, bool staged, const struct edp_pcap_record *rec, const uint64_t *ports,
		const uint16_t *in, uint32_t in_step, uint32_t n, struct edp_error *err)
{
	if (!staged)
		return edp_output_emit(o, rec, ports, in, in_step, n, err);
	struct edp_output_stage st;
	assert_int_equal(edp_output_stage_init(o, &st, 16, 1024, NULL), 0); /* small: it grows */
	struct edp_mbuf *m = calloc(n, sizeof(*m)), *p[EDP_BATCH];
	for (uint32_t at = 0; at < n; at += EDP_BATCH) {
		uint32_t k = n - at < EDP_BATCH ? n - at : EDP_BATCH;
		for (uint32_t i = 0; i < k; i++) {
			struct edp_mbuf *x = &m[at + i];
			x->data = (uint8_t *)rec[at + i].data;
			x->data_len = rec[at + i].caplen;
			x->wire_len = rec[at + i].wire_len;
			x->ts_ns = rec[at + i].ts_ns;
			x->out_ports = ports[at + i];
			x->in_port = in[(at + i) * in_step];
			p[i] = x;
		}
		assert_int_equal(edp_output_stage_mbufs(o, &st, p, k, NULL), 0);
	}
	int rc = edp_output_commit(o, &st, err);
	edp_output_stage_free(&st);
	free(m);
	return rc;
}

static uint64_t sum(const uint64_t *v, uint32_t n)
{
	uint64_t s = 0;
	for (uint32_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

/* Packets of 100 + (i % 50) bytes, flooded to port 1 (/dev/null, never
 * failing) and port 2 (a file that fails at LIMIT bytes), from ingress port
 * i % 2, in calls of 32. Then: what the file holds is what port 2 counts
 * written; every packet not written whole everywhere is unwritten once, by
 * its ingress port; each port counts the copies it missed. */
static void flood_with_one_output_failing(bool staged, uint32_t step)
{
	char path[] = "/tmp/edp-output-XXXXXX";
	struct edp_config cfg;
	struct edp_output o;
	open_outputs(&o, &cfg, path, false, (const char *const[]){ "/dev/null", "FILE" }, 2);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit old, lim = { LIMIT, LIMIT };
	getrlimit(RLIMIT_FSIZE, &old);
	lim.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

	static uint8_t data[256];
	enum { N = 3200 };
	int failed_at = -1;
	struct edp_error err = { 0 };
	for (uint32_t base = 0; base < N; base += step) {
		struct edp_pcap_record rec[100];
		uint64_t ports[100];
		uint16_t in[100];
		for (uint32_t k = 0; k < step; k++) {
			uint32_t i = base + k, len = 100 + i % 50;
			rec[k] = (struct edp_pcap_record){ data, 1000000000ull * i, len, len };
			ports[k] = 1u << 1 | 1u << 2;
			in[k] = (uint16_t)(i % 2);
		}
		int rc = hand(&o, staged, rec, ports, in, 1, step, failed_at < 0 ? &err : NULL);
		if (rc && failed_at < 0)
			failed_at = (int)base;
		assert_int_equal(rc, failed_at < 0 ? 0 : EDP_ERR_RUNTIME);
	}
	assert_true(failed_at > 0);
	assert_string_equal(err.msg + strlen(path), ": write failed: File too large");
	assert_int_equal(edp_output_close(&o, NULL), EDP_ERR_RUNTIME);
	setrlimit(RLIMIT_FSIZE, &old);

	struct edp_error rerr;
	struct edp_pcap_reader *r = edp_pcap_reader_open(path, &rerr);
	assert_non_null(r);
	struct edp_pcap_packet pkt;
	uint64_t in_file = 0, file_wire = 0;
	while (edp_pcap_reader_read(r, &pkt, &rerr) == 1) {
		assert_int_equal(pkt.ts_ns, 1000000000ull * in_file);
		in_file++;
		file_wire += pkt.wire_len;
	}
	edp_pcap_reader_close(r);
	assert_true(in_file > 0 && in_file < (uint64_t)failed_at + step);
	assert_int_equal(o.tx[2].packets, in_file);
	assert_int_equal(o.tx[2].bytes, file_wire);
	assert_int_equal(o.tx[2].errors, N - in_file);
	/* /dev/null took every copy handed to it before the failure */
	assert_int_equal(o.tx[1].packets + o.tx[1].errors, N);
	assert_true(o.tx[1].packets >= in_file);
	assert_int_equal(sum(o.unwritten, EDP_MAX_PORTS), N - in_file);
	assert_int_equal(o.unwritten[0] + o.unwritten[1], N - in_file);
	assert_true(o.unwritten[0] >= (N - in_file) / 2 && o.unwritten[1] >= (N - in_file) / 2);
	edp_output_destroy(&o);
	edp_config_free(&cfg);
	unlink(path);
}

static void test_flood_with_one_output_failing(void **state)
{
	(void)state;
	flood_with_one_output_failing(false, 32);
}

/* The same staged 100 packets at a time (a chunk's records in one write):
 * the records written whole before the failure count, the rest do not. */
static void test_staged_flood_with_one_output_failing(void **state)
{
	(void)state;
	flood_with_one_output_failing(true, 100);
}

/* A time past 2106 is refused after the packets before it are written;
 * the packet itself and the rest are unwritten, none lost from the count. */
static void time_past_2106(bool staged)
{
	char path[] = "/tmp/edp-output-XXXXXX";
	struct edp_config cfg;
	struct edp_output o;
	open_outputs(&o, &cfg, path, true, (const char *const[]){ "FILE" }, 1);
	static uint8_t data[64];
	struct edp_pcap_record rec[4];
	uint64_t ports[4] = { 2, 2, 2, 2 };
	uint16_t in = 0;
	for (int i = 0; i < 4; i++)
		rec[i] = (struct edp_pcap_record){ data, (i == 2 ? 7300000000ull : 1000ull + (uint64_t)i) * 1000000000ull,
						   64, 64 };
	struct edp_error err;
	assert_int_equal(hand(&o, staged, rec, ports, &in, 0, 4, &err), EDP_ERR_RUNTIME);
	assert_string_equal(err.msg + strlen(path), ": packet 3: time 7300000000 s is after 2106-02-07, the last a pcap file holds");
	/* once failed, what is handed on is counted, not written */
	rec[0].ts_ns = 2000ull * 1000000000ull;
	assert_int_equal(hand(&o, staged, rec, ports, &in, 0, 1, NULL), EDP_ERR_RUNTIME);
	assert_int_equal(edp_output_close(&o, NULL), 0);
	struct edp_pcap_reader *r = edp_pcap_reader_open(path, &err);
	assert_non_null(r);
	struct edp_pcap_packet pkt;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(edp_pcap_reader_read(r, &pkt, &err), 1);
		assert_int_equal(pkt.ts_ns, (1000ull + (uint64_t)i) * 1000000000ull);
	}
	assert_int_equal(edp_pcap_reader_read(r, &pkt, &err), 0);
	edp_pcap_reader_close(r);
	assert_int_equal(o.tx[1].packets, 2);
	assert_int_equal(o.tx[1].errors, 3);
	assert_int_equal(sum(o.unwritten, EDP_MAX_PORTS), 3);
	assert_int_equal(o.unwritten[0], 3);
	edp_output_destroy(&o);
	edp_config_free(&cfg);
	unlink(path);
}

static void test_time_past_2106(void **state)
{
	(void)state;
	time_past_2106(false);
}

static void test_staged_time_past_2106(void **state)
{
	(void)state;
	time_past_2106(true);
}

/* Staged records are the bytes emit writes: two ports to one file (a
 * packet to both is written twice), one to another, in microseconds. */
static void test_staged_bytes_are_emitted_bytes(void **state)
{
	(void)state;
	char paths[2][32] = { "/tmp/edp-output-XXXXXX", "/tmp/edp-output-XXXXXX" };
	static uint8_t data[300];
	for (uint32_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	enum { N = 500 };
	struct edp_pcap_record rec[N];
	uint64_t ports[N];
	uint16_t in[N];
	for (uint32_t i = 0; i < N; i++) {
		rec[i] = (struct edp_pcap_record){ data + i % 40, 1700000000123456789ull + 1000ull * i, 60 + i % 200,
						   60 + i % 200 + i % 3 };
		ports[i] = (uint64_t)(i % 5) << 1; /* none, 1, 2, both, 3 */
		in[i] = (uint16_t)(i % 2);
	}
	struct edp_output_port tx[2][EDP_MAX_PORTS];
	for (int staged = 0; staged < 2; staged++) {
		struct edp_config cfg;
		struct edp_output o;
		open_outputs(&o, &cfg, paths[staged], false, (const char *const[]){ "FILE", "FILE", "/dev/null" }, 3);
		for (uint32_t at = 0; at < N; at += 100)
			assert_int_equal(hand(&o, staged, rec + at, ports + at, in + at, 1, 100, NULL), 0);
		assert_int_equal(edp_output_close(&o, NULL), 0);
		memcpy(tx[staged], o.tx, sizeof(o.tx));
		edp_output_destroy(&o);
		edp_config_free(&cfg);
	}
	assert_memory_equal(tx[0], tx[1], sizeof(tx[0]));
	assert_int_equal(tx[0][1].packets, 200);
	char cmd[100];
	snprintf(cmd, sizeof(cmd), "cmp -s %s %s", paths[0], paths[1]);
	assert_int_equal(system(cmd), 0);
	unlink(paths[0]);
	unlink(paths[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flood_with_one_output_failing),
		cmocka_unit_test(test_staged_flood_with_one_output_failing),
		cmocka_unit_test(test_time_past_2106),
		cmocka_unit_test(test_staged_time_past_2106),
		cmocka_unit_test(test_staged_bytes_are_emitted_bytes),
	};
	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
