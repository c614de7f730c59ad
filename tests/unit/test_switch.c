#include "unit.h"
#include "edp_pipeline.h"

#define SEC 1000000000ull

static struct edp_flow_key frame(uint16_t in_port, uint8_t src_last, uint8_t dst_last)
{
	struct edp_flow_key k;
	memset(&k, 0, sizeof(k));
	k.in_port = in_port;
	k.eth_type = 0x0806;
	k.eth_src[0] = 2;
	k.eth_src[5] = src_last;
	k.eth_dst[0] = 2;
	k.eth_dst[5] = dst_last;
	return k;
}

static void test_learn_age_replace(void **state)
{
	(void)state;
	struct edp_switch *sw = edp_switch_create(16, 300 * SEC, NULL);
	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 9 };
	uint32_t b, b2;
	assert_int_equal(edp_switch_lookup(sw, 0, mac, 0, &b, NULL), -1);
	uint32_t e0 = edp_switch_epochs(sw)[b];
	edp_switch_learn(sw, 0, mac, 3, 10 * SEC, &b2);
	assert_int_equal(b, b2);
	assert_int_equal(edp_switch_epochs(sw)[b], e0 + 1);
	assert_int_equal(edp_switch_lookup(sw, 0, mac, 20 * SEC, &b, NULL), 3);
	assert_int_equal(edp_switch_lookup(sw, 7, mac, 20 * SEC, &b, NULL), -1); /* other VLAN */
	edp_switch_learn(sw, 0, mac, 4, 30 * SEC, &b); /* moved */
	assert_int_equal(edp_switch_stats(sw)->moved, 1);
	assert_int_equal(edp_switch_lookup(sw, 0, mac, 30 * SEC + 300 * SEC, &b, NULL), 4);
	edp_switch_age(sw, 30 * SEC + 301 * SEC);
	assert_int_equal(edp_switch_entries(sw), 0);
	assert_int_equal(edp_switch_stats(sw)->aged, 1);
	/* bounded: 17 MACs in a 16-entry table never exceed 16 */
	for (int i = 0; i < 200; i++) {
		uint8_t m[6] = { 2, 0, 0, 1, (uint8_t)(i >> 8), (uint8_t)i };
		edp_switch_learn(sw, 0, m, 1, (uint64_t)(400 + i) * SEC, &b);
	}
	assert_int_equal(edp_switch_entries(sw), 16);
	assert_true(edp_switch_stats(sw)->replaced > 0);
	edp_switch_destroy(sw);
}

/* A sweep: the MACs marked stay, the others go, each moving its bucket's
 * epoch; marking one not there says so. */
static void test_sweep(void **state)
{
	(void)state;
	struct edp_switch *sw = edp_switch_create(64, 300 * SEC, NULL);
	uint32_t b[8];
	for (int i = 0; i < 8; i++) {
		uint8_t m[6] = { 2, 0, 0, 0, 0, (uint8_t)i };
		edp_switch_learn(sw, 5, m, 1, SEC, &b[i]);
	}
	uint32_t e3 = edp_switch_epochs(sw)[b[3]];
	edp_switch_unmark_all(sw);
	for (int i = 0; i < 8; i += 2) {
		uint8_t m[6] = { 2, 0, 0, 0, 0, (uint8_t)i };
		assert_true(edp_switch_mark(sw, 5, m));
	}
	assert_false(edp_switch_mark(sw, 6, (uint8_t[6]){ 2, 0, 0, 0, 0, 0 })); /* another VLAN */
	assert_int_equal(edp_switch_forget_unmarked(sw), 4);
	assert_int_equal(edp_switch_entries(sw), 4);
	assert_true(edp_switch_epochs(sw)[b[3]] != e3);
	for (int i = 0; i < 8; i++) {
		uint8_t m[6] = { 2, 0, 0, 0, 0, (uint8_t)i };
		uint32_t bk;
		assert_int_equal(edp_switch_lookup(sw, 5, m, 2 * SEC, &bk, NULL), i % 2 ? -1 : 1);
	}
	edp_switch_destroy(sw);
}

static void test_pipeline_switching(void **state)
{
	(void)state;
	struct edp_config cfg;
	edp_config_default(&cfg);
	cfg.n_ports = 3;
	strcpy(cfg.ports[2].name, "c");
	cfg.has_switch = true;
	struct edp_pipeline *pl = edp_pipeline_create(&cfg, 0x7, NULL, NULL);
	assert_non_null(pl);
	struct edp_action_prog p;
	/* unknown destination floods to every other port */
	struct edp_flow_key k = frame(0, 1, 2);
	edp_pipeline_classify(pl, &k, SEC, &p);
	assert_int_equal(p.out_ports, 0x6);
	assert_true(p.flags & EDP_ACT_TOUCH_MAC);
	/* the reply from port 2 goes straight to port 0, where 1 was learned */
	k = frame(2, 2, 1);
	edp_pipeline_classify(pl, &k, 2 * SEC, &p);
	assert_int_equal(p.out_ports, 0x1);
	/* a frame for a MAC learned on its own ingress port is not sent back */
	k = frame(0, 3, 1);
	edp_pipeline_classify(pl, &k, 3 * SEC, &p);
	assert_int_equal(p.out_ports, 0);
	assert_int_equal(p.drop_reason, EDP_DROP_SAME_PORT);
	/* broadcast floods */
	k = frame(1, 4, 0xff);
	memset(k.eth_dst, 0xff, 6);
	edp_pipeline_classify(pl, &k, 4 * SEC, &p);
	assert_int_equal(p.out_ports, 0x5);
	/* the next generation keeps what was learned, under its ageing time */
	cfg.ageing_s = 2;
	struct edp_pipeline *next = edp_pipeline_create(&cfg, 0x7, pl, NULL);
	assert_non_null(next);
	assert_ptr_equal(next->sw, pl->sw);
	assert_int_equal(next->generation, 2);
	edp_pipeline_destroy(pl); /* the switch is the successor's now */
	k = frame(1, 5, 3);
	edp_pipeline_classify(next, &k, 9 * SEC / 2, &p);
	assert_int_equal(p.out_ports, 0x1); /* 3 was learned on port 0 at 3 s */
	edp_pipeline_classify(next, &k, 11 * SEC / 2, &p);
	assert_int_equal(p.out_ports, 0x5); /* 2.5 s after: aged under the new 2 s, flooded */
	edp_pipeline_destroy(next);
	/* a wire with no other output drops with no-output */
	pl = edp_pipeline_create(&cfg, 0x1, NULL, NULL);
	assert_non_null(pl);
	k = frame(0, 1, 2);
	edp_pipeline_classify(pl, &k, SEC, &p);
	assert_int_equal(p.drop_reason, EDP_DROP_NO_OUTPUT);
	edp_pipeline_destroy(pl);
	cfg.has_switch = false;
	pl = edp_pipeline_create(&cfg, 0x3, NULL, NULL);
	assert_non_null(pl);
	edp_pipeline_classify(pl, &k, SEC, &p);
	assert_int_equal(p.out_ports, 0x2);
	edp_pipeline_destroy(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learn_age_replace),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_pipeline_switching),
	};
	return cmocka_run_group_tests_name("switch", tests, NULL, NULL);
}
