/* edp_pcapfile: the records of a classic pcap file read in large reads
 * into one window that is used again and again, and handed over where
 * they lie in it (instead of fread into stdio's buffer, libpcap's copy
 * into its own, and ours out of that).
 *
 * Owns: the window (EDP_PCAPFILE_WINDOW bytes: the largest record fits),
 * the offset of the next record.
 *
 * Invariants: each record comes out as libpcap's savefile reader gives it
 * (opened with nanosecond precision): the same header (time stamp with
 * its seconds and fraction read as signed 32-bit words, or unsigned in a
 * file of the other byte order, as libpcap 1.10 does; microseconds scaled
 * to nanoseconds; a capture length above the file's snapshot length cut
 * to it), the same bytes, the same end, and the same error words at the
 * same record (a record over 262,144 bytes, one cut short by the end of
 * the file). Only the records' walk is here: the caller opens the file
 * with libpcap first, which reads and checks the file header (version
 * 2.4, link type, snapshot length) and says its byte order. The file is
 * read with pread(2) at the window's offset (the descriptor's own offset
 * is left alone); a file that grows is read on, one cut by another
 * process is read as cut once the window reaches the cut, as libpcap's
 * buffered reads do.
 *
 * Why not a mapping of the file (this engine's predecessor): on a VM the
 * first touch of each mapped page costs a fault (2.2 us a page measured
 * here, 44 ms for an 80 MB capture) where read(2) into a window that
 * stays in the cache costs the kernel's copy (11 ms); and a cut file is
 * a short read, not a SIGBUS.
 *
 * Thread-safety: one thread per reader; edp_pcapfile_pos from any.
 */
#ifndef EDP_PCAPFILE_H
#define EDP_PCAPFILE_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDP_PCAPFILE_MAX_CAPLEN 262144u /* libpcap's largest record for the link types edp reads */
#define EDP_PCAPFILE_WINDOW (EDP_PCAPFILE_MAX_CAPLEN + 16) /* the largest record fits */

struct edp_pcapfile;

/* A reader of regular file fd (not taken: the caller keeps and closes
 * it), whose records start at offset pos; snapshot is libpcap's
 * (adjusted) snapshot length of the file, swapped whether the file's byte
 * order is not ours, usec whether its time stamps are microseconds. NULL
 * (errno set) when out of memory. */
struct edp_pcapfile *edp_pcapfile_open(int fd, uint64_t pos, uint32_t snapshot, bool swapped, bool usec);

/* The next record: 1 with *h and *data (valid until the next call), 0 at
 * the end of the file, -1 with libpcap's words for the error in msg. */
int edp_pcapfile_next(struct edp_pcapfile *f, struct pcap_pkthdr *h, const u_char **data, char *msg, size_t msg_len);

/* Up to max records (max >= 1) into h[] and data[] (valid until the
 * next call), as many calls of edp_pcapfile_next would give them: how
 * many, 0 at the end of the file, or -1 with msg as there (after a batch
 * that ended before the record in error). */
int edp_pcapfile_next_batch(struct edp_pcapfile *f, uint32_t max, struct pcap_pkthdr *h, const u_char **data,
			    char *msg, size_t msg_len);

/* The offset of the next record (any thread may ask). */
uint64_t edp_pcapfile_pos(const struct edp_pcapfile *f);

void edp_pcapfile_close(struct edp_pcapfile *f);

#endif
