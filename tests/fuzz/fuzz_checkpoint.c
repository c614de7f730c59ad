/* A checkpoint another process or a file hands us (edp-migrate inspect,
 * edp-run --restore): any bytes are refused with a message or taken
 * whole; what is taken writes back to the same stream byte for byte. */
#include "fuzz.h"

#include "edp_checkpoint.h"

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
	edp_checkpoint_free(&ck);
	free(buf);
	return 0;
}
