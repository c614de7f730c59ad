#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "edp_config.h"
#include "edp_datapath_impl.h"
#include "edp_state.h"

#define PASS_PACKETS 40 /* not a multiple of a read-ahead: a pass ends with a short one */

static void write_capture(const char *path)
{
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(1, 2048, NULL);
	struct edp_mbuf *m;
	edp_mbuf_alloc_bulk(pool, &m, 1);
	struct edp_pcap_writer *w = edp_pcap_writer_open(path, true, 2048, NULL);
	assert_non_null(w);
	for (uint32_t i = 0; i < PASS_PACKETS; i++) {
		m->data_len = m->wire_len = 60;
		m->ts_ns = 1000 + i;
		memset(m->data, 0, 60);
		m->data[12] = 0x88; /* not IP: one queue or another, it does not matter here */
		m->data[13] = 0xb5;
		m->data[59] = (uint8_t)i;
		assert_int_equal(edp_pcap_writer_write(w, m, NULL), 0);
	}
	assert_int_equal(edp_pcap_writer_close(w, NULL), 0);
	edp_mbuf_free_bulk(&m, 1);
	edp_mbuf_pool_destroy(pool);
}

/* A datapath of `threads` over a fresh capture (write_capture's) at path,
 * a mkstemp template, passed over `loop` times, into /dev/null. */
static struct edp_datapath *capture_datapath(char *path, uint32_t threads, uint32_t loop, struct edp_config *cfg)
{
	close(mkstemp(path));
	write_capture(path);
	edp_config_default(cfg);
	cfg->threads = threads;
	cfg->loop = loop;
	cfg->ports[0].rx = strdup(path);
	cfg->ports[1].tx = strdup("/dev/null");
	struct edp_error err = { 0 };
	struct edp_datapath *dp = edp_datapath_create(cfg, &err);
	assert_non_null(dp);
	return dp;
}

static void capture_datapath_destroy(struct edp_datapath *dp, struct edp_config *cfg, const char *path)
{
	edp_datapath_destroy(dp);
	edp_config_free(cfg);
	unlink(path);
}

static bool pools_have(const struct edp_datapath *dp, uint32_t n)
{
	for (uint32_t i = 0; i < dp->n_pools; i++)
		if (!edp_pools_have(&dp->pools[i], n))
			return false;
	return true;
}

/* The threaded reader's bargain: with edp_inputs_read_room free buffers
 * in each pool, a burst never runs out, also across the passes of --loop
 * (an input then reads twice in one burst). The taken packets are held, as
 * the rings and workers hold them, and given back only as far as the room
 * needs: the pools stay at the edge. Every packet comes, in file order,
 * pass after pass. */
static void test_burst_within_read_room(void **state)
{
	(void)state;
	char path[] = "/tmp/edp-datapath-XXXXXX";
	struct edp_config cfg;
	struct edp_datapath *dp = capture_datapath(path, 2, 0, &cfg);
	struct edp_error err = { 0 };
	volatile sig_atomic_t stop = 0;
	assert_int_equal(edp_inputs_prime(&dp->in, &stop, &err), 0);
	enum { HELD = 4096 };
	struct edp_mbuf **held = malloc(HELD * sizeof(*held));
	uint32_t head = 0, tail = 0, room = edp_inputs_read_room(&dp->in);
	uint64_t seen = 0;
	for (int burst = 0; burst < 3000; burst++) {
		while (!pools_have(dp, room)) { /* what the writer hands back */
			assert_true(head != tail);
			edp_mbuf_free_bulk(&held[head++ % HELD], 1);
		}
		struct edp_mbuf *b[EDP_BATCH];
		struct edp_rx_meta meta[EDP_BATCH];
		uint32_t q[EDP_BATCH], n = 0;
		int rc = 0;
		if (burst % 1000 == 500) { /* suspended: nothing taken, idle, until resumed */
			assert_false(edp_datapath_suspend(dp, true));
			assert_int_equal(edp_inputs_pick_burst(&dp->in, &stop, b, meta, q, EDP_BATCH, &n, &rc, &err),
					 EDP_PICK_IDLE);
			assert_int_equal(n, 0);
			assert_true(edp_datapath_suspend(dp, false));
		}
		int got = edp_inputs_pick_burst(&dp->in, &stop, b, meta, q, EDP_BATCH, &n, &rc, &err);
		assert_int_equal(rc, 0);
		assert_int_equal(got, 1);
		assert_int_equal(n, EDP_BATCH);
		for (uint32_t i = 0; i < n; i++, seen++) {
			assert_int_equal(meta[i].ts_ns, 1000 + seen % PASS_PACKETS);
			assert_int_equal(edp_mbuf_buf(b[i])[59], seen % PASS_PACKETS); /* the descriptor is the taker's */
			held[tail++ % HELD] = b[i];
		}
	}
	while (head != tail)
		edp_mbuf_free_bulk(&held[head++ % HELD], 1);
	free(held);
	capture_datapath_destroy(dp, &cfg, path);
}

/* Slow-path cycles: every run of a thread's first EDP_SLOW_TIMED_ALL is
 * timed, then one in EDP_SLOW_TIMED_EVERY, counted that many times; the
 * runs are all counted. */
static void test_slow_path_timing(void **state)
{
	(void)state;
	struct edp_config cfg;
	edp_config_default(&cfg);
	cfg.ports[1].tx = strdup("/dev/null");
	struct edp_error err = { 0 };
	struct edp_datapath *dp = edp_datapath_create(&cfg, &err);
	assert_non_null(dp);
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(1, 2048, NULL);
	struct edp_mbuf *m;
	edp_mbuf_alloc_bulk(pool, &m, 1);
	const struct edp_lane *lane = &dp->lanes[0];
	uint64_t last = 0;
	for (uint32_t i = 0; i < EDP_SLOW_TIMED_ALL + 3 * EDP_SLOW_TIMED_EVERY; i++) {
		/* a new flow each time (its source port): a miss */
		m->data_len = m->wire_len = (uint32_t)build_udp4(m->data, 0x0a000001, 0x0a000002, (uint16_t)i, 53);
		m->in_port = 0;
		m->parse_status = 0;
		edp_datapath_process(dp, &m, 1);
		assert_int_equal(lane->slow_path_runs, i + 1);
		uint64_t step = lane->slow_path_cycles - last;
		last = lane->slow_path_cycles;
		if (i < EDP_SLOW_TIMED_ALL) {
			assert_true(step > 0);
		} else if (i % EDP_SLOW_TIMED_EVERY == 0) {
			assert_true(step > 0);
			assert_int_equal(step % EDP_SLOW_TIMED_EVERY, 0);
		} else
			assert_int_equal(step, 0);
	}
	edp_mbuf_free_bulk(&m, 1);
	edp_mbuf_pool_destroy(pool);
	edp_datapath_destroy(dp);
	edp_config_free(&cfg);
}

/* A chunk run's checkpoint: every worker may hold a flow, and the save
 * keeps each key once, whichever workers hold it (the lanes' dumps merged
 * bucket by bucket); a changed-buckets round the same. */
static void test_chunk_save_each_key_once(void **state)
{
	(void)state;
	char path[] = "/tmp/edp-datapath-XXXXXX";
	struct edp_config cfg;
	struct edp_datapath *dp = capture_datapath(path, 3, 1, &cfg);
	struct edp_error err = { 0 };
	assert_true(dp->chunks);
	/* lane 0: flows 0-999; lane 1: 500-1499; lane 2: 0-99 and 1400-1999 */
	const uint32_t from[] = { 0, 500, 0, 1400 }, to[] = { 1000, 1500, 100, 2000 }, in_lane[] = { 0, 1, 2, 2 };
	struct edp_action_prog prog = { 0 };
	for (uint32_t r = 0; r < 4; r++)
		for (uint32_t i = from[r]; i < to[r]; i++) {
			struct edp_flow_key k = { .eth_type = 0x0800, .nw_proto = 17, .tp_src = (uint16_t)i,
						  .tp_dst = (uint16_t)(i >> 16) };
			edp_flowcache_insert(dp->lanes[in_lane[r]].fc, &k, edp_flow_hash(&k), &prog, 1);
		}
	uint32_t *marks[3];
	for (uint32_t l = 0; l < 3; l++)
		marks[l] = calloc(edp_flowcache_buckets(dp->lanes[l].fc), sizeof(uint32_t));
	for (int round = 0; round < 2; round++) { /* every key, then with marks (a move's first round) */
		struct edp_checkpoint ck;
		struct edp_save_report report;
		assert_int_equal(edp_datapath_save_changed(dp, "t", false, round ? marks : NULL, &ck, &report, &err), 0);
		assert_int_equal(ck.n_flows, 2000);
		uint8_t *seen = calloc(2000, 1);
		for (uint32_t i = 0; i < ck.n_flows; i++)
			seen[ck.flows[i].key.tp_src]++;
		for (uint32_t i = 0; i < 2000; i++)
			assert_int_equal(seen[i], 1);
		free(seen);
		edp_checkpoint_free(&ck);
	}
	for (uint32_t l = 0; l < 3; l++)
		free(marks[l]);
	capture_datapath_destroy(dp, &cfg, path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_within_read_room),
		cmocka_unit_test(test_slow_path_timing),
		cmocka_unit_test(test_chunk_save_each_key_once),
	};
	return cmocka_run_group_tests_name("datapath", tests, NULL, NULL);
}
