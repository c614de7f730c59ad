#include "edp_bloom.h"

#include <stdlib.h>

int edp_bloom_init(struct edp_bloom *b, uint64_t keys)
{
	uint32_t words = 1;
	while (words < EDP_BLOOM_MAX_WORDS && 64ull * words < 16ull * keys)
		words <<= 1;
	b->word = calloc(words, sizeof(uint64_t));
	b->mask = words - 1;
	return b->word ? 0 : -1;
}

void edp_bloom_free(struct edp_bloom *b)
{
	free(b->word);
	b->word = NULL;
}
