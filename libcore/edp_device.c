#include "edp_device.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "edp_topo.h"
#include "edp_yaml.h"

static const char *const kind_names[EDP_DEV_KINDS] = { "nic", "gpu", "dpu", "vf", "other" };

const char *edp_dev_kind_name(enum edp_dev_kind k)
{
	return k < EDP_DEV_KINDS ? kind_names[k] : "other";
}

int edp_dev_kind_parse(const char *s)
{
	for (int k = 0; k < EDP_DEV_KINDS; k++)
		if (strcmp(s, kind_names[k]) == 0)
			return k;
	return -1;
}

/* ---- versions ---- */

int edp_version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		while (*a && !isdigit((unsigned char)*a))
			a++;
		while (*b && !isdigit((unsigned char)*b))
			b++;
		if (!*a || !*b)
			return *a ? 1 : *b ? -1 : 0;
		char *ea, *eb;
		unsigned long long x = strtoull(a, &ea, 10), y = strtoull(b, &eb, 10);
		if (x != y)
			return x < y ? -1 : 1;
		a = ea;
		b = eb;
	}
	return 0;
}

static bool version_text(const char *s)
{
	return *s && isdigit((unsigned char)*s) && strspn(s, "0123456789.-_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(s);
}

int edp_version_satisfies(const char *v, const char *pin)
{
	const char *dash = strchr(pin, '-');
	if (dash && isdigit((unsigned char)pin[0])) { /* a range lo-hi */
		char lo[64];
		size_t n = (size_t)(dash - pin);
		if (n == 0 || n >= sizeof(lo) || !version_text(dash + 1))
			return -1;
		memcpy(lo, pin, n);
		lo[n] = 0;
		return edp_version_cmp(v, lo) >= 0 && edp_version_cmp(v, dash + 1) <= 0;
	}
	const char *ops[] = { ">=", "<=", ">", "<", "=" };
	for (int i = 0; i < 5; i++) {
		size_t l = strlen(ops[i]);
		if (strncmp(pin, ops[i], l) == 0) {
			if (!version_text(pin + l))
				return -1;
			int c = edp_version_cmp(v, pin + l);
			return i == 0 ? c >= 0 : i == 1 ? c <= 0 : i == 2 ? c > 0 : i == 3 ? c < 0 : c == 0;
		}
	}
	return version_text(pin) ? edp_version_cmp(v, pin) == 0 : -1;
}

/* ---- sysfs ---- */

/* Copy s into out, cut to fit. */
static void set_text(char *out, size_t size, const char *s)
{
	size_t n = strnlen(s, size - 1);
	memcpy(out, s, n);
	out[n] = 0;
}

/* The first line of a file, trimmed; "" when it cannot be read. */
static void read_line(const char *dir, const char *name, char *out, size_t size)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out[0] = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(out, (int)size, f)) {
		size_t n = strlen(out);
		while (n && isspace((unsigned char)out[n - 1]))
			out[--n] = 0;
	}
	fclose(f);
}

/* The last component of a symlink's target ("" when it is no link). */
static void link_name(const char *dir, const char *name, char *out, size_t size)
{
	char path[PATH_MAX * 2], target[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	out[0] = 0;
	if (n <= 0)
		return;
	target[n] = 0;
	const char *slash = strrchr(target, '/');
	set_text(out, size, slash ? slash + 1 : target);
}

static int32_t read_int(const char *dir, const char *name, int32_t missing)
{
	char buf[32];
	read_line(dir, name, buf, sizeof(buf));
	char *end;
	long v = strtol(buf, &end, 0);
	return buf[0] && !*end ? (int32_t)v : missing;
}

/* Drivers that hold a device for a guest or user space, not for the host,
 * by the names sysfs shows: Linux's VFIO (vfio-pci), the PCI placeholder
 * driver that claims a device so that no host driver does (the second
 * name; the bats test "an interface that is up is the host's only under a
 * host driver" sets each up) and the UIO drivers (uio_pci_generic, DPDK's
 * igb_uio). An interface that is up under one of them is not the host's. */
static const char *const assignment_drivers[] = { "vfio-pci", "pci-stub", "uio_pci_generic", "igb_uio" };

static bool passthrough_driver(const char *d)
{
	if (!*d)
		return true;
	for (size_t i = 0; i < sizeof(assignment_drivers) / sizeof(assignment_drivers[0]); i++)
		if (strcmp(d, assignment_drivers[i]) == 0)
			return true;
	return false;
}

static void scan_net_in(const char *net, struct edp_device *d);

/* The device's network interfaces: under net/, or under the net/ of a
 * child device (virtioN/net/ for virtio-net). */
static void scan_net(const char *dir, struct edp_device *d)
{
	char net[PATH_MAX * 2];
	snprintf(net, sizeof(net), "%s/net", dir);
	scan_net_in(net, d);
	DIR *dd = opendir(dir);
	if (!dd)
		return;
	struct dirent *e;
	while ((e = readdir(dd)))
		if (strncmp(e->d_name, "virtio", 6) == 0) {
			snprintf(net, sizeof(net), "%s/%s/net", dir, e->d_name);
			scan_net_in(net, d);
		}
	closedir(dd);
}

static void scan_net_in(const char *net, struct edp_device *d)
{
	DIR *nd = opendir(net);
	if (!nd)
		return;
	struct dirent *e;
	while ((e = readdir(nd))) {
		if (e->d_name[0] == '.')
			continue;
		char ifdir[PATH_MAX * 3], state[32];
		snprintf(ifdir, sizeof(ifdir), "%s/%s", net, e->d_name);
		read_line(ifdir, "operstate", state, sizeof(state));
		if (!d->iface[0] || strcmp(state, "up") == 0)
			set_text(d->iface, sizeof(d->iface), e->d_name);
		if (strcmp(state, "up") == 0 && !passthrough_driver(d->driver))
			d->host_in_use = true;
	}
	closedir(nd);
}

static int by_addr(const void *a, const void *b)
{
	return strcmp(((const struct edp_device *)a)->addr, ((const struct edp_device *)b)->addr);
}

static int add(struct edp_inventory *inv, uint32_t *cap, struct edp_device **out, struct edp_error *err)
{
	if (inv->n == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 64;
		struct edp_device *p = realloc(inv->dev, nc * sizeof(*p));
		if (!p)
			return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		inv->dev = p;
		*cap = nc;
	}
	*out = &inv->dev[inv->n++];
	memset(*out, 0, sizeof(**out));
	(*out)->numa_node = (*out)->iommu_group = -1;
	return 0;
}

static void scan_nodes(struct edp_inventory *inv, const char *root)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/devices/system/node", root);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) && inv->n_nodes < EDP_MAX_NODES) {
		char *end;
		if (strncmp(e->d_name, "node", 4) != 0)
			continue;
		long id = strtol(e->d_name + 4, &end, 10);
		if (end == e->d_name + 4 || *end)
			continue;
		char nd[PATH_MAX + 256];
		snprintf(nd, sizeof(nd), "%s/%s", dir, e->d_name);
		inv->nodes[inv->n_nodes].id = (int32_t)id;
		read_line(nd, "cpulist", inv->nodes[inv->n_nodes].cpus, sizeof(inv->nodes[0].cpus));
		inv->n_nodes++;
	}
	closedir(d);
	for (uint32_t i = 1; i < inv->n_nodes; i++) /* by id */
		for (uint32_t j = i; j > 0 && inv->nodes[j - 1].id > inv->nodes[j].id; j--) {
			__typeof__(inv->nodes[0]) t = inv->nodes[j];
			inv->nodes[j] = inv->nodes[j - 1];
			inv->nodes[j - 1] = t;
		}
}

/* This host's nodes and CPUs, as libnuma sees them (edp_topo). */
static void topo_nodes(struct edp_inventory *inv)
{
	struct edp_topo t;
	if (edp_topo_discover(&t, NULL))
		return;
	inv->n_nodes = 0;
	for (uint32_t i = 0; i < t.n_cpus; i++) {
		uint32_t k = 0;
		while (k < inv->n_nodes && inv->nodes[k].id != t.node[i])
			k++;
		if (k == inv->n_nodes) {
			if (k == EDP_MAX_NODES)
				continue;
			inv->nodes[inv->n_nodes].id = t.node[i];
			inv->nodes[inv->n_nodes++].cpus[0] = 0;
		}
		char *list = inv->nodes[k].cpus;
		size_t len = strlen(list);
		int32_t prev = i > 0 && t.node[i - 1] == t.node[i] ? t.cpu[i - 1] : -2;
		bool next = i + 1 < t.n_cpus && t.node[i + 1] == t.node[i] && t.cpu[i + 1] == t.cpu[i] + 1;
		if (prev == t.cpu[i] - 1 && next)
			continue; /* inside a range */
		if (len + 16 < sizeof(inv->nodes[0].cpus))
			snprintf(list + len, sizeof(inv->nodes[0].cpus) - len, "%s%d", prev == t.cpu[i] - 1 ? "-" : len ? "," : "",
				 t.cpu[i]);
	}
}

/* The PCI ID database: "VVVV  Vendor" lines, each followed by its
 * "\tDDDD  Device" lines (and deeper ones, skipped); the class section
 * ("C ...") ends the vendors. */
static FILE *pci_ids_open(void)
{
	const char *env = getenv("EDP_PCI_IDS");
	if (env && *env)
		return fopen(env, "r");
	FILE *f = fopen("/usr/share/misc/pci.ids", "r");
	return f ? f : fopen("/usr/share/hwdata/pci.ids", "r");
}

/* Each device's name, "Vendor Device" (or the vendor alone when the
 * database lists it without the device), from the database. */
static void name_devices(struct edp_inventory *inv)
{
	FILE *f = inv->n ? pci_ids_open() : NULL;
	if (!f)
		return;
	char line[512], vendor[EDP_DEV_TEXT_MAX] = "", vid[8] = "";
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (line[0] == 'C' && line[1] == ' ')
			break;
		bool dev_line = line[0] == '\t' && line[1] != '\t';
		const char *id = dev_line ? line + 1 : line;
		if ((line[0] != '\t' && !dev_line && line[0] != '#' && strlen(line) > 6 && line[4] == ' ') ||
		    (dev_line && strlen(id) > 6 && id[4] == ' ')) {
			char hex[5];
			memcpy(hex, id, 4);
			hex[4] = 0;
			const char *text = id + 4 + strspn(id + 4, " ");
			if (!dev_line) {
				snprintf(vid, sizeof(vid), "%s", hex);
				snprintf(vendor, sizeof(vendor), "%s", text);
			}
			for (uint32_t i = 0; i < inv->n; i++) {
				struct edp_device *d = &inv->dev[i];
				if (strcasecmp(d->vendor, vid) != 0)
					continue;
				if (!dev_line && !d->name[0])
					snprintf(d->name, sizeof(d->name), "%s", vendor);
				else if (dev_line && strcasecmp(d->device, hex) == 0)
					snprintf(d->name, sizeof(d->name), "%.*s %.*s", EDP_DEV_TEXT_MAX - 1, vendor,
						 EDP_DEV_TEXT_MAX - 1, text);
			}
		}
	}
	fclose(f);
}

int edp_inventory_scan(struct edp_inventory *inv, const char *root, struct edp_error *err)
{
	bool this_host = !root;
	memset(inv, 0, sizeof(*inv));
	root = root ? root : "/sys";
	char base[PATH_MAX];
	snprintf(base, sizeof(base), "%s/bus/pci/devices", root);
	DIR *d = opendir(base);
	if (!d)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot list PCI devices: %s", base, strerror(errno));
	uint32_t cap = 0;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= EDP_DEV_ADDR_MAX)
			continue;
		struct edp_device *dv;
		if ((rc = add(inv, &cap, &dv, err)))
			break;
		char dir[PATH_MAX + 256], buf[64];
		snprintf(dir, sizeof(dir), "%s/%s", base, e->d_name);
		set_text(dv->addr, sizeof(dv->addr), e->d_name);
		read_line(dir, "class", buf, sizeof(buf));
		dv->class_code = (uint32_t)strtoul(buf, NULL, 16);
		read_line(dir, "vendor", buf, sizeof(buf));
		set_text(dv->vendor, sizeof(dv->vendor), buf[0] == '0' && buf[1] == 'x' ? buf + 2 : buf);
		read_line(dir, "device", buf, sizeof(buf));
		set_text(dv->device, sizeof(dv->device), buf[0] == '0' && buf[1] == 'x' ? buf + 2 : buf);
		read_line(dir, "subsystem_vendor", buf, sizeof(buf));
		set_text(dv->subsys_vendor, sizeof(dv->subsys_vendor), buf[0] == '0' && buf[1] == 'x' ? buf + 2 : buf);
		read_line(dir, "subsystem_device", buf, sizeof(buf));
		set_text(dv->subsys_device, sizeof(dv->subsys_device), buf[0] == '0' && buf[1] == 'x' ? buf + 2 : buf);
		read_line(dir, "local_cpulist", dv->local_cpus, sizeof(dv->local_cpus));
		snprintf(dv->model, sizeof(dv->model), "%s:%s", dv->vendor, dv->device);
		link_name(dir, "driver", dv->driver, sizeof(dv->driver));
		if (dv->driver[0]) {
			char mod[PATH_MAX];
			snprintf(mod, sizeof(mod), "%s/module/%s", root, dv->driver);
			read_line(mod, "version", dv->driver_version, sizeof(dv->driver_version));
		}
		read_line(dir, "firmware_version", dv->firmware, sizeof(dv->firmware));
		dv->numa_node = read_int(dir, "numa_node", -1);
		if (dv->numa_node < -1)
			dv->numa_node = -1;
		link_name(dir, "iommu_group", buf, sizeof(buf));
		dv->iommu_group = buf[0] ? (int32_t)strtol(buf, NULL, 10) : -1;
		dv->sriov_total = (uint32_t)read_int(dir, "sriov_totalvfs", 0);
		dv->sriov_num = (uint32_t)read_int(dir, "sriov_numvfs", 0);
		link_name(dir, "physfn", dv->parent, sizeof(dv->parent));
		uint32_t cls = dv->class_code >> 16;
		dv->kind = dv->parent[0] ? EDP_DEV_VF : cls == 0x02 ? EDP_DEV_NIC : cls == 0x03 || cls == 0x12 ? EDP_DEV_GPU
										   : EDP_DEV_OTHER;
		scan_net(dir, dv);
	}
	closedir(d);
	if (rc) {
		edp_inventory_free(inv);
		return rc;
	}
	if (inv->n) /* none: no array to sort (qsort must not be given NULL) */
		qsort(inv->dev, inv->n, sizeof(*inv->dev), by_addr);
	name_devices(inv);
	if (this_host)
		topo_nodes(inv);
	else
		scan_nodes(inv, root);
	return 0;
}

/* ---- YAML ---- */

struct load {
	struct edp_inventory *inv;
	uint32_t cap;
	struct edp_device *dev;
	int32_t node_id;
	char cpus[256];
};

static int copy_text(struct edp_yaml *y, yaml_node_t *v, const char *key, char *out, size_t size)
{
	const char *s;
	if (edp_yaml_string(y, v, key, &s))
		return EDP_ERR_USAGE;
	if (strlen(s) >= size)
		return edp_yaml_fail(y, v, "%s: '%s' is too long", key, s);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int device_key(struct edp_yaml *y, const char *k, yaml_node_t *v, void *arg)
{
	struct edp_device *d = ((struct load *)arg)->dev;
	long long x;
	if (strcmp(k, "address") == 0)
		return copy_text(y, v, k, d->addr, sizeof(d->addr));
	if (strcmp(k, "class") == 0) {
		const char *s;
		if (edp_yaml_string(y, v, k, &s))
			return EDP_ERR_USAGE;
		int kind = edp_dev_kind_parse(s);
		if (kind < 0)
			return edp_yaml_fail(y, v, "class '%s' is not one of nic, gpu, dpu, vf, other", s);
		d->kind = (enum edp_dev_kind)kind;
		return 0;
	}
	if (strcmp(k, "model") == 0)
		return copy_text(y, v, k, d->model, sizeof(d->model));
	if (strcmp(k, "driver") == 0)
		return copy_text(y, v, k, d->driver, sizeof(d->driver));
	if (strcmp(k, "driver-version") == 0)
		return copy_text(y, v, k, d->driver_version, sizeof(d->driver_version));
	if (strcmp(k, "firmware") == 0)
		return copy_text(y, v, k, d->firmware, sizeof(d->firmware));
	if (strcmp(k, "parent") == 0)
		return copy_text(y, v, k, d->parent, sizeof(d->parent));
	if (strcmp(k, "numa-node") == 0) {
		if (edp_yaml_int(y, v, k, -1, EDP_MAX_NODES - 1, &x))
			return EDP_ERR_USAGE;
		d->numa_node = (int32_t)x;
		return 0;
	}
	if (strcmp(k, "iommu-group") == 0) {
		if (edp_yaml_int(y, v, k, -1, 1 << 30, &x))
			return EDP_ERR_USAGE;
		d->iommu_group = (int32_t)x;
		return 0;
	}
	if (strcmp(k, "host-in-use") == 0) {
		const char *s = edp_yaml_scalar(v);
		if (!s || (strcmp(s, "true") && strcmp(s, "false")))
			return edp_yaml_fail(y, v, "host-in-use must be true or false");
		d->host_in_use = strcmp(s, "true") == 0;
		return 0;
	}
	return edp_yaml_unknown(y, "device", k,
				"address, class, model, driver, driver-version, firmware, parent, numa-node, iommu-group, host-in-use");
}

static int node_key(struct edp_yaml *y, const char *k, yaml_node_t *v, void *arg)
{
	struct load *l = arg;
	long long x;
	if (strcmp(k, "id") == 0) {
		if (edp_yaml_int(y, v, k, 0, EDP_MAX_NODES - 1, &x))
			return EDP_ERR_USAGE;
		l->node_id = (int32_t)x;
		return 0;
	}
	if (strcmp(k, "cpus") == 0)
		return copy_text(y, v, k, l->cpus, sizeof(l->cpus));
	return edp_yaml_unknown(y, "numa node", k, "id, cpus");
}

static int host_key(struct edp_yaml *y, const char *k, yaml_node_t *v, void *arg)
{
	struct load *l = arg;
	struct edp_inventory *inv = l->inv;
	if (strcmp(k, "name") == 0)
		return copy_text(y, v, k, inv->host, sizeof(inv->host));
	if (strcmp(k, "numa-nodes") == 0 || strcmp(k, "devices") == 0) {
		if (v->type != YAML_SEQUENCE_NODE)
			return edp_yaml_fail(y, v, "%s must be a list", k);
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *n = edp_yaml_node(y, *it);
			int rc;
			if (k[0] == 'n') {
				if (inv->n_nodes == EDP_MAX_NODES)
					return edp_yaml_fail(y, n, "too many NUMA nodes (at most %d)", EDP_MAX_NODES);
				l->node_id = -1;
				l->cpus[0] = 0;
				if ((rc = edp_yaml_each_key(y, n, "numa node", node_key, l)))
					return rc;
				if (l->node_id < 0)
					return edp_yaml_fail(y, n, "a NUMA node needs an id");
				inv->nodes[inv->n_nodes].id = l->node_id;
				snprintf(inv->nodes[inv->n_nodes].cpus, sizeof(inv->nodes[0].cpus), "%s", l->cpus);
				inv->n_nodes++;
				continue;
			}
			if ((rc = add(inv, &l->cap, &l->dev, y->err)))
				return rc;
			l->dev->kind = EDP_DEV_OTHER;
			if ((rc = edp_yaml_each_key(y, n, "device", device_key, l)))
				return rc;
			if (!l->dev->addr[0])
				return edp_yaml_fail(y, n, "a device needs an address");
			for (uint32_t i = 0; i + 1 < inv->n; i++)
				if (strcmp(inv->dev[i].addr, l->dev->addr) == 0)
					return edp_yaml_fail(y, n, "device %s is listed twice", l->dev->addr);
			if (!l->dev->model[0])
				snprintf(l->dev->model, sizeof(l->dev->model), "%s", edp_dev_kind_name(l->dev->kind));
		}
		return 0;
	}
	return edp_yaml_unknown(y, "host", k, "name, numa-nodes, devices");
}

int edp_inventory_load(struct edp_inventory *inv, const char *path, const char *host, struct edp_error *err)
{
	memset(inv, 0, sizeof(*inv));
	struct edp_yaml y;
	int rc = edp_yaml_load(&y, path, "inventory", err);
	if (rc)
		return rc;
	yaml_node_t *root = edp_yaml_root(&y), *hosts = NULL;
	if (!root || root->type != YAML_MAPPING_NODE) {
		rc = edp_yaml_fail(&y, root, "an inventory is a mapping with a list of hosts");
		goto out;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		const char *k = edp_yaml_scalar(edp_yaml_node(&y, p->key));
		if (k && strcmp(k, "hosts") == 0)
			hosts = edp_yaml_node(&y, p->value);
		else {
			y.key_node = edp_yaml_node(&y, p->key);
			rc = edp_yaml_unknown(&y, "inventory", k ? k : "?", "hosts");
			goto out;
		}
	}
	if (!hosts || hosts->type != YAML_SEQUENCE_NODE || hosts->data.sequence.items.start == hosts->data.sequence.items.top) {
		rc = edp_yaml_fail(&y, hosts ? hosts : root, "hosts must be a list of at least one host");
		goto out;
	}
	bool found = false;
	for (yaml_node_item_t *it = hosts->data.sequence.items.start; it < hosts->data.sequence.items.top && !found; it++) {
		edp_inventory_free(inv);
		struct load l = { .inv = inv };
		if ((rc = edp_yaml_each_key(&y, edp_yaml_node(&y, *it), "host", host_key, &l)))
			goto out;
		found = !host || strcmp(inv->host, host) == 0;
	}
	if (!found)
		rc = edp_error_set(err, EDP_ERR_USAGE, "%s: no host '%s'", path, host);
	else if (inv->n)
		qsort(inv->dev, inv->n, sizeof(*inv->dev), by_addr);
out:
	edp_yaml_free(&y);
	if (rc)
		edp_inventory_free(inv);
	return rc;
}

void edp_inventory_free(struct edp_inventory *inv)
{
	free(inv->dev);
	memset(inv, 0, sizeof(*inv));
}

const struct edp_device *edp_inventory_find(const struct edp_inventory *inv, const char *addr)
{
	for (uint32_t i = 0; i < inv->n; i++)
		if (strcmp(inv->dev[i].addr, addr) == 0)
			return &inv->dev[i];
	return NULL;
}

int edp_inventory_open(struct edp_inventory *inv, const struct edp_inventory_source *src, struct edp_error *err)
{
	const char *env = getenv("EDP_SYSFS");
	if (src->yaml)
		return edp_inventory_load(inv, src->yaml, src->host, err);
	return edp_inventory_scan(inv, src->sysfs_root ? src->sysfs_root : env && *env ? env : NULL, err);
}
