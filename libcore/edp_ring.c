#include "edp_ring.h"

#include <stdlib.h>
#include <string.h>

struct edp_ring *edp_ring_create(uint32_t capacity, struct edp_error *err)
{
	uint32_t n = 2;
	while (n < capacity && n < (1u << 30))
		n <<= 1;
	size_t size = sizeof(struct edp_ring) + (size_t)n * sizeof(void *);
	struct edp_ring *r = aligned_alloc(64, (size + 63) & ~(size_t)63);
	if (!r) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory for a ring of %u slots", n);
		return NULL;
	}
	memset(r, 0, sizeof(*r));
	r->mask = n - 1;
	return r;
}

void edp_ring_destroy(struct edp_ring *r) { free(r); }
