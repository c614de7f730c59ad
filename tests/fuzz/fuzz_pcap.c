/* A capture: read to its end or refused, the same in edp's windows as
 * through libpcap; what was read is written and reads back the same, and
 * reads the same when its reader is handed over half-way; the datapath
 * (inline and 2 threads) conserves every packet it reads. */
#include "fuzz.h"

#include <signal.h>

#include "edp_config.h"
#include "edp_datapath.h"
#include "edp_pcapio.h"
#include "edp_run.h"

static void run_datapath(const char *in, const char *out, uint32_t threads, uint64_t readable)
{
	struct edp_config cfg;
	edp_config_default(&cfg);
	cfg.ports[0].rx = strdup(in);
	cfg.ports[1].tx = strdup(out);
	cfg.threads = threads;
	struct edp_error err;
	static volatile sig_atomic_t stop;
	struct edp_datapath *dp = edp_datapath_create(&cfg, &err);
	if (dp) {
		int rc = edp_run(dp, &stop, &err);
		int crc = edp_datapath_close_outputs(dp, &err);
		struct edp_datapath_stats st;
		edp_datapath_stats(dp, &st);
		FUZZ_CHECK(st.packets_in == st.packets_forwarded + st.packets_dropped);
		FUZZ_CHECK(st.packets_in <= readable || rc);
		FUZZ_CHECK(rc || crc || st.packets_in == readable);
		edp_datapath_destroy(dp);
	}
	edp_config_free(&cfg);
}

/* A reader handed over after `half` of its n packets (edp-migrate) goes
 * on in the reader that adopts it with the rest, as one that was not
 * handed over reads them; or the hand-over is refused with a message. */
static void handed_over(const char *in, uint64_t n, uint64_t half)
{
	struct edp_error err;
	struct edp_pcap_reader *a = edp_pcap_reader_open(in, &err), *b = edp_pcap_reader_open(in, &err), *c = NULL;
	FUZZ_CHECK(a && b);
	struct edp_pcap_packet pa, pb;
	for (uint64_t i = 0; i < half; i++)
		FUZZ_CHECK(edp_pcap_reader_read(a, &pa, &err) == 1 && edp_pcap_reader_read(b, &pb, &err) == 1);
	struct edp_pcap_handover h;
	if (edp_pcap_reader_handover(a, &h, &err)) {
		FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
	} else {
		edp_pcap_reader_detach(a); /* its close must not move the offset the adopter reads from */
		c = edp_pcap_reader_adopt(&h, in, &err);
		edp_pcap_handover_free(&h);
		FUZZ_CHECK(c);
		for (uint64_t i = half; i < n; i++) {
			FUZZ_CHECK(edp_pcap_reader_read(c, &pa, &err) == 1 && edp_pcap_reader_read(b, &pb, &err) == 1);
			FUZZ_CHECK(pa.caplen == pb.caplen && pa.wire_len == pb.wire_len && pa.ts_ns == pb.ts_ns &&
				   memcmp(pa.data, pb.data, pa.caplen) == 0);
		}
		FUZZ_CHECK(edp_pcap_reader_read(c, &pa, &err) == edp_pcap_reader_read(b, &pb, &err));
	}
	edp_pcap_reader_close(a);
	edp_pcap_reader_close(b);
	edp_pcap_reader_close(c);
}

/* Up to 5 packets of a burst, copied. */
struct burst_copy {
	uint32_t n;
	struct edp_pcap_packet pkt[5];
	uint8_t data[5][EDP_PCAP_MAX_SNAPLEN];
};

static void copy_packet(void *ctx, const struct edp_pcap_packet *pkt)
{
	struct burst_copy *c = ctx;
	FUZZ_CHECK(c->n < 5 && pkt->caplen <= EDP_PCAP_MAX_SNAPLEN);
	memcpy(c->data[c->n], pkt->data, pkt->caplen);
	c->pkt[c->n] = *pkt;
	c->pkt[c->n].data = c->data[c->n];
	c->n++;
}

static bool same_packet(const struct edp_pcap_packet *a, const struct edp_pcap_packet *b)
{
	return a->caplen == b->caplen && a->wire_len == b->wire_len && a->ts_ns == b->ts_ns &&
	       memcmp(a->data, b->data, a->caplen) == 0;
}

/* A classic pcap file is read in windows (edp_pcapfile) as libpcap
 * reads it: the same packets, one at a time and in bursts, and the same
 * end, or the same error after the same packet. */
static void windowed_as_libpcap(const char *in)
{
	static struct burst_copy c;
	struct edp_error ea = { 0 }, eb = { 0 };
	for (int bursts = 0; bursts < 2; bursts++) {
		struct edp_pcap_reader *a = edp_pcap_reader_open(in, &ea), *b = edp_pcap_reader_open_libpcap(in, &eb);
		FUZZ_CHECK(!a == !b);
		if (!a) {
			FUZZ_CHECK(strcmp(ea.msg, eb.msg) == 0);
			return;
		}
		FUZZ_CHECK(!edp_pcap_reader_windowed(b));
		struct edp_pcap_packet pa, pb;
		int ra;
		do {
			c.n = 0;
			if (bursts)
				ra = edp_pcap_reader_read_burst(a, 5, copy_packet, &c, &ea);
			else if ((ra = edp_pcap_reader_read(a, &pa, &ea)) == 1)
				copy_packet(&c, &pa);
			FUZZ_CHECK(ra <= 0 || (uint32_t)ra == c.n);
			for (uint32_t i = 0; i < c.n; i++)
				FUZZ_CHECK(edp_pcap_reader_read(b, &pb, &eb) == 1 && same_packet(&c.pkt[i], &pb));
		} while (ra > 0);
		int rb = edp_pcap_reader_read(b, &pb, &eb);
		FUZZ_CHECK(ra == 0 ? rb == 0 : rb < 0 && strcmp(ea.msg, eb.msg) == 0);
		edp_pcap_reader_close(a);
		edp_pcap_reader_close(b);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = fuzz_file("in.pcap", data, size);
	windowed_as_libpcap(in);
	char out[320];
	snprintf(out, sizeof(out), "%s/out.pcap", fuzz_dir());
	struct edp_error err;
	struct edp_pcap_reader *r = edp_pcap_reader_open(in, &err);
	if (!r)
		return 0;
	struct edp_pcap_writer *w = edp_pcap_writer_open(out, edp_pcap_reader_nanosecond(r), edp_pcap_reader_snaplen(r),
							 &err);
	FUZZ_CHECK(w);
	struct edp_pcap_packet pkt;
	uint64_t n = 0, late = 0;
	int rc;
	while ((rc = edp_pcap_reader_read(r, &pkt, &err)) == 1) {
		FUZZ_CHECK(pkt.caplen <= edp_pcap_reader_snaplen(r) && pkt.caplen <= pkt.wire_len);
		struct edp_pcap_record rec = { pkt.data, pkt.ts_ns, pkt.caplen, pkt.wire_len };
		if (edp_pcap_writer_write_records(w, &rec, 1, &err) < 0) {
			late = 1; /* a time past 2106: refused, the rest is not compared */
			break;
		}
		n++;
	}
	edp_pcap_reader_close(r);
	FUZZ_CHECK(edp_pcap_writer_close(w, &err) == 0);
	/* what was written reads back, packet for packet */
	struct edp_pcap_reader *a = edp_pcap_reader_open(in, &err), *b = edp_pcap_reader_open(out, &err);
	FUZZ_CHECK(a && b);
	struct edp_pcap_packet pa, pb;
	for (uint64_t i = 0; i < n; i++) {
		FUZZ_CHECK(edp_pcap_reader_read(a, &pa, &err) == 1 && edp_pcap_reader_read(b, &pb, &err) == 1);
		FUZZ_CHECK(pa.caplen == pb.caplen && pa.wire_len == pb.wire_len && memcmp(pa.data, pb.data, pa.caplen) == 0);
		FUZZ_CHECK(edp_pcap_reader_nanosecond(a) ? pa.ts_ns == pb.ts_ns : pa.ts_ns / 1000 == pb.ts_ns / 1000);
	}
	FUZZ_CHECK(edp_pcap_reader_read(b, &pb, &err) == 0);
	edp_pcap_reader_close(a);
	edp_pcap_reader_close(b);
	handed_over(in, n, n / 2);
	if (!late) {
		run_datapath(in, out, 0, n);
		run_datapath(in, out, 2, n);
	}
	return 0;
}
