/* Shared helpers of the libFuzzer harnesses (tests/fuzz/fuzz_*.c): each
 * harness hands one input to the engine that takes it from another process
 * or a user, the way a binary would, and checks what must hold. */
#ifndef EDP_FUZZ_H
#define EDP_FUZZ_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edp_config.h"
#include "edp_datapath.h"

/* libFuzzer's entry point, defined by each target */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(c)                                                                      \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* A directory of this process's own (run directory, temporary files),
 * made once under $EDP_FUZZ_TMP (which scripts/run-fuzz removes) or /tmp. */
static inline const char *fuzz_dir(void)
{
	static char dir[256];
	if (!dir[0]) {
		const char *base = getenv("EDP_FUZZ_TMP");
		snprintf(dir, sizeof(dir), "%s/edp-fuzz-XXXXXX", base && *base ? base : "/tmp");
		FUZZ_CHECK(mkdtemp(dir));
		setenv("EDP_RUNDIR", dir, 1);
	}
	return dir;
}

/* The input written to the file `name` in fuzz_dir(); returns its path
 * (a static buffer per name slot). */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
	static char path[4][320];
	static int next;
	char *p = path[next++ % 4];
	snprintf(p, sizeof(path[0]), "%s/%s", fuzz_dir(), name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	close(fd);
	return p;
}

/* A pcap file of one Ethernet/IPv4/UDP frame in fuzz_dir(), for a
 * datapath's input; its path. */
static inline const char *fuzz_capture(void)
{
	static const uint8_t pcap[] = {
		0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0, /* header */
		1, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 42, 0, 0, 0,                                       /* record */
		2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0,                                               /* ethernet */
		0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,                     /* ipv4 */
		0x30, 0x39, 0, 53, 0, 8, 0, 0,                                                          /* udp */
	};
	return fuzz_file("in.pcap", pcap, sizeof(pcap));
}

/* A datapath (made, not running) on ports in (reading fuzz_capture())
 * and out (writing /dev/null), with `rest` of the YAML after them: the
 * pipeline a target's inputs meet. cfg must outlive it. */
static inline struct edp_datapath *fuzz_datapath(struct edp_config *cfg, const char *rest)
{
	char yaml[2048];
	int n = snprintf(yaml, sizeof(yaml), "ports:\n  - { name: in, rx: %s }\n  - { name: out, tx: /dev/null }\n%s",
			 fuzz_capture(), rest);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(yaml));
	struct edp_error err;
	FUZZ_CHECK(edp_config_load(cfg, fuzz_file("cfg.yaml", (const uint8_t *)yaml, (size_t)n), &err) == 0);
	struct edp_datapath *dp = edp_datapath_create(cfg, &err);
	FUZZ_CHECK(dp);
	return dp;
}

#endif
