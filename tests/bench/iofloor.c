/* edp-iofloor: edp's own reading and writing of a capture file, without
 * the datapath: the reader edp-run takes for a file (a classic pcap in
 * windows), each packet copied into a buffer as it is into a packet
 * buffer, its record written through edp's pcap writer. The floor of
 * `edp-run -r IN -w OUT` on this design: the rest of a run's time is the
 * datapath (edp-fastpath measures that part alone).
 *
 * --lookup adds the least a flow-cache datapath does to each packet on
 * top: its headers parsed into a flow key, the key hashed and looked up in
 * a flow cache of the default size (a miss inserts a fixed verdict), with
 * the buckets and entries of the burst asked for ahead; no classification,
 * actions or counters. The floor of any run that looks at every packet.
 *
 * usage: edp-iofloor [--lookup] IN OUT */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edp_config.h"
#include "edp_flowcache.h"
#include "edp_parse.h"
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

/* Parse, hash and look up the burst's packets, a miss inserting a verdict
 * that forwards. */
static void look_up(struct edp_flowcache *fc, const struct burst *b, uint32_t n)
{
	static const struct edp_action_prog forward = { .out_ports = 2 };
	struct edp_flow_key keys[BURST];
	uint32_t hashes[BURST];
	for (uint32_t i = 0; i < n; i++) {
		struct edp_parse_result pr;
		edp_parse(b->rec[i].data, b->rec[i].caplen, b->rec[i].wire_len, 0, &keys[i], &pr);
	}
	for (uint32_t i = 0; i < n; i++)
		hashes[i] = edp_flow_hash(&keys[i]);
	edp_flowcache_prefetch_buckets(fc, hashes, n);
	edp_flowcache_prefetch_entries(fc, hashes, n);
	for (uint32_t i = 0; i < n; i++)
		if (!edp_flowcache_lookup(fc, &keys[i], hashes[i], b->rec[i].ts_ns))
			edp_flowcache_insert(fc, &keys[i], hashes[i], &forward, b->rec[i].ts_ns);
}

static int die(const char *what)
{
	fprintf(stderr, "edp-iofloor: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	bool lookup = argc > 1 && strcmp(argv[1], "--lookup") == 0;
	if (argc != 3 + lookup) {
		fprintf(stderr, "usage: edp-iofloor [--lookup] IN OUT\n");
		return 2;
	}
	argv += lookup;
	struct edp_error err = { 0 };
	struct edp_flowcache *fc = NULL;
	static struct edp_config cfg; /* the flow cache's default size */
	edp_config_default(&cfg);
	if (lookup && !(fc = edp_flowcache_create(cfg.flow_cache_entries, NULL, &err)))
		return die(err.msg);
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
		if (fc)
			look_up(fc, &b, (uint32_t)k);
		if (edp_pcap_writer_write_records(w, b.rec, (uint32_t)k, &err))
			return die(err.msg);
		n += (unsigned)k;
	}
	if (k < 0 || edp_pcap_writer_close(w, &err))
		return die(err.msg);
	edp_pcap_reader_close(r);
	free(b.buf);
	if (fc) {
		const struct edp_flowcache_stats *st = edp_flowcache_stats(fc);
		printf("packets=%llu hits=%llu misses=%llu\n", n, (unsigned long long)st->hits,
		       (unsigned long long)st->misses);
		edp_flowcache_destroy(fc);
	} else
		printf("packets=%llu\n", n);
	return 0;
}
