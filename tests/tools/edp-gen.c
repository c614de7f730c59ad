/* edp-gen: write a synthetic capture (see edp_synth.h) for tests and
 * benchmarks.  Usage: edp-gen SPEC OUT.pcap ("-" = stdout) [Q/N]
 * With Q/N only the packets edp-run's RSS puts on queue Q of N are kept
 * (to make one receive queue hot). */
#include <stdio.h>
#include <string.h>

#include "edp_flow.h"
#include "edp_mbuf.h"
#include "edp_parse.h"
#include "edp_pcapio.h"
#include "edp_synth.h"

static unsigned rss_queue(const struct edp_mbuf *m, unsigned n)
{
	struct edp_flow_key key;
	struct edp_parse_result pr;
	edp_parse(m->data, m->data_len, m->wire_len, 0, &key, &pr);
	return edp_flow_rss_queue(edp_flow_rss_hash(&key), n);
}

int main(int argc, char **argv)
{
	unsigned q = 0, nq = 0;
	if (argc == 4 && (sscanf(argv[3], "%u/%u", &q, &nq) != 2 || q >= nq))
		argc = 0;
	if (argc < 3 || argc > 4 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: edp-gen SPEC OUT.pcap [QUEUE/QUEUES]\n  SPEC: flows=N,packets=N,size=64|imix|MIN-MAX,proto=udp|tcp|mix,v6=R,vlan=V,seed=S,gap-ns=N,ttl=T\n");
		return 2;
	}
	struct edp_error err = { 0 };
	struct edp_synth_spec spec;
	if (edp_synth_parse(argv[1], &spec, &err)) {
		fprintf(stderr, "edp-gen: %s\n", err.msg);
		return err.status;
	}
	struct edp_synth *s = edp_synth_create(&spec, &err);
	struct edp_mbuf_pool *pool = edp_mbuf_pool_create(1, EDP_SYNTH_MAX_FRAME, &err);
	struct edp_pcap_writer *w = s && pool ? edp_pcap_writer_open(argv[2], false, 65535, &err) : NULL;
	struct edp_mbuf *m;
	int rc = 0;
	if (!w || edp_mbuf_alloc_bulk(pool, &m, 1) != 1) {
		fprintf(stderr, "edp-gen: %s\n", err.msg);
		return 1;
	}
	while (edp_synth_next(s, m) == 1)
		if ((!nq || rss_queue(m, nq) == q) && edp_pcap_writer_write(w, m, &err) < 0) {
			rc = 1;
			break;
		}
	if (edp_pcap_writer_close(w, rc ? NULL : &err) < 0 || rc) {
		fprintf(stderr, "edp-gen: %s\n", err.msg);
		rc = 1;
	}
	edp_mbuf_free_bulk(&m, 1);
	edp_mbuf_pool_destroy(pool);
	edp_synth_destroy(s);
	return rc;
}
