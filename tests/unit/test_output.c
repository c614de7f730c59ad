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
static void test_flood_with_one_output_failing(void **state)
{
	(void)state;
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
	for (uint32_t base = 0; base < N; base += 32) {
		struct edp_pcap_record rec[32];
		uint64_t ports[32];
		uint16_t in[32];
		for (uint32_t k = 0; k < 32; k++) {
			uint32_t i = base + k, len = 100 + i % 50;
			rec[k] = (struct edp_pcap_record){ data, 1000000000ull * i, len, len };
			ports[k] = 1u << 1 | 1u << 2;
			in[k] = (uint16_t)(i % 2);
		}
		int rc = edp_output_emit(&o, rec, ports, in, 1, 32, failed_at < 0 ? &err : NULL);
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
	assert_true(in_file > 0 && in_file < (uint64_t)failed_at + 32);
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

/* A time past 2106 is refused after the packets before it are written;
 * the packet itself and the rest are unwritten, none lost from the count. */
static void test_time_past_2106(void **state)
{
	(void)state;
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
	assert_int_equal(edp_output_emit(&o, rec, ports, &in, 0, 4, &err), EDP_ERR_RUNTIME);
	assert_int_equal(edp_output_close(&o, NULL), 0);
	assert_int_equal(o.tx[1].packets, 2);
	assert_int_equal(o.tx[1].errors, 2);
	assert_int_equal(sum(o.unwritten, EDP_MAX_PORTS), 2);
	assert_int_equal(o.unwritten[0], 2);
	edp_output_destroy(&o);
	edp_config_free(&cfg);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flood_with_one_output_failing),
		cmocka_unit_test(test_time_past_2106),
	};
	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
