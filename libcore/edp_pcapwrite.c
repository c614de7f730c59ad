/* edp_pcapio's writers: capture files and pipes written from a buffer of
 * our own, and network interfaces sent on in batches (edp_pcaplive.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edp_pcapio.h"
#include "edp_pcapio_impl.h"

static int write_failed(struct edp_pcap_writer *w, struct edp_error *err)
{
	edp_error_set(err, EDP_ERR_RUNTIME, "%s: write failed: %s", w->name, strerror(w->failed));
	return -1;
}

/* Write n bytes; returns how many went out before a failure (errno set). */
static size_t write_all(int fd, const void *p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = write(fd, (const uint8_t *)p + done, n - done);
		if (k > 0)
			done += (size_t)k;
		else if (k == 0)
			errno = EIO;
		if (k <= 0 && errno != EINTR)
			break;
	}
	return done;
}

/* The records of buf[0, done) that went out whole, counted written. */
static void count_whole(struct edp_pcap_writer *w, const uint8_t *buf, size_t done)
{
	for (size_t at = 0; at + 16 <= done;) {
		uint32_t len[2];
		memcpy(len, buf + at + 8, 8); /* caplen, wire length */
		if (at + 16 + len[0] > done)
			break;
		at += 16 + len[0];
		w->written++;
		w->written_bytes += len[1];
	}
}

/* Hand the buffer to the output. On a failure the records that went out
 * whole count as written, the rest are lost, and the writer takes no more. */
static int writer_drain(struct edp_pcap_writer *w, struct edp_error *err)
{
	if (w->failed)
		return write_failed(w, err);
	size_t done = write_all(w->fd, w->buf, w->used);
	if (done < w->used) {
		w->failed = errno ? errno : EIO;
		count_whole(w, w->buf, done);
		w->used = 0;
		return write_failed(w, err);
	}
	w->written = w->accepted;
	w->written_bytes = w->accepted_bytes;
	w->used = 0;
	return 0;
}

struct edp_pcap_writer *edp_pcap_writer_open(const char *path, bool nanosecond, uint32_t snaplen,
					     struct edp_error *err)
{
	struct edp_pcap_writer *w = calloc(1, sizeof(*w));
	if (!w) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", path);
		return NULL;
	}
	bool is_stdout = strcmp(path, "-") == 0;
	snprintf(w->name, sizeof(w->name), "%s", is_stdout ? "stdout" : path);
	w->fd = -1;
	const char *iface = edp_pcap_iface(path);
	if (iface) {
		w->live = calloc(1, sizeof(*w->live));
		if (!w->live || !(w->live_pcap = edp_pcap_live_open(iface, false, err))) {
			if (!w->live)
				edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", path);
			free(w->live);
			free(w);
			return NULL;
		}
		w->live->fd = pcap_fileno(w->live_pcap);
		return w;
	}
	w->fd = is_stdout ? 1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	w->own_fd = !is_stdout;
	if (w->fd < 0) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot create: %s", w->name, strerror(errno));
		free(w);
		return NULL;
	}
	w->nanosecond = nanosecond;
	w->buf = malloc(EDP_PCAP_WRITE_BUFFER);
	if (!w->buf) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", w->name);
		edp_pcap_writer_close(w, NULL);
		return NULL;
	}
	struct { /* the file header, in this host's byte order as its magic says */
		uint32_t magic;
		uint16_t major, minor;
		int32_t thiszone;
		uint32_t sigfigs, snaplen, linktype;
	} head = { nanosecond ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, 2, 4, 0, 0, snaplen, DLT_EN10MB };
	_Static_assert(sizeof(head) == 24, "pcap file header");
	if (write_all(w->fd, &head, sizeof(head)) < sizeof(head)) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot write the pcap header: %s", w->name, strerror(errno));
		edp_pcap_writer_close(w, NULL);
		return NULL;
	}
	return w;
}

int edp_pcap_writer_write_records(struct edp_pcap_writer *w, const struct edp_pcap_record *rec, uint32_t n,
				  struct edp_error *err)
{
	if (__builtin_expect(w->live != NULL, 0)) {
		for (uint32_t i = 0; i < n; i++)
			if (edp_pcap_live_send(w, &rec[i], err) < 0)
				return -1;
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t caplen = rec[i].caplen;
		if (__builtin_expect(!edp_pcap_record_fits(&rec[i]), 0)) { /* refused, after the packets before it */
			if (writer_drain(w, err) == 0)
				edp_error_set(err, EDP_ERR_RUNTIME,
					      "%s: packet %llu: time %llu s is after 2106-02-07, the last a pcap file holds",
					      w->name, (unsigned long long)w->accepted + 1,
					      (unsigned long long)(rec[i].ts_ns / 1000000000ull));
			return -1;
		}
		if (__builtin_expect(w->used + 16 + caplen > EDP_PCAP_WRITE_BUFFER, 0) && writer_drain(w, err) < 0)
			return -1;
		if (__builtin_expect(16 + caplen > EDP_PCAP_WRITE_BUFFER, 0)) { /* larger than the buffer: straight out */
			edp_pcap_record_header(w->buf, &rec[i], w->nanosecond);
			size_t done = write_all(w->fd, w->buf, 16);
			if (done == 16)
				done += write_all(w->fd, rec[i].data, caplen);
			w->accepted++;
			w->accepted_bytes += rec[i].wire_len;
			if (done < 16 + (size_t)caplen) {
				w->failed = errno ? errno : EIO;
				return write_failed(w, err);
			}
			w->written = w->accepted;
			w->written_bytes = w->accepted_bytes;
			continue;
		}
		w->used += edp_pcap_record_format(w->buf + w->used, &rec[i], w->nanosecond);
		w->accepted++;
		w->accepted_bytes += rec[i].wire_len;
	}
	return 0;
}

int edp_pcap_writer_write(struct edp_pcap_writer *w, const struct edp_mbuf *m, struct edp_error *err)
{
	struct edp_pcap_record rec = edp_pcap_record_of(m);
	return edp_pcap_writer_write_records(w, &rec, 1, err);
}

int edp_pcap_writer_flush(struct edp_pcap_writer *w, struct edp_error *err)
{
	if (w->live)
		return edp_pcap_live_flush(w, err);
	return writer_drain(w, err);
}

int edp_pcap_writer_write_block(struct edp_pcap_writer *w, const uint8_t *bytes, size_t len, uint32_t n,
				uint64_t wire_bytes, struct edp_error *err)
{
	if (w->live)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: an interface is not written records", w->name), -1;
	if (writer_drain(w, err) < 0)
		return -1;
	w->accepted += n;
	w->accepted_bytes += wire_bytes;
	size_t done = write_all(w->fd, bytes, len);
	if (done < len) {
		w->failed = errno ? errno : EIO;
		count_whole(w, bytes, done);
		return write_failed(w, err);
	}
	w->written = w->accepted;
	w->written_bytes = w->accepted_bytes;
	return 0;
}

bool edp_pcap_writer_nanosecond(const struct edp_pcap_writer *w) { return w->nanosecond; }

void edp_pcap_writer_counts(const struct edp_pcap_writer *w, uint64_t *accepted, uint64_t *written,
			    uint64_t *written_bytes)
{
	*accepted = w->accepted;
	*written = w->written;
	if (written_bytes)
		*written_bytes = w->written_bytes;
}

int edp_pcap_writer_handover(struct edp_pcap_writer *w, int *fd, bool *nanosecond, struct edp_error *err)
{
	*fd = -1;
	if (w->live)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: a live interface's writer cannot be handed over", w->name);
	if (writer_drain(w, err))
		return -1;
	if ((*fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot hand over: %s", w->name, strerror(errno));
	*nanosecond = w->nanosecond;
	return 0;
}

void edp_pcap_writer_detach(struct edp_pcap_writer *w)
{
	if (!w || w->live)
		return;
	w->used = 0;
	edp_pcap_put_null_over(w->fd);
}

struct edp_pcap_writer *edp_pcap_writer_adopt(int fd, bool nanosecond, const char *name, struct edp_error *err)
{
	struct edp_pcap_writer *w = calloc(1, sizeof(*w));
	if (w && !(w->buf = malloc(EDP_PCAP_WRITE_BUFFER))) {
		free(w);
		w = NULL;
	}
	if (!w) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", name);
		return NULL;
	}
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->fd = fd;
	w->own_fd = true;
	w->nanosecond = nanosecond;
	return w;
}

int edp_pcap_writer_close(struct edp_pcap_writer *w, struct edp_error *err)
{
	if (!w)
		return 0;
	int rc = 0;
	if (w->live) {
		rc = edp_pcap_live_flush(w, err);
		pcap_close(w->live_pcap);
		free(w->live);
		free(w);
		return rc;
	}
	if (w->buf)
		rc = writer_drain(w, err);
	if (w->own_fd && close(w->fd) < 0 && !rc) { /* stdout is the caller's to close */
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: write failed: %s", w->name, strerror(errno));
		rc = -1;
	}
	free(w->buf);
	free(w);
	return rc;
}
