/* A vport ring another process wrote: the input patches the ring file's
 * indexes and records (and may truncate it) under an attached consumer
 * and producer. Each side either works within the ring or reports it
 * broken; never a read or write outside it, a spin or a SIGBUS. */
#include "fuzz.h"

#include <sys/stat.h>

#include "edp_vport.h"

#define RING_DATA 4096 /* where the records start in the file */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 17)
		return 0;
	fuzz_dir();
	struct edp_error err;
	bool replaced;
	struct edp_vport *c = edp_vport_create("fuzz", "in", &replaced, &err);
	FUZZ_CHECK(c);
	struct edp_vport *p = edp_vport_attach("fuzz", "in", &err);
	FUZZ_CHECK(p);
	const char *path = edp_vport_path(c);
	static uint8_t frame[2048];
	for (int i = 0; i < 3; i++) /* a few honest records first */
		FUZZ_CHECK(edp_vport_send(p, frame, 60 + 100 * (uint32_t)i, 1500, (uint64_t)i, &err) == 1);
	/* byte 0: what to damage; then the producer's head, the consumer's
	 * tail, and bytes for the records */
	int fd = open(path, O_RDWR);
	FUZZ_CHECK(fd >= 0);
	uint8_t what = data[0];
	if (what & 1)
		FUZZ_CHECK(pwrite(fd, data + 1, 8, 64) == 8);
	if (what & 2)
		FUZZ_CHECK(pwrite(fd, data + 9, 8, 128) == 8);
	if (size > 17)
		FUZZ_CHECK(pwrite(fd, data + 17, size - 17, RING_DATA + (what >> 4) * 16) == (ssize_t)(size - 17));
	if (what & 4)
		FUZZ_CHECK(ftruncate(fd, (what & 8) ? 100 : 0) == 0);
	close(fd);
	struct edp_pcap_packet pkt;
	int rc = 1;
	for (int i = 0; i < 64 && rc == 1; i++)
		if ((rc = edp_vport_peek(c, &pkt, &err)) == 1) {
			FUZZ_CHECK(pkt.caplen <= EDP_VPORT_MAX_FRAME);
			volatile uint8_t sum = 0; /* every byte it names is in the ring */
			for (uint32_t k = 0; k < pkt.caplen; k++)
				sum += pkt.data[k];
			(void)sum;
			edp_vport_done(c);
		}
	for (int i = 0; i < 64; i++)
		if (edp_vport_send(p, frame, sizeof(frame), sizeof(frame), 9, &err) != 1)
			break;
	edp_vport_close(p);
	edp_vport_close(c);
	unlink(path);
	return 0;
}
