#include <stdlib.h>

#include "unit.h"
#include "edp_router.h"

static uint64_t rng = 99;
#define rnd() unit_rand(&rng)

static void mask_prefix(struct edp_prefix *p)
{
	for (unsigned bit = p->len; bit < 128; bit++)
		p->addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

static void test_lpm_against_linear(void **state)
{
	(void)state;
	enum { ROUTES = 300 };
	struct edp_route *routes = calloc(ROUTES, sizeof(*routes));
	uint32_t n = 0;
	while (n < ROUTES) {
		struct edp_route *r = &routes[n];
		r->prefix.af = rnd() % 3 ? 4 : 6;
		r->prefix.len = (uint8_t)(rnd() % (r->prefix.af == 4 ? 33 : 129));
		for (int i = 0; i < 16; i++)
			r->prefix.addr[i] = (uint8_t)(i < 2 ? 10 : rnd() % 4);
		if (r->prefix.af == 4)
			memset(r->prefix.addr + 4, 0, 12);
		mask_prefix(&r->prefix);
		r->port = (int32_t)(n % 5);
		int dup = 0;
		for (uint32_t j = 0; j < n; j++)
			dup |= routes[j].prefix.af == r->prefix.af && routes[j].prefix.len == r->prefix.len &&
			       memcmp(routes[j].prefix.addr, r->prefix.addr, 16) == 0;
		if (!dup)
			n++;
	}
	struct edp_router *rt = edp_router_create(routes, n, NULL);
	assert_non_null(rt);
	for (int i = 0; i < 50000; i++) {
		int af = rnd() % 2 ? 4 : 6;
		uint8_t a[16];
		for (int j = 0; j < 16; j++)
			a[j] = (uint8_t)(j < 2 ? 10 : rnd() % 4);
		const struct edp_route *x = edp_router_lookup(rt, af, a), *y = edp_router_lookup_linear(routes, n, af, a);
		assert_true((x == NULL) == (y == NULL));
		if (x)
			assert_int_equal(x->prefix.len, y->prefix.len);
	}
	edp_router_destroy(rt);
	free(routes);
}

static void test_default_route_and_duplicates(void **state)
{
	(void)state;
	struct edp_route r[2];
	memset(r, 0, sizeof(r));
	r[0].prefix.af = 4; /* 0.0.0.0/0 */
	r[0].port = 1;
	r[1].prefix.af = 4;
	r[1].prefix.len = 16;
	r[1].prefix.addr[0] = 192;
	r[1].prefix.addr[1] = 168;
	r[1].port = 2;
	struct edp_router *rt = edp_router_create(r, 2, NULL);
	const uint8_t a[16] = { 192, 168, 7, 7 }, b[4] = { 8, 8, 8, 8 };
	assert_int_equal(edp_router_lookup(rt, 4, a)->port, 2);
	assert_int_equal(edp_router_lookup(rt, 4, b)->port, 1);
	assert_null(edp_router_lookup(rt, 6, a)); /* no IPv6 route */
	edp_router_destroy(rt);
	r[1] = r[0];
	struct edp_error err;
	assert_null(edp_router_create(r, 2, &err));
	assert_string_equal(err.msg, "route 2: duplicate prefix");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lpm_against_linear),
		cmocka_unit_test(test_default_route_and_duplicates),
	};
	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
