/* A stats segment another process wrote: the input patches a live
 * segment's bytes (odd seqlocks, counts that flip, names with escapes) and
 * may shrink the file. The reader returns a copy whose counts fit what it
 * allocated and whose texts print safely, or an error, within its bounded
 * wait; never a crash or a SIGBUS. */
#include "fuzz.h"

#include <math.h>
#include <sys/stat.h>

#include "edp_monitor.h"
#include "edp_stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4 || size > 4096)
		return 0;
	fuzz_dir();
	edp_stats_read_wait(1000000); /* 1 ms, not 1 s: a damaged seqlock is a common input here */
	struct edp_error err;
	struct edp_stats_layout l = { .n_threads = 1u + data[0] % 4, .n_queues = 1u + data[1] % 8,
				      .n_ports = 1u + data[2] % 3, .config = "fuzz" };
	for (uint32_t i = 0; i < l.n_ports; i++)
		l.port_names[i] = "p";
	struct edp_stats_writer *w = edp_stats_create("fuzz", &l, &err);
	FUZZ_CHECK(w);
	char path[320];
	snprintf(path, sizeof(path), "%s/fuzz.stats", fuzz_dir());
	struct stat st;
	FUZZ_CHECK(stat(path, &st) == 0);
	int fd = open(path, O_RDWR);
	/* then patches: a 2-byte offset (mod the file), a length byte, bytes */
	for (size_t i = 4; i + 3 <= size;) {
		size_t off = (size_t)(data[i] | data[i + 1] << 8) % (size_t)st.st_size, n = data[i + 2] % 16;
		i += 3;
		n = n < size - i ? n : size - i;
		FUZZ_CHECK(pwrite(fd, data + i, n, (off_t)off) == (ssize_t)n);
		i += n;
	}
	if (data[3] & 1)
		FUZZ_CHECK(ftruncate(fd, (off_t)(data[3] >> 1) * 64) == 0);
	close(fd);
	struct edp_stats_snapshot snap;
	if (edp_stats_read("fuzz", &snap, &err) == 0) {
		FUZZ_CHECK(snap.header.n_threads <= 4096 && snap.header.n_queues <= 65536);
		for (const char *s = snap.header.control.config; *s; s++)
			FUZZ_CHECK(*s >= 0x20 && *s < 0x7f);
		for (uint32_t i = 0; i < snap.header.n_ports; i++)
			FUZZ_CHECK(strlen(snap.ports[i].name) < sizeof(snap.ports[i].name));
		for (uint32_t i = 0; i < EDP_STATS_EVENTS; i++) { /* what the printers show: finite numbers */
			const struct edp_stats_event *e = &snap.header.events[i];
			FUZZ_CHECK(isfinite(e->spread_before) && isfinite(e->spread_after) && isfinite(e->spread_measured) &&
				   isfinite(e->speedup) && isfinite(e->speedup_measured));
		}
		edp_stats_snapshot_free(&snap);
	}
	struct edp_monitor *m = edp_monitor_create("fuzz", &err);
	if (m) {
		struct edp_monitor_sample s;
		edp_monitor_sample(m, &s, &err);
		edp_monitor_destroy(m);
	}
	edp_stats_destroy(w);
	return 0;
}
