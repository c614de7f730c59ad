#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <time.h>

#include "unit.h"
#include "edp_afpacket.h"

#define PROBE_TYPE 0x88b5 /* IEEE local experimental: nothing else on lo sends it */

/* A frame of ours on lo carrying seq; the kernel loops it back in. */
static void send_probe(int fd, uint32_t seq)
{
	uint8_t f[60] = { 0 };
	uint16_t type = htons(PROBE_TYPE);
	memcpy(f + 12, &type, 2);
	memcpy(f + 14, &seq, 4);
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex("lo"), .sll_halen = 6 };
	assert_int_equal(sendto(fd, f, sizeof(f), 0, (struct sockaddr *)&to, sizeof(to)), sizeof(f));
}

/* The next probe the ring holds (other frames on lo passed over); -1: none
 * within a second. */
static int64_t next_probe(struct edp_afpacket *a)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct edp_afpacket_frame f;
		while (edp_afpacket_next(a, &f)) {
			uint16_t type;
			memcpy(&type, f.data + 12, 2);
			if (f.caplen >= 18 && ntohs(type) == PROBE_TYPE) {
				uint32_t seq;
				memcpy(&seq, f.data + 14, 4);
				return seq;
			}
		}
		usleep(1000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 2);
	return -1;
}

static struct edp_afpacket *open_lo(void)
{
	struct edp_error err = { 0 };
	struct edp_afpacket *a = edp_afpacket_open("lo", 1518, &err);
	if (!a && strstr(err.msg, "permission denied"))
		skip(); /* needs root or CAP_NET_RAW */
	if (!a)
		fail_msg("%s", err.msg);
	return a;
}

/* A ring handed over goes on in the adopting reader at the next frame:
 * none taken twice, none passed over, the ones queued meanwhile there. */
static void test_handover_continues(void **state)
{
	(void)state;
	assert_true(edp_afpacket_fits("lo"));
	assert_false(edp_afpacket_fits("nosuch0"));
	struct edp_afpacket *a = open_lo();
	uint32_t frames;
	uint64_t bytes;
	edp_afpacket_ring(a, &frames, &bytes);
	assert_true(frames > 1000 && bytes >= (1u << 20) && bytes <= EDP_AFPACKET_RING_BYTES);
	int tx = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	assert_true(tx >= 0);
	for (uint32_t i = 0; i < 3; i++)
		send_probe(tx, i);
	assert_int_equal(next_probe(a), 0);
	int fd;
	uint8_t *st;
	size_t len;
	struct edp_error err = { 0 };
	assert_int_equal(edp_afpacket_handover(a, &fd, &st, &len, &err), 0);
	send_probe(tx, 3); /* queued while nobody reads */
	struct edp_afpacket *b = edp_afpacket_adopt(fd, st, len, "lo", 1518, &err);
	assert_non_null(b);
	edp_afpacket_detach(a);
	edp_afpacket_close(a); /* touches nothing of b's */
	for (int64_t i = 1; i <= 3; i++)
		assert_int_equal(next_probe(b), i);
	assert_int_equal(edp_afpacket_drops(b), 0);
	free(st);
	edp_afpacket_close(b);
	close(tx);
}

/* adopt(state changed by `how`) is refused with `why`. */
static void refused(struct edp_afpacket *a, void (*how)(uint8_t *, size_t *), const char *iface, const char *why)
{
	int fd;
	uint8_t *st;
	size_t len;
	struct edp_error err = { 0 };
	assert_int_equal(edp_afpacket_handover(a, &fd, &st, &len, &err), 0);
	if (how)
		how(st, &len);
	assert_null(edp_afpacket_adopt(fd, st, len, iface, 1518, &err));
	char want[256];
	snprintf(want, sizeof(want), "%s: cannot take the ring handed over: %s", iface, why);
	assert_string_equal(err.msg, want);
	free(st);
}

static void shorter(uint8_t *st, size_t *len) { (void)st, (*len)--; }
static void other_magic(uint8_t *st, size_t *len) { (void)len, st[0] ^= 1; }
static void head_beyond(uint8_t *st, size_t *len) /* the head past the last frame */
{
	(void)len;
	uint32_t frames;
	memcpy(&frames, st + 20, 4);
	memcpy(st + 24, &frames, 4);
}
static void huge_frames(uint8_t *st, size_t *len) /* frame size over the block */
{
	(void)len;
	uint32_t big = 1u << 30;
	memcpy(st + 16, &big, 4);
}

/* A state that does not fit the socket it came with is refused, naming the
 * interface, before anything is mapped. */
static void test_hostile_state(void **state)
{
	(void)state;
	struct edp_afpacket *a = open_lo();
	refused(a, shorter, "lo", "a ring state of another size");
	refused(a, other_magic, "lo", "a ring state of another version");
	refused(a, head_beyond, "lo", "a ring state that does not add up");
	refused(a, huge_frames, "lo", "a ring state that does not add up");
	refused(a, NULL, "nosuch0", "bound to another interface");
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct edp_error err = { 0 };
	uint8_t st[32] = { 0 }; /* a state of the right size */
	assert_null(edp_afpacket_adopt(p[0], st, sizeof(st), "lo", 1518, &err));
	assert_string_equal(err.msg, "lo: cannot take the ring handed over: not a packet socket");
	close(p[1]);
	edp_afpacket_close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handover_continues),
		cmocka_unit_test(test_hostile_state),
	};
	return cmocka_run_group_tests_name("afpacket", tests, NULL, NULL);
}
