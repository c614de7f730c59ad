#include <stdlib.h>

#include "unit.h"
#include "edp_firewall.h"

static uint64_t rng = 12345;
#define rnd() unit_rand(&rng)

static struct edp_fw_rule any_rule(void)
{
	return (struct edp_fw_rule){ .in_port = -1, .proto = -1, .sport_lo = -1, .sport_hi = -1,
				     .dport_lo = -1, .dport_hi = -1, .vlan = -1, .eth_type = -1 };
}

static struct edp_flow_key udp_key(uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp)
{
	struct edp_flow_key k;
	memset(&k, 0, sizeof(k));
	k.eth_type = 0x0800;
	k.nw_proto = 17;
	k.flags = EDP_KEY_IS_IP | EDP_KEY_HAS_PORTS;
	for (int i = 0; i < 4; i++) {
		k.nw_src[i] = (uint8_t)(src >> (24 - 8 * i));
		k.nw_dst[i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	k.tp_src = sp;
	k.tp_dst = dp;
	return k;
}

static void set_prefix(struct edp_prefix *p, uint32_t addr, unsigned len)
{
	memset(p, 0, sizeof(*p));
	p->af = 4;
	p->len = (uint8_t)len;
	uint32_t a = len ? addr & (0xffffffffu << (32 - len)) : 0;
	for (int i = 0; i < 4; i++)
		p->addr[i] = (uint8_t)(a >> (24 - 8 * i));
}

static void test_priority_and_order(void **state)
{
	(void)state;
	struct edp_fw_rule r[3] = { any_rule(), any_rule(), any_rule() };
	r[0].proto = 17; r[0].dport_lo = r[0].dport_hi = 53; r[0].action = EDP_FW_DROP; r[0].priority = 10;
	r[1].proto = 17; r[1].action = EDP_FW_ALLOW; r[1].priority = 10; /* same priority, later: loses */
	r[2].dport_lo = 50; r[2].dport_hi = 60; r[2].action = EDP_FW_ALLOW; r[2].priority = 20; /* wins */
	struct edp_firewall *fw = edp_firewall_create(r, 3, EDP_FW_DROP, NULL);
	assert_non_null(fw);
	int32_t idx;
	struct edp_flow_key k = udp_key(1, 2, 1000, 53);
	assert_int_equal(edp_firewall_classify(fw, &k, &idx), EDP_FW_ALLOW);
	assert_int_equal(idx, 2);
	k = udp_key(1, 2, 1000, 61);
	assert_int_equal(edp_firewall_classify(fw, &k, &idx), EDP_FW_ALLOW);
	assert_int_equal(idx, 1);
	k.nw_proto = 6;
	assert_int_equal(edp_firewall_classify(fw, &k, &idx), EDP_FW_DROP);
	assert_int_equal(idx, -1);
	edp_firewall_destroy(fw);
}

static void test_ports_need_l4(void **state)
{
	(void)state;
	struct edp_fw_rule r = any_rule();
	r.dport_lo = 0;
	r.dport_hi = 65535;
	r.action = EDP_FW_DROP;
	struct edp_firewall *fw = edp_firewall_create(&r, 1, EDP_FW_ALLOW, NULL);
	struct edp_flow_key k = udp_key(1, 2, 3, 4);
	assert_int_equal(edp_firewall_classify(fw, &k, NULL), EDP_FW_DROP);
	k.flags &= (uint8_t)~EDP_KEY_HAS_PORTS; /* a later fragment */
	assert_int_equal(edp_firewall_classify(fw, &k, NULL), EDP_FW_ALLOW);
	assert_true(edp_firewall_uses_ports(fw));
	edp_firewall_destroy(fw);
}

/* Asserts that the search and the linear scan give key the same rule and
 * verdict; whether a rule (not the default) decided. */
static int same_as_linear(const struct edp_firewall *fw, const struct edp_fw_rule *rules, uint32_t n,
			  const struct edp_flow_key *k)
{
	int32_t a, b;
	uint8_t va = edp_firewall_classify(fw, k, &a);
	uint8_t vb = edp_firewall_classify_linear(rules, n, EDP_FW_ALLOW, k, &b);
	assert_int_equal(a, b);
	assert_int_equal(va, vb);
	return a >= 0;
}

/* Random rules and keys: the tuple-space search agrees with a linear scan. */
static void test_against_linear(void **state)
{
	(void)state;
	enum { RULES = 400, KEYS = 20000 };
	struct edp_fw_rule *rules = calloc(RULES, sizeof(*rules));
	static const unsigned lens[] = { 0, 8, 16, 24, 32, 12, 28 };
	for (int i = 0; i < RULES; i++) {
		struct edp_fw_rule *r = &rules[i];
		*r = any_rule();
		r->priority = rnd() % 8;
		r->action = (uint8_t)(rnd() & 1);
		if (rnd() % 2)
			set_prefix(&r->src, 0x0a000000 | (rnd() & 0xffff), lens[rnd() % 7]);
		set_prefix(&r->dst, 0xc0a80000 | (rnd() & 0xffff), lens[1 + rnd() % 6]);
		if (rnd() % 3 == 0)
			r->proto = rnd() % 2 ? 6 : 17;
		if (rnd() % 3 == 0) {
			r->dport_lo = (int32_t)(rnd() % 1024);
			r->dport_hi = r->dport_lo + (int32_t)(rnd() % 200);
		}
		if (rnd() % 5 == 0) {
			r->sport_lo = (int32_t)(rnd() % 65536);
			r->sport_hi = r->sport_lo + (int32_t)(rnd() % (65536 - (uint32_t)r->sport_lo));
		}
		if (rnd() % 10 == 0)
			r->in_port = (int32_t)(rnd() % 3);
	}
	struct edp_firewall *fw = edp_firewall_create(rules, RULES, EDP_FW_ALLOW, NULL);
	assert_non_null(fw);
	/* tuples are the distinct masks of everything but port values: src
	 * length (7 or none), dst length (6), proto, ports, in-port presence */
	assert_true(edp_firewall_tuples(fw) <= 8 * 6 * 2 * 2 * 2);
	int matched = 0;
	for (int i = 0; i < KEYS; i++) {
		struct edp_flow_key k = udp_key(0x0a000000 | (rnd() & 0xffff), (rnd() % 4 ? 0xc0a80000 : 0xac100000) | (rnd() & 0xffff),
						(uint16_t)rnd(), (uint16_t)(rnd() % 1300));
		k.nw_proto = rnd() % 2 ? 6 : 17;
		k.in_port = (uint16_t)(rnd() % 3);
		matched += same_as_linear(fw, rules, RULES, &k);
	}
	/* the sample exercises both rule matches and the default */
	assert_true(matched > KEYS / 10 && matched < KEYS);
	edp_firewall_destroy(fw);
	free(rules);
}

/* IPv6 rules and keys whose addresses share prefixes of every length, so
 * that both words of each address decide matches (the addresses' stage folds
 * them): the tuple-space search agrees with a linear scan. */
static void test_ipv6_against_linear(void **state)
{
	(void)state;
	enum { RULES = 300, KEYS = 20000, POOL = 16 };
	static const unsigned lens[] = { 0, 16, 48, 64, 72, 96, 120, 128 };
	uint8_t pool[POOL][16];
	for (int i = 0; i < POOL; i++)
		for (int b = 0; b < 16; b++)
			pool[i][b] = (uint8_t)rnd();
	struct edp_fw_rule *rules = calloc(RULES, sizeof(*rules));
	for (int i = 0; i < RULES; i++) {
		struct edp_fw_rule *r = &rules[i];
		*r = any_rule();
		r->priority = rnd() % 8;
		r->action = (uint8_t)(rnd() & 1);
		struct edp_prefix *p[2] = { &r->src, &r->dst };
		for (int j = 0; j < 2; j++) {
			if (j == 0 && rnd() % 3 == 0)
				continue;
			p[j]->af = 6;
			p[j]->len = (uint8_t)lens[j + rnd() % (8 - j)]; /* dst: /16 or longer */
			memcpy(p[j]->addr, pool[rnd() % POOL], 16);
			for (unsigned b = p[j]->len; b < 128; b++)
				p[j]->addr[b / 8] &= (uint8_t)~(0x80 >> b % 8);
		}
		if (rnd() % 3 == 0) {
			r->dport_lo = (int32_t)(rnd() % 1024);
			r->dport_hi = r->dport_lo + (int32_t)(rnd() % 200);
		}
	}
	struct edp_firewall *fw = edp_firewall_create(rules, RULES, EDP_FW_ALLOW, NULL);
	assert_non_null(fw);
	int matched = 0;
	for (int i = 0; i < KEYS; i++) {
		struct edp_flow_key k = udp_key(0, 0, (uint16_t)rnd(), (uint16_t)(rnd() % 1300));
		k.eth_type = 0x86dd;
		uint8_t *addr[2] = { k.nw_src, k.nw_dst };
		for (int j = 0; j < 2; j++) {
			memcpy(addr[j], pool[rnd() % POOL], 16);
			for (unsigned b = 128 - rnd() % 129; b < 128; b++) /* the last 0..128 bits anything */
				if (rnd() & 1)
					addr[j][b / 8] ^= (uint8_t)(0x80 >> b % 8);
		}
		matched += same_as_linear(fw, rules, RULES, &k);
	}
	assert_true(matched > KEYS / 10 && matched < KEYS);
	edp_firewall_destroy(fw);
	free(rules);
}

static void test_ipv6_prefix(void **state)
{
	(void)state;
	struct edp_fw_rule r = any_rule();
	r.dst.af = 6;
	r.dst.len = 32;
	r.dst.addr[0] = 0x20; r.dst.addr[1] = 0x01; r.dst.addr[2] = 0x0d; r.dst.addr[3] = 0xb8;
	r.action = EDP_FW_DROP;
	struct edp_firewall *fw = edp_firewall_create(&r, 1, EDP_FW_ALLOW, NULL);
	struct edp_flow_key k = udp_key(1, 0x20010db8, 1, 2);
	assert_int_equal(edp_firewall_classify(fw, &k, NULL), EDP_FW_ALLOW); /* IPv4 never matches */
	k.eth_type = 0x86dd;
	assert_int_equal(edp_firewall_classify(fw, &k, NULL), EDP_FW_DROP);
	k.nw_dst[3] = 0xb9;
	assert_int_equal(edp_firewall_classify(fw, &k, NULL), EDP_FW_ALLOW);
	edp_firewall_destroy(fw);
}

static void test_contradiction_refused(void **state)
{
	(void)state;
	struct edp_fw_rule r = any_rule();
	set_prefix(&r.src, 0x0a000000, 8);
	r.eth_type = 0x86dd;
	struct edp_error err;
	assert_null(edp_firewall_create(&r, 1, EDP_FW_ALLOW, &err));
	assert_int_equal(err.status, EDP_ERR_USAGE);
	assert_string_equal(err.msg, "firewall rule 1: ethertype 0x86dd contradicts its IPv4 prefix");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_priority_and_order), cmocka_unit_test(test_ports_need_l4),
		cmocka_unit_test(test_against_linear),     cmocka_unit_test(test_ipv6_prefix),
		cmocka_unit_test(test_contradiction_refused), cmocka_unit_test(test_ipv6_against_linear),
	};
	return cmocka_run_group_tests_name("firewall", tests, NULL, NULL);
}
