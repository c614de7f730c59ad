/* edp-fastpath: the in-memory fast path benchmark. Preloads a capture into
 * packet buffers, then runs edp_datapath_process over it PASSES times (no
 * file I/O) and prints packets, seconds, Mpps and the flow-cache figures.
 *
 * usage: edp-fastpath CONFIG|- TRACE [PASSES]
 *   CONFIG "-" is the default two-port wire. Every port's output is set to
 *   /dev/null so that forwarding verdicts are real (nothing is written). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edp_config.h"
#include "edp_datapath.h"
#include "edp_pcapio.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int die(const struct edp_error *err)
{
	fprintf(stderr, "edp-fastpath: %s\n", err->msg);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: edp-fastpath CONFIG|- TRACE [PASSES]\n");
		return 2;
	}
	unsigned passes = argc > 3 ? (unsigned)atoi(argv[3]) : 1;
	struct edp_error err = { 0 };
	struct edp_config cfg;
	if (strcmp(argv[1], "-") == 0)
		edp_config_default(&cfg);
	else if (edp_config_load(&cfg, argv[1], &err))
		return die(&err);
	for (uint32_t i = 0; i < cfg.n_ports; i++) {
		free(cfg.ports[i].rx);
		free(cfg.ports[i].tx);
		cfg.ports[i].rx = NULL;
		cfg.ports[i].tx = strdup("/dev/null");
	}
	/* count and size the capture, then preload it */
	struct edp_pcap_reader *r = edp_pcap_reader_open(argv[2], &err);
	if (!r)
		return die(&err);
	uint32_t snap = edp_pcap_reader_snaplen(r);
	struct edp_mbuf_pool *scratch_pool = edp_mbuf_pool_create(1, snap, &err);
	struct edp_mbuf *scratch;
	edp_mbuf_alloc_bulk(scratch_pool, &scratch, 1);
	uint64_t count = 0;
	uint32_t maxlen = 64;
	int rc;
	while ((rc = edp_pcap_reader_next(r, scratch, &err)) == 1) {
		count++;
		if (scratch->data_len > maxlen)
			maxlen = scratch->data_len;
	}
	edp_pcap_reader_close(r);
	if (rc < 0 || count == 0)
		return rc < 0 ? die(&err) : 1;
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create((uint32_t)count, maxlen, &err);
	struct edp_mbuf **pkts = malloc(count * sizeof(*pkts));
	if (!pool || !pkts || edp_mbuf_alloc_bulk(pool, pkts, (uint32_t)count) != count)
		return die(&err);
	r = edp_pcap_reader_open(argv[2], &err);
	for (uint64_t i = 0; i < count; i++) {
		edp_pcap_reader_next(r, pkts[i], &err);
		pkts[i]->in_port = 0;
	}
	edp_pcap_reader_close(r);

	struct edp_datapath *dp = edp_datapath_create(&cfg, &err);
	if (!dp)
		return die(&err);
	double t0 = now();
	for (unsigned p = 0; p < passes; p++)
		edp_datapath_process(dp, pkts, (uint32_t)count);
	double secs = now() - t0;
	struct edp_datapath_stats st;
	edp_datapath_stats(dp, &st);
	uint64_t lookups = st.flow_cache.hits + st.flow_cache.misses;
	printf("packets=%llu seconds=%.6f mpps=%.3f hit_rate=%.4f slow_path_runs=%llu slow_path_per_s=%.0f forwarded=%llu dropped=%llu\n",
	       (unsigned long long)st.packets_in, secs, (double)st.packets_in / secs / 1e6,
	       lookups ? (double)st.flow_cache.hits / (double)lookups : 0.0,
	       (unsigned long long)st.slow_path_runs, (double)st.slow_path_runs / secs,
	       (unsigned long long)st.packets_forwarded, (unsigned long long)st.packets_dropped);
	edp_datapath_close_outputs(dp, NULL);
	edp_datapath_destroy(dp);
	edp_mbuf_free_bulk(pkts, (uint32_t)count);
	free(pkts);
	edp_mbuf_pool_destroy(pool);
	edp_mbuf_free_bulk(&scratch, 1);
	edp_mbuf_pool_destroy(scratch_pool);
	edp_config_free(&cfg);
	return 0;
}
