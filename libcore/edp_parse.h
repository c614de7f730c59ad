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

#include <stdint.h>

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

/* edp_flow_rss_hash of the packet's key, computed straight from the headers
 * for untagged or single-tagged IPv4/IPv6 TCP, UDP, SCTP and ICMP (the
 * reader's receive-side scaling), with a full parse for anything else.
 * Always equal to edp_flow_rss_hash after edp_parse. *plain_ipv4 tells
 * whether the frame is one edp_parse_plain_ipv4 takes. */
uint32_t edp_parse_rss_hash(const uint8_t *pkt, uint32_t caplen, uint32_t wire_len, bool *plain_ipv4);

/* edp_parse of a frame that edp_parse_rss_hash found plain IPv4 (untagged,
 * no options, not a fragment, TCP or UDP, lengths consistent), with the
 * same caplen and wire_len: the same key and result, without checking the
 * headers again. */
int edp_parse_plain_ipv4(const uint8_t *pkt, uint16_t in_port, struct edp_flow_key *key,
			 struct edp_parse_result *res);

#endif
