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
 * Thread-safety: one cache per thread; no locking.
 */
#ifndef EDP_FLOWCACHE_H
#define EDP_FLOWCACHE_H

#include <stdint.h>

#include "edp_action.h"
#include "edp_error.h"
#include "edp_flow.h"
#include "edp_topo.h"

#define EDP_FLOWCACHE_WAYS 8

struct edp_flowcache_stats {
	uint64_t hits, misses, inserts, evictions, invalidations;
};

struct edp_flowcache;

/* Create a cache of at least `entries` entries (rounded up to a power of two,
 * minimum EDP_FLOWCACHE_WAYS). `epochs` is the dependency epoch table the
 * programs' dep_index refer to (may be NULL when no program has deps). */
struct edp_flowcache *edp_flowcache_create(uint32_t entries, const uint32_t *epochs,
					   struct edp_error *err);
void edp_flowcache_destroy(struct edp_flowcache *fc);

/* Programs flagged EDP_ACT_FRESH_DST are valid while
 * now - stamps[prog->fresh_index] <= max_age_ns (a learned MAC not aged). */
void edp_flowcache_set_freshness(struct edp_flowcache *fc, const uint64_t *stamps, uint64_t max_age_ns);

/* The program cached for key at packet time now_ns, or NULL (a miss; stale
 * entries count as misses and as invalidations). The pointer is valid until
 * the next insert. */
const struct edp_action_prog *edp_flowcache_lookup(struct edp_flowcache *fc, const struct edp_flow_key *key,
						   uint32_t hash, uint64_t now_ns);

/* The two steps that bring a lookup's lines in ahead of it, so that lookups
 * overlap their memory latency: first the buckets of n hashes; then, once
 * those have arrived (a step of other work later: each reads its bucket),
 * the entries the lookups will compare (or the ones an insert would write). */
void edp_flowcache_prefetch_buckets(const struct edp_flowcache *fc, const uint32_t *hashes, uint32_t n);
void edp_flowcache_prefetch_entries(const struct edp_flowcache *fc, const uint32_t *hashes, uint32_t n);

/* Insert (or replace) key -> prog. Never fails; may evict. */
void edp_flowcache_insert(struct edp_flowcache *fc, const struct edp_flow_key *key, uint32_t hash,
			  const struct edp_action_prog *prog);

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

uint32_t edp_flowcache_capacity(const struct edp_flowcache *fc);
uint32_t edp_flowcache_used(const struct edp_flowcache *fc);
const struct edp_flowcache_stats *edp_flowcache_stats(const struct edp_flowcache *fc);

#endif
