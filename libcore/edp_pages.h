/* edp_pages: rings the kernel fills for us (a packet socket's, an AF_XDP
 * UMEM) made ready before their first frame. On this project's VM the
 * first write to each page through a process's mapping costs ~5 us, and a
 * read does not pay it: the frames of a ring's first lap were read at 2.2
 * us each, then 30 ns (and an AF_XDP run under the sanitizers spent 42% of
 * its time copying frames out of a new UMEM, 7% once written), which a
 * burst at start would spend while the ring fills. Elsewhere this is a
 * store a page. */
#ifndef EDP_PAGES_H
#define EDP_PAGES_H

#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

/* Write a zero at the start of each page of [p, p + len): only for memory
 * that holds nothing yet (no frame can come before the ring is bound). */
static inline void edp_pages_write_once(uint8_t *p, size_t len)
{
	for (size_t off = 0, page = (size_t)getpagesize(); off < len; off += page)
		*(volatile uint8_t *)(p + off) = 0;
}

#endif
