#include "edp_assign_print.h"

#include <string.h>
#include <time.h>

#include "edp_print.h"

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
	if (json) {
		fputc('{', f);
		edp_print_json_key(f, "host", inv->host, true);
		fprintf(f, "\"numa_nodes\":[");
		for (uint32_t i = 0; i < inv->n_nodes; i++) {
			fprintf(f, "%s{\"id\":%d,", i ? "," : "", inv->nodes[i].id);
			edp_print_json_key(f, "cpus", inv->nodes[i].cpus, false);
			fputc('}', f);
		}
		fprintf(f, "],\"devices\":[");
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
			continue;
		}
		fprintf(f, "%s{", i ? "," : "");
		edp_print_json_key(f, "address", d->addr, true);
		edp_print_json_key(f, "kind", edp_dev_kind_name(d->kind), true);
		edp_print_json_key(f, "model", d->model, true);
		edp_print_json_key(f, "vendor", d->vendor, true);
		edp_print_json_key(f, "device", d->device, true);
		edp_print_json_key(f, "subsystem_vendor", d->subsys_vendor, true);
		edp_print_json_key(f, "subsystem_device", d->subsys_device, true);
		edp_print_json_key(f, "local_cpus", d->local_cpus, true);
		fprintf(f, "\"numa_node\":%d,\"iommu_group\":%d,", d->numa_node, d->iommu_group);
		edp_print_json_key(f, "driver", d->driver, true);
		edp_print_json_key(f, "driver_version", d->driver_version, true);
		edp_print_json_key(f, "firmware", d->firmware, true);
		edp_print_json_key(f, "parent", d->parent, true);
		edp_print_json_key(f, "interface", d->iface, true);
		fprintf(f, "\"sriov_totalvfs\":%u,\"sriov_numvfs\":%u,\"host_in_use\":%s,", d->sriov_total, d->sriov_num,
			d->host_in_use ? "true" : "false");
		edp_print_json_key(f, "state", state, true);
		const struct edp_claim *c = edp_ledger_owner(l, d->addr);
		if (c)
			edp_print_json_key(f, "owner", c->workload, true);
		else
			fprintf(f, "\"owner\":null,");
		if (strcmp(state, "unusable") == 0)
			edp_print_json_key(f, "why", why, false);
		else
			fprintf(f, "\"why\":null");
		fputc('}', f);
	}
	if (json)
		fprintf(f, "]}\n");
}

void edp_print_plan(FILE *f, const char *workload, const struct edp_inventory *inv, const struct edp_plan *p,
		    bool claimed, bool json, bool explain)
{
	if (json) {
		fputc('{', f);
		edp_print_json_key(f, "workload", workload, true);
		fprintf(f, "\"claimed\":%s,\"numa_node\":%d,\"score\":{\"beyond_request\":%u,\"left_free\":%u},\"devices\":[",
			claimed ? "true" : "false", p->node, p->beyond, p->left);
		for (uint32_t i = 0; i < p->n; i++) {
			const struct edp_device *d = edp_inventory_find(inv, p->dev[i].addr);
			fprintf(f, "%s{", i ? "," : "");
			edp_print_json_key(f, "address", d->addr, true);
			edp_print_json_key(f, "kind", edp_dev_kind_name(d->kind), true);
			edp_print_json_key(f, "model", d->model, true);
			fprintf(f, "\"numa_node\":%d,\"iommu_group\":%d,\"group_member\":%s}", d->numa_node, d->iommu_group,
				p->dev[i].member ? "true" : "false");
		}
		fprintf(f, "],\"explain\":");
		edp_print_json_lines(f, p->explain);
		fprintf(f, "}\n");
		return;
	}
	char node[32] = "across NUMA nodes", group[16];
	if (p->node >= 0)
		snprintf(node, sizeof(node), "on NUMA node %d", p->node);
	fprintf(f, "%s: %s %u device%s %s\n", workload, claimed ? "claimed" : "would get", p->n, p->n == 1 ? "" : "s", node);
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
	if (json)
		fprintf(f, "{\"generation\":%llu,\"claims\":[", (unsigned long long)l->generation);
	else
		fprintf(f, "%-16s %-14s %-5s %4s %5s %-10s %-10s %s\n", "WORKLOAD", "DEVICE", "KIND", "NODE", "GROUP", "DRIVER",
			"FIRMWARE", "CLAIMED");
	int shown = 0;
	for (uint32_t i = 0; i < l->n; i++) {
		const struct edp_claim *c = &l->claims[i];
		if (workload && strcmp(workload, c->workload) != 0)
			continue;
		if (json) {
			fprintf(f, "%s{", shown ? "," : "");
			edp_print_json_key(f, "workload", c->workload, true);
			edp_print_json_key(f, "device", c->device, true);
			edp_print_json_key(f, "kind", edp_dev_kind_name(c->kind), true);
			fprintf(f, "\"numa_node\":%d,\"iommu_group\":%d,", c->numa_node, c->iommu_group);
			edp_print_json_key(f, "driver", c->driver, true);
			edp_print_json_key(f, "driver_version", c->driver_version, true);
			edp_print_json_key(f, "firmware", c->firmware, true);
			edp_print_json_key(f, "driver_pin", c->driver_pin, true);
			edp_print_json_key(f, "firmware_pin", c->firmware_pin, true);
			fprintf(f, "\"group_member\":%s,\"claimed_at\":%llu}", c->group_member ? "true" : "false",
				(unsigned long long)c->claimed_at);
		} else {
			char when[32];
			time_t t = (time_t)c->claimed_at;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			fprintf(f, "%-16s %-14s %-5s %4d %5d %-10s %-10s %s%s\n", c->workload, c->device, edp_dev_kind_name(c->kind),
				c->numa_node, c->iommu_group, dash(c->driver), dash(c->firmware), when,
				c->group_member ? " (group member)" : "");
		}
		shown++;
	}
	if (json)
		fprintf(f, "]}\n");
}

void edp_print_check(FILE *f, const char *ledger, uint32_t claims, const char *report, int problems, bool json)
{
	if (json) {
		fprintf(f, "{\"claims\":%u,\"problems\":", claims);
		edp_print_json_lines(f, report);
		fprintf(f, "}\n");
	} else if (problems) {
		fputs(report, f);
	} else {
		fprintf(f, "ledger %s: %u claim%s, all match the inventory\n", ledger, claims, claims == 1 ? "" : "s");
	}
}

void edp_print_released(FILE *f, const char *workload, int released, bool json)
{
	if (json) {
		fputc('{', f);
		edp_print_json_key(f, "workload", workload, true);
		fprintf(f, "\"released\":%d}\n", released);
	} else {
		fprintf(f, "%s: released %d device%s\n", workload, released, released == 1 ? "" : "s");
	}
}
