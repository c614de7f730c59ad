#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "edp_vport.h"


/* Frame k: a length from the sequence and bytes that name k. */
static uint32_t frame_len(uint64_t k)
{
	uint64_t s = k * 0x9e3779b97f4a7c15ull + 1;
	uint32_t r = unit_rand(&s);
	return r % 16 == 0 ? 9000 + r % 3000 : 14 + r % 1500;
}

static void fill(uint8_t *b, uint32_t len, uint64_t k)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(k * 31 + i);
}

#define N_STRESS 300000

static void *producer(void *arg)
{
	struct edp_vport *p = arg;
	static uint8_t buf[EDP_VPORT_MAX_FRAME];
	for (uint64_t k = 0; k < N_STRESS; k++) {
		uint32_t len = frame_len(k);
		fill(buf, len, k);
		while (edp_vport_send(p, buf, len, len + 4, k, NULL) == 0)
			sched_yield();
	}
	return NULL;
}

/* Two threads, many wraps of the ring: every frame arrives once, whole, in
 * order. */
static void test_stress(void **state)
{
	(void)state;
	struct edp_error err;
	bool replaced;
	struct edp_vport *c = edp_vport_create("inst", "up", &replaced, &err);
	assert_non_null(c);
	assert_false(replaced);
	struct edp_vport *p = edp_vport_attach("inst", "up", &err);
	assert_non_null(p);
	assert_true(edp_vport_has_consumer(p));
	pthread_t t;
	pthread_create(&t, NULL, producer, p);
	static uint8_t want[EDP_VPORT_MAX_FRAME];
	uint64_t bytes = 0;
	for (uint64_t k = 0; k < N_STRESS;) {
		struct edp_pcap_packet pkt;
		if (!edp_vport_peek(c, &pkt, NULL)) {
			sched_yield();
			continue;
		}
		uint32_t len = frame_len(k);
		assert_int_equal(pkt.caplen, len);
		assert_int_equal(pkt.wire_len, len + 4);
		assert_int_equal(pkt.ts_ns, k);
		fill(want, len, k);
		assert_memory_equal(pkt.data, want, len);
		edp_vport_done(c);
		bytes += len;
		k++;
	}
	pthread_join(t, NULL);
	assert_true(bytes > 4ull * EDP_VPORT_DATA_SIZE); /* it wrapped, several times */
	assert_int_equal(edp_vport_queued(c), 0);
	edp_vport_close(p);
	edp_vport_close(c);
	char path[128];
	snprintf(path, sizeof(path), "%s/inst.up.vport", unit_dir());
	assert_int_equal(access(path, F_OK), -1); /* empty and unattached: removed */
}

/* A consumer that goes away leaves what is queued for the next one; one
 * consumer and one producer at a time; a full ring says so. */
static void test_restart_and_rules(void **state)
{
	(void)state;
	struct edp_error err;
	struct edp_pcap_packet pkt;
	assert_null(edp_vport_attach("inst", "x", &err));
	char want[512];
	snprintf(want, sizeof(want),
		 "no vport inst:x (no %s/inst.x.vport): start edp-run --name inst with port x on rx: vport", unit_dir());
	assert_string_equal(err.msg, want);
	struct edp_vport *c = edp_vport_create("inst", "x", NULL, &err);
	assert_non_null(c);
	assert_null(edp_vport_create("inst", "x", NULL, &err));
	snprintf(want, sizeof(want), "vport inst:x is in use by another edp-run (%s/inst.x.vport)", unit_dir());
	assert_string_equal(err.msg, want);
	struct edp_vport *p = edp_vport_attach("inst", "x", &err);
	assert_non_null(p);
	assert_null(edp_vport_attach("inst", "x", &err));
	assert_string_equal(err.msg, "vport inst:x already has a producer");
	uint8_t buf[1500];
	uint64_t sent = 0;
	for (;; sent++) {
		fill(buf, sizeof(buf), sent);
		int rc = edp_vport_send(p, buf, sizeof(buf), sizeof(buf), sent, &err);
		assert_true(rc >= 0);
		if (rc == 0)
			break;
	}
	assert_int_equal(sent, EDP_VPORT_DATA_SIZE / (16 + 1504));
	assert_int_equal(edp_vport_queued(p), sent);
	/* take 100, then the consumer goes */
	for (uint64_t k = 0; k < 100; k++) {
		assert_int_equal(edp_vport_peek(c, &pkt, NULL), 1);
		assert_int_equal(pkt.ts_ns, k);
		edp_vport_done(c);
	}
	edp_vport_close(c);
	assert_false(edp_vport_has_consumer(p));
	assert_int_equal(edp_vport_queued(p), sent - 100);
	/* the producer goes on while nobody consumes: room for 100 more */
	for (uint64_t k = 0; k < 100; k++) {
		fill(buf, sizeof(buf), sent + k);
		assert_int_equal(edp_vport_send(p, buf, sizeof(buf), sizeof(buf), sent + k, &err), 1);
	}
	assert_int_equal(edp_vport_send(p, buf, sizeof(buf), sizeof(buf), 0, &err), 0);
	sent += 100;
	static uint8_t big[EDP_VPORT_MAX_FRAME + 1];
	assert_int_equal(edp_vport_send(p, big, sizeof(big), sizeof(big), 0, &err), -1);
	snprintf(want, sizeof(want), "%s/inst.x.vport: a 262145-byte frame is larger than a vport takes (262144)", unit_dir());
	assert_string_equal(err.msg, want);
	edp_vport_close(p);
	/* the next consumer gets all the rest, in order */
	bool replaced;
	c = edp_vport_create("inst", "x", &replaced, &err);
	assert_non_null(c);
	assert_false(replaced);
	uint64_t k = 100;
	while (edp_vport_peek(c, &pkt, NULL)) {
		assert_int_equal(pkt.ts_ns, k);
		fill(buf, sizeof(buf), k);
		assert_memory_equal(pkt.data, buf, sizeof(buf));
		edp_vport_done(c);
		k++;
	}
	assert_int_equal(k, sent);
	char path[512];
	snprintf(path, sizeof(path), "%s/inst.x.vport", unit_dir());
	int held = open(path, O_RDONLY); /* as a producer that opened it just before */
	assert_true(held >= 0);
	edp_vport_close(c); /* drained, no producer: removed */
	struct stat st;
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(fstat(held, &st), 0); /* and emptied before its close */
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(st.st_size, 0);
	close(held);
}

/* A file that is not a ring is replaced, and said so. */
static void test_replaced(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/inst.bad.vport", unit_dir());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a ring", f);
	fclose(f);
	struct edp_error err;
	char want[256];
	assert_null(edp_vport_attach("inst", "bad", &err));
	snprintf(want, sizeof(want), "%s: not a vport ring", path);
	assert_string_equal(err.msg, want);
	bool replaced;
	struct edp_vport *c = edp_vport_create("inst", "bad", &replaced, &err);
	assert_non_null(c);
	assert_true(replaced);
	edp_vport_close(c);
}

/* Where the ring file keeps the producer's head and the consumer's tail
 * (its header's second and third cache lines). */
#define HEAD_AT 64
#define TAIL_AT 128

static void put_index(const char *path, off_t at, uint64_t v)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &v, 8, at), 8);
	close(fd);
}

static uint64_t get_index(const char *path, off_t at)
{
	uint64_t v = 0;
	int fd = open(path, O_RDONLY);
	assert_int_equal(pread(fd, &v, 8, at), 8);
	close(fd);
	return v;
}

/* What another process may leave in the ring: a head that is not on a
 * record, a wrap marker where the reader stands, a record longer than the
 * ring, a tail the producer cannot use, a file truncated under both. Each
 * is an error naming the file, never a read or write out of the ring, a
 * spin or a SIGBUS. */
static void test_hostile_ring(void **state)
{
	(void)state;
	struct edp_error err;
	bool replaced;
	static uint8_t frame[64];
	struct edp_pcap_packet pkt;
	struct edp_vport *c = edp_vport_create("hostile", "up", &replaced, &err);
	assert_non_null(c);
	char path[4096];
	snprintf(path, sizeof(path), "%s", edp_vport_path(c));
	struct edp_vport *p = edp_vport_attach("hostile", "up", &err);
	assert_non_null(p);
	assert_int_equal(edp_vport_send(p, frame, 64, 64, 1, &err), 1);
	assert_int_equal(get_index(path, HEAD_AT), 80); /* the offsets above are the file's */

	put_index(path, HEAD_AT, 81); /* not on a record */
	assert_int_equal(edp_vport_peek(c, &pkt, &err), -1);
	assert_string_equal(err.msg + strlen(path), ": corrupt vport ring: the producer's head is not one this ring "
						    "can have (head 81, tail 0)");

	edp_vport_close(p);
	edp_vport_close(c);
	c = edp_vport_create("hostile", "up", &replaced, &err); /* a bad header is started afresh */
	assert_non_null(c);
	assert_true(replaced);
	p = edp_vport_attach("hostile", "up", &err);
	assert_non_null(p);
	assert_int_equal(edp_vport_send(p, frame, 64, 64, 1, &err), 1);
	uint32_t mark = 0xffffffffu; /* a wrap marker where the reader stands */
	int fd = open(path, O_RDWR);
	assert_int_equal(pwrite(fd, &mark, 4, 4096), 4);
	assert_int_equal(edp_vport_peek(c, &pkt, &err), -1);
	assert_non_null(strstr(err.msg, "corrupt vport ring: a wrap marker past the head"));
	mark = 1u << 30; /* a record longer than any */
	assert_int_equal(pwrite(fd, &mark, 4, 4096), 4);
	assert_int_equal(edp_vport_peek(c, &pkt, &err), -1);
	assert_non_null(strstr(err.msg, "corrupt vport ring: a record runs past the ring or the head"));
	close(fd);

	/* the producer meets a tail it cannot use when it looks for room */
	put_index(path, TAIL_AT, 8);
	uint32_t sent = 0;
	int rc;
	static uint8_t big[65536];
	while ((rc = edp_vport_send(p, big, sizeof(big), sizeof(big), 2, &err)) == 1)
		sent++;
	assert_int_equal(rc, -1);
	assert_true(sent > 200);
	assert_non_null(strstr(err.msg, "corrupt vport ring: the consumer's tail is not one this ring can have"));
	edp_vport_close(p);

	/* a producer does not attach to a ring whose indexes it cannot use */
	assert_null(edp_vport_attach("hostile", "up", &err));
	assert_non_null(strstr(err.msg, "not a version 1 vport ring"));
	edp_vport_close(c);
	unlink(path);

	/* truncated under both sides */
	c = edp_vport_create("hostile", "up", &replaced, &err);
	p = edp_vport_attach("hostile", "up", &err);
	assert_non_null(p);
	assert_int_equal(edp_vport_send(p, frame, 64, 64, 1, &err), 1);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(edp_vport_peek(c, &pkt, &err), -1);
	assert_string_equal(err.msg + strlen(path), ": the vport file shrank while in use");
	while ((rc = edp_vport_send(p, big, sizeof(big), sizeof(big), 2, &err)) == 1)
		;
	assert_int_equal(rc, -1);
	assert_string_equal(err.msg + strlen(path), ": the vport file shrank while in use");
	edp_vport_close(p);
	edp_vport_close(c);
	unlink(path);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int sent_later;

/* One frame, 100 ms from now, and no ring after it: the send rings a
 * consumer asleep. */
static void *send_later(void *arg)
{
	struct edp_vport *p = arg;
	uint8_t buf[60] = { 0 };
	usleep(100000);
	sent_later = edp_vport_send(p, buf, sizeof(buf), sizeof(buf), 1, NULL);
	return NULL;
}

static _Atomic uint32_t kick;

static void *kick_later(void *arg)
{
	(void)arg;
	usleep(100000);
	atomic_fetch_add(&kick, 1);
	syscall(SYS_futex, &kick, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	return NULL;
}

/* A consumer asleep on an empty ring wakes when the producer sends, long
 * before its timeout; with a frame there it does not sleep at all. */
static void test_doorbell(void **state)
{
	(void)state;
	struct edp_error err;
	struct edp_vport *c = edp_vport_create("inst", "bell", NULL, &err);
	struct edp_vport *p = edp_vport_attach("inst", "bell", &err);
	assert_non_null(c);
	assert_non_null(p);
	struct edp_pcap_packet pkt;
	assert_int_equal(edp_vport_peek(c, &pkt, &err), 0);
	for (int i = 0; i < 100; i++) /* past the short waits after the last frame */
		edp_vport_wait(&c, 1, NULL, 0, 1000000);
	pthread_t t;
	pthread_create(&t, NULL, send_later, p);
	uint64_t t0 = mono_ns();
	edp_vport_wait(&c, 1, NULL, 0, 5000000000ull);
	uint64_t slept = mono_ns() - t0;
	pthread_join(t, NULL);
	assert_int_equal(sent_later, 1);
	assert_true(slept >= 50000000ull);  /* it slept until the frame ... */
	assert_true(slept < 2000000000ull); /* ... which woke it */
	assert_int_equal(edp_vport_peek(c, &pkt, &err), 1);
	edp_vport_done(c);
	uint8_t buf[60] = { 0 };
	assert_int_equal(edp_vport_send(p, buf, sizeof(buf), sizeof(buf), 2, &err), 1);
	t0 = mono_ns();
	edp_vport_wait(&c, 1, NULL, 0, 5000000000ull);
	assert_true(mono_ns() - t0 < 50000000ull);
	edp_vport_close(p);
	edp_vport_close(c);
}

/* The consumer's kick ends its wait on an empty ring as a frame does; a
 * kick that came before the wait (the word moved from what was seen) ends
 * it at once. */
static void test_kick(void **state)
{
	(void)state;
	struct edp_error err;
	struct edp_vport *c = edp_vport_create("inst", "kick", NULL, &err);
	assert_non_null(c);
	for (int i = 0; i < 100; i++) /* past the short waits */
		edp_vport_wait(&c, 1, &kick, atomic_load(&kick), 1000000);
	pthread_t t;
	uint32_t seen = atomic_load(&kick);
	pthread_create(&t, NULL, kick_later, NULL);
	uint64_t t0 = mono_ns();
	edp_vport_wait(&c, 1, &kick, seen, 5000000000ull);
	uint64_t slept = mono_ns() - t0;
	pthread_join(t, NULL);
	assert_true(slept >= 50000000ull);
	assert_true(slept < 2000000000ull);
	t0 = mono_ns();
	edp_vport_wait(&c, 1, &kick, seen, 5000000000ull);
	assert_true(mono_ns() - t0 < 50000000ull);
	edp_vport_close(c);
}

/* Readable within timeout_ms? The eventfd's count is taken. */
static bool readable(int fd, int timeout_ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	uint64_t count;
	return poll(&pf, 1, timeout_ms) == 1 && read(fd, &count, sizeof(count)) == sizeof(count) && count > 0;
}

/* A watch of two empty rings makes its eventfd readable when a producer
 * rings one, long before any timeout, and not before, once; armed again
 * at a ring that moved already, at once; then for the other ring. */
static void test_watch(void **state)
{
	(void)state;
	struct edp_error err;
	struct edp_vport *c[2] = { edp_vport_create("inst", "w1", NULL, &err), edp_vport_create("inst", "w2", NULL, &err) };
	struct edp_vport *p1 = edp_vport_attach("inst", "w1", &err), *p2 = edp_vport_attach("inst", "w2", &err);
	assert_non_null(c[0]);
	assert_non_null(c[1]);
	assert_non_null(p1);
	assert_non_null(p2);
	struct edp_vport_watch *w = edp_vport_watch_start(&err);
	assert_non_null(w);
	int fd = edp_vport_watch_fd(w);
	edp_vport_watch_arm(w, c, 2);
	assert_false(readable(fd, 200));
	edp_vport_watch_arm(w, c, 2); /* the same: goes on */
	pthread_t t;
	pthread_create(&t, NULL, send_later, p2);
	uint64_t t0 = mono_ns();
	assert_true(readable(fd, 5000));
	uint64_t slept = mono_ns() - t0;
	pthread_join(t, NULL);
	assert_int_equal(sent_later, 1);
	assert_true(slept >= 50000000ull && slept < 2000000000ull);
	assert_false(readable(fd, 100)); /* told once */
	edp_vport_watch_arm(w, c, 2);    /* the frame not taken yet: at once */
	assert_true(readable(fd, 50));
	struct edp_pcap_packet pkt;
	assert_int_equal(edp_vport_peek(c[1], &pkt, &err), 1);
	edp_vport_done(c[1]);
	edp_vport_watch_arm(w, c, 2);
	assert_false(readable(fd, 100));
	uint8_t buf[60] = { 0 }; /* from the other producer, while it waits */
	assert_int_equal(edp_vport_send(p1, buf, sizeof(buf), sizeof(buf), 2, &err), 1);
	edp_vport_ring(p1);
	assert_true(readable(fd, 2000));
	edp_vport_watch_stop(w);
	edp_vport_close(p1);
	edp_vport_close(p2);
	edp_vport_close(c[0]);
	edp_vport_close(c[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
		cmocka_unit_test(test_restart_and_rules),
		cmocka_unit_test(test_replaced),
		cmocka_unit_test(test_hostile_ring),
		cmocka_unit_test(test_doorbell),
		cmocka_unit_test(test_kick),
		cmocka_unit_test(test_watch),
	};
	return cmocka_run_group_tests_name("vport", tests, unit_dir_setup, unit_dir_teardown);
}
