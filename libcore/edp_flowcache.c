#include "edp_flowcache.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* A way's entry lives in a dense slab, taken in order the first time the
 * way is used and kept by the way from then on (until a flush): memory is
 * touched for the flows seen, not for the capacity (a 65,536-entry cache
 * holding 5,000 flows touches 157 pages of entries, not 2,048). */
struct bucket {
	uint16_t sig[EDP_FLOWCACHE_WAYS];  /* 0 = empty way */
	uint32_t slot[EDP_FLOWCACHE_WAYS]; /* the way's entry + 1 (0 = none yet) */
	uint32_t victim;
	uint32_t pad[3];
};

_Static_assert(sizeof(struct bucket) == 64, "a bucket is one cache line");

/* Two whole lines (padded, aligned): a lookup's two prefetches cover it
 * (a 112-byte entry straddled three lines for half of the slots). */
struct entry {
	_Alignas(128) struct edp_flow_key key;
	struct edp_action_prog prog;
};

_Static_assert(sizeof(struct entry) == 128, "an entry is two cache lines");

struct edp_flowcache {
	struct bucket *buckets;
	struct entry *entries;
	const uint32_t *epochs;
	const uint64_t *stamps;
	uint64_t max_age_ns;
	uint32_t bucket_mask;
	uint32_t n_buckets;
	uint32_t used;
	uint32_t slab_next; /* entries handed to ways so far */
	struct edp_flowcache_stats stats;
};

static inline uint16_t signature(uint32_t hash)
{
	uint16_t s = (uint16_t)(hash >> 16);
	return s ? s : 1;
}

_Static_assert(sizeof(((struct bucket *)0)->sig) == 16, "a bucket's signatures fill one 16-byte vector");

/* The ways of bk whose signature is sig: bit 2w set for way w. */
static inline unsigned sig_matches(const struct bucket *bk, uint16_t sig)
{
#ifdef __SSE2__
	__m128i v = _mm_loadu_si128((const __m128i *)bk->sig);
	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(v, _mm_set1_epi16((short)sig))) & 0x5555u;
#else
	unsigned m = 0;
	for (unsigned w = 0; w < EDP_FLOWCACHE_WAYS; w++)
		m |= (unsigned)(bk->sig[w] == sig) << (2 * w);
	return m;
#endif
}

/* The entry of a used way. */
static inline struct entry *way_entry(const struct edp_flowcache *fc, const struct bucket *bk, unsigned w)
{
	return &fc->entries[bk->slot[w] - 1];
}

/* The way an insert into bk would take when no entry of the flow is there:
 * the first empty one, else the victim. */
static inline unsigned insert_way(const struct bucket *bk)
{
	unsigned empty = sig_matches(bk, 0);
	return empty ? (unsigned)__builtin_ctz(empty) / 2 : bk->victim % EDP_FLOWCACHE_WAYS;
}

struct edp_flowcache *edp_flowcache_create(uint32_t entries, const uint32_t *epochs,
					   struct edp_error *err)
{
	uint32_t n = EDP_FLOWCACHE_WAYS;
	while (n < entries && n < (1u << 28))
		n <<= 1;
	struct edp_flowcache *fc = calloc(1, sizeof(*fc));
	uint32_t nb = n / EDP_FLOWCACHE_WAYS;
	if (fc) { /* zeroed: every way empty */
		fc->n_buckets = nb;
		fc->buckets = edp_topo_alloc((size_t)nb * sizeof(struct bucket));
		fc->entries = edp_topo_alloc((size_t)n * sizeof(struct entry));
	}
	if (!fc || !fc->buckets || !fc->entries) {
		edp_flowcache_destroy(fc);
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory for a flow cache of %u entries", n);
		return NULL;
	}
	fc->bucket_mask = nb - 1;
	fc->epochs = epochs;
	return fc;
}

void edp_flowcache_destroy(struct edp_flowcache *fc)
{
	if (!fc)
		return;
	edp_topo_free(fc->buckets, (size_t)fc->n_buckets * sizeof(struct bucket));
	edp_topo_free(fc->entries, (size_t)fc->n_buckets * EDP_FLOWCACHE_WAYS * sizeof(struct entry));
	free(fc);
}

void edp_flowcache_set_freshness(struct edp_flowcache *fc, const uint64_t *stamps, uint64_t max_age_ns)
{
	fc->stamps = stamps;
	fc->max_age_ns = max_age_ns;
}

static inline int entry_valid(const struct edp_flowcache *fc, const struct entry *e, uint64_t now)
{
	if (e->prog.flags & EDP_ACT_FRESH_DST) {
		uint64_t seen = __atomic_load_n(&fc->stamps[e->prog.fresh_index], __ATOMIC_RELAXED);
		if (now > seen && now - seen > fc->max_age_ns)
			return 0;
	}
	for (unsigned i = 0; i < e->prog.n_deps; i++)
		if (__atomic_load_n(&fc->epochs[e->prog.dep_index[i]], __ATOMIC_RELAXED) != e->prog.dep_epoch[i])
			return 0;
	return 1;
}

const struct edp_action_prog *edp_flowcache_lookup(struct edp_flowcache *fc, const struct edp_flow_key *key,
						   uint32_t hash, uint64_t now)
{
	uint32_t b = hash & fc->bucket_mask;
	struct bucket *bk = &fc->buckets[b];
	for (unsigned m = sig_matches(bk, signature(hash)); m; m &= m - 1) {
		unsigned w = (unsigned)__builtin_ctz(m) / 2;
		struct entry *e = way_entry(fc, bk, w);
		if (!edp_flow_equal(&e->key, key))
			continue;
		if (!entry_valid(fc, e, now)) {
			bk->sig[w] = 0;
			fc->used--;
			fc->stats.invalidations++;
			break;
		}
		fc->stats.hits++;
		return &e->prog;
	}
	fc->stats.misses++;
	return NULL;
}

void edp_flowcache_prefetch_buckets(const struct edp_flowcache *fc, const uint32_t *hashes, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		__builtin_prefetch(&fc->buckets[hashes[i] & fc->bucket_mask]);
}

void edp_flowcache_prefetch_entries(const struct edp_flowcache *fc, const uint32_t *hashes, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t b = hashes[i] & fc->bucket_mask;
		const struct bucket *bk = &fc->buckets[b];
		unsigned m = sig_matches(bk, signature(hashes[i]));
		if (m) {
			const struct entry *e = way_entry(fc, bk, (unsigned)__builtin_ctz(m) / 2);
			__builtin_prefetch(e);
			__builtin_prefetch((const char *)e + 64);
		} else { /* a miss: the entry its insert will write (the next of the slab for a new way) */
			uint32_t slot = bk->slot[insert_way(bk)];
			const struct entry *e = &fc->entries[slot ? slot - 1 : fc->slab_next];
			edp_prefetch_write(e);
			edp_prefetch_write((const char *)e + 64);
		}
	}
}

void edp_flowcache_insert(struct edp_flowcache *fc, const struct edp_flow_key *key, uint32_t hash,
			  const struct edp_action_prog *prog)
{
	uint32_t b = hash & fc->bucket_mask;
	struct bucket *bk = &fc->buckets[b];
	uint16_t sig = signature(hash);
	unsigned way = EDP_FLOWCACHE_WAYS;
	for (unsigned m = sig_matches(bk, sig); m; m &= m - 1) {
		unsigned w = (unsigned)__builtin_ctz(m) / 2;
		if (edp_flow_equal(&way_entry(fc, bk, w)->key, key)) {
			way = w; /* replace the stale copy of the same flow */
			break;
		}
	}
	if (way == EDP_FLOWCACHE_WAYS) {
		way = insert_way(bk);
		if (bk->sig[way]) {
			bk->victim++;
			fc->stats.evictions++;
		} else {
			fc->used++;
		}
	}
	if (!bk->slot[way]) /* never more than one a way: the slab cannot run out */
		bk->slot[way] = ++fc->slab_next;
	struct entry *e = way_entry(fc, bk, way);
	e->key = *key;
	e->prog = *prog;
	bk->sig[way] = sig;
	fc->stats.inserts++;
}

void edp_flowcache_flush(struct edp_flowcache *fc)
{
	fc->stats.invalidations += fc->used;
	fc->used = 0;
	fc->slab_next = 0;
	memset(fc->buckets, 0, (size_t)fc->n_buckets * sizeof(struct bucket));
}

void edp_flowcache_warm(struct edp_flowcache *fc)
{
	/* an atomic OR of 0 is a write to the page (one fault if untouched)
	 * that changes nothing: safe on a cache in use */
	uint8_t *p = (uint8_t *)fc->buckets;
	size_t size = (size_t)fc->n_buckets * sizeof(struct bucket);
	for (size_t off = 0; off < size; off += 4096)
		__atomic_fetch_or(p + off, 0, __ATOMIC_RELAXED);
}

void edp_flowcache_place(struct edp_flowcache *fc, const struct edp_topo *topo, int32_t node)
{
	uint32_t nb = fc->n_buckets;
	edp_topo_place(topo, fc->buckets, (size_t)nb * sizeof(struct bucket), node);
	edp_topo_place(topo, fc->entries, (size_t)nb * EDP_FLOWCACHE_WAYS * sizeof(struct entry), node);
}

uint32_t edp_flowcache_capacity(const struct edp_flowcache *fc)
{
	return fc->n_buckets * EDP_FLOWCACHE_WAYS;
}

uint32_t edp_flowcache_used(const struct edp_flowcache *fc) { return fc->used; }

const struct edp_flowcache_stats *edp_flowcache_stats(const struct edp_flowcache *fc)
{
	return &fc->stats;
}
