/* edp-iofloor: edp's own reading and writing of a capture file, without
 * the datapath: the reader edp-run takes for a file (a classic pcap from a
 * mapping), each packet copied into a buffer as it is into a packet
 * buffer, its record written through edp's pcap writer. The floor of
 * `edp-run -r IN -w OUT` on this design: the rest of a run's time is the
 * datapath (edp-fastpath measures that part alone).
 *
 * usage: edp-iofloor IN OUT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edp_pcapio.h"

#define BURST 32

struct burst {
	struct edp_pcap_burst b; /* first: see edp_pcap_reader_dispatch */
	struct edp_pcap_record rec[BURST];
	uint8_t *buf; /* room for BURST packets of the snapshot length */
	size_t used;  /* packed as a pool's buffers are: a small packet takes little room */
};

static void take(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct burst *b = (struct burst *)user;
	struct edp_pcap_packet pkt;
	uint32_t i = edp_pcap_burst_take(user, h, data, &pkt);
	uint8_t *copy = b->buf + b->used;
	memcpy(copy, pkt.data, pkt.caplen);
	b->used += (pkt.caplen + 63) & ~63u;
	b->rec[i] = (struct edp_pcap_record){ copy, pkt.ts_ns, pkt.caplen, pkt.wire_len };
}

static int die(const char *what)
{
	fprintf(stderr, "edp-iofloor: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: edp-iofloor IN OUT\n");
		return 2;
	}
	struct edp_error err = { 0 };
	struct edp_pcap_reader *r = edp_pcap_reader_open(argv[1], &err);
	if (!r)
		return die(err.msg);
	static struct burst b;
	uint32_t snaplen = edp_pcap_reader_snaplen(r);
	if (!(b.buf = malloc((size_t)BURST * (snaplen + 64))))
		return die("out of memory");
	struct edp_pcap_writer *w = edp_pcap_writer_open(argv[2], edp_pcap_reader_nanosecond(r), snaplen, &err);
	if (!w)
		return die(err.msg);
	unsigned long long n = 0;
	int k;
	while (b.b.n = 0, b.used = 0, (k = edp_pcap_reader_dispatch(r, BURST, take, &b.b, &err)) > 0) {
		if (edp_pcap_writer_write_records(w, b.rec, (uint32_t)k, &err))
			return die(err.msg);
		n += (unsigned)k;
	}
	if (k < 0 || edp_pcap_writer_close(w, &err))
		return die(err.msg);
	edp_pcap_reader_close(r);
	free(b.buf);
	printf("packets=%llu\n", n);
	return 0;
}
