#include "edp_parse.h"

#include <stdbool.h>
#include <string.h>

#define MAX_VLAN_TAGS 8
#define MAX_IPV6_EXT 16

enum { IPPROTO_ICMP_ = 1, IPPROTO_TCP_ = 6, IPPROTO_UDP_ = 17, IPPROTO_ICMPV6_ = 58, IPPROTO_SCTP_ = 132 };

static inline uint16_t rd16(const uint8_t *p) { return edp_parse_rd16(p); }

struct cursor {
	const uint8_t *pkt;
	uint32_t caplen;
	uint32_t wire_len;
};

/* Bytes captured from offset `off` on (0 when off is past the end). */
static inline uint32_t cap_from(const struct cursor *c, uint32_t off)
{
	return off < c->caplen ? c->caplen - off : 0;
}

/* L4: `l4len` is the length of the L4 segment according to the IP header. */
static int parse_l4(const struct cursor *c, uint32_t off, uint32_t l4len, uint8_t proto, int v6,
		    struct edp_flow_key *key, struct edp_parse_result *res)
{
	uint32_t min;
	switch (proto) {
	case IPPROTO_TCP_: min = 20; break;
	case IPPROTO_UDP_: min = 8; break;
	case IPPROTO_SCTP_: min = 12; break;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_: min = 4; break;
	default: return EDP_PARSE_OK;
	}
	if (l4len < min)
		return EDP_PARSE_MALFORMED;
	res->l4_off = (uint16_t)(off > 0xffff ? 0 : off);
	uint32_t avail = cap_from(c, off);
	const uint8_t *p = c->pkt + off;
	if (proto == IPPROTO_ICMP_ || proto == IPPROTO_ICMPV6_) {
		if (avail < 2) {
			key->flags |= EDP_KEY_L4_TRUNC;
			return EDP_PARSE_OK;
		}
		key->tp_src = p[0];
		key->tp_dst = p[1];
		return EDP_PARSE_OK;
	}
	if (avail < 4) {
		key->flags |= EDP_KEY_L4_TRUNC;
		return EDP_PARSE_OK;
	}
	key->tp_src = rd16(p);
	key->tp_dst = rd16(p + 2);
	key->flags |= EDP_KEY_HAS_PORTS;
	bool first_frag = key->flags & EDP_KEY_FRAG;
	if (proto == IPPROTO_UDP_ && avail >= 6) {
		uint32_t ulen = rd16(p + 4);
		if (ulen == 0 ? !v6 : (ulen < 8 || (!first_frag && ulen > l4len)))
			return EDP_PARSE_MALFORMED;
	} else if (proto == IPPROTO_TCP_ && avail >= 13) {
		uint32_t doff = (uint32_t)(p[12] >> 4) * 4;
		if (doff < 20 || doff > l4len)
			return EDP_PARSE_MALFORMED;
	}
	return EDP_PARSE_OK;
}

static int parse_ipv4(const struct cursor *c, uint32_t off, struct edp_flow_key *key,
		      struct edp_parse_result *res)
{
	uint32_t wire = c->wire_len - off; /* caller checked off <= wire_len */
	if (wire < 20)
		return EDP_PARSE_MALFORMED;
	if (cap_from(c, off) < 20) {
		key->flags |= EDP_KEY_L3_TRUNC;
		return EDP_PARSE_OK;
	}
	const uint8_t *p = c->pkt + off;
	uint32_t ihl = (uint32_t)(p[0] & 15) * 4;
	uint32_t total = rd16(p + 2);
	if (p[0] >> 4 != 4 || ihl < 20 || total < ihl || total > wire)
		return EDP_PARSE_MALFORMED;
	key->flags |= EDP_KEY_IS_IP;
	key->nw_proto = p[9];
	memcpy(key->nw_src, p + 12, 4);
	memcpy(key->nw_dst, p + 16, 4);
	res->l3_off = (uint16_t)off;
	uint16_t frag = rd16(p + 6);
	if (frag & 0x3fff) {
		key->flags |= EDP_KEY_FRAG;
		if (frag & 0x1fff) {
			key->flags |= EDP_KEY_FRAG_LATER;
			return EDP_PARSE_OK;
		}
	}
	if (cap_from(c, off) < ihl) {
		key->flags |= EDP_KEY_L4_TRUNC; /* options cut by the capture */
		return EDP_PARSE_OK;
	}
	return parse_l4(c, off + ihl, total - ihl, key->nw_proto, 0, key, res);
}

static int parse_ipv6(const struct cursor *c, uint32_t off, struct edp_flow_key *key,
		      struct edp_parse_result *res)
{
	uint32_t wire = c->wire_len - off;
	if (wire < 40)
		return EDP_PARSE_MALFORMED;
	if (cap_from(c, off) < 40) {
		key->flags |= EDP_KEY_L3_TRUNC;
		return EDP_PARSE_OK;
	}
	const uint8_t *p = c->pkt + off;
	if (p[0] >> 4 != 6)
		return EDP_PARSE_MALFORMED;
	uint32_t remaining = rd16(p + 4);
	uint8_t nh = p[6];
	if (remaining == 0 && nh == 0)
		remaining = wire - 40; /* jumbogram: the length is in a hop-by-hop option */
	else if (remaining > wire - 40)
		return EDP_PARSE_MALFORMED;
	key->flags |= EDP_KEY_IS_IP;
	memcpy(key->nw_src, p + 8, 16);
	memcpy(key->nw_dst, p + 24, 16);
	res->l3_off = (uint16_t)off;
	uint32_t cur = off + 40;
	for (int i = 0;; i++) {
		if (i == MAX_IPV6_EXT)
			return EDP_PARSE_MALFORMED;
		uint32_t len;
		switch (nh) {
		case 0: case 43: case 60: case 135: case 139: case 140: case 51: case 44:
			break;
		default:
			key->nw_proto = nh;
			return parse_l4(c, cur, remaining, nh, 1, key, res);
		}
		uint32_t need = nh == 44 ? 8 : 2;
		if (remaining < need)
			return EDP_PARSE_MALFORMED;
		if (cap_from(c, cur) < need) {
			key->nw_proto = nh;
			key->flags |= EDP_KEY_L4_TRUNC;
			return EDP_PARSE_OK;
		}
		const uint8_t *e = c->pkt + cur;
		if (nh == 44) {
			uint16_t fo = rd16(e + 2);
			len = 8;
			if (fo & 0xfff9) {
				key->flags |= EDP_KEY_FRAG;
				if (fo & 0xfff8) {
					key->flags |= EDP_KEY_FRAG_LATER;
					key->nw_proto = e[0];
					return EDP_PARSE_OK;
				}
			}
		} else if (nh == 51) {
			len = ((uint32_t)e[1] + 2) * 4;
		} else {
			len = ((uint32_t)e[1] + 1) * 8;
		}
		if (len > remaining)
			return EDP_PARSE_MALFORMED;
		nh = e[0];
		cur += len;
		remaining -= len;
	}
}

static int parse_arp(const struct cursor *c, uint32_t off, struct edp_flow_key *key)
{
	if (c->wire_len - off < 8)
		return EDP_PARSE_MALFORMED;
	uint32_t avail = cap_from(c, off);
	const uint8_t *p = c->pkt + off;
	if (avail < 8) {
		key->flags |= EDP_KEY_L3_TRUNC;
		return EDP_PARSE_OK;
	}
	key->nw_proto = (uint8_t)rd16(p + 6);
	if (rd16(p) == 1 && rd16(p + 2) == EDP_ETH_TYPE_IPV4 && p[4] == 6 && p[5] == 4) {
		if (avail < 28) {
			key->flags |= EDP_KEY_L3_TRUNC;
			return EDP_PARSE_OK;
		}
		memcpy(key->nw_src, p + 14, 4);
		memcpy(key->nw_dst, p + 24, 4);
	}
	return EDP_PARSE_OK;
}

int edp_parse(const uint8_t *pkt, uint32_t caplen, uint32_t wire_len, uint16_t in_port,
	      struct edp_flow_key *key, struct edp_parse_result *res)
{
	if (wire_len < caplen)
		wire_len = caplen;
	if (edp_parse_is_plain_ipv4(pkt, caplen, wire_len)) /* the shortcut, to the same result */
		return edp_parse_plain_ipv4(pkt, in_port, key, res);
	return edp_parse_full(pkt, caplen, wire_len, in_port, key, res);
}

int edp_parse_full(const uint8_t *pkt, uint32_t caplen, uint32_t wire_len, uint16_t in_port,
		   struct edp_flow_key *key, struct edp_parse_result *res)
{
	memset(key, 0, sizeof(*key));
	key->in_port = in_port;
	res->l3_off = res->l4_off = 0;
	if (wire_len < caplen)
		wire_len = caplen;
	struct cursor c = { pkt, caplen, wire_len };
	if (caplen < 14) {
		key->flags |= EDP_KEY_L2_TRUNC;
		return wire_len < 14 ? EDP_PARSE_MALFORMED : EDP_PARSE_OK;
	}
	memcpy(key->eth_dst, pkt, 6);
	memcpy(key->eth_src, pkt + 6, 6);
	uint16_t type = rd16(pkt + 12);
	uint32_t off = 14;
	for (int tags = 0; type == 0x8100 || type == 0x88a8 || type == 0x9100; tags++) {
		if (tags == MAX_VLAN_TAGS)
			return EDP_PARSE_MALFORMED;
		if (off + 4 > caplen) {
			key->flags |= EDP_KEY_L2_TRUNC;
			return off + 4 > wire_len ? EDP_PARSE_MALFORMED : EDP_PARSE_OK;
		}
		uint16_t vid = (rd16(pkt + off) & 0x0fff) | EDP_VLAN_PRESENT;
		if (tags == 0)
			key->vlan_outer = vid;
		else if (tags == 1)
			key->vlan_inner = vid;
		type = rd16(pkt + off + 2);
		off += 4;
	}
	if (type < 0x0600)
		return EDP_PARSE_OK; /* 802.3 length field: no ethertype */
	key->eth_type = type;
	switch (type) {
	case EDP_ETH_TYPE_IPV4: return parse_ipv4(&c, off, key, res);
	case EDP_ETH_TYPE_IPV6: return parse_ipv6(&c, off, key, res);
	case EDP_ETH_TYPE_ARP: return parse_arp(&c, off, key);
	default: return EDP_PARSE_OK;
	}
}

/* The ports (or ICMP type and code) parse_l4 would put in the key; false
 * when it would not reach them for certain (then the caller parses fully). */
static inline bool rss_l4(const uint8_t *p, uint32_t avail, uint32_t l4len, uint8_t proto, uint16_t *tp_src,
			  uint16_t *tp_dst)
{
	uint32_t min = proto == IPPROTO_TCP_ ? 20 : proto == IPPROTO_UDP_ ? 8 : proto == IPPROTO_SCTP_ ? 12 : 4;
	if (l4len < min)
		return false;
	if (proto == IPPROTO_ICMP_ || proto == IPPROTO_ICMPV6_) {
		if (avail < 2)
			return false;
		*tp_src = p[0];
		*tp_dst = p[1];
		return true;
	}
	if (avail < 4)
		return false;
	*tp_src = rd16(p);
	*tp_dst = rd16(p + 2);
	return true;
}

uint32_t edp_parse_rss_hash_other(const uint8_t *pkt, uint32_t caplen, uint32_t wire_len)
{
	if (caplen >= 14 + 40) { /* the common cases: untagged or one tag, IP, TCP/UDP/SCTP/ICMP */
		uint16_t type = rd16(pkt + 12), vlan = 0;
		uint32_t off = 14;
		if (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
			vlan = (rd16(pkt + 14) & 0x0fff) | EDP_VLAN_PRESENT;
			type = rd16(pkt + 16);
			off = 18;
		}
		const uint8_t *p = pkt + off;
		uint32_t wire = wire_len - off, avail = caplen - off;
		uint16_t tp_src = 0, tp_dst = 0;
		if (type == EDP_ETH_TYPE_IPV4 && avail >= 20 && wire >= 20) {
			uint32_t ihl = (uint32_t)(p[0] & 15) * 4, total = rd16(p + 2);
			uint8_t proto = p[9];
			bool l4 = proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_ || proto == IPPROTO_SCTP_ ||
				  proto == IPPROTO_ICMP_;
			if (p[0] >> 4 == 4 && ihl >= 20 && total >= ihl && total <= wire && !(rd16(p + 6) & 0x3fff) && l4 &&
			    avail >= ihl && rss_l4(p + ihl, avail - ihl, total - ihl, proto, &tp_src, &tp_dst))
				return edp_flow_rss_mix(edp_parse_load_v4(p + 12) ^ edp_parse_load_v4(p + 16), 0, edp_flow_rss_word(tp_src, tp_dst, proto, vlan));
		} else if (type == EDP_ETH_TYPE_IPV6 && avail >= 40 && wire >= 40) {
			uint32_t remaining = rd16(p + 4);
			uint8_t nh = p[6];
			bool l4 = nh == IPPROTO_TCP_ || nh == IPPROTO_UDP_ || nh == IPPROTO_SCTP_ || nh == IPPROTO_ICMPV6_;
			if (p[0] >> 4 == 6 && l4 && remaining <= wire - 40 &&
			    rss_l4(p + 40, avail - 40, remaining, nh, &tp_src, &tp_dst))
				return edp_flow_rss_mix(edp_flow_load64(p + 8) ^ edp_flow_load64(p + 24),
							edp_flow_load64(p + 16) ^ edp_flow_load64(p + 32),
							edp_flow_rss_word(tp_src, tp_dst, nh, vlan));
		}
	}
	struct edp_flow_key key;
	struct edp_parse_result res;
	edp_parse(pkt, caplen, wire_len, 0, &key, &res);
	return edp_flow_rss_hash(&key);
}
