/* edp-assign: assign devices to workloads by NUMA locality, IOMMU group and
 * compatibility pins, recorded in a crash-safe ledger. Options, one call
 * into libcore per subcommand, and output. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/edp_assign_print.h"
#include "common/edp_print.h"
#include "edp_assign.h"

#define PROG "edp-assign"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " COMMAND [OPTION]...\n"
		"Assign devices (NICs, GPUs, DPUs, virtual functions) to workloads.\n"
		"\n"
		"Commands:\n"
		"  devices                 the inventory, with each device's state\n"
		"  plan WORKLOAD --need .. what would be assigned (a dry run)\n"
		"  claim WORKLOAD --need . assign it, in the ledger\n"
		"  release WORKLOAD [DEVICE]...  give devices back (all without DEVICE)\n"
		"  move FROM TO [DEVICE]...  hand FROM's devices (all without DEVICE) to TO,\n"
		"                          in one ledger generation (a migrated instance's)\n"
		"  list [WORKLOAD]         the claims in the ledger\n"
		"  check                   the ledger against the inventory\n"
		"\n"
		"Requests (plan, claim):\n"
		"      --need KIND:COUNT[,model=M][,parent=PF]  nic, gpu, dpu, vf, other; repeatable\n"
		"      --numa N|same       on NUMA node N; same: devices and CPUs on one node\n"
		"      --policy P          none, best-effort, restricted, single-numa-node\n"
		"                          (default: restricted with --numa, else best-effort)\n"
		"      --cpus LIST         the workload's CPUs: their node is preferred\n"
		"      --request FILE      the request in YAML (the options add to it)\n"
		"      --driver PIN        e.g. ice>=1.12, ice, >=1.12, 1.12-1.14\n"
		"      --firmware PIN      e.g. >=4.40\n"
		"      --force             also offer devices the host uses\n"
		"      --add               claim more for a workload that holds devices (without:\n"
		"                          what it holds answers when it satisfies the request)\n"
		"      --explain           say why this placement (plan, claim)\n"
		"Inventory and ledger:\n"
		"      --sysfs-root DIR    scan DIR instead of /sys\n"
		"      --inventory FILE    a YAML inventory instead of this host\n"
		"      --host NAME         the host of the YAML inventory\n"
		"      --ledger PATH       the ledger (default $EDP_LEDGER, $EDP_RUNDIR/ledger.yaml\n"
		"                          or /var/lib/edp/ledger.yaml)\n"
		"      --json              JSON output\n"
		"  -h, --help              this help\n"
		"  -V, --version           version\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure (or problems found by check), 2 usage\n"
		"error, 3 the request cannot be satisfied now. See edp-assign(1).\n");
}

#define usage_error(...) edp_usage_error(PROG, __VA_ARGS__)

static int fail(const struct edp_error *err)
{
	fprintf(stderr, PROG ": %s\n", err->msg);
	return err->status ? err->status : 1;
}

struct opts {
	struct edp_inventory_source src;
	const char *ledger;
	bool json, explain;
	struct edp_request req;
};

static int cmd_devices(const struct opts *o)
{
	struct edp_inventory inv;
	struct edp_ledger l;
	struct edp_error err = { 0 };
	char path[4096];
	if (edp_inventory_open(&inv, &o->src, &err))
		return fail(&err);
	if (edp_ledger_load(&l, path, sizeof(path), o->ledger, &err)) {
		edp_inventory_free(&inv);
		return fail(&err);
	}
	edp_print_devices(stdout, &inv, &l, o->req.force, o->json);
	edp_ledger_free(&l);
	edp_inventory_free(&inv);
	return 0;
}

static int cmd_plan(const struct opts *o, bool claim)
{
	struct edp_inventory inv;
	struct edp_plan plan;
	struct edp_error err = { 0 };
	char path[4096];
	if (edp_ledger_path(path, sizeof(path), o->ledger, &err))
		return fail(&err);
	int rc = edp_assign_request(path, &o->src, &o->req, claim, &inv, &plan, &err);
	if (!rc)
		edp_print_plan(stdout, o->req.workload, &inv, &plan, claim, o->json, o->explain);
	else if (rc == EDP_ASSIGN_UNSATISFIABLE && o->explain && !o->json)
		fprintf(stderr, "why:\n%s", plan.explain);
	edp_inventory_free(&inv);
	return rc ? fail(&err) : 0;
}

static int cmd_release(const struct opts *o, const char *workload, const char *const *devices, int n)
{
	struct edp_error err = { 0 };
	char path[4096];
	if (edp_ledger_path(path, sizeof(path), o->ledger, &err))
		return fail(&err);
	int gone = edp_assign_release(path, workload, devices, n, &err);
	if (gone < 0)
		return fail(&err);
	edp_print_released(stdout, workload, gone, o->json);
	return 0;
}

static int cmd_move(const struct opts *o, const char *from, const char *to, const char *const *devices, int n)
{
	struct edp_error err = { 0 };
	char path[4096];
	uint64_t generation = 0;
	if (edp_ledger_path(path, sizeof(path), o->ledger, &err))
		return fail(&err);
	int moved = edp_assign_move(path, from, to, devices, n, &generation, &err);
	if (moved < 0)
		return fail(&err);
	edp_print_moved(stdout, from, to, moved, generation, o->json);
	return 0;
}

static int cmd_list(const struct opts *o, const char *workload)
{
	struct edp_ledger l;
	struct edp_error err = { 0 };
	char path[4096];
	if (edp_ledger_load(&l, path, sizeof(path), o->ledger, &err))
		return fail(&err);
	edp_print_claims(stdout, &l, workload, o->json);
	edp_ledger_free(&l);
	return 0;
}

static int cmd_check(const struct opts *o)
{
	struct edp_inventory inv;
	struct edp_ledger l;
	struct edp_error err = { 0 };
	char path[4096];
	if (edp_ledger_load(&l, path, sizeof(path), o->ledger, &err))
		return fail(&err);
	if (edp_inventory_open(&inv, &o->src, &err)) {
		edp_ledger_free(&l);
		return fail(&err);
	}
	static char report[65536];
	int problems = edp_assign_check(&inv, &l, report, sizeof(report));
	edp_print_check(stdout, path, l.n, report, problems, o->json);
	edp_ledger_free(&l);
	edp_inventory_free(&inv);
	return problems ? 1 : 0;
}

static int assign(int argc, char **argv)
{
	enum { O_NEED = 256, O_NUMA, O_POLICY, O_CPUS, O_DRIVER, O_FIRMWARE, O_FORCE, O_ADD, O_EXPLAIN, O_SYSFS, O_INV, O_HOST,
	       O_LEDGER, O_JSON, O_REQUEST };
	static const struct option opts[] = {
		{ "need", required_argument, NULL, O_NEED },        { "numa", required_argument, NULL, O_NUMA },
		{ "policy", required_argument, NULL, O_POLICY },    { "cpus", required_argument, NULL, O_CPUS },
		{ "driver", required_argument, NULL, O_DRIVER },    { "firmware", required_argument, NULL, O_FIRMWARE },
		{ "force", no_argument, NULL, O_FORCE },            { "explain", no_argument, NULL, O_EXPLAIN },
		{ "add", no_argument, NULL, O_ADD },
		{ "sysfs-root", required_argument, NULL, O_SYSFS }, { "inventory", required_argument, NULL, O_INV },
		{ "host", required_argument, NULL, O_HOST },        { "ledger", required_argument, NULL, O_LEDGER },
		{ "json", no_argument, NULL, O_JSON },              { "request", required_argument, NULL, O_REQUEST },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },              { NULL, 0, NULL, 0 } };
	struct opts o = { .req = { .numa = -1 } };
	const char *request_file = NULL;
	bool policy_given = false;
	const char *cmd = NULL, *args[64];
	int n_args = 0, c;
	/* "-": options and arguments in any order; arguments come as 1 */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-:hV", opts, NULL)) != -1) {
		const char *why;
		char *end;
		switch (c) {
		case 1:
			if (!cmd)
				cmd = optarg;
			else if (n_args == 64)
				return usage_error("%s", "too many arguments");
			else
				args[n_args++] = optarg;
			break;
		case O_NEED:
			if (o.req.n_needs == EDP_MAX_NEEDS)
				return usage_error("--need: at most %s", "8");
			if ((why = edp_need_parse(optarg, &o.req.needs[o.req.n_needs])))
				return fprintf(stderr, PROG ": --need: '%s': %s\n", optarg, why), 2;
			o.req.n_needs++;
			break;
		case O_NUMA:
			if (strcmp(optarg, "same") == 0) {
				o.req.numa_same = true;
			} else {
				long nd = strtol(optarg, &end, 10);
				if (!*optarg || *end || nd < 0 || nd >= EDP_MAX_NODES)
					return usage_error("--numa: expected a node number or 'same', not '%s'", optarg);
				o.req.numa = (int32_t)nd;
			}
			break;
		case O_POLICY: {
			int p = edp_numa_policy_parse(optarg);
			if (p < 0)
				return usage_error("--policy: expected none, best-effort, restricted or single-numa-node, not '%s'",
						   optarg);
			o.req.policy = (enum edp_numa_policy)p;
			policy_given = true;
			break;
		}
		case O_CPUS: snprintf(o.req.cpus, sizeof(o.req.cpus), "%s", optarg); break;
		case O_REQUEST: request_file = optarg; break;
		case O_DRIVER: snprintf(o.req.driver_pin, sizeof(o.req.driver_pin), "%s", optarg); break;
		case O_FIRMWARE: snprintf(o.req.firmware_pin, sizeof(o.req.firmware_pin), "%s", optarg); break;
		case O_FORCE: o.req.force = true; break;
		case O_ADD: o.req.add = true; break;
		case O_EXPLAIN: o.explain = true; break;
		case O_SYSFS: o.src.sysfs_root = optarg; break;
		case O_INV: o.src.yaml = optarg; break;
		case O_HOST: o.src.host = optarg; break;
		case O_LEDGER: o.ledger = optarg; break;
		case O_JSON: o.json = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " %s\n", EDP_VERSION); return 0;
		default: return edp_option_error(PROG, c, argv);
		}
	}
	if (!cmd)
		return usage_error("%s", "a command is needed: devices, plan, claim, release, move, list or check");
	if (request_file) { /* the file, then what the command line adds or says otherwise */
		struct edp_request f = { .numa = -1, .policy = (enum edp_numa_policy)-1 };
		struct edp_error err = { 0 };
		if (edp_request_load(&f, request_file, &err))
			return fail(&err);
		for (uint32_t i = 0; i < o.req.n_needs && f.n_needs < EDP_MAX_NEEDS; i++)
			f.needs[f.n_needs++] = o.req.needs[i];
		if (o.req.numa >= 0 || o.req.numa_same) {
			f.numa = o.req.numa;
			f.numa_same = o.req.numa_same;
		}
		if (policy_given)
			f.policy = o.req.policy;
		policy_given = (int)f.policy >= 0;
#define OVERRIDE(field) if (o.req.field[0]) snprintf(f.field, sizeof(f.field), "%s", o.req.field)
		OVERRIDE(cpus);
		OVERRIDE(driver_pin);
		OVERRIDE(firmware_pin);
#undef OVERRIDE
		f.force |= o.req.force;
		o.req = f;
	}
	if (!policy_given)
		o.req.policy = o.req.numa >= 0 ? EDP_NUMA_RESTRICTED : EDP_NUMA_BEST_EFFORT;
	if (o.src.sysfs_root && o.src.yaml)
		return usage_error("%s", "give --sysfs-root or --inventory, not both");
	bool request = strcmp(cmd, "plan") == 0 || strcmp(cmd, "claim") == 0;
	if (!request && (o.req.n_needs || o.req.numa >= 0 || o.req.numa_same || policy_given || o.req.cpus[0] || o.explain ||
			 request_file || o.req.add ||
			 o.req.driver_pin[0] || o.req.firmware_pin[0]))
		return usage_error("%s: request options go with plan and claim", cmd);
	if (strcmp(cmd, "devices") == 0 || strcmp(cmd, "check") == 0) {
		if (n_args)
			return usage_error("%s takes no arguments", cmd);
		return cmd[0] == 'd' ? cmd_devices(&o) : cmd_check(&o);
	}
	if (request) {
		if (n_args > 1 || (n_args == 0 && !o.req.workload[0]))
			return usage_error("%s needs one WORKLOAD (or a --request that names it)", cmd);
		if (n_args && !edp_workload_name_valid(args[0]))
			return usage_error("workload name '%s' must be 1 to 64 of A-Z a-z 0-9 _ . -", args[0]);
		if (n_args)
			snprintf(o.req.workload, sizeof(o.req.workload), "%s", args[0]);
		if (!o.req.n_needs)
			return usage_error("%s: nothing asked for: give --need KIND:COUNT", cmd);
		return cmd_plan(&o, cmd[0] == 'c');
	}
	if (strcmp(cmd, "release") == 0) {
		if (n_args < 1)
			return usage_error("%s", "release needs a WORKLOAD");
		return cmd_release(&o, args[0], args + 1, n_args - 1);
	}
	if (strcmp(cmd, "move") == 0) {
		if (n_args < 2)
			return usage_error("%s", "move needs FROM and TO workloads");
		for (int i = 0; i < 2; i++)
			if (!edp_workload_name_valid(args[i]))
				return usage_error("workload name '%s' must be 1 to 64 of A-Z a-z 0-9 _ . -", args[i]);
		return cmd_move(&o, args[0], args[1], args + 2, n_args - 2);
	}
	if (strcmp(cmd, "list") == 0) {
		if (n_args > 1)
			return usage_error("%s", "list takes one WORKLOAD at most");
		return cmd_list(&o, n_args ? args[0] : NULL);
	}
	return usage_error("unknown command '%s' (devices, plan, claim, release, move, list, check)", cmd);
}

int main(int argc, char **argv)
{
	int rc = assign(argc, argv);
	/* a table or JSON that did not arrive is a failure, whatever was done */
	return edp_print_flush(PROG, stdout, "stdout") && rc != 2 ? 1 : rc;
}
