#include <stdbool.h>

#include "unit.h"
#include "edp_ngscan.h"

/* A pcapng stream built block by block; at[] where each block starts. */
struct stream {
	uint8_t b[1024];
	size_t len;
	size_t at[16];
	uint32_t n;
};

static void block(struct stream *s, uint32_t type, uint32_t body_words, bool swapped)
{
	uint32_t len = 12 + body_words * 4;
	uint32_t t = swapped ? __builtin_bswap32(type) : type, l = swapped ? __builtin_bswap32(len) : len;
	s->at[s->n++] = s->len;
	memcpy(s->b + s->len, &t, 4);
	memcpy(s->b + s->len + 4, &l, 4);
	for (uint32_t i = 0; i < body_words; i++) {
		uint32_t w = type == 0x0a0d0d0au && i == 0 ? 0x1a2b3c4du : 0xa0000000u + (uint32_t)s->len + i;
		if (type == 0x0a0d0d0au && i == 0 && swapped)
			w = 0x4d3c2b1au; /* the mark as a big-endian writer leaves it */
		memcpy(s->b + s->len + 8 + i * 4, &w, 4);
	}
	memcpy(s->b + s->len + 8 + body_words * 4, &l, 4);
	s->len += len;
}

/* SHB, IDB, EPB, IDB, EPB, SHB (a second section), IDB, EPB */
static void sample(struct stream *s, bool swapped)
{
	memset(s, 0, sizeof(*s));
	block(s, 0x0a0d0d0au, 4, swapped);
	block(s, 1, 2, swapped);
	block(s, 6, 5, swapped);
	block(s, 1, 3, swapped);
	block(s, 6, 7, swapped);
	block(s, 0x0a0d0d0au, 4, swapped);
	block(s, 1, 2, swapped);
	block(s, 6, 5, swapped);
}

static void expect(const struct edp_ngscan *sc, const struct stream *s, size_t at, const uint32_t *blocks, uint32_t n)
{
	uint8_t *out;
	size_t len;
	const char *why = edp_ngscan_headers(sc, at, &out, &len);
	if (why)
		fail_msg("at %zu: %s", at, why);
	uint8_t want[1024];
	size_t wl = 0;
	for (uint32_t i = 0; i < n; i++) {
		size_t end = blocks[i] + 1 < s->n ? s->at[blocks[i] + 1] : s->len;
		memcpy(want + wl, s->b + s->at[blocks[i]], end - s->at[blocks[i]]);
		wl += end - s->at[blocks[i]];
	}
	assert_int_equal(len, wl);
	assert_memory_equal(out, want, wl);
	free(out);
}

/* Fed in pieces of every size, in either byte order: before each block,
 * the last section header and the interfaces after it, whole. */
static void test_headers_at_each_block(void **state)
{
	(void)state;
	for (int swapped = 0; swapped < 2; swapped++)
		for (size_t piece = 1; piece <= 64; piece++) {
			struct stream s;
			sample(&s, swapped);
			struct edp_ngscan *sc = edp_ngscan_new();
			for (size_t at = 0; at < s.len; at += piece)
				edp_ngscan_feed(sc, s.b + at, s.len - at < piece ? s.len - at : piece);
			assert_int_equal(edp_ngscan_fed(sc), s.len);
			static const uint32_t shb_idb[] = { 0, 1 }, two[] = { 0, 1, 3 }, second[] = { 5, 6 };
			expect(sc, &s, s.at[2], shb_idb, 2);  /* before the first packet */
			expect(sc, &s, s.at[3], shb_idb, 2);
			expect(sc, &s, s.at[4], two, 3);      /* a later interface comes along */
			expect(sc, &s, s.at[5], two, 3);
			expect(sc, &s, s.at[7], second, 2);   /* a new section starts over */
			expect(sc, &s, s.len, second, 2);
			uint8_t *out;
			size_t len;
			assert_string_equal(edp_ngscan_headers(sc, s.at[3] + 4, &out, &len), "a hand-over in the middle of a block");
			assert_string_equal(edp_ngscan_headers(sc, 0, &out, &len), "no section header before it");
			assert_null(out);
			edp_ngscan_free(sc);
		}
}

/* What is not pcapng, or a block of an impossible length, ends the walk
 * for good, and a hand-over says why. */
static void test_broken(void **state)
{
	(void)state;
	struct stream s;
	sample(&s, false);
	uint8_t *out;
	size_t len;
	struct edp_ngscan *sc = edp_ngscan_new();
	edp_ngscan_feed(sc, s.b + s.at[1], s.len - s.at[1]); /* no SHB first */
	assert_string_equal(edp_ngscan_headers(sc, s.len, &out, &len),
			    "not a pcapng stream: it does not begin with a section header");
	edp_ngscan_free(sc);
	uint32_t bad = 13;
	memcpy(s.b + s.at[2] + 4, &bad, 4);
	sc = edp_ngscan_new();
	edp_ngscan_feed(sc, s.b, s.len);
	assert_int_equal(edp_ngscan_fed(sc), s.len);
	assert_string_equal(edp_ngscan_headers(sc, s.at[2], &out, &len), "a block of an impossible length");
	edp_ngscan_free(sc);
	sample(&s, false);
	memset(s.b + 8, 0x77, 4); /* the byte-order mark */
	sc = edp_ngscan_new();
	edp_ngscan_feed(sc, s.b, s.len);
	assert_string_equal(edp_ngscan_headers(sc, s.at[2], &out, &len), "a section header of neither byte order");
	edp_ngscan_free(sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers_at_each_block),
		cmocka_unit_test(test_broken),
	};
	return cmocka_run_group_tests_name("ngscan", tests, NULL, NULL);
}
