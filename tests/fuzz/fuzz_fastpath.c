/* A frame through the parser, and through the fast path with a firewall,
 * a router and a learning switch (flow cache, slow path, actions): never a
 * read past the frame, a verdict or a drop reason for every packet. */
#include "fuzz.h"

#include "edp_config.h"
#include "edp_datapath.h"
#include "edp_parse.h"

static const char config[] = "ports:\n"
			     "  - { name: uplink, mac: \"02:00:00:00:00:fe\" }\n"
			     "  - { name: vm1, mac: \"02:00:00:00:01:fe\" }\n"
			     "  - { name: vm2 }\n"
			     "flow-cache: { entries: 1024 }\n"
			     "pipeline:\n"
			     "  firewall:\n"
			     "    default: allow\n"
			     "    rules:\n"
			     "      - { priority: 100, proto: udp, dst-port: 53, action: drop }\n"
			     "      - { dst: \"2001:db8:1::/64\", proto: tcp, dst-port: 22, action: drop }\n"
			     "      - { vlan: 7, action: drop }\n"
			     "      - { ethertype: arp, in-port: vm2, action: drop }\n"
			     "  router:\n"
			     "    routes:\n"
			     "      - { prefix: 192.168.0.0/17, port: vm1, next-hop-mac: \"02:00:00:00:01:01\" }\n"
			     "      - { prefix: \"2001:db8:1::/48\", port: vm1, next-hop-mac: \"02:00:00:00:01:02\" }\n"
			     "  switch: { ageing-s: 300, mac-table-size: 1024 }\n";

static struct edp_config cfg;
static struct edp_datapath *dp;
static struct edp_mbuf_pool *pool;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct edp_error err;
	if (!dp) {
		FUZZ_CHECK(edp_config_load(&cfg, fuzz_file("fastpath.yaml", (const uint8_t *)config, sizeof(config) - 1),
					   &err) == 0);
		for (uint32_t i = 0; i < cfg.n_ports; i++)
			cfg.ports[i].tx = strdup("/dev/null");
		FUZZ_CHECK((dp = edp_datapath_create(&cfg, &err)) != NULL);
		FUZZ_CHECK((pool = edp_mbuf_pool_create(1, 65536, &err)) != NULL);
	}
	if (size < 1 || size > 65536)
		return 0;
	/* the first byte: ingress port and how much of the frame was captured */
	uint16_t in_port = (uint16_t)(data[0] % 3);
	const uint8_t *frame = data + 1;
	uint32_t len = (uint32_t)size - 1, wire = len + (data[0] >> 2);
	/* a copy of exactly the captured bytes: ASan sees a read past them */
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, frame, len);
	struct edp_flow_key key, full_key;
	struct edp_parse_result pr, full_pr;
	memset(&key, 0, sizeof(key));
	memset(&full_key, 0, sizeof(full_key));
	int rc = edp_parse(copy, len, wire, in_port, &key, &pr);
	/* the shortcut and the general parser agree */
	FUZZ_CHECK(edp_parse_full(copy, len, wire, in_port, &full_key, &full_pr) == rc);
	FUZZ_CHECK(rc != EDP_PARSE_OK || memcmp(&key, &full_key, sizeof(key)) == 0);
	free(copy);

	struct edp_mbuf *m;
	FUZZ_CHECK(edp_mbuf_alloc_bulk(pool, &m, 1) == 1);
	memcpy(edp_mbuf_buf(m), frame, len);
	edp_mbuf_init(m, len, wire, 1000000000ull, in_port);
	edp_datapath_process(dp, &m, 1);
	FUZZ_CHECK(m->out_ports || (m->drop_reason > 0 && m->drop_reason < EDP_DROP_REASONS));
	FUZZ_CHECK(!(m->out_ports >> cfg.n_ports));
	edp_mbuf_free_bulk(&m, 1);
	struct edp_datapath_stats st;
	edp_datapath_stats(dp, &st);
	FUZZ_CHECK(st.packets_in == st.packets_forwarded + st.packets_dropped);
	return 0;
}
