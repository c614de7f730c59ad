/* Shared helpers for the cmocka unit tests: packet builders. */
#ifndef EDP_UNIT_H
#define EDP_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

/* The test group's own directory, /tmp/edp-unit-XXXXXX, made by
 * unit_dir_setup (which points EDP_RUNDIR at it) and removed with the
 * files in it by unit_dir_teardown: a group's setup and teardown. */
static inline char *unit_dir(void)
{
	static char dir[64];
	return dir;
}

static inline int unit_dir_setup(void **state)
{
	(void)state;
	snprintf(unit_dir(), 64, "/tmp/edp-unit-XXXXXX");
	return mkdtemp(unit_dir()) ? setenv("EDP_RUNDIR", unit_dir(), 1) : -1;
}

static inline int unit_dir_teardown(void **state)
{
	(void)state;
	DIR *d = opendir(unit_dir());
	for (struct dirent *e; d && (e = readdir(d));) {
		char path[384];
		snprintf(path, sizeof(path), "%s/%s", unit_dir(), e->d_name);
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && unlink(path) != 0)
			fprintf(stderr, "unit_dir_teardown: %s: cannot remove\n", path);
	}
	if (d)
		closedir(d);
	return rmdir(unit_dir());
}

/* Deterministic xorshift64 for randomised tests. */
static inline uint32_t unit_rand(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return (uint32_t)*state;
}

static inline void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet header; returns its length. ethertype is written last. */
static inline size_t build_eth(uint8_t *p, uint16_t ethertype)
{
	const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x02 }, src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	put16(p + 12, ethertype);
	return 14;
}

/* IPv4 header (20 bytes + optlen) with payload_len bytes after it. */
static inline size_t build_ipv4(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst, size_t optlen,
				size_t payload_len, uint8_t ttl)
{
	size_t hl = 20 + optlen;
	memset(p, 0, hl);
	p[0] = (uint8_t)(0x40 | (hl / 4));
	put16(p + 2, (uint32_t)(hl + payload_len));
	p[8] = ttl;
	p[9] = proto;
	put16(p + 12, src >> 16);
	put16(p + 14, src & 0xffff);
	put16(p + 16, dst >> 16);
	put16(p + 18, dst & 0xffff);
	for (size_t i = 20; i < hl; i++)
		p[i] = 1; /* NOP options */
	put16(p + 10, ip_checksum(p, hl));
	return hl;
}

static inline size_t build_ipv6(uint8_t *p, uint8_t next, size_t payload_len, uint8_t hlim)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (uint32_t)payload_len);
	p[6] = next;
	p[7] = hlim;
	p[8] = 0x20; p[9] = 0x01; p[10] = 0x0d; p[11] = 0xb8; p[23] = 1;
	p[24] = 0x20; p[25] = 0x01; p[26] = 0x0d; p[27] = 0xb8; p[39] = 2;
	return 40;
}

static inline size_t build_udp(uint8_t *p, uint16_t sport, uint16_t dport, size_t len)
{
	memset(p, 0, len);
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, (uint32_t)len);
	return len;
}

static inline size_t build_tcp(uint8_t *p, uint16_t sport, uint16_t dport)
{
	memset(p, 0, 20);
	put16(p, sport);
	put16(p + 2, dport);
	p[12] = 0x50;
	return 20;
}

/* A complete Ethernet/IPv4/UDP frame; returns its length. */
static inline size_t build_udp4(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	size_t n = build_eth(p, 0x0800);
	n += build_ipv4(p + n, 17, src, dst, 0, 8 + 18, 64);
	n += build_udp(p + n, sport, dport, 8 + 18);
	return n;
}

#endif
