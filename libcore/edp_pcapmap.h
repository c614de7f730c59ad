/* edp_pcapmap: the records of a classic pcap file read where they lie, in
 * a mapping of the file, instead of read(2) into libpcap's buffer and
 * copied out of it (a third of a one-thread run's time on 64-byte frames).
 *
 * Owns: a read-only shared mapping of a regular file, its SIGBUS guard
 * (edp_shm), and the offset of the next record.
 *
 * Invariants: each record comes out as libpcap's savefile reader gives it
 * (opened with nanosecond precision): the same header (time stamp with
 * its seconds and fraction read as signed 32-bit words, or unsigned in a
 * file of the other byte order, as libpcap 1.10 does; microseconds scaled
 * to nanoseconds; a capture length above the file's snapshot length cut
 * to it), the same bytes, the same end, and the same error
 * words at the same record (a record over 262,144 bytes, one cut short by
 * the end of the file). Only the records' walk is here: the caller opens
 * the file with libpcap first, which reads and checks the file header
 * (version 2.4, link type, snapshot length) and says its byte order.
 * A file that grows is read on (mapped again at its end, as libpcap reads
 * on); one truncated under the mapping by another process faults (SIGBUS),
 * and once the guard has replaced the mapping it is mapped again at its
 * new size and read as a file of that size (its last record cut short:
 * libpcap's error for one). The mapping's guard (edp_shm_guard) installs
 * the SIGBUS handler that catches that fault.
 *
 * Memory: the pages read are given back every 8 MiB (MADV_DONTNEED on
 * a shared file mapping drops this process's hold; the page cache keeps
 * them), so a 10 GB capture does not count 10 GB resident.
 *
 * Thread-safety: one thread per map.
 */
#ifndef EDP_PCAPMAP_H
#define EDP_PCAPMAP_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDP_PCAPMAP_MAX_CAPLEN 262144u /* libpcap's largest record for the link types edp reads */

struct edp_pcapmap;

/* A map of regular file fd (not taken: the caller keeps and closes it),
 * whose records start at offset pos; snapshot is libpcap's (adjusted)
 * snapshot length of the file, swapped whether the file's byte order is
 * not ours, usec whether its time stamps are microseconds. NULL (errno
 * set) when it cannot be mapped or guarded: the caller reads with
 * libpcap. */
struct edp_pcapmap *edp_pcapmap_open(int fd, uint64_t pos, uint32_t snapshot, bool swapped, bool usec);

/* The next record: 1 with *h and *data (valid until the next call), 0 at
 * the end of the file, -1 with libpcap's words for the error in msg. */
int edp_pcapmap_next(struct edp_pcapmap *m, struct pcap_pkthdr *h, const u_char **data, char *msg, size_t msg_len);

/* Up to max records (max >= 1) into h[] and data[] (valid until the
 * next call), as many calls of edp_pcapmap_next would give them: how
 * many, 0 at the end of the file, or -1 with msg as there (after a batch
 * that ended before the record in error). The checks a record needs
 * against a file cut under the mapping are made once a batch. */
int edp_pcapmap_next_batch(struct edp_pcapmap *m, uint32_t max, struct pcap_pkthdr *h, const u_char **data,
			   char *msg, size_t msg_len);

/* The offset of the next record (any thread may ask). */
uint64_t edp_pcapmap_pos(const struct edp_pcapmap *m);

void edp_pcapmap_close(struct edp_pcapmap *m);

#endif
