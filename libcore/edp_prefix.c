#include "edp_prefix.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int edp_prefix_parse(const char *s, struct edp_prefix *p, const char **why)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	memset(p, 0, sizeof(*p));
	*why = "not an IPv4 or IPv6 address";
	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = 0;
	if (inet_pton(AF_INET, addr, p->addr) == 1)
		p->af = 4;
	else if (inet_pton(AF_INET6, addr, p->addr) == 1)
		p->af = 6;
	else
		return -1;
	unsigned max = p->af == 4 ? 32 : 128;
	unsigned len = max;
	if (slash) {
		char *end;
		errno = 0;
		long l = strtol(slash + 1, &end, 10);
		*why = p->af == 4 ? "prefix length must be 0 to 32" : "prefix length must be 0 to 128";
		if (!slash[1] || *end || errno || l < 0 || l > (long)max || !isdigit((unsigned char)slash[1]))
			return -1;
		len = (unsigned)l;
	}
	p->len = (uint8_t)len;
	for (unsigned bit = len; bit < max; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8))) {
			*why = "host bits are set past the prefix length";
			return -1;
		}
	return 0;
}
