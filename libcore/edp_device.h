/* edp_device: the inventory of assignable devices, from this host's sysfs
 * or from a YAML description of hosts that are not this one.
 *
 * sysfs: every $ROOT/bus/pci/devices/ADDRESS (ROOT is /sys, or a fake tree
 * for tests): class, vendor, device, subsystem ids, local_cpulist, the bound driver and its
 * module version, numa_node (-1: unknown), iommu_group, SR-IOV totals, the
 * physical function of a virtual function (physfn), local_cpulist, a
 * firmware_version file where the driver provides one, and the network
 * interfaces under net/ with their operstate. NUMA nodes and their CPUs come
 * from libnuma on this host, from $ROOT/devices/system/node in a fake tree.
 *
 * YAML (edp-assign(1)): hosts with NUMA nodes, CPUs and devices.
 *
 * Kinds: nic (PCI class 02), gpu (03, 12), dpu (YAML only, or a NIC with a
 * DPU model), vf (a virtual function, whatever its class), other.
 * A device is in use by the host when it is bound to a host driver (not
 * one of the assignment drivers: VFIO, the PCI placeholder, UIO) and has a
 * network interface that is up, like the host's management NIC: it is never
 * offered unless forced.
 */
#ifndef EDP_DEVICE_H
#define EDP_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "edp_error.h"

#define EDP_DEV_ADDR_MAX 32
#define EDP_DEV_TEXT_MAX 64
#define EDP_MAX_NODES 64

enum edp_dev_kind { EDP_DEV_NIC, EDP_DEV_GPU, EDP_DEV_DPU, EDP_DEV_VF, EDP_DEV_OTHER, EDP_DEV_KINDS };

struct edp_device {
	char addr[EDP_DEV_ADDR_MAX];       /* PCI address, e.g. 0000:3b:00.0 */
	enum edp_dev_kind kind;
	uint32_t class_code;               /* PCI class, 0 when unknown */
	char vendor[8], device[8];         /* hex ids, "" when unknown */
	char subsys_vendor[8], subsys_device[8];
	char local_cpus[128];              /* local_cpulist: the CPUs near the device */
	char model[EDP_DEV_TEXT_MAX];      /* YAML model, else vendor:device */
	char name[2 * EDP_DEV_TEXT_MAX];   /* vendor and device names from pci.ids, "" when unknown */
	char driver[EDP_DEV_TEXT_MAX];     /* "" when unbound */
	char driver_version[EDP_DEV_TEXT_MAX];
	char firmware[EDP_DEV_TEXT_MAX];
	char parent[EDP_DEV_ADDR_MAX];     /* a VF's physical function */
	char iface[EDP_DEV_TEXT_MAX];      /* a network interface of it, "" when none */
	int32_t numa_node;                 /* -1: unknown */
	int32_t iommu_group;               /* -1: none */
	uint32_t sriov_total, sriov_num;
	bool host_in_use;                  /* see above */
};

struct edp_inventory {
	char host[EDP_DEV_TEXT_MAX];       /* "" for this host */
	struct edp_device *dev;
	uint32_t n;
	uint32_t n_nodes;
	struct { int32_t id; char cpus[256]; } nodes[EDP_MAX_NODES];
};

/* Scan sysfs under `root` ("/sys" when NULL). Errors: the tree has no
 * bus/pci/devices. Each device is named from the PCI ID database where it
 * exists ($EDP_PCI_IDS, else /usr/share/misc/pci.ids or
 * /usr/share/hwdata/pci.ids: the pci.ids package's). */
int edp_inventory_scan(struct edp_inventory *inv, const char *root, struct edp_error *err);
/* Load host `host` (NULL: the only one, or the first) of a YAML inventory.
 * Errors carry file:line:column (EDP_ERR_USAGE). */
int edp_inventory_load(struct edp_inventory *inv, const char *path, const char *host, struct edp_error *err);
void edp_inventory_free(struct edp_inventory *inv);

/* Where an inventory comes from: a YAML file (and its host), else sysfs
 * under sysfs_root (NULL: $EDP_SYSFS when set, else /sys). */
struct edp_inventory_source {
	const char *sysfs_root, *yaml, *host;
};
int edp_inventory_open(struct edp_inventory *inv, const struct edp_inventory_source *src, struct edp_error *err);

const struct edp_device *edp_inventory_find(const struct edp_inventory *inv, const char *addr);

const char *edp_dev_kind_name(enum edp_dev_kind k);
/* -1 when s names no kind */
int edp_dev_kind_parse(const char *s);

/* Compare dotted versions numerically ("1.12.7" > "1.9"): <0, 0, >0. */
int edp_version_cmp(const char *a, const char *b);
/* Does version v satisfy `pin` (">=1.12", ">1.2", "<=2", "<3", "=1.4",
 * "1.4" meaning =, or "1.2-1.4" inclusive)? -1 when the pin is malformed. */
int edp_version_satisfies(const char *v, const char *pin);

#endif
