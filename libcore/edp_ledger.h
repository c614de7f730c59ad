/* edp_ledger: who holds which device, in a file that a crash never breaks.
 *
 * The ledger is YAML written by this engine only: a header line, the
 * version, a checksum (FNV-1a 64 of every byte after the checksum line),
 * a generation that grows with every change, and the claims. A ledger
 * whose checksum, version or contents do not hold is refused with an
 * error naming the file and what is wrong, never half-used; the last good
 * one is kept beside it as PATH.bak.
 *
 * A change takes an exclusive flock on PATH.lock, reads and validates the
 * ledger, applies the change, writes PATH.tmp, fsyncs it, keeps the
 * old ledger as PATH.bak, renames the new one over PATH and fsyncs the
 * directory: a crash at any point leaves the old ledger or the new one.
 * Readers take a shared lock. A missing ledger is an empty one.
 */
#ifndef EDP_LEDGER_H
#define EDP_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edp_config.h"
#include "edp_device.h"
#include "edp_error.h"

#define EDP_LEDGER_VERSION 1
#define EDP_WORKLOAD_MAX 64

struct edp_claim {
	char workload[EDP_WORKLOAD_MAX + 1];
	char host[EDP_DEV_TEXT_MAX];  /* the inventory's host ("" for this host): an address is a device of one host */
	char device[EDP_DEV_ADDR_MAX];
	enum edp_dev_kind kind;
	int32_t numa_node, iommu_group;
	char driver[EDP_DEV_TEXT_MAX], driver_version[EDP_DEV_TEXT_MAX], firmware[EDP_DEV_TEXT_MAX];
	char driver_pin[EDP_DEV_TEXT_MAX], firmware_pin[EDP_DEV_TEXT_MAX]; /* "" when none */
	bool group_member;        /* taken because its IOMMU group was */
	uint64_t claimed_at;      /* seconds since the epoch */
};

struct edp_ledger {
	uint64_t generation;
	struct edp_claim *claims;
	uint32_t n, cap;
};

/* The ledger's path: `given`, else $EDP_LEDGER, else $EDP_RUNDIR/ledger.yaml
 * when EDP_RUNDIR is set, else /var/lib/edp/ledger.yaml (its directory made
 * when missing). */
int edp_ledger_path(char *buf, size_t size, const char *given, struct edp_error *err);

/* Lock PATH.lock: exclusive to change, shared to read. Returns the lock's
 * descriptor (release with edp_ledger_unlock) or -1 with err set. */
int edp_ledger_lock(const char *path, bool exclusive, struct edp_error *err);
void edp_ledger_unlock(int fd);

/* Read and validate (under a lock). Errors: unreadable (EDP_ERR_RUNTIME),
 * corrupt, another version, inconsistent (EDP_ERR_RUNTIME, naming PATH). */
int edp_ledger_read(struct edp_ledger *l, const char *path, struct edp_error *err);
/* Resolve the path (edp_ledger_path, into path), then read the ledger
 * under a shared lock: what a reader that changes nothing needs. */
int edp_ledger_load(struct edp_ledger *l, char *path, size_t size, const char *given, struct edp_error *err);
/* Write l (generation + 1) as described above. */
int edp_ledger_write(struct edp_ledger *l, const char *path, struct edp_error *err);
void edp_ledger_free(struct edp_ledger *l);

int edp_ledger_add(struct edp_ledger *l, const struct edp_claim *c, struct edp_error *err);
void edp_ledger_remove(struct edp_ledger *l, uint32_t i);
/* The claim on device addr of host ("" for this host), or NULL. */
const struct edp_claim *edp_ledger_owner(const struct edp_ledger *l, const char *host, const char *addr);

/* True when name is 1 to 64 of A-Z a-z 0-9 _ . - */
bool edp_workload_name_valid(const char *name);

/* Does this instance (cfg->instance, else "default") own, in the ledger,
 * the device of each port of cfg that names one (`device:`)? Returns 0
 * (also when no port names a device: the ledger is not read), or
 * EDP_ERR_RUNTIME naming the first port whose device it does not own and
 * who does. The policy of edp-run, which asks before it opens the ports. */
int edp_ledger_check_ports(const struct edp_config *cfg, struct edp_error *err);

#endif
