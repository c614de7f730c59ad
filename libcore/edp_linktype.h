/* edp_linktype: the link types other than Ethernet that captures have,
 * read as Ethernet. A packet of Linux cooked (LINUX_SLL, LINUX_SLL2), raw
 * IP (RAW, IPV4, IPV6) or BSD loopback (NULL, LOOP) capture loses its link
 * header and gets an Ethernet one: the link header's addresses where it
 * has them (a Linux cooked header: the sender's; a broadcast goes to
 * ff:ff:ff:ff:ff:ff), else EDP_LINKTYPE_SRC/DST; the EtherType from its
 * protocol field, its address family (a BSD's AF_INET6 numbers too) or
 * its IP version. What follows the link header is kept as it is (VLAN tags
 * included, where libpcap put them back); its lengths grow by 14 less the
 * link header. No allocation, no libpcap call but its table of names:
 * edp_pcapio's reader does the reading.
 */
#ifndef EDP_LINKTYPE_H
#define EDP_LINKTYPE_H

#include <pcap/pcap.h>
#include <stdint.h>

/* The addresses of a packet whose link header has none: locally
 * administered ones. */
#define EDP_LINKTYPE_SRC { 0x02, 0, 0, 0, 0, 0x01 }
#define EDP_LINKTYPE_DST { 0x02, 0, 0, 0, 0, 0x02 }

/* A link type's name, as libpcap knows it ("unknown" when it does not). */
const char *edp_linktype_name(int dlt);

/* The bytes of link type dlt's header that a packet loses (0 for Ethernet
 * and raw IP), or -1: a link type that is not read. */
int edp_linktype_header_len(int dlt);

/* Packet (h, data) of link type dlt (a header of hdr bytes) as Ethernet in
 * buf (size bytes: a longer packet is cut, its original length kept),
 * described by *out. Returns buf. */
const u_char *edp_linktype_frame(int dlt, uint32_t hdr, uint8_t *buf, uint32_t size, const struct pcap_pkthdr *h,
				 const u_char *data, struct pcap_pkthdr *out);

#endif
