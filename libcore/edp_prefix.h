/* edp_prefix: an IPv4 or IPv6 address prefix, as the firewall's rules and
 * the router's routes match them. Bits past the length are zero (the
 * parser refuses a prefix with host bits set).
 */
#ifndef EDP_PREFIX_H
#define EDP_PREFIX_H

#include <stdint.h>

struct edp_prefix {
	uint8_t af;        /* 0 = any, 4 or 6 */
	uint8_t len;       /* prefix length in bits */
	uint8_t addr[16];  /* IPv4 in the first 4 bytes; bits past len are zero */
};

/* Parse "ADDR" or "ADDR/LEN" into *p. Returns 0, or -1 with *why saying
 * what is wrong with it. */
int edp_prefix_parse(const char *s, struct edp_prefix *p, const char **why);

#endif
