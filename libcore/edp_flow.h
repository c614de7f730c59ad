/* edp_flow: the flow key, its hash and its comparison.
 *
 * The key is one 64-byte cache line of fixed layout, zero in every field the
 * packet does not have (and in the padding), so that two packets of the same
 * flow give bitwise-equal keys: hashing is eight 64-bit word operations,
 * comparing four 16-byte ones (SSE2). IPv4 addresses sit in the first 4
 * bytes of nw_src/nw_dst.
 */
#ifndef EDP_FLOW_H
#define EDP_FLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define EDP_ETH_TYPE_IPV4 0x0800
#define EDP_ETH_TYPE_ARP 0x0806
#define EDP_ETH_TYPE_IPV6 0x86dd
#define EDP_VLAN_PRESENT 0x1000 /* set in vlan_outer/vlan_inner when a tag exists */

enum edp_key_flags {
	EDP_KEY_HAS_PORTS = 1 << 0, /* tp_src/tp_dst hold L4 ports (TCP, UDP, SCTP) */
	EDP_KEY_L2_TRUNC = 1 << 1,  /* the capture ends inside the Ethernet/VLAN headers */
	EDP_KEY_L3_TRUNC = 1 << 2,  /* the capture ends inside the IP/ARP header */
	EDP_KEY_L4_TRUNC = 1 << 3,  /* the capture ends before the L4 ports */
	EDP_KEY_FRAG = 1 << 4,      /* an IP fragment */
	EDP_KEY_FRAG_LATER = 1 << 5,/* a fragment other than the first (no ports) */
	EDP_KEY_IS_IP = 1 << 6,     /* IPv4 or IPv6 with a complete fixed header */
};

struct edp_flow_key {
	uint16_t in_port;
	uint16_t vlan_outer;   /* VID | EDP_VLAN_PRESENT, or 0 */
	uint16_t vlan_inner;   /* VID | EDP_VLAN_PRESENT, or 0 */
	uint16_t eth_type;     /* innermost ethertype, 0 for 802.3 length frames */
	uint8_t eth_src[6];
	uint8_t eth_dst[6];
	uint8_t nw_proto;      /* IP protocol, or ARP opcode */
	uint8_t flags;         /* enum edp_key_flags */
	uint16_t pad0;
	uint8_t nw_src[16];
	uint8_t nw_dst[16];
	uint16_t tp_src;       /* L4 source port, or ICMP type */
	uint16_t tp_dst;       /* L4 destination port, or ICMP code */
	uint32_t pad1;
};

_Static_assert(sizeof(struct edp_flow_key) == 64, "edp_flow_key must be 64 bytes");

static inline uint64_t edp_flow_load64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* Two words multiplied to 128 bits and folded (as wyhash mixes). */
static inline uint64_t edp_flow_mix(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
	__uint128_t r = (__uint128_t)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
	uint64_t h = a * 0xff51afd7ed558ccdull ^ b;
	h = (h << 29 | h >> 35) * 0xc4ceb9fe1a85ec53ull;
	return h ^ h >> 32;
#endif
}

/* A fast, well-mixed 32-bit hash of the whole key: each of the eight words
 * times its own odd constant, summed (keys that differ in one word always
 * differ in the sum: an odd multiplier is invertible), then folded and
 * multiplied once more so that every bit of the sum reaches the low bits
 * (the bucket) and the high ones (the signature). One multiplication a
 * word, all independent. */
static inline uint32_t edp_flow_hash(const struct edp_flow_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = edp_flow_load64(p) * 0x5bd1e995u + edp_flow_load64(p + 8) * 0x1b873593u +
		     edp_flow_load64(p + 16) * 0x27d4eb2fu + edp_flow_load64(p + 24) * 0x165667b1u +
		     edp_flow_load64(p + 32) * 0x7feb352du + edp_flow_load64(p + 40) * 0x46d9cf43u +
		     edp_flow_load64(p + 48) * 0x2c1b3c6du + edp_flow_load64(p + 56) * 0x68e31da5u;
	h ^= h >> 32;
	h *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32);
}

/* The mixing of the RSS hash: a and b are the XOR of the two addresses'
 * first and second 8 bytes (as a key holds them), c the ports, protocol and
 * outer VLAN word (and the MACs' term for a frame that is not IP). */
static inline uint32_t edp_flow_rss_mix(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t h = (a * 0xff51afd7ed558ccdull ^ b * 0xc4ceb9fe1a85ec53ull ^ c) * 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(h >> 32);
}

static inline uint64_t edp_flow_rss_word(uint16_t tp_src, uint16_t tp_dst, uint8_t proto, uint16_t vlan_outer)
{
	return (uint64_t)(tp_src ^ tp_dst) << 32 | (uint64_t)proto << 16 | vlan_outer;
}

/* A symmetric hash for receive-side scaling: both directions of a flow
 * (addresses and ports swapped) hash alike, so they share a queue. */
static inline uint32_t edp_flow_rss_hash(const struct edp_flow_key *k)
{
	uint64_t a = edp_flow_load64(k->nw_src) ^ edp_flow_load64(k->nw_dst);
	uint64_t b = edp_flow_load64(k->nw_src + 8) ^ edp_flow_load64(k->nw_dst + 8);
	uint64_t c = edp_flow_rss_word(k->tp_src, k->tp_dst, k->nw_proto, k->vlan_outer);
	if (!(k->flags & EDP_KEY_IS_IP)) {
		uint64_t m = 0;
		for (int i = 0; i < 6; i++)
			m += (uint64_t)(k->eth_src[i] ^ k->eth_dst[i]) << (8 * i);
		c ^= m * 0x9e3779b97f4a7c15ull;
	}
	return edp_flow_rss_mix(a, b, c);
}

/* The flow cache's hash of a packet whose RSS hash the threaded reader has
 * computed for its receive queue (the worker does not hash the key again,
 * as OVS's exact-match cache takes the NIC's RSS hash): the key's fields
 * that RSS leaves out (ingress port, inner VLAN) mixed in, and the
 * direction (source port below destination port) in the top bit, so that
 * the two directions of a flow share a bucket (the low bits) but not a
 * signature (the high ones). A lane hashes all its packets one way or all
 * the other (edp_flow_hash): a key hashed both ways would only be cached
 * twice. */
static inline uint32_t edp_flow_cache_hash(uint32_t rss_hash, const struct edp_flow_key *k)
{
	uint64_t extra = (uint64_t)k->vlan_inner << 16 | k->in_port;
	return rss_hash ^ (uint32_t)((extra * 0x9e3779b97f4a7c15ull) >> 32) ^ (uint32_t)(k->tp_src < k->tp_dst) << 31;
}

/* The one of n receive queues an RSS hash picks: the hash scaled to n (a
 * multiply where a modulo would divide, once a packet). */
static inline uint32_t edp_flow_rss_queue(uint32_t rss_hash, uint32_t n)
{
	return (uint32_t)(((uint64_t)rss_hash * n) >> 32);
}

/* Four 16-byte compares where SSE2 has them (every x86-64), else eight
 * 64-bit words. */
static inline bool edp_flow_equal(const struct edp_flow_key *a, const struct edp_flow_key *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
#ifdef __SSE2__
	/* written out: gcc kept the loop of three (7 instructions each) */
	__m128i d0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)x), _mm_loadu_si128((const __m128i *)y));
	__m128i d1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(x + 16)), _mm_loadu_si128((const __m128i *)(y + 16)));
	__m128i d2 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(x + 32)), _mm_loadu_si128((const __m128i *)(y + 32)));
	__m128i d3 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(x + 48)), _mm_loadu_si128((const __m128i *)(y + 48)));
	__m128i d = _mm_or_si128(_mm_or_si128(d0, d1), _mm_or_si128(d2, d3));
	return _mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128())) == 0xffff;
#else
	uint64_t d = 0;
	for (int i = 0; i < 8; i++)
		d |= edp_flow_load64(x + 8 * i) ^ edp_flow_load64(y + 8 * i);
	return d == 0;
#endif
}

#endif
