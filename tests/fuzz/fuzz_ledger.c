/* A ledger file: refused with its name, or read; a ledger read is written
 * and reads back the same (what is written is never refused). */
#include "fuzz.h"

#include "edp_ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("ledger.yaml", data, size);
	struct edp_ledger l, back;
	struct edp_error err = { 0 };
	int rc = edp_ledger_read(&l, path, &err);
	FUZZ_CHECK(rc == 0 || (rc == EDP_ERR_RUNTIME && strstr(err.msg, path)));
	if (rc == 0) {
		char out[320];
		snprintf(out, sizeof(out), "%s/written.yaml", fuzz_dir());
		unlink(out);
		if (edp_ledger_write(&l, out, &err) == 0) {
			FUZZ_CHECK(edp_ledger_read(&back, out, &err) == 0);
			FUZZ_CHECK(back.n == l.n && back.generation == l.generation);
			for (uint32_t i = 0; i < l.n; i++)
				FUZZ_CHECK(memcmp(&back.claims[i], &l.claims[i], sizeof(l.claims[i])) == 0);
			edp_ledger_free(&back);
		}
	}
	edp_ledger_free(&l);
	return 0;
}
