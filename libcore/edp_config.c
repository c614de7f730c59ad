#include "edp_config.h"
#include "edp_prefix.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>

#include "edp_yaml.h"

#define DEFAULT_FLOW_CACHE 65536
#define DEFAULT_AGEING_S 300
#define DEFAULT_MAC_TABLE 65536

struct ctx {
	struct edp_yaml y;  /* first: a key callback's edp_yaml is its ctx */
	char *dir; /* directory of the file, for relative paths */
	struct edp_config *cfg;
	/* port references, resolved once every port is known */
	struct ref { char name[EDP_PORT_NAME_MAX + 2]; yaml_node_t *node; int32_t *slot; } *refs;
	uint32_t n_refs, cap_refs;
};

static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = edp_yaml_vfail(&c->y, n, fmt, ap);
	va_end(ap);
	return rc;
}

static yaml_node_t *node(struct ctx *c, int id) { return edp_yaml_node(&c->y, id); }

static const char *scalar(const yaml_node_t *n) { return edp_yaml_scalar(n); }

typedef int (*key_fn)(struct ctx *c, const char *key, yaml_node_t *val, void *arg);

struct key_call { key_fn fn; void *arg; };

static int key_adapter(struct edp_yaml *y, const char *key, yaml_node_t *val, void *arg)
{
	const struct key_call *k = arg;
	return k->fn((struct ctx *)y, key, val, k->arg);
}

/* Walk a mapping, refusing duplicate and (through fn) unknown keys. */
static int each_key(struct ctx *c, yaml_node_t *map, const char *what, key_fn fn, void *arg)
{
	struct key_call k = { fn, arg };
	return edp_yaml_each_key(&c->y, map, what, key_adapter, &k);
}

static int unknown(struct ctx *c, const char *what, const char *key, const char *known)
{
	return edp_yaml_unknown(&c->y, what, key, known);
}

static int get_string(struct ctx *c, yaml_node_t *v, const char *key, const char **out)
{
	return edp_yaml_string(&c->y, v, key, out);
}

static int get_int(struct ctx *c, yaml_node_t *v, const char *key, long long lo, long long hi, long long *out)
{
	return edp_yaml_int(&c->y, v, key, lo, hi, out);
}

/* One of two words: *first tells which (allow/drop, true/false). */
static int get_choice(struct ctx *c, yaml_node_t *v, const char *what, const char *a, const char *b, bool *first)
{
	const char *s = scalar(v);
	if (s && (strcmp(s, a) == 0 || strcmp(s, b) == 0)) {
		*first = strcmp(s, a) == 0;
		return 0;
	}
	return fail(c, v, "%s must be %s or %s, not '%s'", what, a, b, s ? s : "");
}

int edp_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* Where node n stands in the file. */
static struct edp_config_at at(const yaml_node_t *n)
{
	return (struct edp_config_at){ (uint32_t)n->start_mark.line + 1, (uint32_t)n->start_mark.column + 1 };
}

int edp_config_fail_at(const struct edp_config *cfg, struct edp_config_at where, struct edp_error *err,
		       const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (where.line && cfg->path)
		return edp_error_set(err, EDP_ERR_USAGE, "%s:%u:%u: %s", cfg->path, where.line, where.column, msg);
	return edp_error_set(err, EDP_ERR_USAGE, "%s", msg);
}

/* A list of CPU numbers, at most `max`, and where each stands. */
static int get_cpu_list(struct ctx *c, yaml_node_t *v, const char *key, int32_t *out, struct edp_config_at *out_at,
			uint32_t max, uint32_t *n)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(c, v, "%s must be a list of CPU numbers", key);
	*n = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *x = node(c, *it);
		long long cpu;
		if (*n == max)
			return fail(c, x, "%s: at most %u CPUs", key, max);
		if (get_int(c, x, key, 0, EDP_MAX_CPU, &cpu))
			return EDP_ERR_USAGE;
		out_at[*n] = at(x);
		out[(*n)++] = (int32_t)cpu;
	}
	return 0;
}

static int add_ref(struct ctx *c, yaml_node_t *v, const char *key, int32_t *slot)
{
	const char *s;
	if (get_string(c, v, key, &s))
		return EDP_ERR_USAGE;
	if (c->n_refs == c->cap_refs) {
		uint32_t cap = c->cap_refs ? 2 * c->cap_refs : 16;
		struct ref *r = realloc(c->refs, cap * sizeof(*r));
		if (!r)
			return fail(c, v, "out of memory");
		c->refs = r;
		c->cap_refs = cap;
	}
	struct ref *r = &c->refs[c->n_refs++];
	snprintf(r->name, sizeof(r->name), "%s", s);
	r->node = v;
	r->slot = slot;
	return 0;
}

static char *path_value(struct ctx *c, const char *s)
{
	if (strcmp(s, "-") == 0 || s[0] == '/' || !c->dir)
		return strdup(s);
	size_t n = strlen(c->dir) + strlen(s) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", c->dir, s);
	return p;
}

static int port_key(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	struct edp_port_config *pc = arg;
	const char *s;
	if (strcmp(k, "name") == 0) {
		if (get_string(c, v, "name", &s))
			return EDP_ERR_USAGE;
		size_t n = strlen(s);
		if (n > EDP_PORT_NAME_MAX || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
			return fail(c, v, "port name '%s' must be 1 to 32 of a-z 0-9 _ -", s);
		memcpy(pc->name, s, n + 1);
	} else if (strcmp(k, "rx") == 0 || strcmp(k, "tx") == 0) {
		if (get_string(c, v, k, &s))
			return EDP_ERR_USAGE;
		const char *why = edp_port_io_check(s, k[0] == 'r');
		if (why)
			return fail(c, v, "%s: '%s' %s", k, s, why);
		char **dst = k[0] == 'r' ? &pc->rx : &pc->tx;
		*dst = edp_port_io_kind(s) == EDP_IO_FILE ? path_value(c, s) : strdup(s);
	} else if (strcmp(k, "numa-node") == 0) {
		long long x;
		if (get_int(c, v, k, 0, 1023, &x))
			return EDP_ERR_USAGE;
		pc->numa_node = (int32_t)x;
		pc->numa_node_at = at(v);
	} else if (strcmp(k, "rx-queue-cpus") == 0) {
		return get_cpu_list(c, v, k, pc->rx_queue_cpus, pc->rx_queue_cpus_at, EDP_MAX_QUEUES, &pc->n_rx_queue_cpus);
	} else if (strcmp(k, "device") == 0) {
		if (get_string(c, v, "device", &s))
			return EDP_ERR_USAGE;
		if (strlen(s) >= sizeof(pc->device) || strspn(s, "0123456789abcdefABCDEF:.") != strlen(s))
			return fail(c, v, "device '%s' is not a PCI address (like 0000:3b:00.0)", s);
		memcpy(pc->device, s, strlen(s) + 1);
	} else if (strcmp(k, "mac") == 0) {
		if (get_string(c, v, "mac", &s))
			return EDP_ERR_USAGE;
		if (edp_parse_mac(s, pc->mac) < 0)
			return fail(c, v, "bad MAC address '%s' (expected xx:xx:xx:xx:xx:xx)", s);
		pc->has_mac = true;
	} else {
		return unknown(c, "port", k, "name, rx, tx, mac, numa-node, rx-queue-cpus, device");
	}
	return 0;
}

static int parse_ports(struct ctx *c, yaml_node_t *v)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(c, v, "ports must be a list");
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *pn = node(c, *it);
		if (c->cfg->n_ports == EDP_MAX_PORTS)
			return fail(c, pn, "too many ports (at most %d)", EDP_MAX_PORTS);
		struct edp_port_config *pc = &c->cfg->ports[c->cfg->n_ports++];
		pc->numa_node = -1;
		if (pn->type != YAML_MAPPING_NODE)
			return fail(c, pn, "a port must be a mapping with at least a name");
		int rc = each_key(c, pn, "port", port_key, pc);
		if (rc)
			return rc;
		if (!pc->name[0])
			return fail(c, pn, "port has no name");
		for (uint32_t i = 0; i + 1 < c->cfg->n_ports; i++)
			if (strcmp(c->cfg->ports[i].name, pc->name) == 0)
				return fail(c, pn, "duplicate port name '%s'", pc->name);
	}
	if (c->cfg->n_ports == 0)
		return fail(c, v, "ports: at least one port is needed");
	return 0;
}

static int parse_range(struct ctx *c, yaml_node_t *v, const char *key, int32_t *lo, int32_t *hi)
{
	const char *s = scalar(v);
	unsigned long a, b;
	char *end;
	if (!s || !isdigit((unsigned char)s[0]))
		goto bad;
	a = strtoul(s, &end, 10);
	b = a;
	if (*end == '-') {
		if (!isdigit((unsigned char)end[1]))
			goto bad;
		b = strtoul(end + 1, &end, 10);
	}
	if (*end || a > 65535 || b > 65535 || a > b)
		goto bad;
	*lo = (int32_t)a;
	*hi = (int32_t)b;
	return 0;
bad:
	return fail(c, v, "%s must be a port 0-65535 or a range LOW-HIGH, not '%s'", key, s ? s : "(a collection)");
}

static int rule_key(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	struct edp_fw_rule *r = arg;
	const char *s, *why;
	long long x;
	if (strcmp(k, "priority") == 0) {
		if (get_int(c, v, k, 0, 2147483647, &x))
			return EDP_ERR_USAGE;
		r->priority = (uint32_t)x;
	} else if (strcmp(k, "in-port") == 0) {
		return add_ref(c, v, k, &r->in_port);
	} else if (strcmp(k, "src") == 0 || strcmp(k, "dst") == 0) {
		if (get_string(c, v, k, &s))
			return EDP_ERR_USAGE;
		if (edp_prefix_parse(s, k[0] == 's' ? &r->src : &r->dst, &why) < 0)
			return fail(c, v, "bad prefix '%s': %s", s, why);
	} else if (strcmp(k, "proto") == 0) {
		static const struct { const char *n; int v; } names[] = {
			{ "icmp", 1 }, { "tcp", 6 }, { "udp", 17 }, { "icmpv6", 58 }, { "sctp", 132 } };
		s = scalar(v);
		r->proto = -1;
		for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(s, names[i].n) == 0)
				r->proto = (int16_t)names[i].v;
		if (r->proto < 0) {
			if (!s || !isdigit((unsigned char)s[0]) || get_int(c, v, k, 0, 255, &x))
				return fail(c, v, "proto must be tcp, udp, icmp, icmpv6, sctp or 0-255, not '%s'", s ? s : "");
			r->proto = (int16_t)x;
		}
	} else if (strcmp(k, "src-port") == 0) {
		return parse_range(c, v, k, &r->sport_lo, &r->sport_hi);
	} else if (strcmp(k, "dst-port") == 0) {
		return parse_range(c, v, k, &r->dport_lo, &r->dport_hi);
	} else if (strcmp(k, "vlan") == 0) {
		if (get_int(c, v, k, 0, 4095, &x))
			return EDP_ERR_USAGE;
		r->vlan = (int32_t)x;
	} else if (strcmp(k, "ethertype") == 0) {
		s = scalar(v);
		if (s && strcmp(s, "ipv4") == 0)
			r->eth_type = EDP_ETH_TYPE_IPV4;
		else if (s && strcmp(s, "ipv6") == 0)
			r->eth_type = EDP_ETH_TYPE_IPV6;
		else if (s && strcmp(s, "arp") == 0)
			r->eth_type = EDP_ETH_TYPE_ARP;
		else if (edp_yaml_hex(&c->y, v, k, 0x600, 0xffff, &x))
			return EDP_ERR_USAGE;
		else
			r->eth_type = (int32_t)x;
	} else if (strcmp(k, "action") == 0) {
		bool allow;
		if (get_choice(c, v, "action", "allow", "drop", &allow))
			return EDP_ERR_USAGE;
		r->action = allow ? EDP_FW_ALLOW : EDP_FW_DROP;
	} else {
		return unknown(c, "firewall rule", k,
			       "priority, in-port, src, dst, proto, src-port, dst-port, vlan, ethertype, action");
	}
	return 0;
}

static int parse_rules(struct ctx *c, yaml_node_t *v)
{
	if (edp_yaml_is_empty(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(c, v, "firewall rules must be a list");
	uint32_t n = (uint32_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	c->cfg->rules = calloc(n ? n : 1, sizeof(struct edp_fw_rule));
	if (!c->cfg->rules)
		return fail(c, v, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		yaml_node_t *rn = node(c, v->data.sequence.items.start[i]);
		struct edp_fw_rule *r = &c->cfg->rules[c->cfg->n_rules++];
		*r = (struct edp_fw_rule){ .in_port = -1, .proto = -1, .sport_lo = -1, .sport_hi = -1,
					   .dport_lo = -1, .dport_hi = -1, .vlan = -1, .eth_type = -1,
					   .action = 0xff };
		if (rn->type != YAML_MAPPING_NODE)
			return fail(c, rn, "a firewall rule must be a mapping");
		int rc = each_key(c, rn, "firewall rule", rule_key, r);
		if (rc)
			return rc;
		if (r->action == 0xff)
			return fail(c, rn, "firewall rule has no action (allow or drop)");
		if (r->src.af && r->dst.af && r->src.af != r->dst.af)
			return fail(c, rn, "firewall rule mixes an IPv4 and an IPv6 prefix");
		uint8_t af = r->src.af ? r->src.af : r->dst.af;
		if (af && r->eth_type >= 0 && r->eth_type != (af == 4 ? EDP_ETH_TYPE_IPV4 : EDP_ETH_TYPE_IPV6))
			return fail(c, rn, "firewall rule: ethertype contradicts its IPv%u prefix", af);
	}
	return 0;
}

static int firewall_key(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	(void)arg;
	if (strcmp(k, "default") == 0) {
		bool allow;
		if (get_choice(c, v, "firewall default", "allow", "drop", &allow))
			return EDP_ERR_USAGE;
		c->cfg->firewall_default = allow ? EDP_FW_ALLOW : EDP_FW_DROP;
		return 0;
	}
	if (strcmp(k, "rules") == 0)
		return parse_rules(c, v);
	return unknown(c, "firewall", k, "default, rules");
}

static int route_key(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	struct edp_route *r = arg;
	const char *s, *why;
	if (strcmp(k, "prefix") == 0) {
		if (get_string(c, v, k, &s))
			return EDP_ERR_USAGE;
		if (edp_prefix_parse(s, &r->prefix, &why) < 0)
			return fail(c, v, "bad prefix '%s': %s", s, why);
	} else if (strcmp(k, "port") == 0) {
		return add_ref(c, v, k, &r->port);
	} else if (strcmp(k, "next-hop-mac") == 0) {
		if (get_string(c, v, k, &s))
			return EDP_ERR_USAGE;
		if (edp_parse_mac(s, r->next_hop_mac) < 0)
			return fail(c, v, "bad MAC address '%s' (expected xx:xx:xx:xx:xx:xx)", s);
	} else {
		return unknown(c, "route", k, "prefix, port, next-hop-mac");
	}
	return 0;
}

/* Routes by prefix (af, length, address: no padding, every byte set by
 * edp_parse_prefix), then in file order. */
_Static_assert(sizeof(struct edp_prefix) == 18, "a prefix is compared bytewise");
static int cmp_route_prefix(const void *a, const void *b, void *arg)
{
	const struct edp_route *routes = arg;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	int d = memcmp(&routes[i].prefix, &routes[j].prefix, sizeof(struct edp_prefix));
	return d ? d : (i > j) - (i < j);
}

/* Two routes for one prefix: the first route in the file that repeats an
 * earlier one's is refused where it stands (prefixes are canonical: host
 * bits past the length are refused). */
static int check_duplicate_routes(struct ctx *c, yaml_node_t *v)
{
	const struct edp_route *routes = c->cfg->routes;
	uint32_t n = c->cfg->n_routes, *order = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!order)
		return fail(c, v, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_route_prefix, c->cfg->routes);
	uint32_t first = 0, later = n;
	for (uint32_t k = 1; k < n; k++)
		if (order[k] < later &&
		    memcmp(&routes[order[k - 1]].prefix, &routes[order[k]].prefix, sizeof(struct edp_prefix)) == 0)
			first = order[k - 1], later = order[k];
	free(order);
	if (later == n)
		return 0;
	return fail(c, node(c, v->data.sequence.items.start[later]), "route %u has the same prefix as route %u (line %u)",
		    later + 1, first + 1, at(node(c, v->data.sequence.items.start[first])).line);
}

static int router_key(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	(void)arg;
	if (strcmp(k, "routes") != 0)
		return unknown(c, "router", k, "routes");
	if (edp_yaml_is_empty(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(c, v, "routes must be a list");
	uint32_t n = (uint32_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	c->cfg->routes = calloc(n ? n : 1, sizeof(struct edp_route));
	if (!c->cfg->routes)
		return fail(c, v, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		yaml_node_t *rn = node(c, v->data.sequence.items.start[i]);
		struct edp_route *r = &c->cfg->routes[c->cfg->n_routes++];
		r->port = -1;
		if (rn->type != YAML_MAPPING_NODE)
			return fail(c, rn, "a route must be a mapping");
		int rc = each_key(c, rn, "route", route_key, r);
		if (rc)
			return rc;
		static const uint8_t zero[6];
		if (!r->prefix.af)
			return fail(c, rn, "route has no prefix");
		if (r->port == -1 && (!c->n_refs || c->refs[c->n_refs - 1].slot != &r->port))
			return fail(c, rn, "route has no port");
		if (memcmp(r->next_hop_mac, zero, 6) == 0)
			return fail(c, rn, "route has no next-hop-mac");
	}
	return check_duplicate_routes(c, v);
}

static int switch_key(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	(void)arg;
	long long x;
	if (strcmp(k, "ageing-s") == 0) {
		if (get_int(c, v, k, 1, 1000000, &x))
			return EDP_ERR_USAGE;
		c->cfg->ageing_s = (uint32_t)x;
	} else if (strcmp(k, "mac-table-size") == 0) {
		if (get_int(c, v, k, 4, 1 << 24, &x))
			return EDP_ERR_USAGE;
		c->cfg->mac_table_size = (uint32_t)x;
	} else {
		return unknown(c, "switch", k, "ageing-s, mac-table-size");
	}
	return 0;
}

static int pipeline_key(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	(void)arg;
	if (strcmp(k, "firewall") == 0) {
		c->cfg->has_firewall = true;
		return each_key(c, v, "firewall", firewall_key, NULL);
	}
	if (strcmp(k, "router") == 0) {
		c->cfg->has_router = true;
		return each_key(c, v, "router", router_key, NULL);
	}
	if (strcmp(k, "switch") == 0) {
		c->cfg->has_switch = true;
		return each_key(c, v, "switch", switch_key, NULL);
	}
	return unknown(c, "pipeline", k, "firewall, router, switch");
}

static int cache_key(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	(void)arg;
	long long x;
	if (strcmp(k, "entries") != 0)
		return unknown(c, "flow-cache", k, "entries");
	if (get_int(c, v, k, 1, 1 << 24, &x))
		return EDP_ERR_USAGE;
	c->cfg->flow_cache_entries = (uint32_t)x;
	return 0;
}

static int get_fraction(struct ctx *c, yaml_node_t *v, const char *key, double *out)
{
	const char *s = scalar(v);
	char *end;
	double x = s ? strtod(s, &end) : -1;
	if (!s || !*s || *end || !(x >= 0 && x <= 1))
		return fail(c, v, "%s must be a number from 0 to 1, not '%s'", key, s ? s : "(a collection)");
	*out = x;
	return 0;
}

static int tlb_key(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	(void)arg;
	long long x;
	if (strcmp(k, "interval-ms") == 0) {
		if (get_int(c, v, k, 10, 3600000, &x))
			return EDP_ERR_USAGE;
		c->cfg->tlb_interval_ms = (uint32_t)x;
		return 0;
	}
	if (strcmp(k, "threshold") == 0)
		return get_fraction(c, v, k, &c->cfg->tlb_threshold);
	if (strcmp(k, "min-improvement") == 0)
		return get_fraction(c, v, k, &c->cfg->tlb_min_improvement);
	if (strcmp(k, "enabled") == 0)
		return get_choice(c, v, k, "true", "false", &c->cfg->tlb_enabled);
	if (strcmp(k, "min-gain") == 0)
		return get_fraction(c, v, k, &c->cfg->tlb_min_gain);
	if (strcmp(k, "shift") == 0)
		return get_fraction(c, v, k, &c->cfg->tlb_shift);
	uint32_t *n = strcmp(k, "sustain-intervals") == 0  ? &c->cfg->tlb_sustain
		      : strcmp(k, "verify-intervals") == 0 ? &c->cfg->tlb_verify
		      : strcmp(k, "backoff-intervals") == 0 ? &c->cfg->tlb_backoff
							    : NULL;
	if (n) {
		if (get_int(c, v, k, n == &c->cfg->tlb_backoff ? 0 : 1, 1000, &x))
			return EDP_ERR_USAGE;
		*n = (uint32_t)x;
		return 0;
	}
	return unknown(c, "tlb", k,
		       "interval-ms, threshold, min-improvement, min-gain, sustain-intervals, verify-intervals, "
		       "backoff-intervals, shift, enabled");
}

const char *edp_parallel_name(uint8_t mode)
{
	static const char *const names[EDP_PARALLEL_MODES] = { "auto", "chunks", "flows" };
	return mode < EDP_PARALLEL_MODES ? names[mode] : "?";
}

static int datapath_key(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	(void)arg;
	long long x;
	if (strcmp(k, "threads") == 0) {
		if (get_int(c, v, k, 0, EDP_MAX_THREADS, &x))
			return EDP_ERR_USAGE;
		c->cfg->threads = (uint32_t)x;
	} else if (strcmp(k, "rx-queues") == 0) {
		if (get_int(c, v, k, 1, EDP_MAX_QUEUES, &x))
			return EDP_ERR_USAGE;
		c->cfg->rx_queues = (uint32_t)x;
	} else if (strcmp(k, "ordered") == 0) {
		return get_choice(c, v, k, "true", "false", &c->cfg->ordered);
	} else if (strcmp(k, "cpus") == 0) {
		return get_cpu_list(c, v, k, c->cfg->cpus, c->cfg->cpus_at, EDP_MAX_THREADS, &c->cfg->n_cpus);
	} else if (strcmp(k, "parallel") == 0) {
		const char *s = scalar(v);
		for (uint8_t i = 0; s && i < EDP_PARALLEL_MODES; i++)
			if (strcmp(s, edp_parallel_name(i)) == 0) {
				c->cfg->parallel = i;
				return 0;
			}
		return fail(c, v, "%s must be auto, chunks or flows, not '%s'", k, s ? s : "");
	} else {
		return unknown(c, "datapath", k, "threads, rx-queues, ordered, cpus, parallel");
	}
	return 0;
}

static int top_key(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	(void)arg;
	if (strcmp(k, "datapath") == 0)
		return each_key(c, v, "datapath", datapath_key, NULL);
	if (strcmp(k, "tlb") == 0)
		return each_key(c, v, "tlb", tlb_key, NULL);
	if (strcmp(k, "ports") == 0)
		return parse_ports(c, v);
	if (strcmp(k, "flow-cache") == 0)
		return each_key(c, v, "flow-cache", cache_key, NULL);
	if (strcmp(k, "pipeline") == 0)
		return each_key(c, v, "pipeline", pipeline_key, NULL);
	return unknown(c, "top level", k, "ports, datapath, tlb, flow-cache, pipeline");
}

static void set_defaults(struct edp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->flow_cache_entries = DEFAULT_FLOW_CACHE;
	cfg->threads = 1;
	cfg->loop = 1;
	cfg->tlb_enabled = true;
	cfg->tlb_interval_ms = 1000;
	cfg->tlb_threshold = 0.85;
	cfg->tlb_min_improvement = 0.25;
	cfg->tlb_min_gain = 0.05;
	cfg->tlb_shift = 0.25;
	cfg->tlb_sustain = 3;
	cfg->tlb_verify = 3;
	cfg->tlb_backoff = 30;
	cfg->firewall_default = EDP_FW_ALLOW;
	cfg->ageing_s = DEFAULT_AGEING_S;
	cfg->mac_table_size = DEFAULT_MAC_TABLE;
}

void edp_config_default(struct edp_config *cfg)
{
	set_defaults(cfg);
	strcpy(cfg->ports[0].name, "in");
	strcpy(cfg->ports[1].name, "out");
	cfg->ports[0].numa_node = cfg->ports[1].numa_node = -1;
	cfg->n_ports = 2;
}

int edp_config_port_index(const struct edp_config *cfg, const char *name)
{
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		if (strcmp(cfg->ports[i].name, name) == 0)
			return (int)i;
	return -1;
}

int edp_config_load(struct edp_config *cfg, const char *path, struct edp_error *err)
{
	set_defaults(cfg);
	struct ctx c = { .cfg = cfg };
	int rc = edp_yaml_load(&c.y, path, "config", err);
	if (rc)
		return rc;
	const char *slash = strrchr(path, '/');
	c.dir = slash ? strndup(path, (size_t)(slash - path + (slash == path))) : NULL;
	cfg->path = strdup(path);
	cfg->file_hash = c.y.hash;
	yaml_node_t *root = edp_yaml_root(&c.y);
	if (!root)
		rc = edp_error_set(err, EDP_ERR_USAGE, "%s:1:1: empty config (at least 'ports' is needed)", path);
	else if (root->type != YAML_MAPPING_NODE)
		rc = fail(&c, root, "the config must be a mapping with 'ports' and optional 'flow-cache', 'pipeline'");
	else
		rc = each_key(&c, root, "top level", top_key, NULL);
	if (!rc && cfg->n_ports == 0)
		rc = fail(&c, root, "no ports: the config needs a 'ports' list");
	for (uint32_t i = 0; !rc && i < c.n_refs; i++) {
		int idx = edp_config_port_index(cfg, c.refs[i].name);
		if (idx < 0)
			rc = fail(&c, c.refs[i].node, "unknown port '%s'", c.refs[i].name);
		else
			*c.refs[i].slot = idx;
	}
	free(c.refs);
	free(c.dir);
	edp_yaml_free(&c.y);
	if (rc) {
		edp_config_free(cfg);
		set_defaults(cfg);
	}
	return rc;
}

void edp_config_free(struct edp_config *cfg)
{
	for (uint32_t i = 0; i < cfg->n_ports; i++) {
		free(cfg->ports[i].rx);
		free(cfg->ports[i].tx);
	}
	free(cfg->rules);
	free(cfg->routes);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

enum edp_io_kind edp_port_io_kind(const char *spec)
{
	if (strcmp(spec, EDP_VPORT_SPEC) == 0)
		return EDP_IO_VPORT;
	if (edp_pcap_iface(spec))
		return EDP_IO_LIVE;
	return EDP_IO_FILE;
}

const char *edp_port_io_check(const char *spec, bool rx)
{
	switch (edp_port_io_kind(spec)) {
	case EDP_IO_VPORT:
		return rx ? NULL : "is an input only (edp-replay --to NAME:PORT feeds it)";
	case EDP_IO_LIVE: {
		const char *iface = edp_pcap_iface(spec);
		size_t n = strlen(iface);
		if (n == 0 || n >= 16 || strpbrk(iface, "/: \t"))
			return strncmp(spec, EDP_XDP_PREFIX, strlen(EDP_XDP_PREFIX)) == 0
				       ? "names no interface (expected " EDP_XDP_PREFIX "IFACE)"
				       : "names no interface (expected " EDP_LIVE_PREFIX "IFACE)";
		return NULL;
	}
	default:
		return *spec ? NULL : "is empty";
	}
}
