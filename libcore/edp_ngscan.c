#include "edp_ngscan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SHB 0x0a0d0d0au
#define BLOCK_IDB 1u
#define BYTE_ORDER_MAGIC 0x1a2b3c4du
#define HEAD 12 /* a block's type, length and (an SHB's) byte-order mark */

struct kept {
	uint64_t at;     /* where it starts in the stream */
	size_t pos;      /* where its bytes start in buf */
	uint32_t len;
	bool shb;
};

struct edp_ngscan {
	uint64_t fed;
	uint64_t block_at;        /* where the block being passed starts */
	uint8_t head[HEAD];
	uint32_t head_n;          /* of its first bytes, those seen */
	uint32_t left;            /* bytes of it after its head still to pass */
	bool keep;                /* an SHB or IDB: its bytes go to buf */
	bool swapped;             /* the section's byte order is not ours */
	const char *broken;       /* the walk ended: why */
	uint8_t *buf;
	size_t used, cap;
	struct kept *kept;
	uint32_t n_kept, cap_kept;
};

struct edp_ngscan *edp_ngscan_new(void) { return calloc(1, sizeof(struct edp_ngscan)); }

void edp_ngscan_free(struct edp_ngscan *s)
{
	if (!s)
		return;
	free(s->buf);
	free(s->kept);
	free(s);
}

uint64_t edp_ngscan_fed(const struct edp_ngscan *s) { return s->fed; }

static uint32_t word(const struct edp_ngscan *s, const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return s->swapped ? __builtin_bswap32(v) : v;
}

static bool append(struct edp_ngscan *s, const uint8_t *p, size_t n)
{
	if (s->used + n > EDP_NGSCAN_MAX_KEPT) {
		s->broken = "its interface descriptions are too many to carry";
		return false;
	}
	if (s->used + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->used + n)
			cap *= 2;
		uint8_t *b = realloc(s->buf, cap);
		if (!b) {
			s->broken = "out of memory";
			return false;
		}
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->used, p, n);
	s->used += n;
	return true;
}

/* The block's head is whole: its length, and whether it is kept. */
static void block_begins(struct edp_ngscan *s)
{
	uint32_t type;
	memcpy(&type, s->head, 4); /* an SHB's type reads the same both ways */
	if (type == BLOCK_SHB) {
		uint32_t bom;
		memcpy(&bom, s->head + 8, 4);
		if (bom != BYTE_ORDER_MAGIC && bom != __builtin_bswap32(BYTE_ORDER_MAGIC)) {
			s->broken = "a section header of neither byte order";
			return;
		}
		s->swapped = bom != BYTE_ORDER_MAGIC;
	} else if (!s->n_kept) {
		s->broken = "not a pcapng stream: it does not begin with a section header";
		return;
	}
	uint32_t len = word(s, s->head + 4);
	type = word(s, s->head);
	if (len < HEAD || len % 4) {
		s->broken = "a block of an impossible length";
		return;
	}
	s->left = len - HEAD;
	s->keep = type == BLOCK_SHB || type == BLOCK_IDB;
	if (!s->keep)
		return;
	if (s->n_kept == s->cap_kept) {
		uint32_t cap = s->cap_kept ? s->cap_kept * 2 : 16;
		struct kept *k = realloc(s->kept, cap * sizeof(*k));
		if (!k) {
			s->broken = "out of memory";
			return;
		}
		s->kept = k;
		s->cap_kept = cap;
	}
	s->kept[s->n_kept++] = (struct kept){ s->block_at, s->used, len, type == BLOCK_SHB };
	append(s, s->head, HEAD);
}

void edp_ngscan_feed(struct edp_ngscan *s, const uint8_t *p, size_t n)
{
	while (n && !s->broken) {
		size_t take;
		if (s->head_n < HEAD) {
			take = HEAD - s->head_n < n ? HEAD - s->head_n : n;
			memcpy(s->head + s->head_n, p, take);
			s->head_n += (uint32_t)take;
			if (s->head_n == HEAD)
				block_begins(s);
		} else {
			take = s->left < n ? s->left : n;
			if (s->keep)
				append(s, p, take);
			s->left -= (uint32_t)take;
		}
		p += take;
		n -= take;
		s->fed += take;
		if (s->head_n == HEAD && !s->left && !s->broken) { /* the next block */
			s->head_n = 0;
			s->block_at = s->fed;
		}
	}
	if (s->broken)
		s->fed += n;
}

const char *edp_ngscan_headers(const struct edp_ngscan *s, uint64_t at, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (s->broken)
		return s->broken;
	uint32_t first = UINT32_MAX, end = 0; /* the last SHB before `at`, and the blocks up to it */
	for (uint32_t i = 0; i < s->n_kept && s->kept[i].at < at; i++) {
		if (s->kept[i].at + s->kept[i].len > at)
			return "a hand-over in the middle of a block";
		if (s->kept[i].shb)
			first = i;
		end = i + 1;
	}
	if (first == UINT32_MAX)
		return "no section header before it";
	size_t from = s->kept[first].pos, to = end < s->n_kept ? s->kept[end].pos : s->used;
	if (!(*out = malloc(to - from + 1)))
		return "out of memory";
	memcpy(*out, s->buf + from, to - from);
	*len = to - from;
	return NULL;
}
