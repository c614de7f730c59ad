/* edp_parse: packet headers to a flow key.
 *
 * Ethernet, 802.1Q and stacked 802.1ad/802.1Q tags, ARP, IPv4 (with options),
 * IPv6 (with extension headers), TCP, UDP, ICMP, ICMPv6, SCTP; IP fragments
 * (later fragments have no ports).
 *
 * Invariants: never reads past the captured length. A header cut short by the
 * capture (snaplen) is not an error: the key records how far parsing got
 * (EDP_KEY_*_TRUNC) and the pipeline decides. A header that contradicts
 * itself or the frame (bad IHL, an IP length shorter than its header or longer
 * than the frame, an L4 header shorter than its minimum) is malformed.
 */
#ifndef EDP_PARSE_H
#define EDP_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "edp_flow.h"

struct edp_parse_result {
	uint16_t l3_off; /* 0 when there is no IP header */
	uint16_t l4_off; /* 0 when the L4 header was not reached */
};

enum edp_parse_status {
	EDP_PARSE_OK = 0,
	EDP_PARSE_MALFORMED = 1,
};

/* Parse `caplen` captured bytes of a frame that was `wire_len` long on the
 * wire. Fills *key completely (zeroing what the packet lacks) and *res.
 * Returns EDP_PARSE_OK or EDP_PARSE_MALFORMED. Thread-safe, no allocation. */
int edp_parse(const uint8_t *pkt, uint32_t caplen, uint32_t wire_len, uint16_t in_port,
	      struct edp_flow_key *key, struct edp_parse_result *res);

/* The general parser behind edp_parse, which takes a shortcut for the most
 * common frames (untagged IPv4, TCP or UDP) with the same result; exposed
 * so that tests can hold the shortcut to it. */
int edp_parse_full(const uint8_t *pkt, uint32_t caplen, uint32_t wire_len, uint16_t in_port,
		   struct edp_flow_key *key, struct edp_parse_result *res);

/* The parser's shortcut, inline for the per-packet callers (the reader's
 * hash, the worker's key): the most common frame, untagged IPv4 without
 * options carrying a whole TCP or UDP header that checks out (so
 * edp_parse_full would find its ports and nothing wrong). wire_len is at
 * least caplen. */
static inline uint16_t edp_parse_rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static inline bool edp_parse_is_plain_ipv4(const uint8_t *pkt, uint32_t caplen, uint32_t wire_len)
{
	if (caplen < 14 + 20 + 20 || edp_parse_rd16(pkt + 12) != EDP_ETH_TYPE_IPV4)
		return false;
	const uint8_t *ip = pkt + 14, *l4 = ip + 20;
	uint32_t total = edp_parse_rd16(ip + 2), l4len = total - 20;
	uint8_t proto = ip[9];
	if (ip[0] != 0x45 || total < 20 || total > wire_len - 14 || (edp_parse_rd16(ip + 6) & 0x3fff))
		return false;
	if (proto == 17) { /* UDP */
		uint32_t ulen = edp_parse_rd16(l4 + 4);
		return l4len >= 8 && ulen >= 8 && ulen <= l4len;
	}
	if (proto == 6) { /* TCP */
		uint32_t doff = (uint32_t)(l4[12] >> 4) * 4;
		return l4len >= 20 && doff >= 20 && doff <= l4len;
	}
	return false;
}

/* Four address bytes as edp_flow_load64 reads them from a key that holds
 * them followed by zeros. */
static inline uint64_t edp_parse_load_v4(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (uint64_t)v << 32;
#else
	return v;
#endif
}

/* The RSS hash of any other frame (see edp_parse_rss_hash). */
uint32_t edp_parse_rss_hash_other(const uint8_t *pkt, uint32_t caplen, uint32_t wire_len);

/* edp_flow_rss_hash of the packet's key, computed straight from the headers
 * for untagged or single-tagged IPv4/IPv6 TCP, UDP, SCTP and ICMP (the
 * reader's receive-side scaling), with a full parse for anything else.
 * Always equal to edp_flow_rss_hash after edp_parse. *plain_ipv4 tells
 * whether the frame is one edp_parse_plain_ipv4 takes. */
static inline uint32_t edp_parse_rss_hash(const uint8_t *pkt, uint32_t caplen, uint32_t wire_len, bool *plain_ipv4)
{
	if (wire_len < caplen)
		wire_len = caplen;
	*plain_ipv4 = edp_parse_is_plain_ipv4(pkt, caplen, wire_len);
	if (!*plain_ipv4)
		return edp_parse_rss_hash_other(pkt, caplen, wire_len);
	const uint8_t *ip = pkt + 14; /* edp_parse's shortcut: the same key */
	return edp_flow_rss_mix(edp_parse_load_v4(ip + 12) ^ edp_parse_load_v4(ip + 16), 0,
				edp_flow_rss_word(edp_parse_rd16(ip + 20), edp_parse_rd16(ip + 22), ip[9], 0));
}

/* edp_parse of a frame that edp_parse_rss_hash found plain IPv4 (untagged,
 * no options, not a fragment, TCP or UDP, lengths consistent), with the
 * same caplen and wire_len: the same key and result, without checking the
 * headers again. */
static inline int edp_parse_plain_ipv4(const uint8_t *pkt, uint16_t in_port, struct edp_flow_key *key,
				       struct edp_parse_result *res)
{
	const uint8_t *ip = pkt + 14, *l4 = ip + 20;
	memset(key, 0, sizeof(*key));
	key->in_port = in_port;
	memcpy(key->eth_dst, pkt, 6);
	memcpy(key->eth_src, pkt + 6, 6);
	key->eth_type = EDP_ETH_TYPE_IPV4;
	key->nw_proto = ip[9];
	key->flags = EDP_KEY_IS_IP | EDP_KEY_HAS_PORTS;
	memcpy(key->nw_src, ip + 12, 4);
	memcpy(key->nw_dst, ip + 16, 4);
	key->tp_src = edp_parse_rd16(l4);
	key->tp_dst = edp_parse_rd16(l4 + 2);
	res->l3_off = 14;
	res->l4_off = 14 + 20;
	return EDP_PARSE_OK;
}

#endif
