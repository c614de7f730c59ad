#include "edp_assign_print.h"

#include <string.h>
#include <time.h>

#include "edp_json.h"

static const char *dash(const char *s) { return s && *s ? s : "-"; }

/* "-" for -1, else the number */
static const char *num_or_dash(char *buf, size_t n, int32_t v)
{
	if (v < 0)
		return "-";
	snprintf(buf, n, "%d", v);
	return buf;
}

void edp_print_devices(FILE *f, const struct edp_inventory *inv, const struct edp_ledger *l, bool force, bool json)
{
	struct edp_json j;
	if (json) {
		edp_json_begin(&j, f);
		edp_json_string(&j, "host", inv->host);
		edp_json_array(&j, "numa_nodes");
		for (uint32_t i = 0; i < inv->n_nodes; i++) {
			edp_json_object(&j, NULL);
			edp_json_int(&j, "id", inv->nodes[i].id);
			edp_json_string(&j, "cpus", inv->nodes[i].cpus);
			edp_json_end(&j);
		}
		edp_json_end(&j);
		edp_json_array(&j, "devices");
	} else {
		fprintf(f, "%-14s %-5s %-16s %4s %5s %-10s %-9s %s\n", "DEVICE", "KIND", "MODEL", "NODE", "GROUP", "DRIVER",
			"STATE", "OWNER / WHY");
	}
	for (uint32_t i = 0; i < inv->n; i++) {
		const struct edp_device *d = &inv->dev[i];
		char why[256], group[16], node[16];
		const char *state = edp_assign_state(inv, l, d, force, why, sizeof(why));
		if (!json) {
			fprintf(f, "%-14s %-5s %-16s %4s %5s %-10s %-9s %s\n", d->addr, edp_dev_kind_name(d->kind), d->model,
				num_or_dash(node, sizeof(node), d->numa_node), num_or_dash(group, sizeof(group), d->iommu_group),
				dash(d->driver), state, why);
			if (d->name[0]) /* pci.ids: under its ids, as lspci names it */
				fprintf(f, "%-14s %s\n", "", d->name);
			continue;
		}
		const struct edp_claim *c = edp_ledger_owner(l, inv->host, d->addr);
		edp_json_object(&j, NULL);
		edp_json_string(&j, "address", d->addr);
		edp_json_string(&j, "kind", edp_dev_kind_name(d->kind));
		edp_json_string(&j, "model", d->model);
		edp_json_string(&j, "name", d->name[0] ? d->name : NULL);
		edp_json_string(&j, "vendor", d->vendor);
		edp_json_string(&j, "device", d->device);
		edp_json_string(&j, "subsystem_vendor", d->subsys_vendor);
		edp_json_string(&j, "subsystem_device", d->subsys_device);
		edp_json_string(&j, "local_cpus", d->local_cpus);
		edp_json_int(&j, "numa_node", d->numa_node);
		edp_json_int(&j, "iommu_group", d->iommu_group);
		edp_json_string(&j, "driver", d->driver);
		edp_json_string(&j, "driver_version", d->driver_version);
		edp_json_string(&j, "firmware", d->firmware);
		edp_json_string(&j, "parent", d->parent);
		edp_json_string(&j, "interface", d->iface);
		edp_json_uint(&j, "sriov_totalvfs", d->sriov_total);
		edp_json_uint(&j, "sriov_numvfs", d->sriov_num);
		edp_json_bool(&j, "host_in_use", d->host_in_use);
		edp_json_string(&j, "state", state);
		edp_json_string(&j, "owner", c ? c->workload : NULL);
		edp_json_string(&j, "why", strcmp(state, "unusable") == 0 ? why : NULL);
		edp_json_end(&j);
	}
	if (json)
		edp_json_finish(&j);
}

void edp_print_plan(FILE *f, const char *workload, const struct edp_inventory *inv, const struct edp_plan *p,
		    bool claimed, bool json, bool explain)
{
	if (json) {
		struct edp_json j;
		edp_json_begin(&j, f);
		edp_json_string(&j, "workload", workload);
		edp_json_bool(&j, "claimed", claimed && !p->held);
		edp_json_bool(&j, "already_held", p->held);
		edp_json_int(&j, "numa_node", p->node);
		edp_json_object(&j, "score");
		edp_json_uint(&j, "beyond_request", p->beyond);
		edp_json_uint(&j, "left_free", p->left);
		edp_json_end(&j);
		edp_json_array(&j, "devices");
		for (uint32_t i = 0; i < p->n; i++) {
			const struct edp_device *d = edp_inventory_find(inv, p->dev[i].addr);
			edp_json_object(&j, NULL);
			edp_json_string(&j, "address", d->addr);
			edp_json_string(&j, "kind", edp_dev_kind_name(d->kind));
			edp_json_string(&j, "model", d->model);
			edp_json_int(&j, "numa_node", d->numa_node);
			edp_json_int(&j, "iommu_group", d->iommu_group);
			edp_json_bool(&j, "group_member", p->dev[i].member);
			edp_json_end(&j);
		}
		edp_json_end(&j);
		edp_json_lines(&j, "explain", p->explain);
		edp_json_finish(&j);
		return;
	}
	char node[32] = "across NUMA nodes", group[16];
	if (p->node >= 0)
		snprintf(node, sizeof(node), "on NUMA node %d", p->node);
	fprintf(f, "%s: %s %u device%s %s%s\n", workload, p->held ? "already holds" : claimed ? "claimed" : "would get", p->n,
		p->n == 1 ? "" : "s", node, p->held && claimed ? " (nothing written)" : "");
	for (uint32_t i = 0; i < p->n; i++) {
		const struct edp_device *d = edp_inventory_find(inv, p->dev[i].addr);
		fprintf(f, "  %-14s %-5s %-16s node %-3d group %-5s%s\n", d->addr, edp_dev_kind_name(d->kind), d->model,
			d->numa_node, num_or_dash(group, sizeof(group), d->iommu_group), p->dev[i].member ? " (group member)" : "");
	}
	fprintf(f, "  score: %u device%s beyond the request, %u such left free %s\n", p->beyond, p->beyond == 1 ? "" : "s",
		p->left, p->node >= 0 ? "on the node" : "in all");
	if (explain)
		fprintf(f, "why:\n%s", p->explain);
}

void edp_print_claims(FILE *f, const struct edp_ledger *l, const char *workload, bool json)
{
	struct edp_json j;
	if (json) {
		edp_json_begin(&j, f);
		edp_json_uint(&j, "generation", l->generation);
		edp_json_array(&j, "claims");
	} else
		fprintf(f, "%-16s %-14s %-5s %4s %5s %-10s %-10s %s\n", "WORKLOAD", "DEVICE", "KIND", "NODE", "GROUP", "DRIVER",
			"FIRMWARE", "CLAIMED");
	int shown = 0;
	for (uint32_t i = 0; i < l->n; i++) {
		const struct edp_claim *c = &l->claims[i];
		if (workload && strcmp(workload, c->workload) != 0)
			continue;
		if (json) {
			edp_json_object(&j, NULL);
			edp_json_string(&j, "workload", c->workload);
			edp_json_string(&j, "host", c->host[0] ? c->host : NULL);
			edp_json_string(&j, "device", c->device);
			edp_json_string(&j, "kind", edp_dev_kind_name(c->kind));
			edp_json_int(&j, "numa_node", c->numa_node);
			edp_json_int(&j, "iommu_group", c->iommu_group);
			edp_json_string(&j, "driver", c->driver);
			edp_json_string(&j, "driver_version", c->driver_version);
			edp_json_string(&j, "firmware", c->firmware);
			edp_json_string(&j, "driver_pin", c->driver_pin);
			edp_json_string(&j, "firmware_pin", c->firmware_pin);
			edp_json_bool(&j, "group_member", c->group_member);
			edp_json_uint(&j, "claimed_at", c->claimed_at);
			edp_json_end(&j);
		} else {
			char when[32];
			time_t t = (time_t)c->claimed_at;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			fprintf(f, "%-16s %-14s %-5s %4d %5d %-10s %-10s %s%s%s%s%s\n", c->workload, c->device,
				edp_dev_kind_name(c->kind), c->numa_node, c->iommu_group, dash(c->driver), dash(c->firmware), when,
				c->group_member ? " (group member)" : "", c->host[0] ? " (host " : "", c->host, c->host[0] ? ")" : "");
		}
		shown++;
	}
	if (json)
		edp_json_finish(&j);
}

void edp_print_check(FILE *f, const char *ledger, uint32_t claims, const char *report, int problems, bool json)
{
	if (json) {
		struct edp_json j;
		edp_json_begin(&j, f);
		edp_json_uint(&j, "claims", claims);
		edp_json_lines(&j, "problems", report);
		edp_json_finish(&j);
	} else if (problems) {
		fputs(report, f);
	} else {
		fprintf(f, "ledger %s: %u claim%s, all match the inventory\n", ledger, claims, claims == 1 ? "" : "s");
	}
}

void edp_print_moved(FILE *f, const char *from, const char *to, int moved, uint64_t generation, bool json)
{
	if (json) {
		struct edp_json j;
		edp_json_begin(&j, f);
		edp_json_string(&j, "from", from);
		edp_json_string(&j, "to", to);
		edp_json_int(&j, "moved", moved);
		edp_json_uint(&j, "generation", generation);
		edp_json_finish(&j);
	} else {
		fprintf(f, "%s -> %s: moved %d device%s (ledger generation %llu)\n", from, to, moved, moved == 1 ? "" : "s",
			(unsigned long long)generation);
	}
}

void edp_print_released(FILE *f, const char *workload, int released, bool json)
{
	if (json) {
		struct edp_json j;
		edp_json_begin(&j, f);
		edp_json_string(&j, "workload", workload);
		edp_json_int(&j, "released", released);
		edp_json_finish(&j);
	} else {
		fprintf(f, "%s: released %d device%s\n", workload, released, released == 1 ? "" : "s");
	}
}
