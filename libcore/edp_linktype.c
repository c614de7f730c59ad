#include "edp_linktype.h"

#include <stdbool.h>
#include <string.h>

const char *edp_linktype_name(int dlt)
{
	const char *n = pcap_datalink_val_to_name(dlt);
	return n ? n : "unknown";
}

int edp_linktype_header_len(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB: case DLT_RAW: case DLT_IPV4: case DLT_IPV6: return 0;
	case DLT_NULL: case DLT_LOOP: return 4;
	case DLT_LINUX_SLL: return 16;
	case DLT_LINUX_SLL2: return 20;
	default: return -1;
	}
}

static inline uint16_t be16_at(const u_char *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* The EtherType of an IP packet by its version, 0 when it is neither. */
static uint16_t ip_ethertype(const u_char *payload, uint32_t len)
{
	unsigned v = len ? payload[0] >> 4 : 0;
	return v == 4 ? 0x0800 : v == 6 ? 0x86dd : 0;
}

/* The EtherType of a NULL or LOOP packet by its address family (a BSD's
 * AF_INET6 differs from Linux's), else by its IP version. */
static uint16_t family_ethertype(uint32_t family, const u_char *payload, uint32_t len)
{
	if (family == 2)
		return 0x0800;
	if (family == 10 || family == 24 || family == 28 || family == 30)
		return 0x86dd;
	return ip_ethertype(payload, len);
}

const u_char *edp_linktype_frame(int dlt, uint32_t hdr, uint8_t *buf, uint32_t size, const struct pcap_pkthdr *h,
				 const u_char *data, struct pcap_pkthdr *out)
{
	static const uint8_t src[6] = EDP_LINKTYPE_SRC, dst[6] = EDP_LINKTYPE_DST;
	uint32_t cap = h->caplen, wire = h->len < cap ? cap : h->len;
	bool whole = cap >= hdr; /* a header cut short gives an empty payload and no addresses */
	const u_char *payload = data + (whole ? hdr : cap);
	uint32_t len = whole ? cap - hdr : 0;
	uint8_t *f = buf;
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	uint16_t type = 0;
	const u_char *addr = NULL;
	unsigned pkttype = 0, halen = 0;
	switch (whole ? dlt : -1) {
	case DLT_LINUX_SLL: /* packet type, ARPHRD, address length, address[8], protocol */
		pkttype = be16_at(data), halen = be16_at(data + 4), addr = data + 6, type = be16_at(data + 14);
		break;
	case DLT_LINUX_SLL2: /* protocol, reserved, ifindex, ARPHRD, packet type, address length, address[8] */
		type = be16_at(data), pkttype = data[10], halen = data[11], addr = data + 12;
		break;
	case DLT_NULL: /* the address family in the byte order of the host that captured */
		type = family_ethertype(data[0] || data[1] ? (uint32_t)data[0] | (uint32_t)data[1] << 8
							   : (uint32_t)data[2] << 8 | data[3],
					payload, len);
		break;
	case DLT_LOOP:
		type = family_ethertype((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3],
					payload, len);
		break;
	case DLT_IPV4: type = 0x0800; break;
	case DLT_IPV6: type = 0x86dd; break;
	default: type = ip_ethertype(payload, len); break; /* RAW, or a header cut short */
	}
	if (addr && halen == 6)
		memcpy(f + 6, addr, 6);
	if (addr && pkttype == 1) /* LINUX_SLL_BROADCAST */
		memset(f, 0xff, 6);
	if (addr && type < 0x0600) /* not an EtherType (802.2 LLC, 802.3 raw, ...): the frame's length */
		type = (uint16_t)(len < 1500 ? len : 1500);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	uint32_t room = size - 14;
	memcpy(f + 14, payload, len < room ? len : room);
	out->ts = h->ts;
	out->caplen = 14 + (len < room ? len : room);
	out->len = 14 + (wire > hdr ? wire - hdr : 0);
	return f;
}
