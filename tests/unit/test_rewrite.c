#include <string.h>

#include "unit.h"
#include "edp_flow.h"
#include "edp_parse.h"
#include "edp_rewrite.h"
#include "edp_synth.h"

/* The L4 checksum of a packet, recomputed in full (0 = it verifies). */
static uint16_t l4_check(const uint8_t *p, uint32_t len)
{
	struct edp_flow_key key;
	struct edp_parse_result pr;
	assert_int_equal(edp_parse(p, len, len, 0, &key, &pr), EDP_PARSE_OK);
	bool v6 = key.eth_type == 0x86dd;
	const uint8_t *l3 = p + pr.l3_off;
	uint32_t l4len = len - pr.l4_off, sum = 0;
	const uint8_t *src = v6 ? l3 + 8 : l3 + 12;
	for (int i = 0; i < (v6 ? 32 : 8); i += 2)
		sum += (uint32_t)(src[i] << 8 | src[i + 1]);
	sum += key.nw_proto + l4len;
	for (uint32_t i = 0; i + 1 < l4len; i += 2)
		sum += (uint32_t)(p[pr.l4_off + i] << 8 | p[pr.l4_off + i + 1]);
	if (l4len & 1)
		sum += (uint32_t)p[pr.l4_off + l4len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Shifting addresses keeps every IPv4 header, TCP and UDP checksum valid,
 * v4 and v6, for many loops. */
static void test_ip_offset_checksums(void **state)
{
	(void)state;
	struct edp_synth_spec spec;
	assert_int_equal(edp_synth_parse("flows=50,packets=400,proto=mix,v6=0.5,size=64-300,seed=3", &spec, NULL), 0);
	struct edp_synth *s = edp_synth_create(&spec, NULL);
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(1, 2048, NULL);
	struct edp_mbuf *m;
	assert_int_equal(edp_mbuf_alloc_bulk(pool, &m, 1), 1);
	struct edp_rewrite rw = EDP_REWRITE_NONE;
	rw.ip_offset = 0x01000001; /* carries across bytes */
	uint64_t loop = 0;
	while (edp_synth_next(s, m) == 1) {
		uint8_t before[2048];
		memcpy(before, m->data, m->data_len);
		assert_int_equal(edp_rewrite_apply(&rw, m, ++loop), 0);
		assert_memory_not_equal(before, m->data, m->data_len);
		assert_int_equal(l4_check(m->data, m->data_len), 0);
		if (m->data[12] == 0x08) /* IPv4: the header checksum too */
			assert_int_equal(ip_checksum(m->data + 14, 20), 0);
	}
	edp_mbuf_free_bulk(&m, 1);
	edp_mbuf_pool_destroy(pool);
	edp_synth_destroy(s);
}

/* Push then pop gives the frame back; MACs are set; a full buffer skips
 * the push. */
static void test_vlan_and_macs(void **state)
{
	(void)state;
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(1, 128, NULL);
	struct edp_mbuf *m;
	assert_int_equal(edp_mbuf_alloc_bulk(pool, &m, 1), 1);
	m->data_len = m->wire_len = (uint32_t)build_udp4(m->data, 0x0a000001, 0x0a000002, 1, 2);
	uint8_t orig[128];
	uint32_t len = m->data_len;
	memcpy(orig, m->data, len);
	struct edp_rewrite push = EDP_REWRITE_NONE, pop = EDP_REWRITE_NONE;
	push.vlan_add = 77;
	pop.vlan_strip = true;
	assert_int_equal(edp_rewrite_apply(&push, m, 0), 0);
	assert_int_equal(m->data_len, len + 4);
	assert_int_equal(m->wire_len, len + 4);
	const uint8_t tag[4] = { 0x81, 0x00, 0x00, 77 };
	assert_memory_equal(m->data + 12, tag, 4);
	assert_memory_equal(m->data + 16, orig + 12, len - 12);
	assert_int_equal(edp_rewrite_apply(&pop, m, 0), 0);
	assert_int_equal(m->data_len, len);
	assert_memory_equal(m->data, orig, len);
	struct edp_rewrite macs = EDP_REWRITE_NONE;
	macs.set_src_mac = macs.set_dst_mac = true;
	memcpy(macs.src_mac, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(macs.dst_mac, "\x02\x00\x00\x00\x00\x02", 6);
	edp_rewrite_apply(&macs, m, 0);
	assert_memory_equal(m->data, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	m->data_len = 126; /* no room for 4 more bytes */
	assert_int_equal(edp_rewrite_apply(&push, m, 0), -1);
	assert_int_equal(m->data_len, 126);
	edp_mbuf_free_bulk(&m, 1);
	edp_mbuf_pool_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_offset_checksums),
		cmocka_unit_test(test_vlan_and_macs),
	};
	return cmocka_run_group_tests_name("rewrite", tests, NULL, NULL);
}
