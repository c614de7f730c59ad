#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "edp_action.h"
#include "edp_mbuf.h"

static uint64_t rng = 7;
#define rnd() unit_rand(&rng)

/* One packet buffer, of a pool of its own (drop_mbuf frees both). */
static struct edp_mbuf *one_mbuf(void)
{
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(1, 256, NULL);
	assert_non_null(pool);
	struct edp_mbuf *m;
	assert_int_equal(edp_mbuf_alloc_bulk(pool, &m, 1), 1);
	return m;
}

static void drop_mbuf(struct edp_mbuf *m)
{
	struct edp_mbuf_pool *pool = m->pool;
	edp_mbuf_free_bulk(&m, 1);
	edp_mbuf_pool_destroy(pool);
}

/* A program that sends to out_ports, doing what flags say. */
static struct edp_action_prog prog_of(uint64_t out_ports, unsigned flags)
{
	struct edp_action_prog prog;
	memset(&prog, 0, sizeof(prog));
	prog.out_ports = out_ports;
	prog.flags = (uint8_t)flags;
	return prog;
}

/* The incremental update (RFC 1624) equals a full recomputation, for random
 * headers and every TTL, options included. */
static void test_ttl_checksum_matches_full(void **state)
{
	(void)state;
	struct edp_mbuf *m = one_mbuf();
	struct edp_action_prog prog = prog_of(2, EDP_ACT_DEC_TTL | EDP_ACT_SET_ETH_SRC | EDP_ACT_SET_ETH_DST);
	memset(prog.eth, 0xbb, 6);     /* destination */
	memset(prog.eth + 6, 0xaa, 6); /* source */
	struct edp_action_ctx ctx = { NULL, 0 };
	for (int i = 0; i < 20000; i++) {
		size_t n = build_eth(m->data, 0x0800);
		uint8_t ttl = (uint8_t)(2 + rnd() % 254);
		n += build_ipv4(m->data + n, (uint8_t)rnd(), rnd(), rnd(), 4 * (rnd() % 4), 0, ttl);
		for (int b = 0; b < 8; b++) /* random id/tos/flags fields too */
			if (b != 0 && b != 2 && b != 3)
				m->data[14 + b] = (uint8_t)rnd();
		m->data[24] = m->data[25] = 0;
		put16(m->data + 24, ip_checksum(m->data + 14, (m->data[14] & 15) * 4u));
		m->data_len = m->wire_len = (uint32_t)n;
		m->l3_off = 14;
		edp_action_execute(&prog, m, &ctx);
		assert_int_equal(m->out_ports, 2);
		assert_int_equal(m->data[14 + 8], ttl - 1);
		assert_int_equal(ip_checksum(m->data + 14, (m->data[14] & 15) * 4u), 0); /* verifies */
		uint8_t hdr[60]; /* and is the very one a full recomputation gives */
		memcpy(hdr, m->data + 14, sizeof(hdr));
		hdr[10] = hdr[11] = 0;
		assert_int_equal(m->data[24] << 8 | m->data[25], ip_checksum(hdr, (hdr[0] & 15) * 4u));
		assert_int_equal(m->data[0], 0xbb);
		assert_int_equal(m->data[6], 0xaa);
	}
	drop_mbuf(m);
}

static void test_ttl_expiry(void **state)
{
	(void)state;
	struct edp_mbuf *m = one_mbuf();
	struct edp_action_prog prog = prog_of(1, EDP_ACT_DEC_TTL);
	struct edp_action_ctx ctx = { NULL, 0 };
	size_t n = build_eth(m->data, 0x0800);
	build_ipv4(m->data + n, 17, 1, 2, 0, 0, 1);
	m->l3_off = 14;
	edp_action_execute(&prog, m, &ctx);
	assert_int_equal(m->out_ports, 0);
	assert_int_equal(m->drop_reason, EDP_DROP_TTL);
	assert_int_equal(m->data[14 + 8], 1); /* untouched */
	n = build_eth(m->data, 0x86dd);
	build_ipv6(m->data + n, 17, 0, 2);
	edp_action_execute(&prog, m, &ctx);
	assert_int_equal(m->out_ports, 1);
	assert_int_equal(m->data[14 + 7], 1);
	edp_action_execute(&prog, m, &ctx);
	assert_int_equal(m->drop_reason, EDP_DROP_TTL);
	assert_string_equal(edp_drop_reason_name(EDP_DROP_TTL), "ttl");
	drop_mbuf(m);
}

/* Each MAC is written alone when only it is set, both at once when both. */
static void test_set_mac(void **state)
{
	(void)state;
	static const unsigned sets[] = { EDP_ACT_SET_ETH_DST, EDP_ACT_SET_ETH_SRC,
					 EDP_ACT_SET_ETH_DST | EDP_ACT_SET_ETH_SRC };
	struct edp_mbuf *m = one_mbuf();
	struct edp_action_prog prog = prog_of(1, 0);
	memset(prog.eth, 0xdd, 6);
	memset(prog.eth + 6, 0x55, 6);
	struct edp_action_ctx ctx = { NULL, 0 };
	for (int i = 0; i < 3; i++) {
		prog.flags = (uint8_t)sets[i];
		memset(m->data, 0x11, 14);
		edp_action_execute(&prog, m, &ctx);
		for (int b = 0; b < 6; b++) {
			assert_int_equal(m->data[b], sets[i] & EDP_ACT_SET_ETH_DST ? 0xdd : 0x11);
			assert_int_equal(m->data[6 + b], sets[i] & EDP_ACT_SET_ETH_SRC ? 0x55 : 0x11);
		}
		assert_int_equal(m->data[12], 0x11);
	}
	drop_mbuf(m);
}

static void test_mbuf_pool(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct edp_mbuf), 64);
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(4, 100, NULL);
	assert_int_equal(edp_mbuf_pool_buf_size(pool), 128);
	struct edp_mbuf *m[5];
	assert_int_equal(edp_mbuf_alloc_bulk(pool, m, 5), 0); /* all or none */
	assert_int_equal(edp_mbuf_alloc_bulk(pool, m, 4), 4);
	assert_int_equal(edp_mbuf_pool_available(pool), 0);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(m[i]->data, m[j]->data);
	edp_mbuf_free_bulk(m, 4);
	assert_int_equal(edp_mbuf_pool_available(pool), 4);
	edp_mbuf_pool_destroy(pool);
}

/* Descriptors of two pools handed back in one burst, interleaved: each goes
 * back to its own pool, on top of its free stack. */
static void test_mbuf_free_mixed(void **state)
{
	(void)state;
	struct edp_mbuf_pool *a = edp_mbuf_pool_create(3, 64, NULL), *b = edp_mbuf_pool_create(3, 1500, NULL);
	struct edp_mbuf *ma[3], *mb[3];
	assert_int_equal(edp_mbuf_alloc_bulk(a, ma, 3), 3);
	assert_int_equal(edp_mbuf_alloc_bulk(b, mb, 3), 3);
	struct edp_mbuf *back[6] = { ma[0], mb[0], mb[1], ma[1], ma[2], mb[2] };
	edp_mbuf_free_bulk(back, 6);
	assert_int_equal(edp_mbuf_pool_available(a), 3);
	assert_int_equal(edp_mbuf_pool_available(b), 3);
	assert_ptr_equal(edp_mbuf_alloc_buffer(a), ma[2]); /* the last one back comes out first */
	assert_ptr_equal(edp_mbuf_alloc_buffer(a), ma[1]);
	assert_ptr_equal(edp_mbuf_alloc_buffer(b), mb[2]);
	assert_ptr_equal(edp_mbuf_alloc_buffer(b), mb[1]);
	assert_ptr_equal(edp_mbuf_alloc_buffer(b), mb[0]);
	assert_null(edp_mbuf_alloc_buffer(b));
	edp_mbuf_pool_destroy(a);
	edp_mbuf_pool_destroy(b);
}

/* Three pools interleaved in one burst (IMIX's size classes): only the
 * first descriptor of each is read (the others' pool pointers are wiped:
 * reading one would crash); six pools, more than are kept at once: each
 * descriptor still goes back to its own pool. */
static void test_mbuf_free_many_pools(void **state)
{
	(void)state;
	enum { POOLS = 6, EACH = 4 };
	struct edp_mbuf_pool *p[POOLS];
	struct edp_mbuf *m[POOLS][EACH], *back[POOLS * EACH];
	for (int k = 0; k < POOLS; k++) {
		p[k] = edp_mbuf_pool_create(EACH, 64 + 128 * (uint32_t)k, NULL);
		assert_int_equal(edp_mbuf_alloc_bulk(p[k], m[k], EACH), EACH);
	}
	uint32_t n = 0;
	for (int i = 0; i < EACH; i++)
		for (int k = 0; k < 3; k++) {
			if (i)
				m[k][i]->pool = NULL;
			back[n++] = m[k][i];
		}
	edp_mbuf_free_bulk(back, n);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(edp_mbuf_pool_available(p[k]), EACH);
		for (int i = 1; i < EACH; i++)
			m[k][i]->pool = p[k];
		assert_int_equal(edp_mbuf_alloc_bulk(p[k], m[k], EACH), EACH);
	}
	n = 0;
	for (int i = 0; i < EACH; i++)
		for (int k = 0; k < POOLS; k++)
			back[n++] = m[(k + i) % POOLS][i];
	edp_mbuf_free_bulk(back, n);
	for (int k = 0; k < POOLS; k++) {
		assert_int_equal(edp_mbuf_pool_available(p[k]), EACH);
		for (int i = 0; i < EACH; i++) /* each buffer of its own pool's size */
			assert_int_equal(edp_mbuf_alloc_buffer(p[k])->buf_len, edp_mbuf_pool_buf_size(p[k]));
		edp_mbuf_pool_destroy(p[k]);
	}
}

/* A buffer taken alone leaves its descriptor's line as it was (the threaded
 * reader's descriptors are set up by the worker); edp_mbuf_init sets it up. */
static void test_mbuf_alloc_buffer(void **state)
{
	(void)state;
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(2, 64, NULL);
	struct edp_mbuf *m = edp_mbuf_alloc_buffer(pool), *n = edp_mbuf_alloc_buffer(pool);
	assert_non_null(m);
	assert_non_null(n);
	assert_ptr_not_equal(m, n);
	assert_null(edp_mbuf_alloc_buffer(pool)); /* empty */
	assert_ptr_equal(m->pool, pool); /* set once, when first handed out */
	assert_int_equal(m->buf_len, 64);
	memset(edp_mbuf_buf(m), 0xab, 60);
	edp_mbuf_init(m, 60, 1500, 123456789ull, 3);
	m->out_ports = 5;
	m->drop_reason = 2;
	m->parse_status = 1;
	m->l3_off = 14;
	edp_mbuf_free_bulk(&m, 1);
	assert_int_equal(edp_mbuf_pool_available(pool), 1);
	edp_mbuf_pool_prefetch(pool);
	struct edp_mbuf *again = edp_mbuf_alloc_buffer(pool);
	assert_ptr_equal(again, m);
	assert_int_equal(m->out_ports, 5); /* untouched */
	assert_int_equal(m->l3_off, 14);
	edp_mbuf_init(m, 60, 1500, 123456789ull, 3);
	assert_ptr_equal(m->data, edp_mbuf_buf(m));
	assert_int_equal(m->data_len, 60);
	assert_int_equal(m->wire_len, 1500);
	assert_int_equal(m->ts_ns, 123456789ull);
	assert_int_equal(m->in_port, 3);
	assert_int_equal(m->out_ports, 0);
	assert_int_equal(m->drop_reason, 0);
	assert_int_equal(m->parse_status, 0);
	assert_int_equal(m->data[59], 0xab);
	edp_mbuf_pool_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl_checksum_matches_full),
		cmocka_unit_test(test_ttl_expiry),
		cmocka_unit_test(test_set_mac),
		cmocka_unit_test(test_mbuf_pool),
		cmocka_unit_test(test_mbuf_free_mixed),
		cmocka_unit_test(test_mbuf_free_many_pools),
		cmocka_unit_test(test_mbuf_alloc_buffer),
	};
	return cmocka_run_group_tests_name("action", tests, NULL, NULL);
}
