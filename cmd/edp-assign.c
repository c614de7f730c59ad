/* edp-assign: assign devices to workloads by NUMA locality, IOMMU group and
 * compatibility pins, recorded in a crash-safe ledger. Options, one call
 * into libcore per subcommand, and output. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" PROG " --help' for more information.\n");
	return 2;
}

static int fail(const struct edp_error *err)
{
	fprintf(stderr, PROG ": %s\n", err->msg);
	return err->status ? err->status : 1;
}

struct opts {
	const char *sysfs, *inventory, *host, *ledger;
	bool json, explain;
	struct edp_request req;
};

static int load_inventory(const struct opts *o, struct edp_inventory *inv, struct edp_error *err)
{
	return o->inventory ? edp_inventory_load(inv, o->inventory, o->host, err) : edp_inventory_scan(inv, o->sysfs, err);
}

static void json_str(const char *key, const char *v, bool comma)
{
	printf("\"%s\":", key);
	edp_print_json_string(stdout, v);
	if (comma)
		putchar(',');
}

static const char *dash(const char *s) { return s && *s ? s : "-"; }

static int cmd_devices(const struct opts *o)
{
	struct edp_inventory inv;
	struct edp_ledger l;
	struct edp_error err = { 0 };
	char path[4096];
	int rc = load_inventory(o, &inv, &err);
	if (rc)
		return fail(&err);
	if (edp_ledger_load(&l, path, sizeof(path), o->ledger, &err)) {
		edp_inventory_free(&inv);
		return fail(&err);
	}
	if (o->json) {
		printf("{");
		json_str("host", inv.host, true);
		printf("\"numa_nodes\":[");
		for (uint32_t i = 0; i < inv.n_nodes; i++) {
			printf("%s{\"id\":%d,", i ? "," : "", inv.nodes[i].id);
			json_str("cpus", inv.nodes[i].cpus, false);
			putchar('}');
		}
		printf("],\"devices\":[");
	} else {
		printf("%-14s %-5s %-16s %4s %5s %-10s %-9s %s\n", "DEVICE", "KIND", "MODEL", "NODE", "GROUP", "DRIVER", "STATE",
		       "OWNER / WHY");
	}
	for (uint32_t i = 0; i < inv.n; i++) {
		const struct edp_device *d = &inv.dev[i];
		char why[256];
		const char *state = edp_assign_state(&inv, &l, d, o->req.force, why, sizeof(why));
		if (!o->json) {
			char group[16] = "-", node[16] = "-";
			if (d->iommu_group >= 0)
				snprintf(group, sizeof(group), "%d", d->iommu_group);
			if (d->numa_node >= 0)
				snprintf(node, sizeof(node), "%d", d->numa_node);
			printf("%-14s %-5s %-16s %4s %5s %-10s %-9s %s\n", d->addr, edp_dev_kind_name(d->kind), d->model, node,
			       group, dash(d->driver), state, why);
			continue;
		}
		printf("%s{", i ? "," : "");
		json_str("address", d->addr, true);
		json_str("kind", edp_dev_kind_name(d->kind), true);
		json_str("model", d->model, true);
		json_str("vendor", d->vendor, true);
		json_str("device", d->device, true);
		json_str("subsystem_vendor", d->subsys_vendor, true);
		json_str("subsystem_device", d->subsys_device, true);
		json_str("local_cpus", d->local_cpus, true);
		printf("\"numa_node\":%d,\"iommu_group\":%d,", d->numa_node, d->iommu_group);
		json_str("driver", d->driver, true);
		json_str("driver_version", d->driver_version, true);
		json_str("firmware", d->firmware, true);
		json_str("parent", d->parent, true);
		json_str("interface", d->iface, true);
		printf("\"sriov_totalvfs\":%u,\"sriov_numvfs\":%u,\"host_in_use\":%s,", d->sriov_total, d->sriov_num,
		       d->host_in_use ? "true" : "false");
		json_str("state", state, true);
		const struct edp_claim *c = edp_ledger_owner(&l, d->addr);
		if (c)
			json_str("owner", c->workload, false);
		else
			printf("\"owner\":null");
		printf(",\"why\":");
		if (strcmp(state, "unusable") == 0)
			edp_print_json_string(stdout, why);
		else
			printf("null");
		putchar('}');
	}
	if (o->json)
		printf("]}\n");
	edp_ledger_free(&l);
	edp_inventory_free(&inv);
	return 0;
}

static void print_plan(const struct opts *o, const struct edp_inventory *inv, const struct edp_plan *p, bool claimed)
{
	if (o->json) {
		printf("{");
		json_str("workload", o->req.workload, true);
		printf("\"claimed\":%s,\"numa_node\":%d,\"score\":{\"beyond_request\":%u,\"left_free\":%u},\"devices\":[",
		       claimed ? "true" : "false", p->node, p->beyond, p->left);
		for (uint32_t i = 0; i < p->n; i++) {
			const struct edp_device *d = edp_inventory_find(inv, p->dev[i].addr);
			printf("%s{", i ? "," : "");
			json_str("address", d->addr, true);
			json_str("kind", edp_dev_kind_name(d->kind), true);
			json_str("model", d->model, true);
			printf("\"numa_node\":%d,\"iommu_group\":%d,\"group_member\":%s}", d->numa_node, d->iommu_group,
			       p->dev[i].member ? "true" : "false");
		}
		printf("],\"explain\":[");
		int first = 1;
		for (const char *s = p->explain; *s;) {
			const char *nl = strchr(s, '\n');
			size_t n = nl ? (size_t)(nl - s) : strlen(s);
			char lbuf[1200];
			snprintf(lbuf, sizeof(lbuf), "%.*s", (int)n, s);
			printf("%s", first ? "" : ",");
			edp_print_json_string(stdout, lbuf);
			first = 0;
			s += n + (nl ? 1 : 0);
		}
		printf("]}\n");
		return;
	}
	char node[32] = "across NUMA nodes";
	if (p->node >= 0)
		snprintf(node, sizeof(node), "on NUMA node %d", p->node);
	printf("%s: %s %u device%s %s\n", o->req.workload, claimed ? "claimed" : "would get", p->n, p->n == 1 ? "" : "s", node);
	for (uint32_t i = 0; i < p->n; i++) {
		const struct edp_device *d = edp_inventory_find(inv, p->dev[i].addr);
		char group[16] = "-";
		if (d->iommu_group >= 0)
			snprintf(group, sizeof(group), "%d", d->iommu_group);
		printf("  %-14s %-5s %-16s node %-3d group %-5s%s\n", d->addr, edp_dev_kind_name(d->kind), d->model, d->numa_node,
		       group, p->dev[i].member ? " (group member)" : "");
	}
	printf("  score: %u device%s beyond the request, %u such left free %s\n", p->beyond, p->beyond == 1 ? "" : "s",
	       p->left, p->node >= 0 ? "on the node" : "in all");
	if (o->explain)
		printf("why:\n%s", p->explain);
}

static int cmd_plan(struct opts *o, bool claim)
{
	struct edp_inventory inv = { 0 };
	struct edp_ledger l = { 0 };
	struct edp_plan plan;
	struct edp_error err = { 0 };
	char path[4096];
	int rc = edp_ledger_path(path, sizeof(path), o->ledger, &err);
	if (rc)
		return fail(&err);
	int fd = edp_ledger_lock(path, claim, &err);
	if (fd < 0)
		return fail(&err);
	/* under the lock: the ledger, then the inventory as it is now */
	if ((rc = edp_ledger_read(&l, path, &err)) || (rc = load_inventory(o, &inv, &err)))
		goto out;
	if ((rc = edp_assign_plan(&inv, &l, &o->req, &plan, &err))) {
		if (rc == EDP_ASSIGN_UNSATISFIABLE && o->explain && !o->json)
			fprintf(stderr, "why:\n%s", plan.explain);
		goto out;
	}
	if (claim && ((rc = edp_assign_apply(&l, &inv, &o->req, &plan, &err)) || (rc = edp_ledger_write(&l, path, &err))))
		goto out;
	print_plan(o, &inv, &plan, claim);
out:
	edp_ledger_unlock(fd);
	edp_ledger_free(&l);
	edp_inventory_free(&inv);
	return rc ? fail(&err) : 0;
}

static int cmd_release(const struct opts *o, const char *workload, const char *const *devices, int n)
{
	struct edp_ledger l;
	struct edp_error err = { 0 };
	char path[4096];
	int rc = edp_ledger_path(path, sizeof(path), o->ledger, &err);
	if (rc)
		return fail(&err);
	int fd = edp_ledger_lock(path, true, &err);
	if (fd < 0)
		return fail(&err);
	int gone = 0;
	if (!(rc = edp_ledger_read(&l, path, &err))) {
		gone = edp_assign_release(&l, workload, devices, n, &err);
		if (gone < 0)
			rc = EDP_ERR_RUNTIME;
		else if (gone > 0)
			rc = edp_ledger_write(&l, path, &err);
	}
	edp_ledger_unlock(fd);
	edp_ledger_free(&l);
	if (rc)
		return fail(&err);
	if (o->json)
		printf("{\"workload\":\"%s\",\"released\":%d}\n", workload, gone);
	else
		printf("%s: released %d device%s\n", workload, gone, gone == 1 ? "" : "s");
	return 0;
}

static int cmd_list(const struct opts *o, const char *workload)
{
	struct edp_ledger l;
	struct edp_error err = { 0 };
	char path[4096];
	if (edp_ledger_load(&l, path, sizeof(path), o->ledger, &err))
		return fail(&err);
	if (o->json)
		printf("{\"generation\":%llu,\"claims\":[", (unsigned long long)l.generation);
	else
		printf("%-16s %-14s %-5s %4s %5s %-10s %-10s %s\n", "WORKLOAD", "DEVICE", "KIND", "NODE", "GROUP", "DRIVER",
		       "FIRMWARE", "CLAIMED");
	int shown = 0;
	for (uint32_t i = 0; i < l.n; i++) {
		const struct edp_claim *c = &l.claims[i];
		if (workload && strcmp(workload, c->workload) != 0)
			continue;
		if (o->json) {
			printf("%s{", shown ? "," : "");
			json_str("workload", c->workload, true);
			json_str("device", c->device, true);
			json_str("kind", edp_dev_kind_name(c->kind), true);
			printf("\"numa_node\":%d,\"iommu_group\":%d,", c->numa_node, c->iommu_group);
			json_str("driver", c->driver, true);
			json_str("driver_version", c->driver_version, true);
			json_str("firmware", c->firmware, true);
			json_str("driver_pin", c->driver_pin, true);
			json_str("firmware_pin", c->firmware_pin, true);
			printf("\"group_member\":%s,\"claimed_at\":%llu}", c->group_member ? "true" : "false",
			       (unsigned long long)c->claimed_at);
		} else {
			char when[32];
			time_t t = (time_t)c->claimed_at;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf("%-16s %-14s %-5s %4d %5d %-10s %-10s %s%s\n", c->workload, c->device, edp_dev_kind_name(c->kind),
			       c->numa_node, c->iommu_group, dash(c->driver), dash(c->firmware), when,
			       c->group_member ? " (group member)" : "");
		}
		shown++;
	}
	if (o->json)
		printf("]}\n");
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
	if (load_inventory(o, &inv, &err)) {
		edp_ledger_free(&l);
		return fail(&err);
	}
	static char out[65536];
	int problems = edp_assign_check(&inv, &l, out, sizeof(out));
	if (o->json) {
		printf("{\"claims\":%u,\"problems\":[", l.n);
		int first = 1;
		for (char *s = strtok(out, "\n"); s; s = strtok(NULL, "\n")) {
			printf("%s", first ? "" : ",");
			edp_print_json_string(stdout, s);
			first = 0;
		}
		printf("]}\n");
	} else if (problems) {
		fputs(out, stdout);
	} else {
		printf("ledger %s: %u claim%s, all match the inventory\n", path, l.n, l.n == 1 ? "" : "s");
	}
	edp_ledger_free(&l);
	edp_inventory_free(&inv);
	return problems ? 1 : 0;
}

int main(int argc, char **argv)
{
	enum { O_NEED = 256, O_NUMA, O_POLICY, O_CPUS, O_DRIVER, O_FIRMWARE, O_FORCE, O_EXPLAIN, O_SYSFS, O_INV, O_HOST,
	       O_LEDGER, O_JSON, O_REQUEST };
	static const struct option opts[] = {
		{ "need", required_argument, NULL, O_NEED },        { "numa", required_argument, NULL, O_NUMA },
		{ "policy", required_argument, NULL, O_POLICY },    { "cpus", required_argument, NULL, O_CPUS },
		{ "driver", required_argument, NULL, O_DRIVER },    { "firmware", required_argument, NULL, O_FIRMWARE },
		{ "force", no_argument, NULL, O_FORCE },            { "explain", no_argument, NULL, O_EXPLAIN },
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
	while ((c = getopt_long(argc, argv, "-hV", opts, NULL)) != -1) {
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
		case O_EXPLAIN: o.explain = true; break;
		case O_SYSFS: o.sysfs = optarg; break;
		case O_INV: o.inventory = optarg; break;
		case O_HOST: o.host = optarg; break;
		case O_LEDGER: o.ledger = optarg; break;
		case O_JSON: o.json = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " %s\n", EDP_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!cmd)
		return usage_error("%s", "a command is needed: devices, plan, claim, release, list or check");
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
	if (o.sysfs && o.inventory)
		return usage_error("%s", "give --sysfs-root or --inventory, not both");
	bool request = strcmp(cmd, "plan") == 0 || strcmp(cmd, "claim") == 0;
	if (!request && (o.req.n_needs || o.req.numa >= 0 || o.req.numa_same || policy_given || o.req.cpus[0] || o.explain ||
			 request_file ||
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
	if (strcmp(cmd, "list") == 0) {
		if (n_args > 1)
			return usage_error("%s", "list takes one WORKLOAD at most");
		return cmd_list(&o, n_args ? args[0] : NULL);
	}
	return usage_error("unknown command '%s' (devices, plan, claim, release, list, check)", cmd);
}
