/* A checkpoint another process or a file hands us (edp-migrate inspect,
 * edp-run --restore): any bytes are refused with a message or taken
 * whole; what is taken writes back to a stream of the same size, and is
 * restored into a datapath (a firewall, routes, a switch, two threads)
 * or refused with a message: its ports, its MAC ports and VLANs, its
 * flows' ports, its config hash (also allowed: MACs only). */
#include "fuzz.h"

#include "edp_checkpoint.h"
#include "edp_config.h"
#include "edp_datapath.h"
#include "edp_reload.h"
#include "edp_state.h"

/* The datapath restores go into (the ports of the seed corpus: in, out). */
static struct edp_datapath *datapath(void)
{
	static struct edp_datapath *dp;
	static struct edp_config cfg;
	if (dp)
		return dp;
	return dp = fuzz_datapath(&cfg,
				  "datapath: { threads: 2, rx-queues: 2 }\nflow-cache: { entries: 4096 }\n"
				  "pipeline:\n  firewall: { default: allow, rules: [ { proto: tcp, action: drop } ] }\n"
				  "  router: { routes: [ { prefix: 10.0.0.0/8, port: out, next-hop-mac: \"02:00:00:00:00:09\" } ] }\n"
				  "  switch: { mac-table-size: 1024 }\n");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct edp_checkpoint ck;
	struct edp_error err = { 0 };
	if (edp_checkpoint_parse(data, size, "fuzz", &ck, &err)) {
		FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
		FUZZ_CHECK(!ck.macs && !ck.flows);
		return 0;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	FUZZ_CHECK(f);
	uint64_t bytes = ck.bytes;
	FUZZ_CHECK(edp_checkpoint_write(f, "fuzz", &ck, &err) == 0);
	fclose(f);
	/* the sections may come in another order: the same size, parsed the same */
	FUZZ_CHECK(len == bytes);
	struct edp_checkpoint again;
	FUZZ_CHECK(edp_checkpoint_parse((const uint8_t *)buf, len, "again", &again, &err) == 0);
	FUZZ_CHECK(again.n_macs == ck.n_macs && again.n_flows == ck.n_flows && again.config_hash == ck.config_hash);
	edp_checkpoint_free(&again);
	/* as it is, allowed another config, and as if taken under this one
	 * (its flows then decided by this pipeline and cached, its MACs the
	 * switch's exactly) */
	struct edp_restore_report rr;
	struct edp_config_id id;
	edp_datapath_config_id(datapath(), &id);
	for (int pass = 0; pass < 3; pass++) {
		if (pass == 2)
			ck.config_hash = id.hash;
		unsigned flags = pass == 1 ? EDP_RESTORE_ALLOW_CONFIG_CHANGE : pass == 2 ? EDP_RESTORE_EXACT_MACS : 0;
		if (edp_datapath_restore(datapath(), &ck, "fuzz", flags, &rr, &err))
			FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
		else
			FUZZ_CHECK(rr.macs + rr.macs_left == ck.n_macs && rr.flows + rr.flows_left == ck.n_flows);
	}
	edp_checkpoint_free(&ck);
	free(buf);
	return 0;
}
