/* edp_pcapio: every libpcap call of the project.
 *
 * Readers open pcap or pcapng files, or standard input ("-"), with nanosecond
 * timestamps; each packet keeps its capture length, its original wire length
 * and its timestamp. A reader delivers Ethernet: a capture of Linux cooked
 * (LINUX_SLL, LINUX_SLL2), raw IP (RAW, IPV4, IPV6) or NULL/LOOP packets
 * gives each packet an Ethernet header in place of its link header
 * (edp_linktype.h; see edp_pcap_reader_link); any other
 * link type is refused with an error naming the file and the link type.
 * A reader may take a filter expression (pcap-filter(7), compiled for the
 * capture's own link type and run on the packet as captured): the packets
 * it rejects are counted and never delivered.
 *
 * Writers write classic pcap to a file or to standard output ("-"). A writer
 * created with nanosecond precision writes the nanosecond magic; otherwise
 * microseconds, which is lossless for input that had microseconds. A writer
 * buffers records and hands them over in large writes; it counts the
 * records it took and those that reached the output whole. The first failed
 * write is final: the records still buffered are lost (counted), and every
 * later call fails with the same error. A packet whose time does not fit a
 * pcap record (after 2106) is refused with an error, never wrapped.
 *
 * "live:IFACE" names a network interface: a reader of it takes the frames
 * that arrive on it (not those this host sends; through our own ring,
 * edp_afpacket, when it is Ethernet, libpcap's otherwise), never waits and
 * never ends (EDP_PCAP_AGAIN when nothing has arrived), and reads an
 * interface of another link type ("any": Linux cooked) as it reads such a
 * capture; a writer of it (Ethernet only) sends each frame as it is, in
 * batches that flush and close hand over, waiting out a full device queue.
 * "xdp:IFACE" reads the interface through AF_XDP (edp_xsk), or through
 * AF_PACKET as live:IFACE when that cannot be had (edp_pcap_reader_note
 * says why); a writer of it is live:IFACE's.
 *
 * Errors always name the file ("-" is called "stdin"/"stdout"). A reader that
 * fails mid-file has delivered every packet before the fault.
 *
 * Thread-safety: a reader or writer belongs to one thread.
 */
#ifndef EDP_PCAPIO_H
#define EDP_PCAPIO_H

#include <pcap/pcap.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "edp_error.h"
#include "edp_mbuf.h"

struct edp_pcap_reader;
struct edp_pcap_writer;

#define EDP_LIVE_PREFIX "live:"
#define EDP_XDP_PREFIX "xdp:"
/* The interface "live:IFACE" or "xdp:IFACE" names; NULL for a file. */
static inline const char *edp_pcap_iface(const char *path)
{
	if (strncmp(path, EDP_LIVE_PREFIX, sizeof(EDP_LIVE_PREFIX) - 1) == 0)
		return path + sizeof(EDP_LIVE_PREFIX) - 1;
	if (strncmp(path, EDP_XDP_PREFIX, sizeof(EDP_XDP_PREFIX) - 1) == 0)
		return path + sizeof(EDP_XDP_PREFIX) - 1;
	return NULL;
}
/* A writer's buffer: it holds at most this many records not yet written
 * (a record takes 16 bytes and its captured bytes). */
#define EDP_PCAP_WRITE_BUFFER (1u << 16)
#define EDP_PCAP_MAX_BUFFERED (EDP_PCAP_WRITE_BUFFER / 16)
#define EDP_PCAP_AGAIN 2 /* a live reader has nothing now */
#define EDP_PCAP_MAX_SNAPLEN 262144u /* libpcap's largest: no record is longer */

/* True when paths a and b are one file, pipe or socket: the same name (a
 * file not made yet too), a link or another name of it; "-" is the
 * descriptor a_std (or b_std) stands for: 0 for an input, 1 for an output.
 * Under other names a character device (/dev/null) is never the same:
 * writing it twice harms nothing. */
bool edp_pcap_same_file(const char *a, int a_std, const char *b, int b_std);

/* Open `path` ("-" = stdin). On failure returns NULL with err set
 * (EDP_ERR_RUNTIME): missing, directory, empty, bad magic, truncated header,
 * unsupported link type. */
struct edp_pcap_reader *edp_pcap_reader_open(const char *path, struct edp_error *err);
void edp_pcap_reader_close(struct edp_pcap_reader *r);
/* A regular file in classic pcap format (version 2.4) is read in windows
 * (edp_pcapfile), with the same packets and errors as libpcap's read;
 * edp_pcap_reader_open_libpcap opens it for libpcap's read (the tests'
 * reference), and edp_pcap_reader_windowed says which a reader is. */
struct edp_pcap_reader *edp_pcap_reader_open_libpcap(const char *path, struct edp_error *err);
bool edp_pcap_reader_windowed(const struct edp_pcap_reader *r);

/* True when the file stores nanosecond timestamps (or is pcapng, whose
 * resolution may be finer than microseconds). */
bool edp_pcap_reader_nanosecond(const struct edp_pcap_reader *r);
/* The file's snapshot length: no packet's capture length exceeds it. */
uint32_t edp_pcap_reader_snaplen(const struct edp_pcap_reader *r);
/* Records read so far (the filter's rejects included). */
uint64_t edp_pcap_reader_packets(const struct edp_pcap_reader *r);
/* A live reader: frames the kernel or the interface dropped before they
 * could be read (a full capture buffer); 0 for a capture file. */
uint64_t edp_pcap_reader_kernel_drops(const struct edp_pcap_reader *r);
/* An interface read through a ring of our own (edp_afpacket: an Ethernet
 * interface, which a hand-over can move; or AF_XDP's UMEMs): true, with its
 * size and (when queued is not NULL: a walk over them, not for a hot path;
 * 0 for AF_XDP) the frames waiting in it. */
bool edp_pcap_reader_ring(const struct edp_pcap_reader *r, uint32_t *queued, uint32_t *frames, uint64_t *bytes);

/* Read r through the filter expression expr (NULL: none), compiled for
 * r's link type. Errors: EDP_ERR_USAGE with libpcap's message. */
int edp_pcap_reader_set_filter(struct edp_pcap_reader *r, const char *expr, struct edp_error *err);
/* Packets the filter rejected so far (counted in edp_pcap_reader_packets). */
uint64_t edp_pcap_reader_filtered(const struct edp_pcap_reader *r);
/* The capture's link type's name when its packets are given an Ethernet
 * header (e.g. "LINUX_SLL"), NULL for Ethernet; and how many were. */
const char *edp_pcap_reader_link(const struct edp_pcap_reader *r);
uint64_t edp_pcap_reader_framed(const struct edp_pcap_reader *r);

/* A capture file's or pipe's reader handed from one process to another
 * (edp-migrate): the descriptor it reads, and the bytes the next reader
 * must take before the descriptor's: a file header as the source's, then
 * what the source had read ahead and not used. The next reader goes on
 * at the next record, whether the input is a file or a pipe. */
struct edp_pcap_handover {
	int fd;             /* -1: none */
	uint8_t *bytes;
	size_t len;
	bool nanosecond;
};

/* Hand r over between two reads: h gets a duplicate of its descriptor and
 * the bytes above; r must read no more (close it). Only classic pcap
 * (microseconds or nanoseconds, either byte order); errors name the file. */
int edp_pcap_reader_handover(struct edp_pcap_reader *r, struct edp_pcap_handover *h, struct edp_error *err);

/* A reader that goes on from h (whose descriptor and bytes it takes),
 * called `name` in errors. */
struct edp_pcap_reader *edp_pcap_reader_adopt(struct edp_pcap_handover *h, const char *name, struct edp_error *err);

/* After a hand-over another process took: r's descriptor now reads
 * /dev/null, so that nothing r does from now on (its close) touches the
 * input the other process reads. */
void edp_pcap_reader_detach(struct edp_pcap_reader *r);

/* Whether r reads a pipe, a FIFO, a socket or a terminal: a read may wait
 * for the writer, and a burst takes what has come (a record whole in the
 * read-ahead, or the next one), not a full burst. */
bool edp_pcap_reader_pipe(const struct edp_pcap_reader *r);

/* The descriptor a capture is read from (-1: none, an interface). */
int edp_pcap_reader_fd(const struct edp_pcap_reader *r);
/* How far into it the capture was read, in bytes (-1: not known, an
 * interface or a pipe); from any thread. */
int64_t edp_pcap_reader_offset(const struct edp_pcap_reader *r);
/* An interface's descriptor to poll for frames (-1: not an interface). */
int edp_pcap_reader_pollfd(const struct edp_pcap_reader *r);

/* Put an interface's reader in PACKET_FANOUT group `group` of its
 * interface: the kernel hands each frame to one socket of the group, a
 * flow's frames always to the same one (libpcap's sockets: in hash mode;
 * ours: to the first member until edp_pcap_reader_fanout_spread, then by
 * the flow, edp_afpacket_spread). What r took before it joined is passed
 * over: ours read from the group's start (edp_afpacket_fanout: none lost
 * after it, none twice); libpcap's, with `copies` (another member joined
 * first, and r took every frame it did), pass over the frames stamped
 * before the join, which may let one copy through or pass one frame
 * over. Errors name the interface. */
int edp_pcap_reader_fanout(struct edp_pcap_reader *r, uint16_t group, bool copies, struct edp_error *err);
/* r's group has all its members: spread the frames over them (our own
 * rings' groups; nothing for libpcap's, which spread from the start). */
int edp_pcap_reader_fanout_spread(struct edp_pcap_reader *r, struct edp_error *err);

/* How a reader takes an interface's frames (NONE: it reads a capture). */
enum edp_pcap_socket { EDP_SOCKET_NONE, EDP_SOCKET_LIBPCAP, EDP_SOCKET_AF_PACKET, EDP_SOCKET_AF_XDP };
enum edp_pcap_socket edp_pcap_reader_socket(const struct edp_pcap_reader *r);
/* "libpcap", "af_packet", "af_xdp" ("" for NONE). */
const char *edp_pcap_socket_name(enum edp_pcap_socket s);

/* "xdp:IFACE" read through AF_PACKET (edp_xsk could not open it): a line
 * that says so and why; NULL otherwise. */
const char *edp_pcap_reader_note(const struct edp_pcap_reader *r);
/* The receive queues an AF_XDP reader reads (0: not one). */
uint32_t edp_pcap_reader_queues(const struct edp_pcap_reader *r);
/* Another thread's reader of an AF_XDP reader's interface: the queues q
 * with q % n == k (0 < k < n), taken out of r, which has read nothing yet
 * (edp_xsk_split). Its filter is set apart. NULL with err when r has no
 * such queue. */
struct edp_pcap_reader *edp_pcap_reader_split(struct edp_pcap_reader *r, uint32_t k, uint32_t n,
					      struct edp_error *err);

/* Why r cannot be handed over (NULL: it can, being a classic pcap or a
 * pcapng file or pipe, or an Ethernet interface). */
const char *edp_pcap_reader_unmovable(const struct edp_pcap_reader *r);

/* A classic pcap (not pcapng, not an interface). */
bool edp_pcap_reader_classic(const struct edp_pcap_reader *r);

/* Before a read of a capture from a pipe (a FIFO, a socket): wait until
 * it has bytes (or ends), or until *stop (false: stopped, nothing read).
 * The wait is between two records (libpcap has taken whole records and
 * stdio holds nothing), so a stop, or a stun that hands the pipe over,
 * meets no half-read record and does not wait for the writer. At once
 * for a file, or when bytes were read ahead. */
bool edp_pcap_reader_wait(struct edp_pcap_reader *r, const volatile sig_atomic_t *stop);

/* What a hand-over holds, when no reader took it. */
void edp_pcap_handover_free(struct edp_pcap_handover *h);

/* One packet as libpcap delivered it: valid until the next read. */
struct edp_pcap_packet {
	const uint8_t *data;
	uint32_t caplen, wire_len;
	uint64_t ts_ns;
};

/* Read the next packet without copying it. Returns 1, 0 at the end, -1 on
 * a read error or a corrupt or truncated file (err says which packet), and
 * EDP_PCAP_AGAIN from a live reader with nothing to read now. */
int edp_pcap_reader_read(struct edp_pcap_reader *r, struct edp_pcap_packet *pkt, struct edp_error *err);

/* A filter expression for Ethernet packets that come from no reader (a
 * vport's). Errors: EDP_ERR_USAGE with libpcap's message. */
struct edp_pcap_filter;
struct edp_pcap_filter *edp_pcap_filter_new(const char *expr, struct edp_error *err);
/* Whether f takes pkt; one it rejects is counted (edp_pcap_filter_rejected,
 * 0 for NULL). */
bool edp_pcap_filter_takes(struct edp_pcap_filter *f, const struct edp_pcap_packet *pkt);
uint64_t edp_pcap_filter_rejected(const struct edp_pcap_filter *f);
void edp_pcap_filter_free(struct edp_pcap_filter *f);

/* Called with each packet of a burst, in order; pkt is valid until it
 * returns. */
typedef void (*edp_pcap_packet_fn)(void *ctx, const struct edp_pcap_packet *pkt);

/* Read up to `max` records of a capture file (not a live reader) with one
 * call into libpcap (pcap_dispatch: a third cheaper a packet than
 * pcap_next_ex's call each) and hand each packet the filter takes to fn.
 * Returns the records read (0 at the end; more than were handed over when
 * the filter rejected some), or -1 for a read error or a corrupt or
 * truncated file met before the first of them (err says which packet): one
 * met after some records is returned by the next call, so every packet
 * before the fault is delivered first. */
int edp_pcap_reader_read_burst(struct edp_pcap_reader *r, uint32_t max, edp_pcap_packet_fn fn, void *ctx,
			       struct edp_error *err);

/* The same with the caller's own libpcap callback, for a reading loop that
 * does its per-packet work there (one call a packet where fn is a second).
 * The callback's user data starts with a struct edp_pcap_burst, and the
 * callback takes each packet with edp_pcap_burst_take. Returns as
 * edp_pcap_reader_read_burst. */
struct edp_pcap_burst {
	uint32_t n;
};
int edp_pcap_reader_dispatch(struct edp_pcap_reader *r, uint32_t max, pcap_handler fn, struct edp_pcap_burst *b,
			     struct edp_error *err);

/* A capture file's packet as libpcap's callback has it (the file opened
 * with nanosecond timestamps), valid until the callback returns. */
static inline void edp_pcap_file_packet(const struct pcap_pkthdr *h, const u_char *data, struct edp_pcap_packet *pkt)
{
	pkt->data = data;
	pkt->caplen = h->caplen;
	pkt->wire_len = h->len < h->caplen ? h->caplen : h->len;
	/* a pcap file's seconds are an unsigned 32-bit field, which libpcap
	 * hands over sign-extended: from 2038 on they would come out negative */
	uint64_t sec = h->ts.tv_sec < 0 ? (uint32_t)h->ts.tv_sec : (uint64_t)h->ts.tv_sec;
	pkt->ts_ns = sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
}

/* In an edp_pcap_reader_dispatch callback: make the packet an
 * edp_pcap_packet and count it in the burst at the start of the user data
 * (the count the dispatch returns). Returns its index in the burst. */
static inline uint32_t edp_pcap_burst_take(u_char *user, const struct pcap_pkthdr *h, const u_char *data,
					   struct edp_pcap_packet *pkt)
{
	edp_pcap_file_packet(h, data, pkt);
	return ((struct edp_pcap_burst *)user)->n++;
}

/* Read the next packet into m (data, data_len, wire_len, ts_ns).
 * Returns 1 for a packet, 0 at the end of the file, -1 on a read error or a
 * corrupt or truncated file (err says which packet and why). */
int edp_pcap_reader_next(struct edp_pcap_reader *r, struct edp_mbuf *m, struct edp_error *err);

/* Create `path` ("-" = stdout) as an Ethernet pcap. */
struct edp_pcap_writer *edp_pcap_writer_open(const char *path, bool nanosecond, uint32_t snaplen,
					     struct edp_error *err);
/* Hand w's output to another process (edp-migrate): what it holds is
 * written first, then *fd gets a duplicate of its descriptor and
 * *nanosecond its precision; w must write no more (close it). A live
 * interface's writer is refused. */
int edp_pcap_writer_handover(struct edp_pcap_writer *w, int *fd, bool *nanosecond, struct edp_error *err);

/* The same for a writer handed over: what it holds is dropped (it was
 * written at the hand-over) and its descriptor writes to /dev/null. */
void edp_pcap_writer_detach(struct edp_pcap_writer *w);

/* A writer that goes on writing records to fd (taken), a pcap output
 * begun by another writer: no second file header. */
struct edp_pcap_writer *edp_pcap_writer_adopt(int fd, bool nanosecond, const char *name, struct edp_error *err);

/* Append one packet. Returns 0, or -1 with err set when the write failed. */
int edp_pcap_writer_write(struct edp_pcap_writer *w, const struct edp_mbuf *m, struct edp_error *err);

/* A packet as the writer takes it: its bytes and what its record says
 * (a writer on another core then needs none of the descriptor's line). */
struct edp_pcap_record {
	const uint8_t *data;
	uint64_t ts_ns;
	uint32_t caplen, wire_len;
};

static inline struct edp_pcap_record edp_pcap_record_of(const struct edp_mbuf *m)
{
	return (struct edp_pcap_record){ m->data, m->ts_ns, m->data_len, m->wire_len };
}

/* The latest time a classic pcap record holds (its seconds are 32 bits),
 * in nanoseconds: the last of second 0xffffffff. */
#define EDP_PCAP_LAST_NS ((0xffffffffull + 1) * 1000000000ull - 1)

/* Whether rec's time fits a classic pcap record (a writer refuses one
 * that does not, after the packets before it): a compare a record, the
 * division into seconds left to the header that is written. */
static inline bool edp_pcap_record_fits(const struct edp_pcap_record *rec)
{
	return rec->ts_ns <= EDP_PCAP_LAST_NS;
}

/* rec's classic pcap record header (in this host's byte order, the time
 * in nanoseconds or microseconds) at dst, 16 bytes. rec fits
 * (edp_pcap_record_fits). */
static inline void edp_pcap_record_header(uint8_t *dst, const struct edp_pcap_record *rec, bool nanosecond)
{
	uint64_t sec = rec->ts_ns / 1000000000ull, frac = rec->ts_ns % 1000000000ull;
	uint32_t h[4] = { (uint32_t)sec, (uint32_t)(nanosecond ? frac : frac / 1000), rec->caplen, rec->wire_len };
	memcpy(dst, h, 16);
}

/* rec as a whole record (header and bytes) at dst, which has room for
 * 16 + caplen bytes; returns that size. */
static inline uint32_t edp_pcap_record_format(uint8_t *dst, const struct edp_pcap_record *rec, bool nanosecond)
{
	edp_pcap_record_header(dst, rec, nanosecond);
	memcpy(dst + 16, rec->data, rec->caplen);
	return 16 + rec->caplen;
}

/* Append n packets. Returns 0, or -1 with err set when a write failed
 * (the packets after the failure were not taken: see edp_pcap_writer_counts). */
int edp_pcap_writer_write_records(struct edp_pcap_writer *w, const struct edp_pcap_record *rec, uint32_t n,
				  struct edp_error *err);
/* Append n records formatted already (edp_pcap_record_format, in this
 * writer's precision: edp_pcap_writer_nanosecond), len bytes of them whose
 * wire lengths add up to wire_bytes: what is buffered goes out first, then
 * the block in one write. Not for an interface. Returns 0, or -1 with err
 * set when a write failed (the records that went out whole are counted
 * written: edp_pcap_writer_counts). */
int edp_pcap_writer_write_block(struct edp_pcap_writer *w, const uint8_t *bytes, size_t len, uint32_t n,
				uint64_t wire_bytes, struct edp_error *err);
bool edp_pcap_writer_nanosecond(const struct edp_pcap_writer *w);
/* Hand what is buffered to the file or pipe now. Returns 0, or -1 with err
 * set when the write failed. */
int edp_pcap_writer_flush(struct edp_pcap_writer *w, struct edp_error *err);
/* Records taken by write/write_records so far, and those of them that
 * reached the output whole (a live writer: sent), with their wire lengths
 * (written_bytes may be NULL). After a failure the difference is what was
 * lost; before close it also holds what is still buffered. */
void edp_pcap_writer_counts(const struct edp_pcap_writer *w, uint64_t *accepted, uint64_t *written,
			    uint64_t *written_bytes);
/* Flush and close; returns 0, or -1 with err set when any write failed. */
int edp_pcap_writer_close(struct edp_pcap_writer *w, struct edp_error *err);

/* A live writer: sends that found the device queue full and waited. */
uint64_t edp_pcap_writer_retried(const struct edp_pcap_writer *w);

#endif
