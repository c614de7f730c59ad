#include "edp_rewrite.h"

#include <string.h>

#include "edp_flow.h"
#include "edp_parse.h"

bool edp_rewrite_active(const struct edp_rewrite *rw)
{
	return rw->set_src_mac || rw->set_dst_mac || rw->vlan_add >= 0 || rw->vlan_strip || rw->ip_offset;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for a 32-bit field change. */
static void csum_update32(uint8_t *csum, uint32_t old, uint32_t new)
{
	uint32_t sum = (uint16_t)~get16(csum);
	sum += (uint16_t)~(old >> 16);
	sum += (uint16_t)~(old & 0xffff);
	sum += new >> 16;
	sum += new & 0xffff;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(csum, (uint16_t)~sum);
}

/* Add delta to the 32-bit big-endian field at p; fix each checksum given. */
static void shift32(uint8_t *p, uint32_t delta, uint8_t *csum_a, uint8_t *csum_b)
{
	uint32_t old = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	uint32_t new = old + delta;
	p[0] = (uint8_t)(new >> 24);
	p[1] = (uint8_t)(new >> 16);
	p[2] = (uint8_t)(new >> 8);
	p[3] = (uint8_t)new;
	if (csum_a)
		csum_update32(csum_a, old, new);
	if (csum_b)
		csum_update32(csum_b, old, new);
}

static void shift_addresses(struct edp_mbuf *m, uint32_t delta)
{
	struct edp_flow_key key;
	struct edp_parse_result pr;
	if (edp_parse(m->data, m->data_len, m->wire_len, 0, &key, &pr) != EDP_PARSE_OK || !pr.l3_off ||
	    !(key.flags & EDP_KEY_IS_IP))
		return;
	uint8_t *l3 = m->data + pr.l3_off;
	bool v6 = key.eth_type == 0x86dd;
	/* the L4 checksum covers the addresses (pseudo-header): fix it when it
	 * is in the capture and in use (a UDP/IPv4 checksum of 0 means none) */
	uint8_t *l4sum = NULL;
	if (pr.l4_off && !(key.flags & EDP_KEY_FRAG_LATER)) {
		uint32_t off = key.nw_proto == 6 ? 16u : key.nw_proto == 17 ? 6u : 0u;
		if (off && pr.l4_off + off + 2 <= m->data_len) {
			l4sum = m->data + pr.l4_off + off;
			if (key.nw_proto == 17 && !v6 && get16(l4sum) == 0)
				l4sum = NULL;
		}
	}
	if (v6) {
		shift32(l3 + 8 + 12, delta, l4sum, NULL);
		shift32(l3 + 24 + 12, delta, l4sum, NULL);
	} else {
		shift32(l3 + 12, delta, l3 + 10, l4sum);
		shift32(l3 + 16, delta, l3 + 10, l4sum);
	}
}

int edp_rewrite_apply(const struct edp_rewrite *rw, struct edp_mbuf *m, uint64_t loop)
{
	int rc = 0;
	uint8_t *d = m->data;
	if (rw->vlan_strip && m->data_len >= 18 && (get16(d + 12) == 0x8100 || get16(d + 12) == 0x88a8)) {
		memmove(d + 12, d + 16, m->data_len - 16);
		m->data_len -= 4;
		m->wire_len -= 4;
	}
	if (rw->vlan_add >= 0 && m->data_len >= 12) {
		if (m->data_len + 4 <= m->buf_len) {
			memmove(d + 16, d + 12, m->data_len - 12);
			put16(d + 12, 0x8100);
			put16(d + 14, (uint16_t)rw->vlan_add);
			m->data_len += 4;
			m->wire_len += 4;
		} else {
			rc = -1;
		}
	}
	if (rw->set_dst_mac && m->data_len >= 6)
		memcpy(d, rw->dst_mac, 6);
	if (rw->set_src_mac && m->data_len >= 12)
		memcpy(d + 6, rw->src_mac, 6);
	if (rw->ip_offset && loop)
		shift_addresses(m, (uint32_t)(rw->ip_offset * loop));
	return rc;
}
