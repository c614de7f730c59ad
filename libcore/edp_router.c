#include "edp_router.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "edp_bloom.h"

/* An address is two 64-bit words as it lies in memory (network order):
 * masking and comparing are two operations, not sixteen. */
struct slot {
	uint64_t w[2];
	int32_t route; /* -1 = empty */
	uint8_t len;
};

struct family {
	struct slot *slots;
	struct edp_bloom filter; /* of its prefixes (edp_bloom) */
	uint32_t mask; /* slots - 1 */
	unsigned n_lens;
	uint8_t lens[129];      /* lengths in use, longest first */
	uint64_t len_mask[129][2]; /* len_mask[i]: the mask of lens[i] */
};

struct edp_router {
	struct edp_route *routes;
	struct family fam[2]; /* [0] IPv4, [1] IPv6 */
};

static void prefix_words(unsigned len, uint64_t w[2])
{
	uint8_t m[16];
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = len > 8 * i ? len - 8 * i : 0;
		m[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);
	}
	memcpy(w, m, 16);
}

static uint64_t prefix_hash(const uint64_t w[2], unsigned len)
{
	uint64_t h = (w[0] * 0xff51afd7ed558ccdull) ^ (w[1] * 0xc4ceb9fe1a85ec53ull) ^ (len * 0x9e3779b97f4a7c15ull);
	h ^= h >> 29;
	return h * 0xbf58476d1ce4e5b9ull;
}

static uint32_t slot_of(const struct family *f, uint64_t h) { return (uint32_t)(h ^ h >> 32) & f->mask; }

/* The route of prefix w/len (w already masked) hashed to h, or -1. */
static int find(const struct family *f, const uint64_t w[2], unsigned len, uint64_t h)
{
	for (uint32_t s = slot_of(f, h);; s = (s + 1) & f->mask) {
		const struct slot *x = &f->slots[s];
		if (x->route < 0)
			return -1;
		if (x->len == len && x->w[0] == w[0] && x->w[1] == w[1])
			return x->route;
	}
}

struct edp_router *edp_router_create(const struct edp_route *routes, uint32_t n, struct edp_error *err)
{
	struct edp_router *rt = calloc(1, sizeof(*rt));
	if (!rt)
		goto oom;
	rt->routes = malloc((n ? n : 1) * sizeof(*routes));
	if (!rt->routes)
		goto oom;
	if (n) /* routes may be NULL then */
		memcpy(rt->routes, routes, n * sizeof(*routes));
	uint32_t cap = 4;
	while (cap < 2 * n)
		cap <<= 1;
	for (int f = 0; f < 2; f++) {
		rt->fam[f].slots = malloc(cap * sizeof(struct slot));
		if (!rt->fam[f].slots || edp_bloom_init(&rt->fam[f].filter, n))
			goto oom;
		for (uint32_t i = 0; i < cap; i++)
			rt->fam[f].slots[i].route = -1;
		rt->fam[f].mask = cap - 1;
	}
	bool used[2][129] = { { false } };
	for (uint32_t i = 0; i < n; i++) {
		const struct edp_prefix *p = &routes[i].prefix;
		struct family *f = &rt->fam[p->af == 6];
		uint64_t a[2], m[2];
		memcpy(a, p->addr, 16);
		prefix_words(p->len, m);
		a[0] &= m[0];
		a[1] &= m[1];
		uint64_t h = prefix_hash(a, p->len);
		if (find(f, a, p->len, h) >= 0) {
			edp_error_set(err, EDP_ERR_USAGE, "route %u: duplicate prefix", i + 1);
			edp_router_destroy(rt);
			return NULL;
		}
		edp_bloom_add(&f->filter, h);
		uint32_t s = slot_of(f, h);
		while (f->slots[s].route >= 0)
			s = (s + 1) & f->mask;
		memcpy(f->slots[s].w, a, 16);
		f->slots[s].len = p->len;
		f->slots[s].route = (int32_t)i;
		used[p->af == 6][p->len] = true;
	}
	for (int f = 0; f < 2; f++)
		for (int len = 128; len >= 0; len--)
			if (used[f][len]) {
				prefix_words((unsigned)len, rt->fam[f].len_mask[rt->fam[f].n_lens]);
				rt->fam[f].lens[rt->fam[f].n_lens++] = (uint8_t)len;
			}
	return rt;
oom:
	edp_router_destroy(rt);
	edp_error_set(err, EDP_ERR_RUNTIME, "out of memory building %u routes", n);
	return NULL;
}

void edp_router_destroy(struct edp_router *rt)
{
	if (!rt)
		return;
	for (int f = 0; f < 2; f++) {
		free(rt->fam[f].slots);
		edp_bloom_free(&rt->fam[f].filter);
	}
	free(rt->routes);
	free(rt);
}

const struct edp_route *edp_router_lookup(const struct edp_router *rt, int af, const uint8_t *addr)
{
	const struct family *f = &rt->fam[af == 6];
	uint64_t full[2] = { 0, 0 };
	memcpy(full, addr, af == 6 ? 16 : 4);
	for (unsigned i = 0; i < f->n_lens; i++) {
		uint64_t a[2] = { full[0] & f->len_mask[i][0], full[1] & f->len_mask[i][1] };
		uint64_t h = prefix_hash(a, f->lens[i]);
		if (!edp_bloom_may_have(&f->filter, h))
			continue;
		int r = find(f, a, f->lens[i], h);
		if (r >= 0)
			return &rt->routes[r];
	}
	return NULL;
}

const struct edp_route *edp_router_lookup_linear(const struct edp_route *routes, uint32_t n, int af,
						 const uint8_t *addr)
{
	const struct edp_route *best = NULL;
	uint8_t full[16] = { 0 };
	memcpy(full, addr, af == 6 ? 16 : 4);
	for (uint32_t i = 0; i < n; i++) {
		const struct edp_prefix *p = &routes[i].prefix;
		if (p->af != af || (best && best->prefix.len >= p->len))
			continue;
		bool same = true; /* bit by bit: a reference shares no code with the lookup */
		for (unsigned bit = 0; bit < p->len; bit++)
			same &= ((full[bit / 8] ^ p->addr[bit / 8]) & (0x80 >> bit % 8)) == 0;
		if (same)
			best = &routes[i];
	}
	return best;
}
