/* edp_pcapio's insides shared by its files: edp_pcapio.c (reading
 * captures, files, pipes and interfaces), edp_pcapwrite.c (writing them)
 * and edp_pcaplive.c (network interfaces' libpcap handles and sending).
 * Not for other engines. */
#ifndef EDP_PCAPIO_IMPL_H
#define EDP_PCAPIO_IMPL_H

#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edp_error.h"
#include "edp_pcapio.h"

#define PCAP_MAGIC_USEC 0xa1b2c3d4u /* a classic pcap's first word: microseconds */
#define PCAP_MAGIC_NSEC 0xa1b23c4du /* ... nanoseconds */

#define LIVE_TX_BATCH 32
#define LIVE_TX_ARENA (512u << 10)

/* A live writer: frames are copied into a batch and handed to libpcap's
 * socket with one sendmmsg per batch (libpcap injects one frame a call);
 * a full device queue is waited out. */
struct live_tx {
	int fd;
	uint32_t n, used;
	struct mmsghdr msg[LIVE_TX_BATCH];
	struct iovec iov[LIVE_TX_BATCH];
	uint32_t wire_len[LIVE_TX_BATCH];
	uint8_t arena[LIVE_TX_ARENA];
};

/* A capture file or pipe is written from a buffer of our own with
 * write(2): a failure is seen with its errno on the thread that met it,
 * and what reached the output is known to the record (a partial write is
 * walked record by record). */
struct edp_pcap_writer {
	struct live_tx *live;       /* a network interface instead of a file */
	pcap_t *live_pcap;
	uint64_t retried;           /* sends that found the device queue full */
	int fd;
	bool own_fd;                /* false for stdout, left open */
	uint8_t *buf;
	uint32_t used;              /* bytes in buf: the records taken and not yet written */
	uint64_t accepted, written; /* records taken, and those on the output */
	uint64_t accepted_bytes, written_bytes; /* their wire lengths */
	bool nanosecond;
	int failed;                 /* errno of the failed write: nothing more is taken */
	char name[256];
};

/* iface's MTU (-1: not known). */
int edp_pcap_live_mtu(const char *iface);

/* The snapshot length of a capture on iface: its MTU and a link header
 * (two VLAN tags), or 64 KiB when the interface hands up GRO frames. */
uint32_t edp_pcap_live_snaplen(const char *iface);

/* A capture handle on interface iface for receiving (non-blocking, incoming
 * frames only, a link type edp_linktype reads) or for sending (Ethernet, a
 * filter that takes nothing); NULL with err naming the interface. */
pcap_t *edp_pcap_live_open(const char *iface, bool receive, struct edp_error *err);

/* A live writer's record into its batch (the batch sent first when full),
 * and the batch handed to the device (a full queue waited out). 0, or -1
 * with err set: the writer fails from then on. */
int edp_pcap_live_send(struct edp_pcap_writer *w, const struct edp_pcap_record *rec, struct edp_error *err);
int edp_pcap_live_flush(struct edp_pcap_writer *w, struct edp_error *err);

/* /dev/null in place of descriptor fd: what is done with it from now on
 * (a read, a seek, a write, its close) does not touch what it was. */
static inline void edp_pcap_put_null_over(int fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0 && fd >= 0 && null != fd) {
		dup2(null, fd);
		close(null);
	}
}

#endif
