#include "edp_flowcache.h"

#include <stdlib.h>
#include <string.h>

/* The way an insert into bk would take when no entry of the flow is there:
 * the first empty one, else the victim. */
static inline unsigned insert_way(const struct edp_flowcache_bucket *bk)
{
	unsigned empty = edp_flowcache_sig_matches(bk, 0);
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
		fc->buckets = edp_topo_alloc((size_t)nb * sizeof(struct edp_flowcache_bucket));
		fc->entries = edp_topo_alloc((size_t)n * sizeof(struct edp_flowcache_entry));
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
	edp_topo_free(fc->buckets, (size_t)fc->n_buckets * sizeof(struct edp_flowcache_bucket));
	edp_topo_free(fc->entries, (size_t)fc->n_buckets * EDP_FLOWCACHE_WAYS * sizeof(struct edp_flowcache_entry));
	free(fc);
}

void edp_flowcache_set_freshness(struct edp_flowcache *fc, const uint64_t *stamps, uint64_t max_age_ns)
{
	fc->stamps = stamps;
	fc->max_age_ns = max_age_ns;
}

bool edp_flowcache_entry_valid(struct edp_flowcache *fc, struct edp_flowcache_bucket *bk, unsigned way,
			       uint64_t now)
{
	const struct edp_flowcache_entry *e = edp_flowcache_way_entry(fc, bk, way);
	bool valid = true;
	if (e->prog.flags & EDP_ACT_FRESH_DST) {
		uint64_t seen = __atomic_load_n(&fc->stamps[e->prog.fresh_index], __ATOMIC_RELAXED);
		valid = !(now > seen && now - seen > fc->max_age_ns);
	}
	for (unsigned i = 0; i < e->prog.n_deps && valid; i++)
		valid = __atomic_load_n(&fc->epochs[e->prog.dep_index[i]], __ATOMIC_RELAXED) == e->prog.dep_epoch[i];
	if (!valid) {
		bk->sig[way] = 0;
		fc->used--;
		fc->stats.invalidations++;
	}
	return valid;
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
		const struct edp_flowcache_bucket *bk = &fc->buckets[b];
		unsigned m = edp_flowcache_sig_matches(bk, edp_flowcache_signature(hashes[i]));
		if (m) {
			const struct edp_flowcache_entry *e = edp_flowcache_way_entry(fc, bk, (unsigned)__builtin_ctz(m) / 2);
			__builtin_prefetch(e);
			__builtin_prefetch((const char *)e + 64);
		} else { /* a miss: the entry its insert will write (the next of the slab for a new way) */
			uint32_t slot = bk->slot[insert_way(bk)];
			const struct edp_flowcache_entry *e = &fc->entries[slot ? slot - 1 : fc->slab_next];
			edp_prefetch_write(e);
			edp_prefetch_write((const char *)e + 64);
		}
	}
}

/* A writer's sequence (the owner's): odd, then even again. */
static inline void seq_begin(uint32_t *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void seq_end(uint32_t *seq) { __atomic_store_n(seq, *seq + 1, __ATOMIC_RELEASE); }

void edp_flowcache_insert(struct edp_flowcache *fc, const struct edp_flow_key *key, uint32_t hash,
			  const struct edp_action_prog *prog, uint64_t now_ns)
{
	uint32_t b = hash & fc->bucket_mask;
	struct edp_flowcache_bucket *bk = &fc->buckets[b];
	uint16_t sig = edp_flowcache_signature(hash);
	unsigned way = EDP_FLOWCACHE_WAYS;
	for (unsigned m = edp_flowcache_sig_matches(bk, sig); m; m &= m - 1) {
		unsigned w = (unsigned)__builtin_ctz(m) / 2;
		if (edp_flow_equal(&edp_flowcache_way_entry(fc, bk, w)->key, key)) {
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
	seq_begin(&bk->seq);
	if (!bk->slot[way]) /* never more than one a way: the slab cannot run out */
		bk->slot[way] = ++fc->slab_next;
	struct edp_flowcache_entry *e = edp_flowcache_way_entry(fc, bk, way);
	e->key = *key;
	e->prog = *prog;
	e->hits = 0;
	e->used_ns = now_ns;
	bk->sig[way] = sig;
	seq_end(&bk->seq);
	fc->stats.inserts++;
}

void edp_flowcache_flush(struct edp_flowcache *fc)
{
	fc->stats.invalidations += fc->used;
	fc->used = 0;
	fc->slab_next = 0;
	seq_begin(&fc->flush_seq);
	memset(fc->buckets, 0, (size_t)fc->n_buckets * sizeof(struct edp_flowcache_bucket));
	seq_end(&fc->flush_seq);
}

/* Copy bucket b's used ways' entries to out (room for EDP_FLOWCACHE_WAYS):
 * how many, or -1 when a writer was at it. */
static int dump_bucket(const struct edp_flowcache *fc, uint32_t b, struct edp_flowcache_entry *out, uint32_t *seq)
{
	const struct edp_flowcache_bucket *bk = &fc->buckets[b];
	uint32_t s0 = __atomic_load_n(&bk->seq, __ATOMIC_ACQUIRE);
	if (s0 & 1)
		return -1;
	*seq = s0;
	uint64_t sigs[2];
	memcpy(sigs, bk->sig, sizeof(sigs)); /* an empty bucket, most of a big cache's: skipped at one look */
	if (!(sigs[0] | sigs[1]))
		return 0;
	int n = 0;
	for (unsigned w = 0; w < EDP_FLOWCACHE_WAYS; w++) {
		uint16_t sig = __atomic_load_n(&bk->sig[w], __ATOMIC_RELAXED);
		uint32_t slot = __atomic_load_n(&bk->slot[w], __ATOMIC_RELAXED);
		if (!sig || !slot || slot > fc->n_buckets * EDP_FLOWCACHE_WAYS)
			continue;
		const struct edp_flowcache_entry *e = &fc->entries[slot - 1];
		memcpy(&out[n].key, &e->key, sizeof(e->key));
		memcpy(&out[n].prog, &e->prog, sizeof(e->prog));
		out[n].hits = __atomic_load_n(&e->hits, __ATOMIC_RELAXED);
		out[n].used_ns = __atomic_load_n(&e->used_ns, __ATOMIC_RELAXED);
		n++;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&bk->seq, __ATOMIC_RELAXED) == s0 ? n : -1;
}

/* Ask for the lines of bk's used entries (a dump's, a few buckets ahead:
 * racy reads that only decide what to prefetch). */
static inline void prefetch_bucket_entries(const struct edp_flowcache *fc, const struct edp_flowcache_bucket *bk)
{
	for (unsigned w = 0; w < EDP_FLOWCACHE_WAYS; w++) {
		uint32_t slot = __atomic_load_n(&bk->slot[w], __ATOMIC_RELAXED);
		if (slot && slot <= fc->n_buckets * EDP_FLOWCACHE_WAYS && __atomic_load_n(&bk->sig[w], __ATOMIC_RELAXED)) {
			__builtin_prefetch(&fc->entries[slot - 1]);
			__builtin_prefetch((const char *)&fc->entries[slot - 1] + 64);
		}
	}
}

/* Every bucket's entries (with marks: those of the buckets whose
 * sequence is not the one marked, marking it), each handed to fn. */
static uint32_t dump_walk(const struct edp_flowcache *fc, uint32_t max, uint32_t *marks, edp_flowcache_dump_fn fn,
			  void *ctx)
{
	struct edp_flowcache_entry ways[EDP_FLOWCACHE_WAYS];
	for (int attempt = 0; attempt < 8; attempt++) { /* a flush midway: again */
		uint32_t f0 = __atomic_load_n(&fc->flush_seq, __ATOMIC_ACQUIRE), n = 0;
		if (f0 & 1)
			continue;
		if (attempt)
			fn(ctx, NULL, 0);
		for (uint32_t b = 0; b < fc->n_buckets && n < max; b++) {
			/* a dump of a big cache waits on memory: the buckets a few
			 * ahead, and the entries of the ones nearer, asked for now */
			if (b + 16 < fc->n_buckets)
				__builtin_prefetch(&fc->buckets[b + 16]);
			if (b + 8 < fc->n_buckets && !marks)
				prefetch_bucket_entries(fc, &fc->buckets[b + 8]);
			if (marks && __atomic_load_n(&fc->buckets[b].seq, __ATOMIC_RELAXED) == marks[b])
				continue; /* no insert since the last walk */
			int k;
			uint32_t seq = 0;
			for (int tries = 0; (k = dump_bucket(fc, b, ways, &seq)) < 0 && tries < 1000; tries++)
				;
			if (marks && k >= 0)
				marks[b] = seq;
			for (int i = 0; i < k && n < max; i++, n++)
				fn(ctx, &ways[i], b);
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&fc->flush_seq, __ATOMIC_RELAXED) == f0)
			return n;
	}
	fn(ctx, NULL, 0);
	return 0;
}

uint32_t edp_flowcache_dump_each(const struct edp_flowcache *fc, uint32_t max, edp_flowcache_dump_fn fn, void *ctx)
{
	return dump_walk(fc, max, NULL, fn, ctx);
}

uint32_t edp_flowcache_dump_changed(const struct edp_flowcache *fc, uint32_t *marks, uint32_t max,
				    edp_flowcache_dump_fn fn, void *ctx)
{
	return dump_walk(fc, max, marks, fn, ctx);
}

uint32_t edp_flowcache_buckets(const struct edp_flowcache *fc) { return fc->n_buckets; }

struct into_array {
	struct edp_flowcache_entry *out;
	uint32_t n;
};

static void into_array(void *ctx, const struct edp_flowcache_entry *e, uint32_t bucket)
{
	(void)bucket;
	struct into_array *a = ctx;
	if (e)
		a->out[a->n++] = *e;
	else
		a->n = 0;
}

uint32_t edp_flowcache_dump(const struct edp_flowcache *fc, struct edp_flowcache_entry *out, uint32_t max)
{
	struct into_array a = { out, 0 };
	edp_flowcache_dump_each(fc, max, into_array, &a);
	return a.n;
}

void edp_flowcache_warm(struct edp_flowcache *fc)
{
	/* an atomic OR of 0 is a write to the page (one fault if untouched)
	 * that changes nothing: safe on a cache in use */
	uint8_t *p = (uint8_t *)fc->buckets;
	size_t size = (size_t)fc->n_buckets * sizeof(struct edp_flowcache_bucket);
	for (size_t off = 0; off < size; off += 4096)
		__atomic_fetch_or(p + off, 0, __ATOMIC_RELAXED);
}

void edp_flowcache_place(struct edp_flowcache *fc, const struct edp_topo *topo, int32_t node)
{
	uint32_t nb = fc->n_buckets;
	edp_topo_place(topo, fc->buckets, (size_t)nb * sizeof(struct edp_flowcache_bucket), node);
	edp_topo_place(topo, fc->entries, (size_t)nb * EDP_FLOWCACHE_WAYS * sizeof(struct edp_flowcache_entry), node);
}

uint32_t edp_flowcache_capacity(const struct edp_flowcache *fc)
{
	return fc->n_buckets * EDP_FLOWCACHE_WAYS;
}

uint32_t edp_flowcache_used(const struct edp_flowcache *fc) { return fc->used; }

uint32_t edp_flowcache_dump_room(const struct edp_flowcache *fc)
{
	uint64_t used = __atomic_load_n(&fc->used, __ATOMIC_RELAXED), cap = edp_flowcache_capacity(fc);
	uint64_t room = used + used / 8 + 64;
	return (uint32_t)(room < cap ? room : cap);
}

const struct edp_flowcache_stats *edp_flowcache_stats(const struct edp_flowcache *fc)
{
	return &fc->stats;
}
