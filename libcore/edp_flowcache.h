/* edp_flowcache: the per-thread exact-match flow cache.
 *
 * Design: a set-associative table of 2^k buckets of EDP_FLOWCACHE_WAYS ways.
 * Each bucket (one cache line) keeps a 16-bit signature per way, the way's
 * entry in a dense slab and a victim cursor, so a lookup reads one bucket
 * line, compares signatures, and touches a full entry (key + action program)
 * only on a signature match. Memory is reserved at creation (entries rounded
 * up to a power of two, at least one bucket) and touched as flows arrive: a
 * way takes the slab's next entry the first time it is used and keeps it
 * until a flush. Inserting into a full bucket evicts one way (round robin).
 *
 * Invalidation: a config change flushes the whole cache; every entry also
 * records the epochs of the slots its verdict depended on (edp_action_prog
 * deps), so a changed epoch (a MAC-table bucket that changed) invalidates just
 * the entries that read it; a verdict that forwards to a learned MAC also
 * ends when that MAC ages out. A stale entry is found on lookup, counted and
 * freed.
 *
 * Each entry counts its hits and keeps its last packet's time. Another
 * thread may dump the cache while its owner runs (edp_flowcache_dump): an
 * insert writes an entry inside its bucket's sequence (odd while it writes,
 * as the stats segment's blocks), a flush inside the cache's; the dump
 * copies a bucket and its entries and takes them when the sequences did
 * not move.
 *
 * Thread-safety: one cache per thread, no locking; dumps from any thread.
 */
#ifndef EDP_FLOWCACHE_H
#define EDP_FLOWCACHE_H

#include <stdbool.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "edp_action.h"
#include "edp_error.h"
#include "edp_flow.h"
#include "edp_topo.h"

#define EDP_FLOWCACHE_WAYS 8

struct edp_flowcache_stats {
	uint64_t hits, misses, inserts, evictions, invalidations;
};

/* Create a cache of at least `entries` entries (rounded up to a power of two,
 * minimum EDP_FLOWCACHE_WAYS). `epochs` is the dependency epoch table the
 * programs' dep_index refer to (may be NULL when no program has deps). */
struct edp_flowcache *edp_flowcache_create(uint32_t entries, const uint32_t *epochs,
					   struct edp_error *err);
void edp_flowcache_destroy(struct edp_flowcache *fc);

/* Programs flagged EDP_ACT_FRESH_DST are valid while
 * now - stamps[prog->fresh_index] <= max_age_ns (a learned MAC not aged). */
void edp_flowcache_set_freshness(struct edp_flowcache *fc, const uint64_t *stamps, uint64_t max_age_ns);

/* In the open for the inline lookup only. A way's entry lives in a dense
 * slab, taken in order the first time the way is used and kept by the way
 * from then on (until a flush): memory is touched for the flows seen, not
 * for the capacity (a 65,536-entry cache holding 5,000 flows touches 157
 * pages of entries, not 2,048). */
struct edp_flowcache_bucket {
	uint16_t sig[EDP_FLOWCACHE_WAYS];  /* 0 = empty way */
	uint32_t slot[EDP_FLOWCACHE_WAYS]; /* the way's entry + 1 (0 = none yet) */
	uint32_t victim;
	uint32_t seq;                      /* odd while an insert writes (edp_flowcache_dump) */
	uint32_t pad[2];
};

_Static_assert(sizeof(struct edp_flowcache_bucket) == 64, "a bucket is one cache line");
_Static_assert(sizeof(((struct edp_flowcache_bucket *)0)->sig) == 16, "a bucket's signatures fill one 16-byte vector");

/* Two whole lines (padded, aligned): a lookup's two prefetches cover it
 * (a 112-byte entry straddled three lines for half of the slots). The
 * counters fill the second line's end: a hit writes the line it read. */
struct edp_flowcache_entry {
	_Alignas(128) struct edp_flow_key key;
	struct edp_action_prog prog;
	uint64_t hits;    /* lookups it answered */
	uint64_t used_ns; /* packet time of its last packet (the insert's, then each hit's) */
};

_Static_assert(sizeof(struct edp_flowcache_entry) == 128, "an entry is two cache lines");

struct edp_flowcache {
	struct edp_flowcache_bucket *buckets;
	struct edp_flowcache_entry *entries;
	const uint32_t *epochs;
	const uint64_t *stamps;
	uint64_t max_age_ns;
	uint32_t bucket_mask;
	uint32_t n_buckets;
	uint32_t used;
	uint32_t slab_next; /* entries handed to ways so far */
	uint32_t flush_seq; /* odd while a flush runs (edp_flowcache_dump) */
	struct edp_flowcache_stats stats;
};

static inline uint16_t edp_flowcache_signature(uint32_t hash)
{
	uint16_t s = (uint16_t)(hash >> 16);
	return s ? s : 1;
}

/* The ways of bk whose signature is sig: bit 2w set for way w. */
static inline unsigned edp_flowcache_sig_matches(const struct edp_flowcache_bucket *bk, uint16_t sig)
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
static inline struct edp_flowcache_entry *edp_flowcache_way_entry(const struct edp_flowcache *fc,
								  const struct edp_flowcache_bucket *bk, unsigned w)
{
	return &fc->entries[bk->slot[w] - 1];
}

/* Whether way's entry (an entry whose program depends on epochs or on a
 * learned MAC's freshness) still holds at now; a stale one is freed and
 * counted as an invalidation (the lookup counts the miss). */
bool edp_flowcache_entry_valid(struct edp_flowcache *fc, struct edp_flowcache_bucket *bk, unsigned way,
			       uint64_t now);

/* The program cached for key at packet time now_ns, or NULL (a miss; stale
 * entries count as misses and as invalidations). The pointer is valid until
 * the next insert. Inline: it runs once a packet. */
static inline const struct edp_action_prog *edp_flowcache_lookup(struct edp_flowcache *fc,
								 const struct edp_flow_key *key, uint32_t hash,
								 uint64_t now_ns)
{
	struct edp_flowcache_bucket *bk = &fc->buckets[hash & fc->bucket_mask];
	for (unsigned m = edp_flowcache_sig_matches(bk, edp_flowcache_signature(hash)); m; m &= m - 1) {
		unsigned w = (unsigned)__builtin_ctz(m) / 2;
		struct edp_flowcache_entry *e = edp_flowcache_way_entry(fc, bk, w);
		if (!edp_flow_equal(&e->key, key))
			continue;
		if (__builtin_expect((e->prog.flags & EDP_ACT_FRESH_DST) || e->prog.n_deps, 0) &&
		    !edp_flowcache_entry_valid(fc, bk, w, now_ns))
			break;
		fc->stats.hits++;
		/* relaxed stores: a dump reads them from another thread */
		__atomic_store_n(&e->hits, e->hits + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&e->used_ns, now_ns, __ATOMIC_RELAXED);
		return &e->prog;
	}
	fc->stats.misses++;
	return NULL;
}

/* The two steps that bring a lookup's lines in ahead of it, so that lookups
 * overlap their memory latency: first the buckets of n hashes; then, once
 * those have arrived (a step of other work later: each reads its bucket),
 * the entries the lookups will compare (or the ones an insert would write). */
void edp_flowcache_prefetch_buckets(const struct edp_flowcache *fc, const uint32_t *hashes, uint32_t n);
void edp_flowcache_prefetch_entries(const struct edp_flowcache *fc, const uint32_t *hashes, uint32_t n);

/* Insert (or replace) key -> prog, decided for a packet of time now_ns.
 * Never fails; may evict. */
void edp_flowcache_insert(struct edp_flowcache *fc, const struct edp_flow_key *key, uint32_t hash,
			  const struct edp_action_prog *prog, uint64_t now_ns);

/* Invalidate every entry (a config change). */
void edp_flowcache_flush(struct edp_flowcache *fc);

/* Move the cache's memory to a NUMA node (its thread's). */
void edp_flowcache_place(struct edp_flowcache *fc, const struct edp_topo *topo, int32_t node);

/* Fault the buckets in by writing them (from the thread that will use the
 * cache, after edp_flowcache_place): a lookup's read of an untouched page
 * maps the shared zero page, and the insert's write after it takes a
 * second fault that copies the page and flushes the TLB of every CPU the
 * process runs on (an interrupt to the other datapath threads). Entries
 * are written before they are read and stay lazily touched. Changes no
 * bucket: safe at any time. */
void edp_flowcache_warm(struct edp_flowcache *fc);

/* Copy up to max of the cache's entries to out, from any thread while the
 * owner runs: each as it was at one moment (a bucket that changes while it
 * is copied is copied again). Returns how many. Entries a later lookup
 * would find stale (a MAC that moved or aged) are included. */
uint32_t edp_flowcache_dump(const struct edp_flowcache *fc, struct edp_flowcache_entry *out, uint32_t max);

/* The same, each entry handed to fn (a copy, valid while fn runs, and the
 * index of its bucket: they come in bucket order) instead of copied into
 * an array; fn(ctx, NULL, 0) says to forget those handed so far (a flush
 * came midway: the dump starts over). Returns how many. */
typedef void (*edp_flowcache_dump_fn)(void *ctx, const struct edp_flowcache_entry *e, uint32_t bucket);
uint32_t edp_flowcache_dump_each(const struct edp_flowcache *fc, uint32_t max, edp_flowcache_dump_fn fn, void *ctx);

/* The same, for the buckets an insert changed since the last call with
 * the same marks (one a bucket, edp_flowcache_buckets of them, zeroed
 * for the first: every bucket with entries is dumped then): a migration's
 * rounds, each sending what the previous ones did not. A flush midway
 * starts the walk over. */
uint32_t edp_flowcache_dump_changed(const struct edp_flowcache *fc, uint32_t *marks, uint32_t max,
				    edp_flowcache_dump_fn fn, void *ctx);
uint32_t edp_flowcache_buckets(const struct edp_flowcache *fc);

/* Room for a dump taken now, from any thread: the entries in use and an
 * eighth more for those a running owner adds meanwhile (a dump does not
 * take more than its room), at most the capacity. */
uint32_t edp_flowcache_dump_room(const struct edp_flowcache *fc);

uint32_t edp_flowcache_capacity(const struct edp_flowcache *fc);
uint32_t edp_flowcache_used(const struct edp_flowcache *fc);
const struct edp_flowcache_stats *edp_flowcache_stats(const struct edp_flowcache *fc);

#endif
