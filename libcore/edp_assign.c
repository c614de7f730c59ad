#include "edp_assign.h"
#include "edp_yaml.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const policy_names[] = { "none", "best-effort", "restricted", "single-numa-node" };

int edp_numa_policy_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, policy_names[i]) == 0)
			return i;
	return -1;
}

const char *edp_numa_policy_name(enum edp_numa_policy p)
{
	return (unsigned)p < 4 ? policy_names[p] : "none";
}

const char *edp_need_parse(const char *s, struct edp_need *n)
{
	memset(n, 0, sizeof(*n));
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	char *colon = strchr(buf, ':');
	if (!colon)
		return "expected KIND:COUNT[,model=M][,parent=PF] (KIND: nic, gpu, dpu, vf, other)";
	*colon = 0;
	int kind = edp_dev_kind_parse(buf);
	if (kind < 0)
		return "the kind must be nic, gpu, dpu, vf or other";
	n->kind = (enum edp_dev_kind)kind;
	char *rest = colon + 1, *end;
	long count = strtol(rest, &end, 10);
	if (end == rest || count < 1 || count > EDP_PLAN_MAX || (*end && *end != ','))
		return "the count must be 1 to 256";
	n->count = (uint32_t)count;
	for (char *opt = *end ? end + 1 : NULL; opt && *opt;) {
		char *next = strchr(opt, ',');
		if (next)
			*next++ = 0;
		if (strncmp(opt, "model=", 6) == 0 && opt[6] && strlen(opt + 6) < sizeof(n->model))
			snprintf(n->model, sizeof(n->model), "%s", opt + 6);
		else if (strncmp(opt, "parent=", 7) == 0 && opt[7] && strlen(opt + 7) < sizeof(n->parent))
			snprintf(n->parent, sizeof(n->parent), "%s", opt + 7);
		else
			return "options are model=M and parent=PF";
		opt = next;
	}
	if (n->parent[0] && n->kind != EDP_DEV_VF)
		return "parent= goes with vf";
	return NULL;
}

/* ---- requests from YAML ---- */

static int request_key(struct edp_yaml *y, const char *k, yaml_node_t *v, void *arg)
{
	struct edp_request *r = arg;
	const char *s = edp_yaml_scalar(v), *why;
	static const char *const known = "workload, need, numa, policy, cpus, driver, firmware, force";
	size_t kl = strlen(k);
	const char *at = strstr(known, k);
	if (!kl || !at || (at > known && at[-1] != ' ') || (at[kl] != ',' && at[kl] != 0))
		return edp_yaml_unknown(y, "request", k, known);
	if (strcmp(k, "need") == 0) {
		if (v->type != YAML_SEQUENCE_NODE)
			return edp_yaml_fail(y, v, "need must be a list like [nic:2, \"gpu:1,model=A100\"]");
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *n = edp_yaml_node(y, *it);
			const char *t = edp_yaml_scalar(n);
			if (r->n_needs == EDP_MAX_NEEDS)
				return edp_yaml_fail(y, n, "at most %d needs", EDP_MAX_NEEDS);
			if (!t || (why = edp_need_parse(t, &r->needs[r->n_needs])))
				return edp_yaml_fail(y, n, "need '%s': %s", t ? t : "?", t ? why : "must be a string");
			r->n_needs++;
		}
		return 0;
	}
	if (!s)
		return edp_yaml_fail(y, v, "%s must be a value", k);
	if (strcmp(k, "workload") == 0) {
		if (!edp_workload_name_valid(s))
			return edp_yaml_fail(y, v, "workload name '%s' must be 1 to 64 of A-Z a-z 0-9 _ . -", s);
		snprintf(r->workload, sizeof(r->workload), "%s", s);
	} else if (strcmp(k, "numa") == 0) {
		long long x;
		if (strcmp(s, "same") == 0)
			r->numa_same = true;
		else if (edp_yaml_int(y, v, k, 0, EDP_MAX_NODES - 1, &x))
			return EDP_ERR_USAGE;
		else
			r->numa = (int32_t)x;
	} else if (strcmp(k, "policy") == 0) {
		int p = edp_numa_policy_parse(s);
		if (p < 0)
			return edp_yaml_fail(y, v, "policy '%s' is not none, best-effort, restricted or single-numa-node", s);
		r->policy = (enum edp_numa_policy)p;
	} else if (strcmp(k, "cpus") == 0 || strcmp(k, "driver") == 0 || strcmp(k, "firmware") == 0) {
		char *dst = k[0] == 'c' ? r->cpus : k[0] == 'd' ? r->driver_pin : r->firmware_pin;
		if (strlen(s) >= EDP_DEV_TEXT_MAX)
			return edp_yaml_fail(y, v, "%s is too long", k);
		snprintf(dst, k[0] == 'c' ? sizeof(r->cpus) : EDP_DEV_TEXT_MAX, "%s", s);
	} else if (strcmp(k, "force") == 0) {
		if (strcmp(s, "true") && strcmp(s, "false"))
			return edp_yaml_fail(y, v, "force must be true or false");
		r->force = s[0] == 't';
	}
	return 0;
}

int edp_request_load(struct edp_request *r, const char *path, struct edp_error *err)
{
	struct edp_yaml y;
	int rc = edp_yaml_load(&y, path, "request", err);
	if (!rc)
		rc = edp_yaml_each_key(&y, edp_yaml_root(&y), "request", request_key, r);
	edp_yaml_free(&y);
	return rc;
}

/* The NUMA node of the first CPU of a list like "8-11,20", or -1. */
static int32_t node_of_cpus(const struct edp_inventory *inv, const char *list)
{
	char *end;
	long cpu = strtol(list, &end, 10);
	if (end == list)
		return -1;
	for (uint32_t i = 0; i < inv->n_nodes; i++) {
		const char *p = inv->nodes[i].cpus;
		while (*p) {
			long lo = strtol(p, &end, 10), hi = lo;
			if (end == p)
				break;
			if (*end == '-')
				hi = strtol(end + 1, &end, 10);
			if (cpu >= lo && cpu <= hi)
				return inv->nodes[i].id;
			p = *end == ',' ? end + 1 : end;
		}
	}
	return -1;
}

/* ---- pins ---- */

/* "ice>=1.12" -> name "ice", version pin ">=1.12" ("" when none) */
static void split_pin(const char *pin, char *name, size_t nsize, const char **ver)
{
	size_t n = strcspn(pin, "<>=");
	if (pin[n] == 0 && n && isdigit((unsigned char)pin[0])) /* "1.2" or "1.2-1.4": a version */
		n = 0;
	snprintf(name, nsize, "%.*s", (int)n, pin);
	*ver = pin + n;
}

static bool pins_hold(const struct edp_request *r, const struct edp_device *d)
{
	if (r->driver_pin[0]) {
		char name[EDP_DEV_TEXT_MAX];
		const char *ver;
		split_pin(r->driver_pin, name, sizeof(name), &ver);
		if (name[0] && strcmp(name, d->driver) != 0)
			return false;
		if (*ver && edp_version_satisfies(d->driver_version, ver) != 1)
			return false;
	}
	if (r->firmware_pin[0] && edp_version_satisfies(d->firmware, r->firmware_pin) != 1)
		return false;
	return true;
}

static int check_pins(const struct edp_request *r, struct edp_error *err)
{
	if (r->driver_pin[0]) {
		char name[EDP_DEV_TEXT_MAX];
		const char *ver;
		split_pin(r->driver_pin, name, sizeof(name), &ver);
		if (*ver && edp_version_satisfies("0", ver) < 0)
			return edp_error_set(err, EDP_ERR_USAGE, "--driver: '%s' is not DRIVER, DRIVER>=VERSION, <=, >, <, = or LOW-HIGH",
					     r->driver_pin);
	}
	if (r->firmware_pin[0] && edp_version_satisfies("0", r->firmware_pin) < 0)
		return edp_error_set(err, EDP_ERR_USAGE, "--firmware: '%s' is not VERSION, >=VERSION, <=, >, <, = or LOW-HIGH",
				     r->firmware_pin);
	return 0;
}

static bool model_has(const char *model, const char *want)
{
	if (!*want)
		return true;
	size_t n = strlen(want);
	for (const char *p = model; *p; p++)
		if (strncasecmp(p, want, n) == 0)
			return true;
	return false;
}

static bool matches(const struct edp_request *r, const struct edp_need *n, const struct edp_device *d)
{
	return d->kind == n->kind && (model_has(d->model, n->model) || (d->name[0] && model_has(d->name, n->model))) &&
	       (!n->parent[0] || strcmp(n->parent, d->parent) == 0) &&
	       pins_hold(r, d);
}

/* ---- units: IOMMU groups, or devices without one ---- */

struct unit {
	uint32_t first, n;      /* members: idx[first .. first+n) */
	int32_t node;           /* the members' node; -1 unknown or mixed */
	bool available;
	char why[320];          /* when not */
};

struct units {
	uint32_t *idx;          /* device indices, grouped */
	struct unit *u;
	uint32_t n;
};

static int by_group(const void *a, const void *b, void *inv)
{
	const struct edp_device *x = &((const struct edp_inventory *)inv)->dev[*(const uint32_t *)a];
	const struct edp_device *y = &((const struct edp_inventory *)inv)->dev[*(const uint32_t *)b];
	if (x->iommu_group != y->iommu_group)
		return x->iommu_group < y->iommu_group ? -1 : 1;
	return strcmp(x->addr, y->addr);
}

static int units_build(struct units *us, const struct edp_inventory *inv, const struct edp_ledger *l, const char *workload,
		       bool force, struct edp_error *err)
{
	us->idx = calloc(inv->n + 1, sizeof(*us->idx));
	us->u = calloc(inv->n + 1, sizeof(*us->u));
	us->n = 0;
	if (!us->idx || !us->u)
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	for (uint32_t i = 0; i < inv->n; i++)
		us->idx[i] = i;
	qsort_r(us->idx, inv->n, sizeof(*us->idx), by_group, (void *)inv);
	for (uint32_t i = 0; i < inv->n;) {
		uint32_t j = i + 1;
		int32_t g = inv->dev[us->idx[i]].iommu_group;
		while (g >= 0 && j < inv->n && inv->dev[us->idx[j]].iommu_group == g)
			j++;
		struct unit *u = &us->u[us->n++];
		*u = (struct unit){ .first = i, .n = j - i, .node = inv->dev[us->idx[i]].numa_node, .available = true };
		for (uint32_t k = i; k < j; k++) {
			const struct edp_device *d = &inv->dev[us->idx[k]];
			const struct edp_claim *c = edp_ledger_owner(l, inv->host, d->addr);
			if (d->numa_node != u->node)
				u->node = -1;
			if (c && u->available) {
				u->available = false;
				if (strcmp(c->workload, workload) == 0)
					snprintf(u->why, sizeof(u->why), "%s already holds %s", workload, d->addr);
				else if (g >= 0)
					snprintf(u->why, sizeof(u->why), "IOMMU group %d is held by %s (%s)", g, c->workload, d->addr);
				else
					snprintf(u->why, sizeof(u->why), "held by %s", c->workload);
			} else if (d->host_in_use && !force && u->available) {
				u->available = false;
				snprintf(u->why, sizeof(u->why), "%s is used by the host (driver %s, %s up)", d->addr, d->driver,
					 d->iface[0] ? d->iface : "an interface");
			}
		}
		i = j;
	}
	return 0;
}

static void units_free(struct units *us)
{
	free(us->idx);
	free(us->u);
}

/* ---- placements ---- */

struct placement {
	bool ok;
	int32_t node;           /* -1: any */
	uint32_t taken[EDP_PLAN_MAX]; /* unit indices */
	uint32_t n_taken;
	uint32_t devices, extras, left; /* devices claimed, of them not asked for, free matching ones left */
	char why[256];
};

static uint32_t unit_matches(const struct units *us, const struct edp_inventory *inv, const struct edp_request *r,
			     const struct edp_need *n, uint32_t ui)
{
	uint32_t m = 0;
	for (uint32_t k = 0; k < us->u[ui].n; k++)
		m += matches(r, n, &inv->dev[us->idx[us->u[ui].first + k]]);
	return m;
}

static bool in_scope(const struct unit *u, int32_t node)
{
	return node < 0 || u->node == node;
}

/* Serve every need within `node` (-1: anywhere): for each need, units that
 * carry the fewest devices beyond it first (no overshoot, no extra members),
 * then the fullest. */
static void place(const struct units *us, const struct edp_inventory *inv, const struct edp_request *r, int32_t node,
		  struct placement *p)
{
	memset(p, 0, sizeof(*p));
	p->node = node;
	bool *used = calloc(us->n + 1, sizeof(bool));
	if (!used)
		return;
	for (uint32_t ni = 0; ni < r->n_needs; ni++) {
		const struct edp_need *n = &r->needs[ni];
		int64_t remaining = n->count;
		while (remaining > 0) {
			int64_t best = -1, best_over = 0, best_extra = 0, best_m = 0;
			for (uint32_t ui = 0; ui < us->n; ui++) {
				const struct unit *u = &us->u[ui];
				if (used[ui] || !u->available || !in_scope(u, node))
					continue;
				int64_t m = unit_matches(us, inv, r, n, ui);
				if (!m)
					continue;
				int64_t over = m > remaining ? m - remaining : 0, extra = (int64_t)u->n - m;
				if (best < 0 || over < best_over || (over == best_over && extra < best_extra) ||
				    (over == best_over && extra == best_extra && m > best_m)) {
					best = ui;
					best_over = over;
					best_extra = extra;
					best_m = m;
				}
			}
			if (best < 0 || p->n_taken == EDP_PLAN_MAX) {
				snprintf(p->why, sizeof(p->why), "%" PRId64 " of %u %s%s%s free",
					 (int64_t)n->count - remaining, n->count, edp_dev_kind_name(n->kind),
					 n->model[0] ? " model " : "", n->model);
				free(used);
				return;
			}
			used[best] = true;
			p->taken[p->n_taken++] = (uint32_t)best;
			p->devices += us->u[best].n;
			p->extras += (uint32_t)(best_extra + best_over);
			remaining -= best_m;
		}
	}
	/* free devices of the kinds asked for, left in scope */
	for (uint32_t ui = 0; ui < us->n; ui++)
		if (!used[ui] && us->u[ui].available && in_scope(&us->u[ui], node))
			for (uint32_t ni = 0; ni < r->n_needs; ni++)
				p->left += unit_matches(us, inv, r, &r->needs[ni], ui);
	free(used);
	p->ok = p->devices <= EDP_PLAN_MAX;
}

/* Could one node serve the request if nothing were claimed? */
static bool one_node_could(const struct edp_inventory *inv, const struct edp_request *r, int32_t node)
{
	for (uint32_t ni = 0; ni < r->n_needs; ni++) {
		uint32_t m = 0;
		for (uint32_t i = 0; i < inv->n; i++)
			m += inv->dev[i].numa_node == node && matches(r, &r->needs[ni], &inv->dev[i]);
		if (m < r->needs[ni].count)
			return false;
	}
	return true;
}

static bool node_has_cpus(const struct edp_inventory *inv, int32_t node)
{
	for (uint32_t i = 0; i < inv->n_nodes; i++)
		if (inv->nodes[i].id == node)
			return inv->nodes[i].cpus[0] != 0;
	return inv->n_nodes == 0; /* nothing known: do not refuse for it */
}

/* lower is better */
static int64_t score(const struct edp_request *r, int32_t cpus_node, const struct placement *p)
{
	int64_t s = 0;
	if (r->numa >= 0 && p->node != r->numa)
		s += 1ll << 50;
	if (cpus_node >= 0 && p->node != cpus_node)
		s += 1ll << 45;
	if (p->node < 0 && r->policy != EDP_NUMA_NONE)
		s += 1ll << 40;
	s += (int64_t)p->extras << 28; /* a device claimed for nothing is lost to the next request */
	s += (int64_t)p->left << 8;
	s += p->node < 0 ? 255 : p->node;
	return s;
}

/* Append one line to the text in buf (cut when it is full). */
static void append_line(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append_line(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	if (n + 2 >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n - 1, fmt, ap);
	va_end(ap);
	strcat(buf, "\n");
}

#define explain(p, ...) append_line((p)->explain, sizeof((p)->explain), __VA_ARGS__)

/* Whether the inventory has NUMA node `node` (a node of its own list, or
 * of a device); its nodes into list. */
static bool node_known(const struct edp_inventory *inv, int32_t node, char *list, size_t size)
{
	bool known = false;
	size_t n = 0;
	list[0] = 0;
	for (uint32_t i = 0; i < inv->n_nodes; i++) {
		known |= inv->nodes[i].id == node;
		n += (size_t)snprintf(list + n, size > n ? size - n : 0, "%s%d", i ? ", " : "", inv->nodes[i].id);
	}
	for (uint32_t i = 0; i < inv->n && !inv->n_nodes; i++) {
		int32_t nd = inv->dev[i].numa_node;
		bool seen = nd < 0;
		for (uint32_t k = 0; k < i && !seen; k++)
			seen = inv->dev[k].numa_node == nd;
		known |= nd == node;
		if (!seen)
			n += (size_t)snprintf(list + n, size > n ? size - n : 0, "%s%d", n ? ", " : "", nd);
	}
	return known;
}

/* A workload that holds devices on the inventory's host: the plan of
 * them when they satisfy the request (each need met by devices it holds
 * that match it, on the node asked for), else why not. Returns 0 with
 * p->held, 1 when it holds none, or EDP_ASSIGN_UNSATISFIABLE. */
static int held_plan(const struct edp_inventory *inv, const struct edp_ledger *l, const struct edp_request *r,
		     struct edp_plan *p, struct edp_error *err)
{
	uint32_t wanted[EDP_MAX_NEEDS];
	for (uint32_t ni = 0; ni < r->n_needs; ni++)
		wanted[ni] = r->needs[ni].count;
	char list[512] = "";
	size_t ll = 0;
	bool fits = true;
	int32_t node = -2;
	for (uint32_t i = 0; i < l->n && p->n < EDP_PLAN_MAX; i++) {
		const struct edp_claim *c = &l->claims[i];
		if (strcmp(c->workload, r->workload) != 0 || strcmp(c->host, inv->host) != 0)
			continue;
		const struct edp_device *d = edp_inventory_find(inv, c->device);
		ll += (size_t)snprintf(list + ll, ll < sizeof(list) ? sizeof(list) - ll : 0, "%s%s", ll ? " " : "", c->device);
		fits &= d && (r->numa < 0 || d->numa_node == r->numa);
		for (uint32_t ni = 0; d && !c->group_member && ni < r->n_needs; ni++)
			if (wanted[ni] && matches(r, &r->needs[ni], d)) {
				wanted[ni]--;
				break;
			}
		node = !d ? -1 : node == -2 || node == d->numa_node ? d->numa_node : -1;
		snprintf(p->dev[p->n].addr, sizeof(p->dev[0].addr), "%s", c->device);
		p->dev[p->n++].member = c->group_member;
	}
	if (!p->n)
		return 1;
	for (uint32_t ni = 0; ni < r->n_needs; ni++)
		fits &= wanted[ni] == 0;
	if (!fits) {
		uint32_t n = p->n;
		p->n = 0;
		return edp_error_set(err, EDP_ASSIGN_UNSATISFIABLE,
				     "%s already holds %u device%s (%s) that do not satisfy this request: release them first, "
				     "or give --add to claim more", r->workload, n, n == 1 ? "" : "s", list);
	}
	p->held = true;
	p->node = node < 0 ? -1 : node;
	explain(p, "%s already holds them: nothing to claim (--add claims more)", r->workload);
	return 0;
}

int edp_assign_plan(const struct edp_inventory *inv, const struct edp_ledger *l, const struct edp_request *r,
		    struct edp_plan *p, struct edp_error *err)
{
	memset(p, 0, sizeof(*p));
	p->node = -1;
	if (!edp_workload_name_valid(r->workload))
		return edp_error_set(err, EDP_ERR_USAGE, "workload name '%s' must be 1 to 64 of A-Z a-z 0-9 _ . -", r->workload);
	if (!r->n_needs)
		return edp_error_set(err, EDP_ERR_USAGE, "nothing asked for: give --need KIND:COUNT");
	int rc = check_pins(r, err);
	if (rc)
		return rc;
	int32_t cpus_node = r->cpus[0] ? node_of_cpus(inv, r->cpus) : -1;
	if (r->cpus[0] && cpus_node < 0)
		return edp_error_set(err, EDP_ERR_USAGE, "--cpus: '%s' is on no known NUMA node", r->cpus);
	char nodes_list[256];
	if (r->numa >= 0 && !node_known(inv, r->numa, nodes_list, sizeof(nodes_list)))
		return edp_error_set(err, EDP_ERR_USAGE, "--numa %d: %s%s has no such NUMA node (its nodes: %s)", r->numa,
				     inv->host[0] ? "host " : "this host", inv->host, nodes_list[0] ? nodes_list : "none known");
	if (!r->add && (rc = held_plan(inv, l, r, p, err)) != 1)
		return rc;
	struct units us;
	if ((rc = units_build(&us, inv, l, r->workload, r->force, err))) {
		units_free(&us);
		return rc;
	}
	/* the scopes the policy allows: single nodes, and anywhere */
	int32_t nodes[EDP_MAX_NODES + 1];
	uint32_t n_nodes = 0;
	for (uint32_t i = 0; i < inv->n; i++) {
		int32_t nd = inv->dev[i].numa_node;
		bool seen = nd < 0;
		for (uint32_t k = 0; k < n_nodes && !seen; k++)
			seen = nodes[k] == nd;
		if (!seen && n_nodes < EDP_MAX_NODES)
			nodes[n_nodes++] = nd;
	}
	bool single_only = r->policy == EDP_NUMA_SINGLE || r->numa_same;
	if (r->policy == EDP_NUMA_RESTRICTED) {
		bool one = false;
		for (uint32_t k = 0; k < n_nodes && !one; k++)
			one = (r->numa < 0 || nodes[k] == r->numa) && one_node_could(inv, r, nodes[k]);
		single_only = one || r->numa >= 0;
		if (!one && r->numa < 0)
			explain(p, "no single node has enough such devices: %s allows them to span", edp_numa_policy_name(r->policy));
	}
	struct placement best = { 0 }, cur;
	int64_t best_score = 0;
	for (uint32_t k = 0; k <= n_nodes; k++) {
		int32_t node = k < n_nodes ? nodes[k] : -1;
		if (node < 0 && single_only)
			continue;
		if (node >= 0 && (r->policy == EDP_NUMA_SINGLE || r->policy == EDP_NUMA_RESTRICTED || r->numa_same) &&
		    r->numa >= 0 && node != r->numa)
			continue;
		if (node >= 0 && r->numa_same && !node_has_cpus(inv, node)) {
			explain(p, "node %d: has no CPUs for the workload", node);
			continue;
		}
		place(&us, inv, r, node, &cur);
		if (!cur.ok) {
			if (node < 0)
				explain(p, "anywhere: %s", cur.why[0] ? cur.why : "too many devices");
			else
				explain(p, "node %d: %s", node, cur.why[0] ? cur.why : "too many devices");
			continue;
		}
		int64_t s = score(r, cpus_node, &cur);
		char list[1024] = "";
		size_t ll = 0;
		for (uint32_t t = 0; t < cur.n_taken && ll + 40 < sizeof(list); t++) {
			const struct unit *u = &us.u[cur.taken[t]];
			for (uint32_t m = 0; m < u->n && ll + 40 < sizeof(list); m++)
				ll += (size_t)snprintf(list + ll, sizeof(list) - ll, "%s%s", ll ? " " : "", inv->dev[us.idx[u->first + m]].addr);
		}
		if (node < 0)
			explain(p, "anywhere: %s; %u devices, %u beyond the request, %u such left free", list, cur.devices,
				cur.extras, cur.left);
		else
			explain(p, "node %d: %s; %u devices, %u beyond the request, %u such left free on the node", node, list,
				cur.devices, cur.extras, cur.left);
		if (!best.ok || s < best_score) {
			best = cur;
			best_score = s;
		}
	}
	for (uint32_t ui = 0; ui < us.n; ui++)
		if (!us.u[ui].available)
			explain(p, "not offered: %s", us.u[ui].why);
	if (!best.ok) {
		char ask[256] = "";
		size_t al = 0;
		for (uint32_t ni = 0; ni < r->n_needs && al + 64 < sizeof(ask); ni++)
			al += (size_t)snprintf(ask + al, sizeof(ask) - al, "%s%s:%u%s%s", ni ? " " : "",
					       edp_dev_kind_name(r->needs[ni].kind), r->needs[ni].count,
					       r->needs[ni].model[0] ? ",model=" : "", r->needs[ni].model);
		units_free(&us);
		char on[24] = "";
		if (r->numa >= 0)
			snprintf(on, sizeof(on), " on node %d", r->numa);
		return edp_error_set(err, EDP_ASSIGN_UNSATISFIABLE, "no device available for %s: %s%s (policy %s%s%s)",
				     r->workload, ask, on, edp_numa_policy_name(r->policy), r->numa_same ? ", numa same" : "",
				     r->driver_pin[0] || r->firmware_pin[0] ? ", with pins" : "");
	}
	p->node = best.node;
	p->beyond = best.extras;
	p->left = best.left;
	uint32_t wanted[EDP_MAX_NEEDS]; /* what is left of each need: a device beyond it is a group member */
	for (uint32_t ni = 0; ni < r->n_needs; ni++)
		wanted[ni] = r->needs[ni].count;
	for (uint32_t t = 0; t < best.n_taken; t++) {
		const struct unit *u = &us.u[best.taken[t]];
		for (uint32_t m = 0; m < u->n && p->n < EDP_PLAN_MAX; m++) {
			const struct edp_device *d = &inv->dev[us.idx[u->first + m]];
			bool asked = false;
			for (uint32_t ni = 0; ni < r->n_needs && !asked; ni++)
				if (wanted[ni] && matches(r, &r->needs[ni], d)) {
					wanted[ni]--;
					asked = true;
				}
			snprintf(p->dev[p->n].addr, sizeof(p->dev[0].addr), "%s", d->addr);
			p->dev[p->n++].member = !asked;
		}
	}
	if (best.node < 0) { /* placed anywhere: on one node all the same? */
		int32_t nd = -2;
		for (uint32_t i = 0; i < p->n; i++) {
			int32_t x = edp_inventory_find(inv, p->dev[i].addr)->numa_node;
			nd = nd == -2 ? x : nd == x ? nd : -1;
		}
		p->node = nd < 0 ? -1 : nd;
	}
	if (p->node >= 0)
		explain(p, "chosen: node %d%s%s%s", p->node, r->numa == p->node ? " (the node asked for)" : "",
			cpus_node == p->node ? " (the node of the workload's CPUs)" : "", ", the tightest fit");
	else
		explain(p, "chosen: across nodes (no single node could serve it now)");
	units_free(&us);
	return 0;
}

/* Record a plan in the ledger (in memory). */
static int apply(struct edp_ledger *l, const struct edp_inventory *inv, const struct edp_request *r,
		 const struct edp_plan *p, struct edp_error *err)
{
	for (uint32_t i = 0; i < p->n; i++) {
		const struct edp_device *d = edp_inventory_find(inv, p->dev[i].addr);
		if (!d || edp_ledger_owner(l, inv->host, d->addr))
			return edp_error_set(err, EDP_ERR_RUNTIME, "device %s changed while planning", p->dev[i].addr);
		struct edp_claim c = { .kind = d->kind, .numa_node = d->numa_node, .iommu_group = d->iommu_group,
				       .group_member = p->dev[i].member, .claimed_at = (uint64_t)time(NULL) };
		snprintf(c.workload, sizeof(c.workload), "%s", r->workload);
		snprintf(c.host, sizeof(c.host), "%s", inv->host);
		snprintf(c.device, sizeof(c.device), "%s", d->addr);
		snprintf(c.driver, sizeof(c.driver), "%s", d->driver);
		snprintf(c.driver_version, sizeof(c.driver_version), "%s", d->driver_version);
		snprintf(c.firmware, sizeof(c.firmware), "%s", d->firmware);
		snprintf(c.driver_pin, sizeof(c.driver_pin), "%s", r->driver_pin);
		snprintf(c.firmware_pin, sizeof(c.firmware_pin), "%s", r->firmware_pin);
		int rc = edp_ledger_add(l, &c, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* The claims of workload that the devices name (all of them when n == 0;
 * a device takes its whole IOMMU group along), marked in picked (one a
 * claim). Returns how many, or -1 with err set for a device the workload
 * does not hold. */
static int pick(const struct edp_ledger *l, const char *workload, const char *const *devices, int n, bool *picked,
		struct edp_error *err)
{
	int32_t groups[EDP_PLAN_MAX];
	int n_groups = 0;
	const char *hosts[EDP_PLAN_MAX];
	for (int i = 0; i < n; i++) {
		const struct edp_claim *c = NULL, *other = NULL;
		for (uint32_t k = 0; k < l->n && !c; k++) /* the workload's claim on it, on whichever host */
			if (strcmp(l->claims[k].device, devices[i]) == 0)
				*(strcmp(l->claims[k].workload, workload) == 0 ? &c : &other) = &l->claims[k];
		if (!c)
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s does not hold %s (%s)", workload, devices[i],
					     other ? other->workload : "nobody does"), -1;
		if (n_groups < EDP_PLAN_MAX) {
			hosts[n_groups] = c->host;
			groups[n_groups++] = c->iommu_group;
		}
	}
	int count = 0;
	for (uint32_t i = 0; i < l->n; i++) {
		const struct edp_claim *c = &l->claims[i];
		bool take = strcmp(c->workload, workload) == 0 && n == 0;
		for (int k = 0; k < n && !take && strcmp(c->workload, workload) == 0; k++)
			take = strcmp(c->device, devices[k]) == 0 ||
			       (k < n_groups && c->iommu_group >= 0 && c->iommu_group == groups[k] && !strcmp(c->host, hosts[k]));
		picked[i] = take;
		count += take;
	}
	return count;
}

static int release(struct edp_ledger *l, const char *workload, const char *const *devices, int n,
		   struct edp_error *err)
{
	bool *picked = calloc(l->n + 1, sizeof(*picked));
	if (!picked)
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory"), -1;
	int gone = pick(l, workload, devices, n, picked, err);
	for (uint32_t i = l->n; gone > 0 && i-- > 0;)
		if (picked[i])
			edp_ledger_remove(l, i);
	free(picked);
	return gone;
}

int edp_assign_move(const char *ledger, const char *from, const char *to, const char *const *devices, int n,
		    uint64_t *generation, struct edp_error *err)
{
	if (!strcmp(from, to))
		return edp_error_set(err, EDP_ERR_USAGE, "move: %s is both FROM and TO", from), -1;
	struct edp_ledger l = { 0 };
	int fd = edp_ledger_lock(ledger, true, err);
	if (fd < 0)
		return -1;
	int moved = -1;
	bool *picked = NULL;
	if (edp_ledger_read(&l, ledger, err) == 0) {
		if (!(picked = calloc(l.n + 1, sizeof(*picked))))
			edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		else if ((moved = pick(&l, from, devices, n, picked, err)) == 0) {
			edp_error_set(err, EDP_ERR_RUNTIME, "%s holds no device to move", from);
			moved = -1;
		}
	}
	for (uint32_t i = 0; moved > 0 && i < l.n; i++)
		if (picked[i])
			snprintf(l.claims[i].workload, sizeof(l.claims[i].workload), "%s", to);
	if (moved > 0 && edp_ledger_write(&l, ledger, err)) /* one generation for all of them */
		moved = -1;
	if (moved > 0 && generation)
		*generation = l.generation;
	edp_ledger_unlock(fd);
	edp_ledger_free(&l);
	free(picked);
	return moved;
}

int edp_assign_request(const char *ledger, const struct edp_inventory_source *src, const struct edp_request *r,
		       bool claim, struct edp_inventory *inv, struct edp_plan *p, struct edp_error *err)
{
	struct edp_ledger l = { 0 };
	memset(inv, 0, sizeof(*inv));
	memset(p, 0, sizeof(*p));
	int fd = edp_ledger_lock(ledger, claim, err);
	if (fd < 0)
		return EDP_ERR_RUNTIME;
	/* under the lock: the ledger, then the inventory as it is now (what was
	 * free when planned may not be) */
	int rc = edp_ledger_read(&l, ledger, err);
	if (!rc)
		rc = edp_inventory_open(inv, src, err);
	if (!rc)
		rc = edp_assign_plan(inv, &l, r, p, err);
	if (!rc && claim && !p->held && !(rc = apply(&l, inv, r, p, err)))
		rc = edp_ledger_write(&l, ledger, err);
	edp_ledger_unlock(fd);
	edp_ledger_free(&l);
	return rc;
}

int edp_assign_release(const char *ledger, const char *workload, const char *const *devices, int n,
		       struct edp_error *err)
{
	struct edp_ledger l;
	int fd = edp_ledger_lock(ledger, true, err);
	if (fd < 0)
		return -1;
	int gone = edp_ledger_read(&l, ledger, err) ? -1 : release(&l, workload, devices, n, err);
	if (gone == 0) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s holds no device: nothing to release", workload);
		gone = -1;
	}
	if (gone > 0 && edp_ledger_write(&l, ledger, err))
		gone = -1;
	edp_ledger_unlock(fd);
	edp_ledger_free(&l);
	return gone;
}

int edp_assign_check(const struct edp_inventory *inv, const struct edp_ledger *l, char *out, size_t size)
{
	int problems = 0;
	out[0] = 0;
	for (uint32_t i = 0; i < l->n; i++) {
		const struct edp_claim *c = &l->claims[i];
		if (strcmp(c->host, inv->host) != 0)
			continue; /* another host's: not in this inventory */
		const struct edp_device *d = edp_inventory_find(inv, c->device);
		if (!d) {
			append_line(out, size, "%s: %s is gone", c->workload, c->device);
			problems++;
			continue;
		}
		if (strcmp(d->driver, c->driver) != 0) {
			append_line(out, size, "%s: %s: driver changed from %s to %s", c->workload, c->device,
			     c->driver[0] ? c->driver : "none", d->driver[0] ? d->driver : "none");
			problems++;
		} else if (strcmp(d->driver_version, c->driver_version) != 0) {
			struct edp_request r = { 0 };
			snprintf(r.driver_pin, sizeof(r.driver_pin), "%s", c->driver_pin);
			append_line(out, size, "%s: %s: driver %s changed from version %s to %s%s%s%s", c->workload, c->device,
			     d->driver, c->driver_version, d->driver_version, c->driver_pin[0] ? (pins_hold(&r, d) ? " (pin " : " (breaks pin ") : "",
			     c->driver_pin, c->driver_pin[0] ? (pins_hold(&r, d) ? " holds)" : ")") : "");
			problems++;
		}
		if (strcmp(d->firmware, c->firmware) != 0) {
			bool holds = !c->firmware_pin[0] || edp_version_satisfies(d->firmware, c->firmware_pin) == 1;
			append_line(out, size, "%s: %s: firmware drifted from %s to %s%s%s%s", c->workload, c->device,
			     c->firmware[0] ? c->firmware : "none", d->firmware[0] ? d->firmware : "none",
			     c->firmware_pin[0] ? (holds ? " (pin " : " (breaks pin ") : "", c->firmware_pin,
			     c->firmware_pin[0] ? (holds ? " holds)" : ")") : "");
			problems++;
		}
		if (d->iommu_group != c->iommu_group) {
			append_line(out, size, "%s: %s: IOMMU group changed from %d to %d", c->workload, c->device, c->iommu_group,
			     d->iommu_group);
			problems++;
		}
	}
	/* groups split: a group with a claimed member must be whole with one owner */
	for (uint32_t i = 0; i < inv->n; i++) {
		const struct edp_device *d = &inv->dev[i];
		if (d->iommu_group < 0)
			continue;
		const struct edp_claim *mine = edp_ledger_owner(l, inv->host, d->addr), *first = NULL;
		const char *first_addr = NULL;
		for (uint32_t j = 0; j < inv->n && !first; j++)
			if (inv->dev[j].iommu_group == d->iommu_group && (first = edp_ledger_owner(l, inv->host, inv->dev[j].addr)))
				first_addr = inv->dev[j].addr;
		if (!first || (mine && strcmp(mine->workload, first->workload) == 0))
			continue;
		append_line(out, size, "IOMMU group %d split: %s holds %s but %s %s%s", d->iommu_group, first->workload,
		     first_addr, d->addr, mine ? "is held by " : "is free", mine ? mine->workload : "");
		problems++;
	}
	return problems;
}

const char *edp_assign_state(const struct edp_inventory *inv, const struct edp_ledger *l, const struct edp_device *d,
			     bool force, char *why, size_t size)
{
	const struct edp_claim *c = edp_ledger_owner(l, inv->host, d->addr);
	why[0] = 0;
	if (c) {
		snprintf(why, size, "%s%s", c->workload, c->group_member ? " (group member)" : "");
		return "assigned";
	}
	if (d->host_in_use && !force) {
		snprintf(why, size, "used by the host (driver %s, %s up)", d->driver, d->iface[0] ? d->iface : "interface");
		return "unusable";
	}
	for (uint32_t j = 0; d->iommu_group >= 0 && j < inv->n; j++) {
		const struct edp_claim *o;
		if (inv->dev[j].iommu_group == d->iommu_group && (o = edp_ledger_owner(l, inv->host, inv->dev[j].addr))) {
			snprintf(why, size, "IOMMU group %d is held by %s", d->iommu_group, o->workload);
			return "unusable";
		}
	}
	return "free";
}
