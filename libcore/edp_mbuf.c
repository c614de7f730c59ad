#include "edp_mbuf.h"

#include <stdlib.h>


static inline struct edp_mbuf *element(const struct edp_mbuf_pool *p, uint32_t i)
{
	return (struct edp_mbuf *)(p->mem + (size_t)i * p->elem);
}

struct edp_mbuf_pool *edp_mbuf_pool_create(uint32_t count, uint32_t buf_size, struct edp_error *err)
{
	return edp_mbuf_pool_create_on(count, buf_size, -1, err);
}

struct edp_mbuf_pool *edp_mbuf_pool_create_on(uint32_t count, uint32_t buf_size, int32_t node, struct edp_error *err)
{
	struct edp_mbuf_pool *p = calloc(1, sizeof(*p));
	if (!p)
		goto oom;
	buf_size = (buf_size + 63u) & ~63u;
	p->count = count;
	p->buf_size = buf_size;
	p->elem = (uint32_t)sizeof(struct edp_mbuf) + buf_size;
	if (!(p->elem / 64u % 2u))
		p->elem += 64u;
	p->mem = edp_topo_alloc_on((size_t)count * p->elem, node);
	p->free_stack = malloc((size_t)count * sizeof(struct edp_mbuf *));
	if (!p->mem || !p->free_stack) {
		edp_mbuf_pool_destroy(p);
		goto oom;
	}
	return p;
oom:
	edp_error_set(err, EDP_ERR_RUNTIME, "out of memory for a pool of %u packet buffers of %u bytes",
		      count, buf_size);
	return NULL;
}

void edp_mbuf_pool_destroy(struct edp_mbuf_pool *p)
{
	if (!p)
		return;
	edp_topo_free(p->mem, (size_t)p->count * p->elem);
	free(p->free_stack);
	free(p);
}

uint32_t edp_mbuf_pool_buf_size(const struct edp_mbuf_pool *p) { return p->buf_size; }
uint32_t edp_mbuf_pool_available(const struct edp_mbuf_pool *p) { return p->free_top + p->count - p->fresh; }

/* Set up a never used element (the mapping is zeroed). */
static struct edp_mbuf *fresh(struct edp_mbuf_pool *p)
{
	struct edp_mbuf *m = element(p, p->fresh++);
	m->pool = p;
	m->buf_len = p->buf_size;
	return m;
}

struct edp_mbuf *edp_mbuf_alloc_fresh(struct edp_mbuf_pool *p)
{
	return p->fresh < p->count ? fresh(p) : NULL;
}

/* A descriptor ready for a packet to be written into (one is free). */
static inline struct edp_mbuf *take(struct edp_mbuf_pool *p)
{
	struct edp_mbuf *m = edp_mbuf_alloc_buffer(p);
	m->data = edp_mbuf_buf(m);
	m->out_ports = 0;
	m->drop_reason = 0;
	m->parse_status = 0;
	m->rx_flags = 0;
	return m;
}

uint32_t edp_mbuf_alloc_bulk(struct edp_mbuf_pool *p, struct edp_mbuf **mbufs, uint32_t n)
{
	if (n > edp_mbuf_pool_available(p))
		return 0;
	for (uint32_t i = 0; i < n; i++)
		mbufs[i] = take(p);
	return n;
}

void edp_mbuf_pool_prefetch(const struct edp_mbuf_pool *p)
{
	uint32_t k = p->free_top < EDP_MBUF_TAKE_AHEAD ? p->free_top : EDP_MBUF_TAKE_AHEAD; /* fresh ones are cold anyway */
	for (uint32_t i = p->free_top - k; i < p->free_top; i++)
		edp_prefetch_write(edp_mbuf_buf(p->free_stack[i]));
}

/* Descriptors coming back were last written on another core: the pools
 * met in this call are tried by address, so that only the first packet of
 * each pool reads a descriptor's line (IMIX alternates between the size
 * classes: each change of pool read one, 67% of this function's time). */
void edp_mbuf_free_bulk(struct edp_mbuf **mbufs, uint32_t n)
{
	enum { MET = 4 };
	/* a pool's range, stack and top, kept here while it is in use (each
	 * store into the stack would have them loaded again) */
	struct {
		struct edp_mbuf_pool *p;
		uintptr_t base, size;
		struct edp_mbuf **stack;
		uint32_t top;
	} met[MET];
	uint32_t n_met = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct edp_mbuf *m = mbufs[i];
		uint32_t k = 0;
		while (k < n_met && (uintptr_t)m - met[k].base >= met[k].size)
			k++;
		if (k == n_met) { /* a pool not met yet: its descriptor says which */
			if (n_met == MET) { /* more pools than kept: the last one makes room */
				n_met--;
				met[n_met].p->free_top = met[n_met].top;
			}
			struct edp_mbuf_pool *p = m->pool;
			k = n_met++;
			met[k].p = p;
			met[k].base = (uintptr_t)p->mem;
			met[k].size = (uintptr_t)p->count * p->elem;
			met[k].stack = p->free_stack;
			met[k].top = p->free_top;
		}
		met[k].stack[met[k].top++] = m;
	}
	for (uint32_t k = 0; k < n_met; k++)
		met[k].p->free_top = met[k].top;
}
