#include "unit.h"
#include "edp_assign.h"

/* A host of two NUMA nodes: on node 0 a NIC the host uses (group 10) and
 * two free NICs of groups of their own (11, 12, ice 1.10 and 1.12); on node
 * 1 two NICs sharing group 20 and a GPU with its audio function (group 30). */
static struct edp_device devs[] = {
	{ .addr = "0000:3b:00.0", .kind = EDP_DEV_NIC, .model = "8086:1592", .driver = "ice", .driver_version = "1.12.7",
	  .numa_node = 0, .iommu_group = 10, .host_in_use = true },
	{ .addr = "0000:3b:00.1", .kind = EDP_DEV_NIC, .model = "8086:1592", .driver = "ice", .driver_version = "1.10.0",
	  .numa_node = 0, .iommu_group = 11 },
	{ .addr = "0000:3b:00.2", .kind = EDP_DEV_NIC, .model = "8086:1592", .driver = "ice", .driver_version = "1.12.7",
	  .numa_node = 0, .iommu_group = 12 },
	{ .addr = "0000:5e:00.0", .kind = EDP_DEV_NIC, .model = "8086:1572", .driver = "i40e", .driver_version = "2.20",
	  .numa_node = 1, .iommu_group = 20 },
	{ .addr = "0000:5e:00.1", .kind = EDP_DEV_NIC, .model = "8086:1572", .driver = "i40e", .driver_version = "2.20",
	  .numa_node = 1, .iommu_group = 20 },
	{ .addr = "0000:af:00.0", .kind = EDP_DEV_GPU, .model = "10de:20b5", .driver = "vfio-pci", .numa_node = 1,
	  .iommu_group = 30 },
	{ .addr = "0000:af:00.1", .kind = EDP_DEV_OTHER, .model = "10de:1aef", .driver = "vfio-pci", .numa_node = 1,
	  .iommu_group = 30 },
};

static struct edp_inventory inv = { .dev = devs, .n = sizeof(devs) / sizeof(devs[0]), .n_nodes = 2,
				     .nodes = { { 0, "0-7" }, { 1, "8-15" } } };

static struct edp_request request(const char *need, enum edp_numa_policy policy)
{
	struct edp_request r = { .workload = "w", .numa = -1, .policy = policy };
	assert_null(edp_need_parse(need, &r.needs[0]));
	r.n_needs = 1;
	return r;
}

static void assert_devices(const struct edp_plan *p, const char *const *addrs, uint32_t n)
{
	assert_int_equal(p->n, n);
	for (uint32_t i = 0; i < n; i++)
		assert_string_equal(p->dev[i].addr, addrs[i]);
}

/* A GPU takes its whole IOMMU group: the audio function comes as a member,
 * counted beyond the request. */
static void test_whole_group(void **state)
{
	(void)state;
	struct edp_ledger none = { 0 };
	struct edp_request r = request("gpu:1", EDP_NUMA_BEST_EFFORT);
	struct edp_plan p;
	struct edp_error err = { 0 };
	assert_int_equal(edp_assign_plan(&inv, &none, &r, &p, &err), 0);
	const char *want[] = { "0000:af:00.0", "0000:af:00.1" };
	assert_devices(&p, want, 2);
	assert_false(p.dev[0].member);
	assert_true(p.dev[1].member);
	assert_int_equal(p.node, 1);
	assert_int_equal(p.beyond, 1);
}

/* A device the host uses is offered only when forced; a driver pin leaves
 * out what does not meet it. */
static void test_host_use_and_pins(void **state)
{
	(void)state;
	struct edp_ledger none = { 0 };
	struct edp_plan p;
	struct edp_error err = { 0 };
	struct edp_request r = request("nic:2", EDP_NUMA_NONE);
	r.numa = 0; /* node 0: the host's NIC and two free ones */
	assert_int_equal(edp_assign_plan(&inv, &none, &r, &p, &err), 0);
	const char *free2[] = { "0000:3b:00.1", "0000:3b:00.2" };
	assert_devices(&p, free2, 2);
	snprintf(r.driver_pin, sizeof(r.driver_pin), "ice>=1.12");
	assert_int_equal(edp_assign_plan(&inv, &none, &r, &p, &err), EDP_ASSIGN_UNSATISFIABLE);
	r.force = true; /* the host's NIC meets the pin */
	assert_int_equal(edp_assign_plan(&inv, &none, &r, &p, &err), 0);
	const char *forced[] = { "0000:3b:00.0", "0000:3b:00.2" };
	assert_devices(&p, forced, 2);
}

/* single-numa-node: all on one node or nothing; a node asked for is kept. */
static void test_numa_policies(void **state)
{
	(void)state;
	struct edp_ledger none = { 0 };
	struct edp_plan p;
	struct edp_error err = { 0 };
	struct edp_request r = request("nic:3", EDP_NUMA_SINGLE); /* no node has 3 free NICs */
	assert_int_equal(edp_assign_plan(&inv, &none, &r, &p, &err), EDP_ASSIGN_UNSATISFIABLE);
	r.policy = EDP_NUMA_NONE; /* anywhere: two nodes */
	assert_int_equal(edp_assign_plan(&inv, &none, &r, &p, &err), 0);
	const char *across[] = { "0000:5e:00.0", "0000:5e:00.1", "0000:3b:00.1" }; /* group 20 whole, then node 0 */
	assert_devices(&p, across, 3);
	assert_int_equal(p.beyond, 0);
	assert_int_equal(p.node, -1);
	r = request("nic:1", EDP_NUMA_RESTRICTED);
	r.numa = 1;
	assert_int_equal(edp_assign_plan(&inv, &none, &r, &p, &err), 0);
	assert_int_equal(p.node, 1);
	assert_string_equal(p.dev[0].addr, "0000:5e:00.0");
}

/* A group another workload holds part of is not offered, nor its devices. */
static void test_ledger_owners(void **state)
{
	(void)state;
	struct edp_claim held = { .workload = "other", .device = "0000:5e:00.0", .kind = EDP_DEV_NIC, .numa_node = 1,
				  .iommu_group = 20 };
	struct edp_ledger l = { .generation = 1, .claims = &held, .n = 1, .cap = 1 };
	struct edp_plan p;
	struct edp_error err = { 0 };
	struct edp_request r = request("nic:1", EDP_NUMA_RESTRICTED);
	r.numa = 1;
	assert_int_equal(edp_assign_plan(&inv, &l, &r, &p, &err), EDP_ASSIGN_UNSATISFIABLE);
	r.numa = -1; /* node 0's free NICs */
	r.policy = EDP_NUMA_BEST_EFFORT;
	assert_int_equal(edp_assign_plan(&inv, &l, &r, &p, &err), 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.node, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_group),
		cmocka_unit_test(test_host_use_and_pins),
		cmocka_unit_test(test_numa_policies),
		cmocka_unit_test(test_ledger_owners),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
