/* edp_bloom: a blocked Bloom filter of 64-bit hashes, the slow path's
 * pre-check before a table that would cost a miss (the firewall's tuples,
 * the router's prefix lengths).
 *
 * Owns: its words. Each key sets two bits of one 64-bit word, so a test is
 * one load: at 16 bits a key, a key never added passes one or two times in
 * a hundred (one bit a key: about six); a key added always passes. The
 * words are a power of two, at least one and at most EDP_BLOOM_MAX_WORDS
 * (a filter of more keys passes more often, never wrongly refuses).
 *
 * Invariants: the hash handed in need only be mixed in its upper half (a
 * product's); the filter folds it and multiplies once more for the word
 * and the bits, the same for an add and a test.
 *
 * Thread-safety: built by one thread, then read-only. */
#ifndef EDP_BLOOM_H
#define EDP_BLOOM_H

#include <stdbool.h>
#include <stdint.h>

#define EDP_BLOOM_MAX_WORDS (1u << 20) /* 8 MiB: 16 bits a key for 4 million keys */

struct edp_bloom {
	uint64_t *word; /* NULL: no filter (edp_bloom_may_have says yes) */
	uint32_t mask;  /* words - 1 */
};

/* A filter sized for `keys` keys, empty. 0, or -1 out of memory. */
int edp_bloom_init(struct edp_bloom *b, uint64_t keys);
void edp_bloom_free(struct edp_bloom *b);

/* Key h's word and its two bits there. */
static inline uint64_t edp_bloom_bits(const struct edp_bloom *b, uint64_t h, uint32_t *word)
{
	uint64_t g = (h ^ h >> 32) * 0x9e3779b97f4a7c15ull;
	*word = (uint32_t)(g >> 32) & b->mask;
	return 1ull << (g >> 20 & 63) | 1ull << (g >> 26 & 63);
}

static inline void edp_bloom_add(struct edp_bloom *b, uint64_t h)
{
	uint32_t w;
	uint64_t bits = edp_bloom_bits(b, h, &w);
	b->word[w] |= bits;
}

/* Whether h may have been added: false only if it never was. */
static inline bool edp_bloom_may_have(const struct edp_bloom *b, uint64_t h)
{
	if (!b->word)
		return true;
	uint32_t w;
	uint64_t bits = edp_bloom_bits(b, h, &w);
	return (b->word[w] & bits) == bits;
}

#endif
