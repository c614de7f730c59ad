#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <time.h>

#include "unit.h"
#include "edp_stats.h"

static atomic_int stop_writer;

static void *writer(void *arg)
{
	struct edp_stats_thread *t = arg;
	for (uint64_t k = 1; !atomic_load(&stop_writer); k++) {
		edp_stats_write_begin(&t->seq);
		t->packets = t->bytes = t->forwarded = t->flow_cache_hits = t->busy_cycles = k;
		for (int r = 0; r < EDP_DROP_REASONS; r++)
			t->drops[r] = k;
		edp_stats_write_end(&t->seq);
		/* a datapath thread publishes once a batch: a pause of about a
		 * batch's time between writes (a writer that never pauses would
		 * starve any seqlock reader; overlaps still happen by the thousand) */
		for (volatile int s = 0; s < 256; s++)
			;
	}
	return NULL;
}

/* A reader never sees a block half-written, while a writer hammers it. */
static void test_seqlock_never_torn(void **state)
{
	(void)state;
	struct edp_stats_layout l = { .n_threads = 2, .n_queues = 1, .n_ports = 1, .port_names = { "p" }, .config = "t" };
	struct edp_error err;
	struct edp_stats_writer *w = edp_stats_create("torn", &l, &err);
	assert_non_null(w);
	atomic_store(&stop_writer, 0);
	pthread_t t;
	pthread_create(&t, NULL, writer, edp_stats_thread(w, 1));
	uint64_t last = 0;
	for (int i = 0; i < 3000; i++) {
		struct edp_stats_snapshot s;
		assert_int_equal(edp_stats_read("torn", &s, &err), 0);
		const struct edp_stats_thread *x = &s.threads[1];
		assert_int_equal(x->bytes, x->packets);
		assert_int_equal(x->forwarded, x->packets);
		assert_int_equal(x->flow_cache_hits, x->packets);
		assert_int_equal(x->busy_cycles, x->packets);
		for (int r = 0; r < EDP_DROP_REASONS; r++)
			assert_int_equal(x->drops[r], x->packets);
		assert_true(x->packets >= last);
		last = x->packets;
		assert_string_equal(s.ports[0].name, "p");
		edp_stats_snapshot_free(&s);
	}
	atomic_store(&stop_writer, 1);
	pthread_join(t, NULL);
	assert_true(last > 0);
	edp_stats_destroy(w);
}

static void test_lifecycle(void **state)
{
	(void)state;
	struct edp_stats_layout l = { .n_threads = 1, .n_queues = 1, .n_ports = 1, .port_names = { "a" } };
	struct edp_error err;
	struct edp_stats_snapshot s;
	assert_int_equal(edp_stats_read("life", &s, &err), EDP_ERR_RUNTIME);
	char want[256];
	snprintf(want, sizeof(want), "no instance 'life' is running (no %s/life.stats)", unit_dir());
	assert_string_equal(err.msg, want);
	struct edp_stats_writer *w = edp_stats_create("life", &l, &err);
	assert_non_null(w);
	char path[128];
	snprintf(path, sizeof(path), "%s/life.stats", unit_dir());
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_null(edp_stats_create("life", &l, &err)); /* the name is taken */
	snprintf(want, sizeof(want), "instance 'life' is already running (pid %d)", (int)getpid());
	assert_string_equal(err.msg, want);
	assert_int_equal(edp_stats_read("life", &s, &err), 0);
	assert_int_equal(s.header.pid, getpid());
	assert_int_equal(s.header.running, 1);
	edp_stats_snapshot_free(&s);
	/* the cycle rate, from the start anchor, against one measured here */
	struct timespec t0, t1, d = { 0, 20000000 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t c0 = edp_stats_cycles();
	nanosleep(&d, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double hz = (double)(edp_stats_cycles() - c0) * 1e9 /
		    ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec));
	assert_int_equal(edp_stats_read("life", &s, &err), 0);
	assert_true(s.header.cycles_per_s > hz * 0.99 && s.header.cycles_per_s < hz * 1.01);
	edp_stats_snapshot_free(&s);
	int held = open(path, O_RDONLY); /* as a reader that opened it just before the exit */
	assert_true(held >= 0);
	edp_stats_destroy(w);
	assert_int_equal(stat(path, &st), -1); /* removed at exit */
	assert_int_equal(fstat(held, &st), 0); /* and emptied before its close (its pages given back) */
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(st.st_size, 0);
	close(held);
	assert_null(edp_stats_create("Bad Name", &l, &err));
	assert_int_equal(err.status, EDP_ERR_USAGE);
}

/* A reader that holds a shared lock on the segment while it looks whether
 * the segment is stale (as edp_stats_read and edp_stats_list do for a
 * moment) does not make the instance starting then fail: it waits. */
static void *let_go(void *arg)
{
	struct timespec d = { 0, 30000000 };
	nanosleep(&d, NULL);
	flock(*(int *)arg, LOCK_UN);
	return NULL;
}

static void test_reader_probing(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/probed.stats", unit_dir());
	int fd = open(path, O_RDWR | O_CREAT, 0600); /* what a reader finds before the instance locks it */
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_SH | LOCK_NB), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, let_go, &fd), 0);
	struct edp_stats_layout l = { .n_threads = 1, .n_queues = 1, .n_ports = 1, .port_names = { "a" } };
	struct edp_error err = { 0 };
	struct edp_stats_writer *w = edp_stats_create("probed", &l, &err);
	pthread_join(t, NULL);
	assert_non_null(w);
	assert_int_equal(flock(fd, LOCK_SH | LOCK_NB), -1); /* the instance holds it now */
	close(fd);
	struct edp_stats_snapshot s;
	assert_int_equal(edp_stats_read("probed", &s, &err), 0);
	assert_int_equal(s.header.pid, getpid());
	edp_stats_snapshot_free(&s);
	edp_stats_destroy(w);
}

static uint64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static atomic_int stop_shrinker;

static void *shrinker(void *arg)
{
	const char *path = arg;
	struct stat st;
	stat(path, &st);
	while (!atomic_load(&stop_shrinker)) {
		truncate(path, 4096);
		truncate(path, st.st_size);
	}
	return NULL;
}

/* What another process may do to a segment: every seqlock odd (one bounded
 * wait for the whole read, not a second a block), counts that do not match
 * the file, escape bytes in the names, NaN in an event, a file shrinking
 * while it is read. Errors or sanitised copies, never a crash or a hang. */
static void test_hostile_segment(void **state)
{
	(void)state;
	struct edp_error err;
	struct edp_stats_layout l = { .n_threads = 2, .n_queues = 4096, .n_ports = 2, .config = "a\033[2Jb" };
	l.port_names[0] = "in\x07";
	l.port_names[1] = "out";
	struct edp_stats_writer *w = edp_stats_create("hostile", &l, &err);
	assert_non_null(w);
	edp_stats_event(w, 1, 0.0f / 0.0f, 1.0f, 1.0f / 0.0f, "moved\ttab");
	struct edp_stats_snapshot snap;
	assert_int_equal(edp_stats_read("hostile", &snap, &err), 0);
	assert_string_equal(snap.header.control.config, "a?[2Jb");
	assert_string_equal(snap.ports[0].name, "in?");
	assert_string_equal(snap.header.events[0].what, "moved?tab");
	assert_true(snap.header.events[0].spread_before == 0.0f);
	assert_true(snap.header.events[0].speedup == 1.0f);
	assert_true(snap.header.events[0].spread_measured == -1.0f); /* not yet */
	edp_stats_snapshot_free(&snap);

	for (uint32_t i = 0; i < l.n_queues; i++)
		atomic_store(&edp_stats_queue(w, i)->seq, 1);
	uint64_t t0 = mono_ms();
	assert_int_equal(edp_stats_read("hostile", &snap, &err), EDP_ERR_RUNTIME);
	assert_true(mono_ms() - t0 < 3000);
	assert_string_equal(err.msg, "instance 'hostile': a block stayed mid-update");
	for (uint32_t i = 0; i < l.n_queues; i++)
		atomic_store(&edp_stats_queue(w, i)->seq, 0);

	edp_stats_header(w)->n_threads = 64; /* the file is not that size */
	assert_int_equal(edp_stats_read("hostile", &snap, &err), EDP_ERR_RUNTIME);
	assert_non_null(strstr(err.msg, "is not a version"));
	edp_stats_header(w)->n_threads = 2;

	char path[128];
	snprintf(path, sizeof(path), "%s/hostile.stats", unit_dir());
	pthread_t th;
	atomic_store(&stop_shrinker, 0);
	assert_int_equal(pthread_create(&th, NULL, shrinker, path), 0);
	int ok = 0, failed = 0;
	for (int i = 0; i < 300; i++) {
		if (edp_stats_read("hostile", &snap, &err) == 0) {
			ok++;
			edp_stats_snapshot_free(&snap);
		} else {
			failed++;
		}
		edp_stats_thread(w, 0)->packets = (uint64_t)i; /* the writer's own mapping survives too */
	}
	atomic_store(&stop_shrinker, 1);
	pthread_join(th, NULL);
	assert_int_equal(ok + failed, 300);
	print_message("shrinking: %d read, %d refused\n", ok, failed);
	edp_stats_destroy(w);
}

/* A clear: every reader counts from there; the writers' counts go on. */
static void test_clear(void **state)
{
	(void)state;
	struct edp_stats_layout l = { .n_threads = 2, .n_queues = 3, .n_ports = 2, .port_names = { "a", "b" } };
	struct edp_error err;
	struct edp_stats_writer *w = edp_stats_create("cleared", &l, &err);
	assert_non_null(w);
	edp_stats_thread(w, 1)->packets = 100;
	edp_stats_thread(w, 1)->drops[EDP_DROP_FIREWALL] = 7;
	edp_stats_thread(w, 1)->cpu = 3;
	edp_stats_queue(w, 2)->packets = 40;
	edp_stats_port(w, 1)->rx_bytes = 5000;
	edp_stats_port_tx(w, 0)->tx_packets = 90;
	struct edp_stats_snapshot s;
	assert_int_equal(edp_stats_read("cleared", &s, &err), 0);
	assert_int_equal(s.clears, 0);
	assert_int_equal(s.threads[1].packets, 100);
	edp_stats_snapshot_free(&s);
	edp_stats_clear(w);
	edp_stats_thread(w, 1)->packets = 130; /* 30 more */
	edp_stats_port_tx(w, 0)->tx_packets = 95;
	assert_int_equal(edp_stats_read("cleared", &s, &err), 0);
	assert_int_equal(s.clears, 1);
	assert_true(s.cleared_at_ns > 0);
	assert_int_equal(s.threads[1].packets, 30);
	assert_int_equal(s.threads[1].drops[EDP_DROP_FIREWALL], 0);
	assert_int_equal(s.threads[1].cpu, 3); /* not a count */
	assert_int_equal(s.queues[2].packets, 0);
	assert_int_equal(s.ports[1].rx_bytes, 0);
	assert_int_equal(s.ports_tx[0].tx_packets, 5);
	assert_string_equal(s.ports[1].name, "b");
	edp_stats_snapshot_free(&s);
	edp_stats_destroy(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seqlock_never_torn),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_reader_probing),
		cmocka_unit_test(test_hostile_segment),
	};
	return cmocka_run_group_tests_name("stats", tests, unit_dir_setup, unit_dir_teardown);
}
