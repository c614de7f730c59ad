/* A configuration file: loaded or refused with file:line:column, never a
 * crash, a hang or a leak; one that loads builds a datapath. */
#include "fuzz.h"

#include "edp_config.h"
#include "edp_datapath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("config.yaml", data, size);
	struct edp_config cfg;
	struct edp_error err = { 0 };
	int rc = edp_config_load(&cfg, path, &err);
	FUZZ_CHECK(rc == 0 || (rc == EDP_ERR_USAGE && strncmp(err.msg, path, strlen(path)) == 0));
	if (rc == 0) {
		for (uint32_t i = 0; i < cfg.n_ports; i++) { /* no files: the engines only */
			free(cfg.ports[i].rx);
			free(cfg.ports[i].tx);
			cfg.ports[i].rx = NULL;
			cfg.ports[i].tx = i % 2 ? strdup("/dev/null") : NULL;
		}
		cfg.threads = 0;
		edp_datapath_destroy(edp_datapath_create(&cfg, &err));
	}
	edp_config_free(&cfg);
	return 0;
}
