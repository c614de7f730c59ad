/* edp_checkpoint: a datapath's learned state as one byte stream, the same
 * for a file at rest and for a migration's stream: what a new instance
 * needs to start warm (the switch's MACs, the flow-cache keys), and where
 * it came from.
 *
 * Format (all integers little-endian):
 *   header   "EDPCKPT\n", u32 version (1), u32 flags (0), u64 the source's
 *            config hash (FNV-1a 64 of its file, 0 for the built-in one),
 *            u64 when it was taken (CLOCK_REALTIME ns)
 *   section  u32 type, u32 0, u64 length, the payload, u32 CRC-32C of the
 *            type, the length and the payload; in any order, each type once:
 *     META   u16 length + the instance's name, u32 threads, u32 ports, each
 *            u16 length + its name
 *     MACS   u32 count, then each: MAC (6), u16 VLAN, u16 port, u64 packet
 *            time last seen
 *     FLOWS  u32 count, then each: u16 thread, the 64-byte flow key
 *     IO     (a migration's, optional) u32 the inputs' snapshot length,
 *            u8 their precision (1: nanoseconds), u32 ports, then each:
 *            u8 rx kind (enum edp_io_kind + 1, 0: none), u16 length + rx,
 *            u16 length + tx, u8 flags (1: its input is handed over, 2: its
 *            output, 4: the output is in nanoseconds, 8: the input is an
 *            interface read through a socket a thread, as many as META's
 *            threads: a fanout run); handed inputs then
 *            u32 length + the bytes its next reader takes before the
 *            descriptor's (edp_pcap_handover; an interface's: where its
 *            ring is read, edp_afpacket). The descriptors go beside
 *            the stream (SCM_RIGHTS), in port order: the handed inputs',
 *            then the handed outputs'.
 *     COUNTERS (a migration's, optional) u64 packets in, bytes in,
 *            forwarded, dropped by the source, u64 CLOCK_MONOTONIC when it
 *            took its last packet
 *     READING (a migration's, optional: a run with a filter expression or
 *            --count) u16 length + the filter expression (0: none), u64
 *            the packets --count still lets in (0: no --count)
 *   end      a section of type END whose payload is u32 the sections before
 *            it; nothing may follow
 * A stream is checked whole before anything of it is used: the magic, the
 * version, every section's bounds, CRC and type, counts that fill the
 * payload exactly, the strings, the end record. An error names the
 * section and its byte offset.
 *
 * Thread-safety: none needed; plain data.
 */
#ifndef EDP_CHECKPOINT_H
#define EDP_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "edp_config.h"
#include "edp_error.h"
#include "edp_flow.h"

#define EDP_CHECKPOINT_VERSION 1
#define EDP_CHECKPOINT_MAX_BYTES (4ull << 30) /* a stream larger is refused */

enum edp_checkpoint_section {
	EDP_CK_END = 0,
	EDP_CK_META = 1,
	EDP_CK_MACS = 2,
	EDP_CK_FLOWS = 3,
	EDP_CK_IO = 4,
	EDP_CK_COUNTERS = 5,
	EDP_CK_READING = 6,
	EDP_CK_SECTIONS
};

/* "meta", "macs", "flows", "io", "counters", "reading", "end", or NULL for a type not known. */
const char *edp_checkpoint_section_name(uint32_t type);

struct edp_checkpoint_mac {
	uint8_t mac[6];
	uint16_t vlan;
	uint16_t port;
	uint64_t seen_ns;
};

struct edp_checkpoint_flow {
	uint16_t thread;
	struct edp_flow_key key;
};

#define EDP_CK_IO_HANDED_RX 1
#define EDP_CK_IO_HANDED_TX 2
#define EDP_CK_IO_TX_NANO 4
#define EDP_CK_IO_FANOUT 8 /* an interface read through a socket per thread (META's threads) */
#define EDP_CK_MAX_HEAD (16u << 20) /* bytes a handed input may carry */

/* A port's inputs and outputs as the source had them (the IO section). */
struct edp_checkpoint_io {
	uint8_t rx_kind;   /* enum edp_io_kind + 1; 0: no input */
	uint8_t flags;     /* EDP_CK_IO_* */
	char *rx, *tx;     /* the source's names for them; NULL: none */
	uint8_t *head;     /* a handed input: bytes before its descriptor's */
	uint32_t head_len;
};

struct edp_checkpoint_counters {
	uint64_t packets_in, bytes_in, forwarded, dropped;
	uint64_t last_packet_ns; /* CLOCK_MONOTONIC */
};

struct edp_checkpoint {
	uint32_t version;
	uint64_t config_hash;
	uint64_t created_ns;
	char name[EDP_PORT_NAME_MAX + 1];  /* META: the instance's */
	uint32_t threads, n_ports;
	char ports[EDP_MAX_PORTS][EDP_PORT_NAME_MAX + 1];
	struct edp_checkpoint_mac *macs;
	uint32_t n_macs;
	struct edp_checkpoint_flow *flows;
	uint32_t n_flows;
	bool has_io, has_counters, has_reading;
	uint32_t io_snaplen;
	bool io_nanosecond;
	struct edp_checkpoint_io io[EDP_MAX_PORTS]; /* n_ports of them */
	struct edp_checkpoint_counters counters;
	char *filter;           /* READING: the filter expression the inputs are read through (NULL: none) */
	uint64_t count_left;    /* ... and the packets --count still lets in (0: no --count) */
	/* what the stream held (filled by parse; write fills them too) */
	uint32_t n_sections;
	uint64_t bytes;
	uint64_t section_bytes[EDP_CK_SECTIONS];
};

/* Write ck as one stream to f (`what` names it in errors). 0, or
 * EDP_ERR_RUNTIME for a write that failed. */
int edp_checkpoint_write(FILE *f, const char *what, struct edp_checkpoint *ck, struct edp_error *err);

/* Write ck to descriptor fd (a file, a pipe, a memfd) as fast as its
 * reader takes it; a reader that takes nothing for 10 s is given up on, so
 * that the caller (a control thread) is not held for good. 0, or
 * EDP_ERR_RUNTIME. */
int edp_checkpoint_send(struct edp_checkpoint *ck, int fd, struct edp_error *err);

/* Check and take a whole stream of len bytes (see the format above). On
 * failure (EDP_ERR_RUNTIME) ck is left empty. Free with
 * edp_checkpoint_free. */
int edp_checkpoint_parse(const uint8_t *buf, size_t len, const char *what, struct edp_checkpoint *ck,
			 struct edp_error *err);

/* Read f to its end (at most EDP_CHECKPOINT_MAX_BYTES) and parse it. */
int edp_checkpoint_read(FILE *f, const char *what, struct edp_checkpoint *ck, struct edp_error *err);

void edp_checkpoint_free(struct edp_checkpoint *ck);

/* CRC-32C (Castagnoli) of buf, continuing from crc (0 to start). */
uint32_t edp_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
