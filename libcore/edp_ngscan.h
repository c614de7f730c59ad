/* edp_ngscan: the header blocks of a pcapng stream, kept as the stream
 * passes, so that a reader handed over in the middle of it (edp-migrate)
 * can give the next reader what that one needs before the block it goes
 * on at: the section header and every interface description of the
 * section so far (an enhanced packet block names its interface by index
 * and takes its link type and timestamp resolution from it).
 *
 * Owns: a copy of each section header block (SHB) and interface
 * description block (IDB) the stream has passed, with its offset in the
 * stream; the state of the block being passed (its first 12 bytes, the
 * bytes left of it).
 * Invariants: blocks are walked by their length fields from the stream's
 * first byte; a length that cannot be (under 12, not a multiple of 4, a
 * byte-order mark that is neither order) ends the walk for good (the
 * stream is not pcapng as far as it goes, and libpcap says so to its
 * reader); at most EDP_NGSCAN_MAX_KEPT bytes are kept.
 *
 * Thread-safety: one thread (the reader's, and the hand-over's after it).
 */
#ifndef EDP_NGSCAN_H
#define EDP_NGSCAN_H

#include <stddef.h>
#include <stdint.h>

#define EDP_NGSCAN_MAX_KEPT (4u << 20)

struct edp_ngscan;

struct edp_ngscan *edp_ngscan_new(void);
void edp_ngscan_free(struct edp_ngscan *s);

/* The stream's next n bytes. */
void edp_ngscan_feed(struct edp_ngscan *s, const uint8_t *p, size_t n);

/* Bytes fed so far. */
uint64_t edp_ngscan_fed(const struct edp_ngscan *s);

/* What a reader needs before the stream's byte `at` (a block boundary, at
 * most what was fed): the last SHB before it and the IDBs between the two,
 * into *out (malloc'd, *len bytes). NULL on success, else why not. */
const char *edp_ngscan_headers(const struct edp_ngscan *s, uint64_t at, uint8_t **out, size_t *len);

#endif
