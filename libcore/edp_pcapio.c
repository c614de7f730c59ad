#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "edp_pcapio.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "edp_afpacket.h"
#include "edp_linktype.h"
#include "edp_ngscan.h"
#include "edp_pcapio_impl.h"
#include "edp_pcapfile.h"
#include "edp_xsk.h"

#define PCAP_MAGIC_KUZNETSOV 0xa1b2cd34u
#define PCAPNG_MAGIC 0x0a0d0d0au
/* stdio buffer of a capture file read: 64 KiB stays in L2
 * between the syscall that fills (or drains) it and libpcap's small copies;
 * 1 MiB made reading 1,000,000 64-byte packets take 120 ms instead of 50 */
#define IO_BUFFER (1u << 16)

struct edp_pcap_reader {
	pcap_t *pcap;
	struct edp_afpacket *ring; /* an Ethernet interface: our own ring (libpcap's for the others) */
	struct edp_xsk *xsk;       /* "xdp:IFACE" read through AF_XDP */
	char note[600];            /* "xdp:IFACE" read through AF_PACKET: why */
	uint32_t ring_snaplen;
	FILE *fp;          /* the stream libpcap reads (maybe a replay cookie) */
	char *iobuf;
	bool nanosecond;
	bool live;         /* a network interface: never ends, never waits */
	uint32_t magic;    /* the file's first word, as read */
	int src_fd;        /* the descriptor the stream reads (for a hand-over) */
	bool may_block;    /* src_fd is a pipe, FIFO, socket or terminal: a read waits for the writer */
	struct replay_cookie *cookie; /* the stream's, when it is one (bytes before src_fd's) */
	uint64_t count;    /* records read, the filter's rejects included */
	int dlt;           /* the capture's link type */
	uint32_t link_hdr; /* not Ethernet: the bytes of its link header, replaced by an Ethernet one */
	bool framing;      /* not Ethernet: each packet is given an Ethernet header (frame) */
	uint8_t *frame;    /* ... built here: EDP_PCAP_MAX_SNAPLEN bytes */
	uint64_t framed;
	struct edp_pcapfile *file; /* a classic pcap file read in windows (libpcap read its header only) */
	char file_msg[PCAP_ERRBUF_SIZE]; /* ... the error it met, in libpcap's words */
	struct pcap_pkthdr file_hdr;     /* ... the header of its last record */
	struct edp_pcap_filter *filter; /* a filter expression (NULL: none): packets it rejects are counted, not delivered */
	bool failed;       /* a burst met an error after some packets: the next one returns it */
	struct edp_error failure;
	uint64_t copies_before_ns; /* a fanout member that joined late: frames stamped before this are copies */
	char name[256];
};

static int stream_open(struct edp_pcap_reader *r, struct edp_error *err);
static uint32_t capture_snaplen(const struct edp_pcap_reader *r);
/* A stdio cookie over a descriptor that cannot seek (a pipe): it gives back
 * the bytes already read to identify the format, then reads the descriptor
 * directly, returning whatever is available so that a packet is delivered as
 * soon as its bytes have arrived. */
/* A stream that gives `head` first, then what fd has: the magic a pipe's
 * reader already took, or the file header and the bytes read ahead of a
 * reader handed over (edp_pcap_reader_handover). */
struct replay_cookie {
	int fd;
	unsigned char *head;
	size_t head_len, head_pos;
	struct edp_ngscan *scan; /* a pcapng stream: its header blocks, kept as they pass */
};

static ssize_t replay_read(void *c, char *buf, size_t size)
{
	struct replay_cookie *rc = c;
	ssize_t n = 0;
	if (rc->head_pos < rc->head_len) {
		while (rc->head_pos < rc->head_len && (size_t)n < size)
			buf[n++] = (char)rc->head[rc->head_pos++];
	} else {
		n = read(rc->fd, buf, size);
	}
	if (rc->scan && n > 0)
		edp_ngscan_feed(rc->scan, (const uint8_t *)buf, (size_t)n);
	return n;
}

static int replay_close(void *c)
{
	struct replay_cookie *rc = c;
	if (rc->fd > 0)
		close(rc->fd);
	free(rc->head);
	edp_ngscan_free(rc->scan);
	free(rc);
	return 0;
}

/* A stream of head's bytes (taken) then fd's (taken), or NULL; *cookie
 * gets its state. A pcapng stream (head begins with its magic) keeps its
 * header blocks. */
static FILE *replay_stream(int fd, unsigned char *head, size_t len, struct replay_cookie **cookie)
{
	struct replay_cookie *rc = calloc(1, sizeof(*rc));
	*cookie = rc;
	cookie_io_functions_t io = { .read = replay_read, .close = replay_close };
	FILE *f = NULL;
	uint32_t magic = 0;
	memcpy(&magic, head, len >= 4 ? 4 : 0);
	if (rc) {
		*rc = (struct replay_cookie){ fd, head, len, 0, magic == PCAPNG_MAGIC ? edp_ngscan_new() : NULL };
		if ((magic == PCAPNG_MAGIC && !rc->scan) || !(f = fopencookie(rc, "rb", io))) {
			edp_ngscan_free(rc->scan);
			free(rc);
			*cookie = NULL;
		}
	}
	return f;
}

static uint32_t magic_of(const unsigned char b[4])
{
	uint32_t le = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return le;
}

static uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }

static bool known_magic(uint32_t m)
{
	return m == PCAP_MAGIC_USEC || m == PCAP_MAGIC_NSEC || m == PCAP_MAGIC_KUZNETSOV || m == PCAPNG_MAGIC;
}

/* r reads link type dlt: Ethernet as it is, the others framed. 0, or -1
 * with err set for a link type that is not read. */
static int link_set(struct edp_pcap_reader *r, int dlt, struct edp_error *err)
{
	int hdr = edp_linktype_header_len(dlt);
	if (hdr < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME,
				     "%s: link type %s (%d) is not supported (supported: EN10MB, LINUX_SLL, LINUX_SLL2, "
				     "RAW, IPV4, IPV6, NULL, LOOP)",
				     r->name, edp_linktype_name(dlt), dlt);
	r->dlt = dlt;
	r->link_hdr = (uint32_t)hdr;
	r->framing = dlt != DLT_EN10MB;
	if (r->framing && !r->frame && !(r->frame = malloc(EDP_PCAP_MAX_SNAPLEN)))
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", r->name);
	return 0;
}

/* Packet (h, data) of r's link type given an Ethernet header in r->frame
 * (edp_linktype_frame), counted. */
static inline const u_char *frame(struct edp_pcap_reader *r, const struct pcap_pkthdr *h, const u_char *data,
				  struct pcap_pkthdr *out)
{
	r->framed++;
	return edp_linktype_frame(r->dlt, r->link_hdr, r->frame, EDP_PCAP_MAX_SNAPLEN, h, data, out);
}

struct edp_pcap_filter {
	struct bpf_program prog;
	uint64_t filtered;
};

/* Whether filter f takes the packet (h, data) as the capture has it; a
 * packet it rejects is counted. */
static inline bool filter_takes(struct edp_pcap_filter *f, const struct pcap_pkthdr *h, const u_char *data)
{
	if (pcap_offline_filter(&f->prog, h, data))
		return true;
	f->filtered++;
	return false;
}

/* Read exactly n bytes unless the input ends; returns the count or -1 (a
 * signal interrupts it: the caller may be asked to stop). */
static ssize_t read_full(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int stat_of(const char *path, int std_fd, struct stat *st)
{
	return strcmp(path, "-") == 0 ? fstat(std_fd, st) : stat(path, st);
}

bool edp_pcap_same_file(const char *a, int a_std, const char *b, int b_std)
{
	struct stat sa, sb;
	if (strcmp(a, "-") == 0 && strcmp(b, "-") == 0 && a_std == b_std)
		return true;
	bool named_alike = strcmp(a, b) == 0 && strcmp(a, "-") != 0;
	if (stat_of(a, a_std, &sa)) /* a file not made yet is the same under the same name */
		return named_alike;
	if (S_ISCHR(sa.st_mode))
		return false;
	return named_alike || (stat_of(b, b_std, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

/* r reads network interface iface: our own ring when it is Ethernet,
 * libpcap's otherwise. r freed on failure. */
static int iface_open(struct edp_pcap_reader *r, const char *iface, struct edp_error *err)
{
	r->live = true;
	if (edp_afpacket_fits(iface)) {
		r->ring_snaplen = edp_pcap_live_snaplen(iface);
		if (!(r->ring = edp_afpacket_open(iface, r->ring_snaplen, err))) {
			free(r);
			return -1;
		}
		r->nanosecond = true;
		link_set(r, DLT_EN10MB, err); /* Ethernet: cannot fail */
		return 0;
	}
	if (!(r->pcap = edp_pcap_live_open(iface, true, err))) {
		free(r);
		return -1;
	}
	r->nanosecond = pcap_get_tstamp_precision(r->pcap) == PCAP_TSTAMP_PRECISION_NANO;
	if (link_set(r, pcap_datalink(r->pcap), err)) {
		edp_pcap_reader_close(r);
		return -1;
	}
	return 0;
}

/* A regular file in classic pcap format, version 2.4 (libpcap read its
 * header and found it sound): its records read in windows (edp_pcapfile),
 * unless there is no memory for one (then libpcap reads them). */
static void window_records(struct edp_pcap_reader *r)
{
	struct stat st;
	uint32_t plain = known_magic(r->magic) ? r->magic : bswap32(r->magic);
	if ((plain != PCAP_MAGIC_USEC && plain != PCAP_MAGIC_NSEC) || r->cookie || fstat(r->src_fd, &st) ||
	    !S_ISREG(st.st_mode) || pcap_major_version(r->pcap) != 2 || pcap_minor_version(r->pcap) != 4)
		return;
	r->file = edp_pcapfile_open(r->src_fd, 24, (uint32_t)pcap_snapshot(r->pcap), pcap_is_swapped(r->pcap),
				    plain == PCAP_MAGIC_USEC);
}

static struct edp_pcap_reader *open_reader(const char *path, bool windowed, struct edp_error *err)
{
	struct edp_pcap_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", path);
		return NULL;
	}
	bool is_stdin = strcmp(path, "-") == 0;
	snprintf(r->name, sizeof(r->name), "%s", is_stdin ? "stdin" : path);
	if (strncmp(path, EDP_XDP_PREFIX, strlen(EDP_XDP_PREFIX)) == 0) {
		const char *iface = path + strlen(EDP_XDP_PREFIX);
		struct edp_error why = { 0 };
		if ((r->xsk = edp_xsk_open(iface, edp_pcap_live_mtu(iface), &why))) {
			r->live = r->nanosecond = true;
			r->ring_snaplen = edp_pcap_live_snaplen(iface);
			link_set(r, DLT_EN10MB, err); /* Ethernet: cannot fail */
			return r;
		}
		snprintf(r->note, sizeof(r->note), "%s: read through AF_PACKET: %s", path, why.msg);
		return iface_open(r, iface, err) ? NULL : r;
	}
	if (strncmp(path, EDP_LIVE_PREFIX, strlen(EDP_LIVE_PREFIX)) == 0)
		return iface_open(r, path + strlen(EDP_LIVE_PREFIX), err) ? NULL : r;
	int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	unsigned char head[4];
	ssize_t got;
	if (fd < 0) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot open: %s", r->name, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: is a directory, not a capture file", r->name);
		goto fail;
	}
	got = read_full(fd, head, sizeof(head));
	if (got < 0) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot read: %s", r->name, strerror(errno));
		goto fail;
	}
	if (got == 0) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: empty file, not a pcap or pcapng capture", r->name);
		goto fail;
	}
	if (got < (ssize_t)sizeof(head)) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: truncated file header (%zd bytes)", r->name, got);
		goto fail;
	}
	uint32_t magic = magic_of(head);
	uint32_t m = known_magic(magic) ? magic : bswap32(magic);
	if (!known_magic(m)) {
		edp_error_set(err, EDP_ERR_RUNTIME,
			      "%s: bad magic 0x%02x%02x%02x%02x, not a pcap or pcapng capture", r->name,
			      head[0], head[1], head[2], head[3]);
		goto fail;
	}
	r->nanosecond = m == PCAP_MAGIC_NSEC || m == PCAPNG_MAGIC;

	r->magic = magic;
	r->src_fd = fd;
	r->may_block = fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode));
	if (m != PCAPNG_MAGIC && lseek(fd, 0, SEEK_SET) == 0) { /* pcapng: a stream that keeps its header blocks */
		r->fp = fdopen(fd, "rb");
	} else {
		unsigned char *copy = malloc(sizeof(head));
		if (copy)
			memcpy(copy, head, sizeof(head));
		if (copy && !(r->fp = replay_stream(fd, copy, sizeof(head), &r->cookie)))
			free(copy);
	}
	if (!r->fp) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot read: %s", r->name, strerror(errno));
		goto fail;
	}
	fd = -1; /* owned by r->fp now */
	if (stream_open(r, err))
		goto fail;
	if (windowed)
		window_records(r);
	return r;
fail:
	if (fd > 0)
		close(fd);
	edp_pcap_reader_close(r);
	return NULL;
}

struct edp_pcap_reader *edp_pcap_reader_open(const char *path, struct edp_error *err)
{
	return open_reader(path, true, err);
}

struct edp_pcap_reader *edp_pcap_reader_open_libpcap(const char *path, struct edp_error *err)
{
	return open_reader(path, false, err);
}

/* libpcap on r->fp (r->name and r->nanosecond set): a capture file of
 * Ethernet, or an error. */
static int stream_open(struct edp_pcap_reader *r, struct edp_error *err)
{
	r->iobuf = malloc(IO_BUFFER);
	if (r->iobuf)
		setvbuf(r->fp, r->iobuf, _IOFBF, IO_BUFFER);
	/* one thread owns the stream: spare libpcap's freads the stdio lock */
	__fsetlocking(r->fp, FSETLOCKING_BYCALLER);
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	r->pcap = pcap_fopen_offline_with_tstamp_precision(r->fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!r->pcap) {
		size_t l = strlen(ebuf);
		while (l && (ebuf[l - 1] == '\n' || ebuf[l - 1] == '.'))
			ebuf[--l] = 0;
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: %s", r->name, ebuf[0] ? ebuf : "unreadable capture");
	}
	return link_set(r, pcap_datalink(r->pcap), err);
}

int edp_pcap_reader_handover(struct edp_pcap_reader *r, struct edp_pcap_handover *h, struct edp_error *err)
{
	memset(h, 0, sizeof(*h));
	h->fd = -1;
	if (r->ring) { /* the socket, and where its ring is read */
		h->nanosecond = true;
		return edp_afpacket_handover(r->ring, &h->fd, &h->bytes, &h->len, err);
	}
	uint32_t m = r->magic, plain = known_magic(m) ? m : bswap32(m);
	struct edp_ngscan *scan = r->cookie ? r->cookie->scan : NULL;
	if (r->live || !r->fp || (plain != PCAP_MAGIC_USEC && plain != PCAP_MAGIC_NSEC && !scan))
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: only a classic pcap or pcapng file or pipe can be handed over",
				     r->name);
	/* the bytes stdio read ahead and libpcap has not taken yet (glibc's
	 * FILE: between the read pointer and the end of what it read), and
	 * those of the stream's head it has not read yet */
	size_t ahead = r->file ? 0 : (size_t)(r->fp->_IO_read_end - r->fp->_IO_read_ptr);
	size_t rest = r->cookie ? r->cookie->head_len - r->cookie->head_pos : 0;
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t zone;
		uint32_t sigfigs, snaplen, linktype;
	} head = { m, (uint16_t)pcap_major_version(r->pcap), (uint16_t)pcap_minor_version(r->pcap), 0, 0,
		    capture_snaplen(r), (uint32_t)r->dlt }; /* the file's version: before 2.3, libpcap reads a record's
							  * two lengths the other way round */
	uint8_t *lead = (uint8_t *)&head; /* what the next reader takes first */
	size_t lead_len = sizeof(head);
	if (scan) { /* pcapng: the section header and interfaces before the next block */
		const char *why = edp_ngscan_headers(scan, edp_ngscan_fed(scan) - ahead, &lead, &lead_len);
		if (why)
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot hand over: %s", r->name, why);
	} else if (m != plain) { /* the records are in the file's byte order: so is the header */
		head.major = __builtin_bswap16(head.major);
		head.minor = __builtin_bswap16(head.minor);
		head.snaplen = bswap32(head.snaplen);
		head.linktype = bswap32(head.linktype);
	}
	h->len = lead_len + ahead + rest;
	if ((h->bytes = malloc(h->len))) {
		memcpy(h->bytes, lead, lead_len);
		memcpy(h->bytes + lead_len, r->fp->_IO_read_ptr, ahead);
		if (rest)
			memcpy(h->bytes + lead_len + ahead, r->cookie->head + r->cookie->head_pos, rest);
	}
	if (scan)
		free(lead);
	if (!h->bytes)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", r->name);
	if (r->src_fd < 0 || (h->fd = fcntl(r->src_fd, F_DUPFD_CLOEXEC, 0)) < 0 ||
	    (r->file && lseek(h->fd, (off_t)edp_pcapfile_pos(r->file), SEEK_SET) < 0)) {
		free(h->bytes);
		h->bytes = NULL;
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot hand over: %s", r->name, strerror(errno));
	}
	h->nanosecond = r->nanosecond;
	return 0;
}

/* An interface's ring handed over: it goes on where the source stopped. */
static struct edp_pcap_reader *adopt_ring(struct edp_pcap_handover *h, const char *iface, const char *name,
					  struct edp_error *err)
{
	struct edp_pcap_reader *r = calloc(1, sizeof(*r));
	int fd = h->fd;
	h->fd = -1; /* the ring's, or closed */
	if (!r) {
		close(fd);
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", name);
		return NULL;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->live = r->nanosecond = true;
	r->ring_snaplen = edp_pcap_live_snaplen(iface);
	if (!(r->ring = edp_afpacket_adopt(fd, h->bytes, h->len, iface, r->ring_snaplen, err))) {
		free(r);
		return NULL;
	}
	link_set(r, DLT_EN10MB, err);
	return r;
}

struct edp_pcap_reader *edp_pcap_reader_adopt(struct edp_pcap_handover *h, const char *name, struct edp_error *err)
{
	if (strncmp(name, EDP_LIVE_PREFIX, strlen(EDP_LIVE_PREFIX)) == 0)
		return adopt_ring(h, name + strlen(EDP_LIVE_PREFIX), name, err);
	struct edp_pcap_reader *r = calloc(1, sizeof(*r));
	FILE *fp = r ? replay_stream(h->fd, h->bytes, h->len, &r->cookie) : NULL;
	if (!fp) {
		free(r);
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", name);
		return NULL;
	}
	memcpy(&r->magic, h->bytes, sizeof(r->magic));
	r->nanosecond = h->nanosecond || r->magic == PCAPNG_MAGIC;
	r->src_fd = h->fd;
	struct stat st;
	r->may_block = fstat(h->fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode));
	h->fd = -1; /* the stream's now */
	h->bytes = NULL;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->fp = fp;
	if (stream_open(r, err)) {
		edp_pcap_reader_close(r);
		return NULL;
	}
	return r;
}

void edp_pcap_handover_free(struct edp_pcap_handover *h)
{
	if (h->fd >= 0)
		close(h->fd);
	free(h->bytes);
	h->fd = -1;
	h->bytes = NULL;
}

void edp_pcap_reader_close(struct edp_pcap_reader *r)
{
	if (!r)
		return;
	edp_afpacket_close(r->ring);
	edp_xsk_close(r->xsk);
	edp_pcapfile_close(r->file);
	if (r->pcap)
		pcap_close(r->pcap); /* closes r->fp */
	else if (r->fp)
		fclose(r->fp);
	edp_pcap_filter_free(r->filter);
	free(r->frame);
	free(r->iobuf);
	free(r);
}

bool edp_pcap_reader_nanosecond(const struct edp_pcap_reader *r) { return r->nanosecond; }
/* The capture's own snapshot length (its link header included). */
static uint32_t capture_snaplen(const struct edp_pcap_reader *r)
{
	int s = r->ring || r->xsk ? (int)r->ring_snaplen : pcap_snapshot(r->pcap);
	return s <= 0 || (uint32_t)s > EDP_PCAP_MAX_SNAPLEN ? EDP_PCAP_MAX_SNAPLEN : (uint32_t)s;
}

uint32_t edp_pcap_reader_snaplen(const struct edp_pcap_reader *r)
{
	uint32_t s = capture_snaplen(r);
	return r->framing && s < EDP_PCAP_MAX_SNAPLEN - 14 ? s + 14 : r->framing ? EDP_PCAP_MAX_SNAPLEN : s;
}
uint64_t edp_pcap_reader_packets(const struct edp_pcap_reader *r) { return r->count; }

uint64_t edp_pcap_reader_kernel_drops(const struct edp_pcap_reader *r)
{
	struct pcap_stat ps;
	if (r->ring)
		return edp_afpacket_drops(r->ring);
	if (r->xsk)
		return edp_xsk_drops(r->xsk);
	if (!r->live || pcap_stats(r->pcap, &ps) < 0)
		return 0;
	return (uint64_t)ps.ps_drop + ps.ps_ifdrop;
}

bool edp_pcap_reader_ring(const struct edp_pcap_reader *r, uint32_t *queued, uint32_t *frames, uint64_t *bytes)
{
	if (r->xsk) {
		if (queued)
			*queued = 0; /* not asked of AF_XDP: it never moves */
		edp_xsk_ring(r->xsk, frames, bytes);
		return true;
	}
	if (!r->ring)
		return false;
	if (queued)
		*queued = edp_afpacket_queued(r->ring);
	edp_afpacket_ring(r->ring, frames, bytes);
	return true;
}

/* expr compiled for link type dlt; NULL with err set (EDP_ERR_USAGE with
 * libpcap's message). */
static struct edp_pcap_filter *filter_compile(const char *expr, int dlt, struct edp_error *err)
{
	pcap_t *p = pcap_open_dead(dlt, EDP_PCAP_MAX_SNAPLEN);
	struct edp_pcap_filter *f = calloc(1, sizeof(*f));
	if (!p || !f) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	} else if (pcap_compile(p, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		edp_error_set(err, EDP_ERR_USAGE, "filter expression '%s': %s", expr, pcap_geterr(p));
	} else {
		pcap_close(p);
		return f;
	}
	free(f);
	if (p)
		pcap_close(p);
	return NULL;
}

int edp_pcap_reader_set_filter(struct edp_pcap_reader *r, const char *expr, struct edp_error *err)
{
	edp_pcap_filter_free(r->filter);
	r->filter = NULL;
	if (!expr)
		return 0;
	struct edp_error why = { 0 };
	if (!(r->filter = filter_compile(expr, r->dlt, &why)))
		return edp_error_set(err, why.status, "%s (for %s, link type %s)", why.msg, r->name,
				     edp_linktype_name(r->dlt));
	return 0;
}

uint64_t edp_pcap_reader_filtered(const struct edp_pcap_reader *r) { return edp_pcap_filter_rejected(r->filter); }
uint64_t edp_pcap_reader_framed(const struct edp_pcap_reader *r) { return r->framed; }
const char *edp_pcap_reader_link(const struct edp_pcap_reader *r)
{
	return r->framing ? edp_linktype_name(r->dlt) : NULL;
}

struct edp_pcap_filter *edp_pcap_filter_new(const char *expr, struct edp_error *err)
{
	return filter_compile(expr, DLT_EN10MB, err);
}

bool edp_pcap_filter_takes(struct edp_pcap_filter *f, const struct edp_pcap_packet *pkt)
{
	struct pcap_pkthdr h = { { 0, 0 }, pkt->caplen, pkt->wire_len };
	return filter_takes(f, &h, pkt->data);
}

uint64_t edp_pcap_filter_rejected(const struct edp_pcap_filter *f) { return f ? f->filtered : 0; }

void edp_pcap_filter_free(struct edp_pcap_filter *f)
{
	if (!f)
		return;
	pcap_freecode(&f->prog);
	free(f);
}

int edp_pcap_reader_next(struct edp_pcap_reader *r, struct edp_mbuf *m, struct edp_error *err)
{
	struct edp_pcap_packet pkt;
	int rc = edp_pcap_reader_read(r, &pkt, err);
	if (rc != 1)
		return rc;
	if (pkt.caplen > m->buf_len)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: packet %llu: capture length %u exceeds the buffer (%u)",
				     r->name, (unsigned long long)r->count, pkt.caplen, m->buf_len), -1;
	memcpy(m->data, pkt.data, pkt.caplen);
	m->data_len = pkt.caplen;
	m->wire_len = pkt.wire_len;
	m->ts_ns = pkt.ts_ns;
	return 1;
}

static inline void to_packet(const struct edp_pcap_reader *r, const struct pcap_pkthdr *h, const u_char *data,
			     struct edp_pcap_packet *pkt)
{
	edp_pcap_file_packet(h, data, pkt);
	if (__builtin_expect(r->live, 0) && !r->nanosecond) /* a live capture in microseconds */
		pkt->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * 1000;
}

/* libpcap's error for the read after packet r->count, as one line. */
static int read_failed(struct edp_pcap_reader *r, struct edp_error *err)
{
	char msg[PCAP_ERRBUF_SIZE + 1];
	snprintf(msg, sizeof(msg), "%s", r->file ? r->file_msg : pcap_geterr(r->pcap));
	size_t l = strlen(msg);
	while (l && (msg[l - 1] == '\n' || msg[l - 1] == '.'))
		msg[--l] = 0;
	edp_error_set(err, EDP_ERR_RUNTIME, "%s: after packet %llu: %s", r->name,
		      (unsigned long long)r->count, msg[0] ? msg : "read error");
	return -1;
}

/* The next frame of r's ring (or AF_XDP sockets) as libpcap would hand
 * it (nanoseconds in tv_usec); false when there is none now. */
static inline bool ring_next(struct edp_pcap_reader *r, struct pcap_pkthdr *h, const u_char **data)
{
	if (r->xsk) {
		struct edp_xsk_frame x;
		if (!edp_xsk_next(r->xsk, &x))
			return false;
		h->ts.tv_sec = (time_t)(x.ts_ns / 1000000000u);
		h->ts.tv_usec = (suseconds_t)(x.ts_ns % 1000000000u);
		h->caplen = x.len < r->ring_snaplen ? x.len : r->ring_snaplen;
		h->len = x.len;
		*data = x.data;
		return true;
	}
	struct edp_afpacket_frame f;
	if (edp_afpacket_next(r->ring, &f)) {
		h->ts.tv_sec = (time_t)(f.ts_ns / 1000000000u);
		h->ts.tv_usec = (suseconds_t)(f.ts_ns % 1000000000u);
		h->caplen = f.caplen;
		h->len = f.wire_len;
		*data = f.data;
		return true;
	}
	return false;
}

/* The next record of a capture (or of an interface libpcap reads) as
 * pcap_next_ex gives it: from r's window when it has one. */
static inline int next_record(struct edp_pcap_reader *r, struct pcap_pkthdr **h, const u_char **data)
{
	if (!r->file)
		return pcap_next_ex(r->pcap, h, data);
	*h = &r->file_hdr;
	int rc = edp_pcapfile_next(r->file, &r->file_hdr, data, r->file_msg, sizeof(r->file_msg));
	return rc == 0 ? PCAP_ERROR_BREAK : rc;
}

#define FILE_BATCH 32 /* records taken from the window at a time */

/* pcap_dispatch over r's records: from its window when it has one. */
static inline int dispatch_records(struct edp_pcap_reader *r, uint32_t max, pcap_handler fn, u_char *user)
{
	if (!r->file)
		return pcap_dispatch(r->pcap, (int)max, fn, user);
	struct pcap_pkthdr h[FILE_BATCH];
	const u_char *data[FILE_BATCH];
	uint32_t n = 0;
	while (n < max) {
		int k = edp_pcapfile_next_batch(r->file, max - n < FILE_BATCH ? max - n : FILE_BATCH, h, data,
						r->file_msg, sizeof(r->file_msg));
		if (k <= 0)
			return k < 0 ? -1 : (int)n; /* as pcap_dispatch: -1 after the packets before the error */
		for (int i = 0; i < k; i++)
			fn(user, &h[i], data[i]);
		n += (uint32_t)k;
	}
	return (int)n;
}

int edp_pcap_reader_read(struct edp_pcap_reader *r, struct edp_pcap_packet *pkt, struct edp_error *err)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;
	if (r->ring || r->xsk) {
		struct pcap_pkthdr rh;
		while (ring_next(r, &rh, &data))
			if (r->count++, !r->filter || filter_takes(r->filter, &rh, data)) {
				edp_pcap_file_packet(&rh, data, pkt);
				return 1;
			}
		return EDP_PCAP_AGAIN;
	}
	while ((rc = next_record(r, &h, &data)) == 1) {
		if (__builtin_expect(r->copies_before_ns, 0)) {
			if ((uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec < r->copies_before_ns)
				continue;
			r->copies_before_ns = 0;
		}
		r->count++;
		if (r->filter && !filter_takes(r->filter, h, data))
			continue;
		struct pcap_pkthdr fh;
		if (r->framing)
			data = frame(r, h, data, &fh), h = &fh;
		to_packet(r, h, data, pkt);
		return 1;
	}
	if (rc == PCAP_ERROR_BREAK)
		return 0;
	if (rc == 0 && r->live)
		return EDP_PCAP_AGAIN;
	return read_failed(r, err);
}

bool edp_pcap_reader_pipe(const struct edp_pcap_reader *r) { return r->may_block; }

int edp_pcap_reader_fd(const struct edp_pcap_reader *r) { return r->live ? -1 : r->src_fd; }
int64_t edp_pcap_reader_offset(const struct edp_pcap_reader *r)
{
	return r->file ? (int64_t)edp_pcapfile_pos(r->file) : r->live ? -1 : (int64_t)lseek(r->src_fd, 0, SEEK_CUR);
}
bool edp_pcap_reader_windowed(const struct edp_pcap_reader *r) { return r->file; }
int edp_pcap_reader_pollfd(const struct edp_pcap_reader *r)
{
	return r->ring ? edp_afpacket_fd(r->ring) : r->xsk ? edp_xsk_fd(r->xsk) : r->live ? pcap_get_selectable_fd(r->pcap) : -1;
}

int edp_pcap_reader_fanout(struct edp_pcap_reader *r, uint16_t group, bool copies, struct edp_error *err)
{
	if (r->ring)
		return edp_afpacket_fanout(r->ring, group, err) ? -1 : 0;
	if (r->xsk) /* its queues were split (edp_pcap_reader_split): the device's hash spreads the flows */
		return 0;
	int arg = group | PACKET_FANOUT_HASH << 16;
	int fd = edp_pcap_reader_pollfd(r);
	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot join a fanout group: %s", r->name,
				     fd < 0 ? "not an interface" : strerror(errno)), -1;
	/* libpcap's ring (an interface that is not Ethernet): frames stamped
	 * before now are passed over; a stamp is when the frame came in, or
	 * when the kernel put it in the ring (a host where no socket asked for
	 * receive stamps), so one the group gave after the join linked the
	 * socket may be among them, or a copy the socket's own hook gave while
	 * it was being taken off may not */
	if (copies) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		r->copies_before_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	}
	return 0;
}

int edp_pcap_reader_fanout_spread(struct edp_pcap_reader *r, struct edp_error *err)
{
	return r->ring && edp_afpacket_spread(r->ring, err) ? -1 : 0;
}

const char *edp_pcap_reader_unmovable(const struct edp_pcap_reader *r)
{
	if (r->xsk)
		return "is read through AF_XDP: its frames are in this process's memory, which cannot be handed over";
	if (r->live && !r->ring)
		return "is not an Ethernet interface: libpcap reads it, and its socket cannot be handed over";
	if (!r->live && !edp_pcap_reader_classic(r) && !(r->cookie && r->cookie->scan))
		return "is a modified (Kuznetsov) pcap: only classic pcap and pcapng can be handed over";
	return NULL;
}

bool edp_pcap_reader_classic(const struct edp_pcap_reader *r)
{
	uint32_t plain = known_magic(r->magic) ? r->magic : bswap32(r->magic);
	return !r->live && (plain == PCAP_MAGIC_USEC || plain == PCAP_MAGIC_NSEC);
}

bool edp_pcap_reader_wait(struct edp_pcap_reader *r, const volatile sig_atomic_t *stop)
{
	if (r->live || !r->may_block || r->fp->_IO_read_ptr < r->fp->_IO_read_end ||
	    (r->cookie && r->cookie->head_pos < r->cookie->head_len))
		return true; /* a file, or bytes read already: a read takes them */
	for (;;) { /* the next byte is a record's first: nothing is half read if this gives up */
		struct pollfd p = { r->src_fd, POLLIN, 0 };
		if (poll(&p, 1, 5) > 0)
			return true; /* bytes, or the end, or an error: the read says which */
		if (*stop)
			return false;
	}
}

/* Of a classic pcap read from a pipe: how many records (up to max) stdio
 * holds whole, from its read pointer, which is at a record's start between
 * two reads. */
static uint32_t whole_records(const struct edp_pcap_reader *r, uint32_t max)
{
	const unsigned char *p = (const unsigned char *)r->fp->_IO_read_ptr;
	const unsigned char *end = (const unsigned char *)r->fp->_IO_read_end;
	bool swapped = !known_magic(r->magic);
	uint32_t n = 0;
	while (n < max && end - p >= 16) {
		uint32_t caplen;
		memcpy(&caplen, p + 8, 4);
		caplen = swapped ? bswap32(caplen) : caplen;
		if ((size_t)(end - p) - 16 < caplen)
			break;
		p += 16 + (size_t)caplen;
		n++;
	}
	return n;
}

/* A burst read through r's filter or framing: fn gets the packets the
 * filter takes, as Ethernet. */
struct view {
	struct edp_pcap_reader *r;
	pcap_handler fn;
	struct edp_pcap_burst *b;
	uint32_t records;
};

static void view_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct view *v = (struct view *)user;
	v->records++;
	if (v->r->filter && !filter_takes(v->r->filter, h, data))
		return;
	struct pcap_pkthdr fh;
	if (v->r->framing)
		data = frame(v->r, h, data, &fh), h = &fh;
	v->fn((u_char *)v->b, h, data);
}

int edp_pcap_reader_dispatch(struct edp_pcap_reader *r, uint32_t max, pcap_handler fn, struct edp_pcap_burst *b,
			     struct edp_error *err)
{
	/* from a pipe, libpcap's read of a burst would wait for the burst's
	 * last packet: it takes the records that are here (or the one that
	 * is coming), so none waits behind a packet not sent yet */
	if (r->may_block && edp_pcap_reader_classic(r)) {
		uint32_t whole = whole_records(r, max);
		max = whole ? whole : 1;
	}
	if (r->failed) {
		if (err)
			*err = r->failure;
		return -1;
	}
	uint32_t before = b->n, n;
	int rc;
	if (r->ring || r->xsk) { /* the frames the ring has now, up to max */
		struct view v = { r, fn, b, 0 };
		struct pcap_pkthdr h;
		const u_char *data;
		while (v.records < max && ring_next(r, &h, &data))
			view_packet((u_char *)&v, &h, data);
		r->count += v.records;
		return (int)v.records;
	}
	if (r->filter || r->framing) {
		struct view v = { r, fn, b, 0 };
		rc = dispatch_records(r, max, view_packet, (u_char *)&v);
		n = v.records;
	} else {
		rc = dispatch_records(r, max, fn, (u_char *)b);
		n = b->n - before;
	}
	r->count += n;
	if (rc >= 0) /* max records, or fewer at the end */
		return (int)n;
	if (!n)
		return read_failed(r, err);
	read_failed(r, &r->failure); /* returned after the packets before it */
	r->failed = true;
	return (int)n;
}

struct burst {
	struct edp_pcap_burst b; /* first: the user data of the callback */
	edp_pcap_packet_fn fn;
	void *ctx;
};

static void burst_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct burst *b = (struct burst *)user;
	struct edp_pcap_packet pkt;
	edp_pcap_burst_take(user, h, data, &pkt);
	b->fn(b->ctx, &pkt);
}

int edp_pcap_reader_read_burst(struct edp_pcap_reader *r, uint32_t max, edp_pcap_packet_fn fn, void *ctx,
			       struct edp_error *err)
{
	struct burst b = { { 0 }, fn, ctx };
	return edp_pcap_reader_dispatch(r, max, burst_packet, &b.b, err);
}

void edp_pcap_reader_detach(struct edp_pcap_reader *r)
{
	if (r && r->ring)
		edp_afpacket_detach(r->ring);
	else if (r && !r->live)
		edp_pcap_put_null_over(r->src_fd);
}

enum edp_pcap_socket edp_pcap_reader_socket(const struct edp_pcap_reader *r)
{
	return r->xsk ? EDP_SOCKET_AF_XDP : r->ring ? EDP_SOCKET_AF_PACKET : r->live ? EDP_SOCKET_LIBPCAP : EDP_SOCKET_NONE;
}

const char *edp_pcap_socket_name(enum edp_pcap_socket s)
{
	static const char *const names[] = { "", "libpcap", "af_packet", "af_xdp" };
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "";
}

const char *edp_pcap_reader_note(const struct edp_pcap_reader *r) { return r->note[0] ? r->note : NULL; }

uint32_t edp_pcap_reader_queues(const struct edp_pcap_reader *r) { return r->xsk ? edp_xsk_queues(r->xsk) : 0; }

struct edp_pcap_reader *edp_pcap_reader_split(struct edp_pcap_reader *r, uint32_t k, uint32_t n, struct edp_error *err)
{
	struct edp_pcap_reader *part = calloc(1, sizeof(*part));
	if (!part || !r->xsk) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: %s", r->name, part ? "not read through AF_XDP" : "out of memory");
		free(part);
		return NULL;
	}
	if (!(part->xsk = edp_xsk_split(r->xsk, k, n, err))) {
		free(part);
		return NULL;
	}
	part->live = part->nanosecond = true;
	part->ring_snaplen = r->ring_snaplen;
	snprintf(part->name, sizeof(part->name), "%s", r->name);
	link_set(part, DLT_EN10MB, err); /* Ethernet: cannot fail */
	return part;
}
