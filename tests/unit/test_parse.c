#include <stdlib.h>

#include <stdbool.h>

#include "unit.h"
#include "edp_parse.h"

struct sample {
	const char *name;
	uint8_t pkt[256];
	size_t len;
};

static size_t make_tcp4_opts(uint8_t *p)
{
	size_t n = build_eth(p, 0x0800);
	n += build_ipv4(p + n, 6, 0x0a000001, 0xc0a80102, 8, 20, 64);
	n += build_tcp(p + n, 1234, 80);
	return n;
}

static size_t make_qinq_udp(uint8_t *p)
{
	size_t n = build_eth(p, 0x88a8);
	put16(p + 14, 100);
	put16(p + 16, 0x8100);
	put16(p + 18, 200);
	put16(p + 20, 0x0800);
	n = 22;
	n += build_ipv4(p + n, 17, 0x0a000001, 0x0a000002, 0, 8, 64);
	n += build_udp(p + n, 53, 5353, 8);
	return n;
}

static size_t make_ipv6_ext_tcp(uint8_t *p)
{
	size_t n = build_eth(p, 0x86dd);
	n += build_ipv6(p + n, 0, 8 + 16 + 20, 64);
	/* hop-by-hop (8 bytes) -> destination options (16 bytes) -> TCP */
	memset(p + n, 0, 24);
	p[n] = 60;
	p[n + 1] = 0;
	p[n + 8] = 6;
	p[n + 9] = 1;
	n += 24;
	n += build_tcp(p + n, 40000, 443);
	return n;
}

static size_t make_icmp4(uint8_t *p)
{
	size_t n = build_eth(p, 0x0800);
	n += build_ipv4(p + n, 1, 0x0a000001, 0x0a000002, 0, 8, 64);
	memset(p + n, 0, 8);
	p[n] = 8; /* echo request */
	return n + 8;
}

static size_t make_icmp6(uint8_t *p)
{
	size_t n = build_eth(p, 0x86dd);
	n += build_ipv6(p + n, 58, 8, 255);
	memset(p + n, 0, 8);
	p[n] = 135;
	return n + 8;
}

static size_t make_sctp(uint8_t *p)
{
	size_t n = build_eth(p, 0x0800);
	n += build_ipv4(p + n, 132, 0x0a000001, 0x0a000002, 0, 12, 64);
	memset(p + n, 0, 12);
	put16(p + n, 2905);
	put16(p + n + 2, 2906);
	return n + 12;
}

static size_t make_arp(uint8_t *p)
{
	size_t n = build_eth(p, 0x0806);
	uint8_t a[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	a[14] = 10; a[17] = 1; a[24] = 10; a[27] = 2;
	memcpy(p + n, a, 28);
	return n + 28;
}

static size_t make_frag_later(uint8_t *p)
{
	size_t n = build_eth(p, 0x0800);
	n += build_ipv4(p + n, 17, 0x0a000001, 0x0a000002, 0, 16, 64);
	put16(p + 14 + 6, 0x0002); /* offset 16 bytes, no MF */
	memset(p + n, 0xee, 16);
	return n + 16;
}

static size_t make_frag6_first(uint8_t *p)
{
	size_t n = build_eth(p, 0x86dd);
	n += build_ipv6(p + n, 44, 8 + 8, 64);
	memset(p + n, 0, 8);
	p[n] = 17;
	put16(p + n + 2, 0x0001); /* offset 0, M set */
	n += 8;
	n += build_udp(p + n, 7, 9, 8);
	return n;
}

static void parse_ok(const uint8_t *p, size_t len, struct edp_flow_key *k)
{
	struct edp_parse_result r;
	assert_int_equal(edp_parse(p, (uint32_t)len, (uint32_t)len, 3, k, &r), EDP_PARSE_OK);
	assert_int_equal(k->in_port, 3);
}

static void test_tcp4_with_options(void **state)
{
	(void)state;
	uint8_t p[256];
	struct edp_flow_key k;
	struct edp_parse_result r;
	size_t n = make_tcp4_opts(p);
	assert_int_equal(edp_parse(p, (uint32_t)n, (uint32_t)n, 1, &k, &r), EDP_PARSE_OK);
	assert_int_equal(k.eth_type, 0x0800);
	assert_int_equal(k.nw_proto, 6);
	assert_int_equal(k.tp_src, 1234);
	assert_int_equal(k.tp_dst, 80);
	assert_int_equal(r.l3_off, 14);
	assert_int_equal(r.l4_off, 14 + 28);
	assert_true(k.flags & EDP_KEY_HAS_PORTS);
	const uint8_t src[4] = { 10, 0, 0, 1 }, dst[4] = { 192, 168, 1, 2 };
	assert_memory_equal(k.nw_src, src, 4);
	assert_memory_equal(k.nw_dst, dst, 4);
}

static void test_qinq(void **state)
{
	(void)state;
	uint8_t p[256];
	struct edp_flow_key k;
	parse_ok(p, make_qinq_udp(p), &k);
	assert_int_equal(k.vlan_outer, 100 | EDP_VLAN_PRESENT);
	assert_int_equal(k.vlan_inner, 200 | EDP_VLAN_PRESENT);
	assert_int_equal(k.eth_type, 0x0800);
	assert_int_equal(k.tp_src, 53);
	assert_int_equal(k.tp_dst, 5353);
}

static void test_ipv6_ext(void **state)
{
	(void)state;
	uint8_t p[256];
	struct edp_flow_key k;
	parse_ok(p, make_ipv6_ext_tcp(p), &k);
	assert_int_equal(k.nw_proto, 6);
	assert_int_equal(k.tp_src, 40000);
	assert_int_equal(k.tp_dst, 443);
	assert_int_equal(k.nw_dst[15], 2);
}

static void test_icmp_sctp_arp(void **state)
{
	(void)state;
	uint8_t p[256];
	struct edp_flow_key k;
	parse_ok(p, make_icmp4(p), &k);
	assert_int_equal(k.nw_proto, 1);
	assert_int_equal(k.tp_src, 8);
	parse_ok(p, make_icmp6(p), &k);
	assert_int_equal(k.nw_proto, 58);
	assert_int_equal(k.tp_src, 135);
	parse_ok(p, make_sctp(p), &k);
	assert_int_equal(k.nw_proto, 132);
	assert_int_equal(k.tp_src, 2905);
	assert_int_equal(k.tp_dst, 2906);
	assert_true(k.flags & EDP_KEY_HAS_PORTS);
	parse_ok(p, make_arp(p), &k);
	assert_int_equal(k.eth_type, 0x0806);
	assert_int_equal(k.nw_proto, 1);
	assert_int_equal(k.nw_src[0], 10);
	assert_int_equal(k.nw_dst[3], 2);
}

static void test_fragments(void **state)
{
	(void)state;
	uint8_t p[256];
	struct edp_flow_key k;
	parse_ok(p, make_frag_later(p), &k);
	assert_true(k.flags & EDP_KEY_FRAG_LATER);
	assert_false(k.flags & EDP_KEY_HAS_PORTS);
	assert_int_equal(k.tp_src, 0);
	parse_ok(p, make_frag6_first(p), &k);
	assert_true(k.flags & EDP_KEY_FRAG);
	assert_false(k.flags & EDP_KEY_FRAG_LATER);
	assert_int_equal(k.nw_proto, 17);
	assert_int_equal(k.tp_src, 7);
}

static void test_malformed(void **state)
{
	(void)state;
	uint8_t p[256];
	struct edp_flow_key k;
	struct edp_parse_result r;
	size_t n = make_tcp4_opts(p);
	p[14] = 0x44; /* IHL 4: shorter than the fixed header */
	assert_int_equal(edp_parse(p, (uint32_t)n, (uint32_t)n, 0, &k, &r), EDP_PARSE_MALFORMED);
	n = make_tcp4_opts(p);
	put16(p + 16, 20); /* total length shorter than IHL (28) */
	assert_int_equal(edp_parse(p, (uint32_t)n, (uint32_t)n, 0, &k, &r), EDP_PARSE_MALFORMED);
	n = make_tcp4_opts(p);
	put16(p + 16, 1500); /* total length beyond the frame */
	assert_int_equal(edp_parse(p, (uint32_t)n, (uint32_t)n, 0, &k, &r), EDP_PARSE_MALFORMED);
	n = make_tcp4_opts(p);
	put16(p + 16, 28 + 10); /* TCP segment shorter than a TCP header */
	assert_int_equal(edp_parse(p, (uint32_t)n, (uint32_t)n, 0, &k, &r), EDP_PARSE_MALFORMED);

	n = build_udp4(p, 1, 2, 3, 4);
	put16(p + 14 + 20 + 4, 4); /* UDP length below 8 */
	assert_int_equal(edp_parse(p, (uint32_t)n, (uint32_t)n, 0, &k, &r), EDP_PARSE_MALFORMED);
	n = make_ipv6_ext_tcp(p);
	p[14 + 40 + 1] = 200; /* extension header longer than the payload */
	assert_int_equal(edp_parse(p, (uint32_t)n, (uint32_t)n, 0, &k, &r), EDP_PARSE_MALFORMED);
}

/* Truncate every sample at every byte offset, in a heap buffer of exactly the
 * captured size (ASan catches any read past it). A truncated capture is never
 * malformed; once the headers are all there the key is the full one. */
static void test_truncation_every_offset(void **state)
{
	(void)state;
	size_t (*makers[])(uint8_t *) = { make_tcp4_opts, make_qinq_udp, make_ipv6_ext_tcp, make_icmp4,
					  make_icmp6, make_sctp, make_arp, make_frag_later, make_frag6_first };
	for (size_t m = 0; m < sizeof(makers) / sizeof(makers[0]); m++) {
		uint8_t full[256];
		size_t n = makers[m](full);
		struct edp_flow_key whole, k;
		struct edp_parse_result r;
		assert_int_equal(edp_parse(full, (uint32_t)n, (uint32_t)n, 0, &whole, &r), EDP_PARSE_OK);
		for (size_t cap = 0; cap <= n; cap++) {
			uint8_t *buf = malloc(cap ? cap : 1);
			memcpy(buf, full, cap);
			assert_int_equal(edp_parse(buf, (uint32_t)cap, (uint32_t)n, 0, &k, &r), EDP_PARSE_OK);
			if (cap < 14)
				assert_true(k.flags & EDP_KEY_L2_TRUNC);
			if (cap == n)
				assert_memory_equal(&k, &whole, sizeof(k));
			else
				assert_true(k.flags & (EDP_KEY_L2_TRUNC | EDP_KEY_L3_TRUNC | EDP_KEY_L4_TRUNC) ||
					    memcmp(&k, &whole, sizeof(k)) == 0);
			free(buf);
		}
	}
}

/* Random bytes behind valid and invalid Ethernet types, at random captured
 * and wire lengths: never a read past the capture (ASan), and a result that
 * is either OK or MALFORMED. */
static void test_random_garbage(void **state)
{
	(void)state;
	uint64_t rng = 2026;
	static const uint16_t types[] = { 0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x9100, 0x1234, 0x0042 };
	for (int i = 0; i < 200000; i++) {
		uint32_t cap = unit_rand(&rng) % 160, wire = cap + unit_rand(&rng) % 3 * (unit_rand(&rng) % 100);
		uint8_t *p = malloc(cap ? cap : 1);
		for (uint32_t j = 0; j < cap; j++)
			p[j] = (uint8_t)unit_rand(&rng);
		for (uint32_t off = 12; off + 2 <= cap && off < 30; off += 4)
			if (unit_rand(&rng) % 2)
				put16(p + off, types[unit_rand(&rng) % 8]);
		if (cap > 14 && unit_rand(&rng) % 2)
			p[14] = (uint8_t)(unit_rand(&rng) % 2 ? 0x45 : 0x60);
		struct edp_flow_key k;
		struct edp_parse_result r;
		int rc = edp_parse(p, cap, wire, 0, &k, &r);
		assert_true(rc == EDP_PARSE_OK || rc == EDP_PARSE_MALFORMED);
		assert_true(r.l3_off <= cap && r.l4_off <= wire);
		free(p);
	}
}

/* The reader's RSS hash straight from the headers equals the one of the
 * parsed key, for well-formed packets of every kind the fast way takes and
 * for the random, malformed and truncated ones that it hands to the parser;
 * a frame it calls plain IPv4 gets from edp_parse_plain_ipv4 exactly the
 * key and result edp_parse gives. */
static void test_rss_hash_matches_parse(void **state)
{
	(void)state;
	uint64_t rng = 77;
	static const uint8_t protos[] = { 6, 17, 132, 1, 58, 47, 0, 44 };
	uint32_t fast_kind = 0, plain_kind = 0;
	for (int i = 0; i < 400000; i++) {
		uint8_t p[200];
		for (size_t j = 0; j < sizeof(p); j++)
			p[j] = (uint8_t)unit_rand(&rng);
		uint32_t off = 14;
		int tags = unit_rand(&rng) % 4 == 0 ? (int)(unit_rand(&rng) % 3) : 0;
		for (int t = 0; t < tags; t++, off += 4)
			put16(p + off - 2, t ? 0x8100 : 0x88a8);
		bool v6 = unit_rand(&rng) % 3 == 0;
		put16(p + off - 2, unit_rand(&rng) % 16 ? (v6 ? 0x86dd : 0x0800) : 0x0806);
		uint8_t proto = protos[unit_rand(&rng) % 8];
		uint32_t l4 = 8 + unit_rand(&rng) % 60;
		if (v6) {
			p[off] = (uint8_t)(unit_rand(&rng) % 8 ? 0x60 : 0x40);
			put16(p + off + 4, unit_rand(&rng) % 8 ? l4 : unit_rand(&rng) % 300);
			p[off + 6] = proto;
			l4 += 40;
		} else {
			uint32_t ihl = unit_rand(&rng) % 8 ? 5 : unit_rand(&rng) % 16;
			p[off] = (uint8_t)((unit_rand(&rng) % 8 ? 0x40 : 0x60) | ihl);
			put16(p + off + 2, unit_rand(&rng) % 8 ? ihl * 4 + l4 : unit_rand(&rng) % 300);
			put16(p + off + 6, unit_rand(&rng) % 4 ? 0 : (uint16_t)unit_rand(&rng));
			p[off + 9] = proto;
			l4 += ihl * 4;
		}
		uint32_t wire = off + l4, cap = unit_rand(&rng) % 4 ? wire : unit_rand(&rng) % (wire + 1);
		wire += unit_rand(&rng) % 4 == 0 ? unit_rand(&rng) % 40 : 0;
		if (wire > sizeof(p))
			wire = sizeof(p);
		if (cap > wire)
			cap = wire;
		struct edp_flow_key k;
		struct edp_parse_result r;
		int rc = edp_parse(p, cap, wire, 3, &k, &r);
		bool plain;
		assert_int_equal(edp_parse_rss_hash(p, cap, wire, &plain), edp_flow_rss_hash(&k));
		fast_kind += (k.flags & EDP_KEY_HAS_PORTS) != 0;
		if (plain) {
			struct edp_flow_key pk;
			struct edp_parse_result pr;
			memset(&pk, 0xa5, sizeof(pk));
			memset(&pr, 0xa5, sizeof(pr));
			assert_int_equal(edp_parse_plain_ipv4(p, 3, &pk, &pr), rc);
			assert_memory_equal(&pk, &k, sizeof(k));
			assert_int_equal(pr.l3_off, r.l3_off);
			assert_int_equal(pr.l4_off, r.l4_off);
			plain_kind++;
		}
		/* the direction does not matter */
		uint8_t q[200];
		memcpy(q, p, sizeof(q));
		if (k.flags & EDP_KEY_IS_IP) {
			size_t a = v6 ? 16 : 4, at = off + (v6 ? 8 : 12);
			memcpy(q + at, p + at + a, a);
			memcpy(q + at + a, p + at, a);
			if (k.flags & EDP_KEY_HAS_PORTS) {
				memcpy(q + r.l4_off, p + r.l4_off + 2, 2);
				memcpy(q + r.l4_off + 2, p + r.l4_off, 2);
			}
			bool same_plain;
			assert_int_equal(edp_parse_rss_hash(q, cap, wire, &same_plain), edp_parse_rss_hash(p, cap, wire, &plain));
			assert_int_equal(same_plain, plain);
		}
	}
	assert_true(fast_kind > 50000);  /* many have ports: the fast way */
	assert_true(plain_kind > 2000);  /* and some are plain IPv4 (3,559) */
}

/* edp_parse's shortcut for untagged IPv4 TCP/UDP gives exactly what the
 * general parser gives, malformed and truncated frames included. */
static void test_parse_shortcut_matches_full(void **state)
{
	(void)state;
	uint64_t rng = 78;
	uint32_t shortcut_kind = 0;
	for (int i = 0; i < 400000; i++) {
		uint8_t p[120];
		for (size_t j = 0; j < sizeof(p); j++)
			p[j] = (uint8_t)unit_rand(&rng);
		put16(p + 12, unit_rand(&rng) % 8 ? 0x0800 : (uint16_t)unit_rand(&rng));
		p[14] = unit_rand(&rng) % 8 ? 0x45 : (uint8_t)unit_rand(&rng);
		uint32_t l4 = unit_rand(&rng) % 80;
		put16(p + 16, unit_rand(&rng) % 8 ? 20 + l4 : (uint16_t)(unit_rand(&rng) % 130));
		put16(p + 20, unit_rand(&rng) % 4 ? 0 : (uint16_t)unit_rand(&rng));
		p[23] = unit_rand(&rng) % 8 ? (unit_rand(&rng) % 2 ? 6 : 17) : (uint8_t)unit_rand(&rng);
		put16(p + 38, unit_rand(&rng) % 4 ? (uint16_t)l4 : (uint16_t)(unit_rand(&rng) % 100)); /* UDP length */
		p[46] = (uint8_t)((unit_rand(&rng) % 4 ? 5 + unit_rand(&rng) % 3 : unit_rand(&rng) % 16) << 4); /* TCP offset */
		uint32_t wire = 34 + l4 + (unit_rand(&rng) % 4 == 0 ? unit_rand(&rng) % 20 : 0);
		if (wire > sizeof(p))
			wire = sizeof(p);
		uint32_t cap = unit_rand(&rng) % 4 ? wire : unit_rand(&rng) % (wire + 1);
		uint32_t wire_arg = unit_rand(&rng) % 16 ? wire : cap / 2; /* a wire length below the capture too */
		uint16_t port = (uint16_t)(unit_rand(&rng) % 4);
		struct edp_flow_key k1, k2;
		struct edp_parse_result r1, r2;
		memset(&k1, 0xa5, sizeof(k1));
		memset(&k2, 0x5a, sizeof(k2));
		memset(&r1, 0xa5, sizeof(r1));
		memset(&r2, 0x5a, sizeof(r2));
		int s1 = edp_parse(p, cap, wire_arg, port, &k1, &r1);
		int s2 = edp_parse_full(p, cap, wire_arg, port, &k2, &r2);
		assert_int_equal(s1, s2);
		assert_memory_equal(&k1, &k2, sizeof(k1));
		assert_int_equal(r1.l3_off, r2.l3_off);
		assert_int_equal(r1.l4_off, r2.l4_off);
		shortcut_kind += s1 == EDP_PARSE_OK && k1.eth_type == 0x0800 && r1.l4_off == 34 && (k1.nw_proto == 6 || k1.nw_proto == 17);
	}
	assert_true(shortcut_kind > 50000); /* the shortcut was taken often */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp4_with_options), cmocka_unit_test(test_qinq),
		cmocka_unit_test(test_ipv6_ext),          cmocka_unit_test(test_icmp_sctp_arp),
		cmocka_unit_test(test_fragments),         cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncation_every_offset), cmocka_unit_test(test_random_garbage),
		cmocka_unit_test(test_rss_hash_matches_parse),
		cmocka_unit_test(test_parse_shortcut_matches_full),
	};
	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
