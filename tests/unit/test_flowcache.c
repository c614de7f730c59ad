#include "unit.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "edp_flowcache.h"

static struct edp_flow_key key_n(uint32_t n)
{
	struct edp_flow_key k;
	memset(&k, 0, sizeof(k));
	memcpy(k.nw_src, &n, 4);
	k.eth_type = 0x0800;
	return k;
}

static struct edp_action_prog prog_out(uint64_t ports)
{
	struct edp_action_prog p;
	memset(&p, 0, sizeof(p));
	p.out_ports = ports;
	return p;
}

/* A copy of a key is equal to it; a key that differs in any one bit of
 * the 64 bytes is not (each 16-byte part of the vector compare). */
static void test_key_equal(void **state)
{
	(void)state;
	struct edp_flow_key a = key_n(0x01020304), b;
	a.tp_src = 80;
	a.tp_dst = 443;
	memcpy(&b, &a, sizeof(b));
	assert_true(edp_flow_equal(&a, &b));
	for (unsigned bit = 0; bit < 64 * 8; bit++) {
		memcpy(&b, &a, sizeof(b));
		((unsigned char *)&b)[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		assert_false(edp_flow_equal(&a, &b));
		assert_false(edp_flow_equal(&b, &a));
	}
}

/* The cache's hash of a packet that comes with its RSS hash (that hash
 * with what RSS leaves out): the two directions of a flow differ in the top
 * bit only (one bucket, two signatures); the same 5-tuple on another port
 * or inner VLAN goes to another bucket of a 4,096-bucket cache, but for a
 * few collisions. */
static uint32_t rss_cache_hash(const struct edp_flow_key *k)
{
	return edp_flow_cache_hash(edp_flow_rss_hash(k), k);
}

static void test_cache_hash(void **state)
{
	(void)state;
	uint64_t rng = 5;
	uint32_t same_bucket = 0;
	for (int i = 0; i < 10000; i++) {
		struct edp_flow_key a = key_n((uint32_t)unit_rand(&rng)), b;
		uint32_t dst = (uint32_t)unit_rand(&rng);
		memcpy(a.nw_dst, &dst, 4);
		a.nw_proto = 6;
		a.flags = EDP_KEY_IS_IP | EDP_KEY_HAS_PORTS;
		a.tp_src = (uint16_t)unit_rand(&rng);
		a.tp_dst = (uint16_t)(a.tp_src + 1 + unit_rand(&rng) % 1000);
		memcpy(&b, &a, sizeof(b));
		memcpy(b.nw_src, a.nw_dst, 4);
		memcpy(b.nw_dst, a.nw_src, 4);
		b.tp_src = a.tp_dst;
		b.tp_dst = a.tp_src;
		assert_int_equal(rss_cache_hash(&a) ^ rss_cache_hash(&b), 1u << 31);
		memcpy(&b, &a, sizeof(b));
		b.in_port = 1;
		same_bucket += (rss_cache_hash(&a) & 4095) == (rss_cache_hash(&b) & 4095);
		b.in_port = 0;
		b.vlan_inner = (uint16_t)(0x1000 | i % 4096);
		same_bucket += (rss_cache_hash(&a) & 4095) == (rss_cache_hash(&b) & 4095);
	}
	assert_true(same_bucket < 20);
}

static void test_hit_miss_insert(void **state)
{
	(void)state;
	struct edp_flowcache *fc = edp_flowcache_create(1000, NULL, NULL);
	assert_int_equal(edp_flowcache_capacity(fc), 1024);
	struct edp_flow_key k = key_n(1);
	uint32_t h = edp_flow_hash(&k);
	assert_null(edp_flowcache_lookup(fc, &k, h, 0));
	struct edp_action_prog p = prog_out(2);
	edp_flowcache_insert(fc, &k, h, &p, 0);
	const struct edp_action_prog *got = edp_flowcache_lookup(fc, &k, h, 0);
	assert_non_null(got);
	assert_int_equal(got->out_ports, 2);
	struct edp_flow_key other = key_n(2);
	assert_null(edp_flowcache_lookup(fc, &other, edp_flow_hash(&other), 0));
	const struct edp_flowcache_stats *s = edp_flowcache_stats(fc);
	assert_int_equal(s->hits, 1);
	assert_int_equal(s->misses, 2);
	assert_int_equal(s->inserts, 1);
	assert_int_equal(edp_flowcache_used(fc), 1);
	edp_flowcache_destroy(fc);
}

/* Warming a cache in use changes nothing: what was cached still hits,
 * what was not still misses. */
static void test_warm_keeps_contents(void **state)
{
	(void)state;
	struct edp_flowcache *fc = edp_flowcache_create(65536, NULL, NULL);
	edp_flowcache_warm(fc); /* fresh: all empty afterwards */
	for (uint32_t i = 0; i < 3000; i++) {
		struct edp_flow_key k = key_n(i);
		assert_null(edp_flowcache_lookup(fc, &k, edp_flow_hash(&k), 0));
		struct edp_action_prog p = prog_out(i + 1);
		edp_flowcache_insert(fc, &k, edp_flow_hash(&k), &p, 0);
	}
	edp_flowcache_warm(fc);
	for (uint32_t i = 0; i < 3000; i++) {
		struct edp_flow_key k = key_n(i);
		const struct edp_action_prog *got = edp_flowcache_lookup(fc, &k, edp_flow_hash(&k), 0);
		assert_non_null(got);
		assert_int_equal(got->out_ports, i + 1);
	}
	struct edp_flow_key other = key_n(5000);
	assert_null(edp_flowcache_lookup(fc, &other, edp_flow_hash(&other), 0));
	assert_int_equal(edp_flowcache_used(fc), 3000);
	edp_flowcache_destroy(fc);
}

/* Nine flows forced into one 8-way bucket: exactly one eviction, and the
 * evicted flow misses while the others hit. */
static void test_eviction(void **state)
{
	(void)state;
	struct edp_flowcache *fc = edp_flowcache_create(64, NULL, NULL);
	struct edp_flow_key keys[9];
	for (uint32_t i = 0; i < 9; i++) {
		keys[i] = key_n(i + 100);
		struct edp_action_prog p = prog_out(1ull << i);
		edp_flowcache_insert(fc, &keys[i], 0x10000u * (i + 1), &p, 0); /* same bucket 0 */
	}
	assert_int_equal(edp_flowcache_stats(fc)->evictions, 1);
	assert_int_equal(edp_flowcache_used(fc), 8);
	int hits = 0;
	for (uint32_t i = 0; i < 9; i++)
		hits += edp_flowcache_lookup(fc, &keys[i], 0x10000u * (i + 1), 0) != NULL;
	assert_int_equal(hits, 8);
	assert_null(edp_flowcache_lookup(fc, &keys[0], 0x10000u, 0)); /* the first way went */
	edp_flowcache_destroy(fc);
}

static void test_invalidation(void **state)
{
	(void)state;
	uint32_t epochs[4] = { 0 };
	struct edp_flowcache *fc = edp_flowcache_create(64, epochs, NULL);
	struct edp_flow_key a = key_n(1), b = key_n(2);
	struct edp_action_prog p = prog_out(1);
	p.n_deps = 1;
	p.dep_index[0] = 3;
	p.dep_epoch[0] = 0;
	edp_flowcache_insert(fc, &a, edp_flow_hash(&a), &p, 0);
	struct edp_action_prog q = prog_out(1);
	edp_flowcache_insert(fc, &b, edp_flow_hash(&b), &q, 0);
	assert_non_null(edp_flowcache_lookup(fc, &a, edp_flow_hash(&a), 0));
	epochs[3]++; /* the MAC-table bucket a's verdict read changed */
	assert_null(edp_flowcache_lookup(fc, &a, edp_flow_hash(&a), 0));
	assert_non_null(edp_flowcache_lookup(fc, &b, edp_flow_hash(&b), 0));
	assert_int_equal(edp_flowcache_stats(fc)->invalidations, 1);
	edp_flowcache_flush(fc); /* a config change */
	assert_null(edp_flowcache_lookup(fc, &b, edp_flow_hash(&b), 0));
	assert_int_equal(edp_flowcache_used(fc), 0);
	edp_flowcache_destroy(fc);
}

/* A verdict that forwards to a learned MAC ends when the MAC ages out. */
static void test_freshness(void **state)
{
	(void)state;
	uint64_t stamps[2] = { 0, 1000 };
	struct edp_flowcache *fc = edp_flowcache_create(64, NULL, NULL);
	edp_flowcache_set_freshness(fc, stamps, 500);
	struct edp_flow_key a = key_n(1);
	struct edp_action_prog p = prog_out(1);
	p.flags = EDP_ACT_FRESH_DST;
	p.fresh_index = 1;
	edp_flowcache_insert(fc, &a, edp_flow_hash(&a), &p, 0);
	assert_non_null(edp_flowcache_lookup(fc, &a, edp_flow_hash(&a), 1500));
	assert_null(edp_flowcache_lookup(fc, &a, edp_flow_hash(&a), 1501));
	assert_int_equal(edp_flowcache_stats(fc)->invalidations, 1);
	edp_flowcache_destroy(fc);
}

/* Many more flows than ways, then a flush and again: every lookup that hits
 * returns its own flow's program (ways never share a slab entry), the
 * newest flow always hits, and what hits is exactly what is counted used. */
static void test_churn_and_flush(void **state)
{
	(void)state;
	struct edp_flowcache *fc = edp_flowcache_create(256, NULL, NULL);
	for (int round = 0; round < 2; round++) {
		const uint32_t n = 5000;
		for (uint32_t i = 0; i < n; i++) {
			struct edp_flow_key k = key_n(i);
			uint32_t h = edp_flow_hash(&k);
			struct edp_action_prog p = prog_out(i + 1);
			edp_flowcache_insert(fc, &k, h, &p, 0);
			const struct edp_action_prog *got = edp_flowcache_lookup(fc, &k, h, 0);
			assert_non_null(got);
			assert_int_equal(got->out_ports, i + 1);
		}
		uint32_t hits = 0;
		for (uint32_t i = 0; i < n; i++) {
			struct edp_flow_key k = key_n(i);
			const struct edp_action_prog *got = edp_flowcache_lookup(fc, &k, edp_flow_hash(&k), 0);
			if (got) {
				assert_int_equal(got->out_ports, i + 1);
				hits++;
			}
		}
		assert_int_equal(hits, edp_flowcache_used(fc));
		assert_true(hits > 200 && hits <= 256);
		edp_flowcache_flush(fc);
		assert_int_equal(edp_flowcache_used(fc), 0);
	}
	edp_flowcache_destroy(fc);
}

/* A dump: every entry with its hits and its last packet's time; max
 * honoured; nothing after a flush. */
static void test_dump(void **state)
{
	(void)state;
	struct edp_flowcache *fc = edp_flowcache_create(1024, NULL, NULL);
	for (uint32_t i = 1; i <= 100; i++) {
		struct edp_flow_key k = key_n(i);
		struct edp_action_prog p = prog_out(i);
		edp_flowcache_insert(fc, &k, edp_flow_hash(&k), &p, i);
		for (uint32_t h = 0; h < i % 3; h++)
			assert_non_null(edp_flowcache_lookup(fc, &k, edp_flow_hash(&k), 1000 + i));
	}
	struct edp_flowcache_entry out[128];
	assert_int_equal(edp_flowcache_dump(fc, out, 128), 100);
	for (uint32_t j = 0; j < 100; j++) { /* each key once, whole */
		uint32_t i;
		memcpy(&i, out[j].key.nw_src, 4);
		assert_int_equal(out[j].prog.out_ports, i);
		assert_int_equal(out[j].hits, i % 3);
		assert_int_equal(out[j].used_ns, i % 3 ? 1000 + i : i);
		for (uint32_t k = 0; k < j; k++)
			assert_false(edp_flow_equal(&out[k].key, &out[j].key));
	}
	assert_int_equal(edp_flowcache_dump(fc, out, 10), 10);
	edp_flowcache_flush(fc);
	assert_int_equal(edp_flowcache_dump(fc, out, 128), 0);
	edp_flowcache_destroy(fc);
}

static void count_entry(void *ctx, const struct edp_flowcache_entry *e, uint32_t bucket)
{
	(void)bucket;
	uint32_t *n = ctx;
	*n = e ? *n + 1 : 0;
}

static uint32_t changed(struct edp_flowcache *fc, uint32_t *marks)
{
	uint32_t n = 0, got = edp_flowcache_dump_changed(fc, marks, 1u << 20, count_entry, &n);
	assert_int_equal(got, n);
	return n;
}

/* A move's rounds: the first sends every entry, the next only those of
 * the buckets an insert changed since (a hit changes none), none when
 * nothing changed. */
static void test_dump_changed(void **state)
{
	(void)state;
	struct edp_flowcache *fc = edp_flowcache_create(4096, NULL, NULL);
	uint32_t *marks = calloc(edp_flowcache_buckets(fc), sizeof(*marks));
	struct edp_action_prog p = prog_out(1);
	for (uint32_t i = 1; i <= 100; i++) {
		struct edp_flow_key k = key_n(i);
		edp_flowcache_insert(fc, &k, edp_flow_hash(&k), &p, i);
	}
	assert_int_equal(changed(fc, marks), 100);
	assert_int_equal(changed(fc, marks), 0);
	for (uint32_t i = 1; i <= 100; i++) { /* hits: nothing to send again */
		struct edp_flow_key k = key_n(i);
		assert_non_null(edp_flowcache_lookup(fc, &k, edp_flow_hash(&k), 500));
	}
	assert_int_equal(changed(fc, marks), 0);
	struct edp_flow_key k = key_n(1000);
	edp_flowcache_insert(fc, &k, edp_flow_hash(&k), &p, 600);
	uint32_t n = changed(fc, marks); /* the new one and its bucket's others */
	assert_true(n >= 1 && n <= EDP_FLOWCACHE_WAYS);
	assert_int_equal(changed(fc, marks), 0);
	edp_flowcache_destroy(fc);
	free(marks);
}

struct churn {
	struct edp_flowcache *fc;
	_Atomic int stop, warm; /* warm: the cache has been filled once */
};

/* The owner's part: insert, hit, evict, flush, without pause. */
static void *churn_owner(void *arg)
{
	struct churn *c = arg;
	for (uint32_t n = 0; !atomic_load(&c->stop); n++) {
		struct edp_flow_key k = key_n(n % 5000 + 1);
		struct edp_action_prog p = prog_out(n % 5000 + 1);
		uint32_t h = edp_flow_hash(&k);
		if (!edp_flowcache_lookup(c->fc, &k, h, n))
			edp_flowcache_insert(c->fc, &k, h, &p, n);
		if (n % 100000 == 99999)
			edp_flowcache_flush(c->fc);
		if (n == 10000)
			atomic_store(&c->warm, 1);
	}
	return NULL;
}

/* Dumps while the owner churns: every entry dumped is whole (its key and
 * its program belong together). */
static void test_dump_while_running(void **state)
{
	(void)state;
	struct churn c = { edp_flowcache_create(1024, NULL, NULL), 0, 0 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, churn_owner, &c), 0);
	while (!atomic_load(&c.warm)) /* the owner runs (a loaded machine may start it late) */
		sched_yield();
	static struct edp_flowcache_entry out[1024];
	uint64_t dumped = 0;
	for (int round = 0; round < 300; round++) {
		uint32_t n = edp_flowcache_dump(c.fc, out, 1024);
		assert_true(n <= 1024);
		for (uint32_t j = 0; j < n; j++) {
			uint32_t i;
			memcpy(&i, out[j].key.nw_src, 4);
			assert_int_equal(out[j].prog.out_ports, i);
		}
		dumped += n;
	}
	atomic_store(&c.stop, 1);
	pthread_join(t, NULL);
	assert_true(dumped > 0);
	edp_flowcache_destroy(c.fc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_equal),
		cmocka_unit_test(test_cache_hash),
		cmocka_unit_test(test_hit_miss_insert),
		cmocka_unit_test(test_warm_keeps_contents),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_invalidation),
		cmocka_unit_test(test_freshness),
		cmocka_unit_test(test_churn_and_flush),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_dump_changed),
		cmocka_unit_test(test_dump_while_running),
	};
	return cmocka_run_group_tests_name("flowcache", tests, NULL, NULL);
}
