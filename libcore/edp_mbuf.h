/* edp_mbuf: the packet descriptor and the pools that recycle it.
 *
 * A descriptor is exactly one 64-byte cache line (static-asserted below),
 * half of DPDK's rte_mbuf. The packet bytes live in the buffer right behind
 * it (edp_mbuf_buf), as DPDK's do; `data` points into it. A thread that
 * receives descriptors from another core can thus ask for both lines at
 * once (edp_mbuf_prefetch), without waiting for the descriptor to learn
 * where the data is. Pools are created once with a fixed number of
 * descriptors and buffers and never call malloc afterwards: alloc and free
 * are a pointer stack, so the hot path is allocation-free.
 *
 * Thread-safety: a pool belongs to one thread (the reading one); the other
 * threads hand descriptors back to it over a ring. A buffer may be filled
 * on one thread and its descriptor set up on another (edp_mbuf_alloc_buffer,
 * edp_mbuf_init).
 */
#ifndef EDP_MBUF_H
#define EDP_MBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edp_error.h"
#include "edp_topo.h"

/* The most packets a burst or a batch carries (read, processed, written
 * together). */
#define EDP_BATCH 32

/* What the threaded reader found out about a packet, handed to the worker
 * with it (edp_mbuf.rx_flags). */
enum edp_rx_flags {
	EDP_RX_RSS = 1,        /* rss_hash holds its flow's RSS hash (edp_flow_rss_hash) */
	EDP_RX_PLAIN_IPV4 = 2, /* edp_parse_plain_ipv4 parses it */
};

struct edp_mbuf {
	uint8_t *data;              /* first byte of the packet */
	uint64_t ts_ns;             /* capture timestamp, ns since the epoch */
	uint64_t out_ports;         /* verdict: bitmask of output ports (0 = dropped) */
	struct edp_mbuf_pool *pool; /* owner */
	uint32_t data_len;          /* captured bytes in data */
	uint32_t wire_len;          /* original length on the wire (>= data_len) */
	uint32_t buf_len;           /* room in the buffer behind data */
	uint16_t in_port;           /* index of the port it was received on */
	uint16_t l3_off;            /* offset of the L3 header (0 = none) */
	uint16_t l4_off;            /* offset of the L4 header (0 = none) */
	uint8_t drop_reason;        /* enum edp_drop_reason when out_ports == 0 */
	uint8_t parse_status;       /* enum edp_parse_status of its headers (set by the lane) */
	uint8_t rx_flags;           /* enum edp_rx_flags */
	uint8_t reserved[7];
	uint32_t rss_hash;          /* with EDP_RX_RSS */
};

_Static_assert(sizeof(struct edp_mbuf) == 64, "edp_mbuf must be one 64-byte cache line");

/* The buffer of a descriptor, where `data` points after allocation. */
static inline uint8_t *edp_mbuf_buf(struct edp_mbuf *m)
{
	return (uint8_t *)(m + 1);
}

/* Each descriptor is followed by its buffer: one element of `elem` bytes,
 * an odd number of cache lines so that the elements' first lines spread
 * over all cache sets (a power-of-two stride would crowd them into a few).
 * Elements are handed out from the stack of freed ones first and set up
 * from the untouched rest only when it is empty, so a pool touches (and
 * faults in) the memory of as many packets as were ever in flight at once,
 * not of its capacity. */
struct edp_mbuf_pool { /* in the open for the inline allocation only */
	uint8_t *mem;
	struct edp_mbuf **free_stack;
	uint32_t count;
	uint32_t fresh;    /* elements [fresh, count) never handed out */
	uint32_t free_top;
	uint32_t buf_size;
	uint32_t elem;
};

/* Ask for the descriptor and the first buffer line of n packets, for
 * writing (exclusive at once) or for reading. */
static inline void edp_mbuf_prefetch(struct edp_mbuf *const *m, uint32_t n, bool write)
{
	for (uint32_t i = 0; i < n; i++) {
		if (write) {
			edp_prefetch_write(m[i]);
			edp_prefetch_write(edp_mbuf_buf(m[i]));
		} else {
			__builtin_prefetch(m[i]);
			__builtin_prefetch(edp_mbuf_buf(m[i]));
		}
	}
}

/* Create a pool of `count` descriptors, each with a `buf_size`-byte buffer.
 * Returns NULL and fills err when memory is short. */
struct edp_mbuf_pool *edp_mbuf_pool_create(uint32_t count, uint32_t buf_size,
					   struct edp_error *err);
/* The same, with its descriptors and buffers on NUMA node `node` (-1: where
 * first touched). */
struct edp_mbuf_pool *edp_mbuf_pool_create_on(uint32_t count, uint32_t buf_size, int32_t node,
					      struct edp_error *err);
void edp_mbuf_pool_destroy(struct edp_mbuf_pool *pool);

uint32_t edp_mbuf_pool_buf_size(const struct edp_mbuf_pool *pool);
uint32_t edp_mbuf_pool_available(const struct edp_mbuf_pool *pool);

/* Take `n` descriptors, all or none. Returns n, or 0 when fewer are free.
 * Each descriptor comes back with data at the start of its buffer. */
uint32_t edp_mbuf_alloc_bulk(struct edp_mbuf_pool *pool, struct edp_mbuf **mbufs, uint32_t n);

/* How far ahead an allocation asks for the buffer line it will hand out:
 * one a packet, so that a buffer last written on another core arrives while
 * the packets before it are read (the reader stalled on its stores into
 * them). */
#define EDP_MBUF_TAKE_AHEAD 8

/* edp_mbuf_alloc_buffer's slow part: a never used element, or NULL. */
struct edp_mbuf *edp_mbuf_alloc_fresh(struct edp_mbuf_pool *pool);

/* Take one descriptor for its buffer only, or NULL when none is free: the
 * descriptor's line is neither read nor written, but the first time it is
 * handed out (to record its pool). edp_mbuf_init sets it up later, maybe on
 * another core: the threaded reader fills buffers, the worker that processes
 * the packet its descriptor, so that line stays on that core. */
static inline struct edp_mbuf *edp_mbuf_alloc_buffer(struct edp_mbuf_pool *p)
{
	if (p->free_top > EDP_MBUF_TAKE_AHEAD)
		edp_prefetch_write(edp_mbuf_buf(p->free_stack[p->free_top - 1 - EDP_MBUF_TAKE_AHEAD]));
	if (p->free_top)
		return p->free_stack[--p->free_top];
	return edp_mbuf_alloc_fresh(p);
}

/* Set up a descriptor taken with edp_mbuf_alloc_buffer whose buffer holds
 * a packet of data_len bytes now. */
static inline void edp_mbuf_init(struct edp_mbuf *m, uint32_t data_len, uint32_t wire_len, uint64_t ts_ns,
				 uint16_t in_port)
{
	m->data = edp_mbuf_buf(m);
	m->ts_ns = ts_ns;
	m->out_ports = 0;
	m->data_len = data_len;
	m->wire_len = wire_len;
	m->in_port = in_port;
	m->drop_reason = 0;
	m->parse_status = 0;
	m->rx_flags = 0;
}

/* Warm, for writing, the first buffer lines that edp_mbuf_alloc_buffer
 * hands out before its own look-ahead reaches them: each alloc asks for the
 * one a few places further down, so after the free stack changed (a
 * refill) only its first few are cold. A packet that another core
 * processed last so comes back without the wait for its cache lines. */
void edp_mbuf_pool_prefetch(const struct edp_mbuf_pool *pool);

/* Return `n` descriptors, each to its own pool (the pool's thread calls it). */
void edp_mbuf_free_bulk(struct edp_mbuf **mbufs, uint32_t n);

#endif
