/* edp_assign: which devices a workload gets, by the rules.
 *
 * A request names a workload and what it needs (kind and count, with a
 * model or, for virtual functions, a parent), a NUMA node or "same" (the
 * devices and the workload's CPUs on one node), a NUMA policy like
 * Kubernetes' Topology Manager, and compatibility pins on driver and
 * firmware versions.
 *
 * The rules, on every plan and claim: a device has one owner; an IOMMU
 * group goes to one owner whole (claiming a device claims its group, and a
 * group another workload holds part of is not offered); a device the host
 * uses (edp_device.h) is offered only when forced; pins must hold; the
 * policy must be met:
 *   none              devices anywhere;
 *   best-effort       on one NUMA node when one can serve it, else anywhere;
 *   restricted        on as few nodes as could ever serve it (one, when one
 *                     node has enough such devices at all), else refused;
 *   single-numa-node  all on one node (a known one), else refused.
 * Among the placements the rules allow, the choice is the requested node,
 * then the node of the workload's CPUs, then the tightest fit (the node
 * left with the fewest free devices of the kind: bigger free blocks stay
 * for the next request), then the fewest extra group members, then the
 * lowest node; groups that carry no extra device first.
 *
 * A plan is a pure function of the inventory, the ledger and the request;
 * a claim is a plan applied to the ledger under its lock, after the
 * inventory was read again (what was free when planned may not be now).
 */
#ifndef EDP_ASSIGN_H
#define EDP_ASSIGN_H

#include "edp_device.h"
#include "edp_ledger.h"

#define EDP_ASSIGN_UNSATISFIABLE 3 /* exit status: the request cannot be met now */
#define EDP_MAX_NEEDS 8
#define EDP_PLAN_MAX 256

enum edp_numa_policy { EDP_NUMA_NONE, EDP_NUMA_BEST_EFFORT, EDP_NUMA_RESTRICTED, EDP_NUMA_SINGLE };

struct edp_need {
	enum edp_dev_kind kind;
	uint32_t count;
	char model[EDP_DEV_TEXT_MAX];   /* "" = any; else a case-insensitive substring of the model */
	char parent[EDP_DEV_ADDR_MAX];  /* vf: the physical function, "" = any */
};

struct edp_request {
	char workload[EDP_WORKLOAD_MAX + 1];
	struct edp_need needs[EDP_MAX_NEEDS];
	uint32_t n_needs;
	int32_t numa;                   /* -1: none asked */
	bool numa_same;                 /* devices and CPUs on one node */
	char cpus[64];                  /* the workload's CPUs ("8-11"), "" = unknown: their node is preferred */
	enum edp_numa_policy policy;
	char driver_pin[EDP_DEV_TEXT_MAX];   /* "ice>=1.12", ">=1.12" or "ice"; "" = none */
	char firmware_pin[EDP_DEV_TEXT_MAX];
	bool force;                     /* offer devices the host uses */
	bool add;                       /* more devices for a workload that holds some (else what it holds answers) */
};

struct edp_plan {
	uint32_t n;
	struct { char addr[EDP_DEV_ADDR_MAX]; bool member; } dev[EDP_PLAN_MAX];
	int32_t node;                   /* -1: several or unknown */
	uint32_t beyond;                /* the score: devices claimed beyond the request (group members), */
	uint32_t left;                  /* and free devices of the kinds asked for left in its scope */
	char explain[4096];             /* why, line by line */
	bool held;                      /* the workload holds these already and they satisfy the request */
};

/* Parse "nic:2", "gpu:1,model=A100", "vf:4,parent=0000:3b:00.0". NULL
 * when fine, else why not. */
const char *edp_need_parse(const char *s, struct edp_need *n);
/* Load a request from YAML (edp-assign(1): workload, need, numa, policy,
 * cpus, driver, firmware, force). Errors carry file:line:column. */
int edp_request_load(struct edp_request *r, const char *path, struct edp_error *err);

/* -1 when s names no policy */
int edp_numa_policy_parse(const char *s);
const char *edp_numa_policy_name(enum edp_numa_policy p);

/* What would be assigned. 0, or EDP_ASSIGN_UNSATISFIABLE with err saying
 * why (and p->explain the candidates), or EDP_ERR_USAGE for a bad request
 * (a NUMA node the inventory does not have among them). A workload that
 * already holds devices on the inventory's host is answered with them
 * (p->held) when they satisfy the request, and refused (unsatisfiable)
 * when they do not, unless r->add: then the plan is for more. */
int edp_assign_plan(const struct edp_inventory *inv, const struct edp_ledger *l, const struct edp_request *r,
		    struct edp_plan *p, struct edp_error *err);

/* Plan a request, or claim it: under the ledger's lock (exclusive for a
 * claim) read the ledger at `ledger`, then the inventory as it is now,
 * plan, and for a claim record the plan and write the ledger (not for a
 * plan of what the workload holds: p->held). *inv is the
 * inventory planned on (free it, whatever the result). Returns as
 * edp_assign_plan, or EDP_ERR_RUNTIME for the ledger or the inventory. */
int edp_assign_request(const char *ledger, const struct edp_inventory_source *src, const struct edp_request *r,
		       bool claim, struct edp_inventory *inv, struct edp_plan *p, struct edp_error *err);

/* Release the workload's devices (all when n == 0; a device releases its
 * whole group) in the ledger at `ledger`, under its lock. Returns how many
 * claims went, or -1 with err set (a workload that holds nothing, a device
 * it does not hold, a ledger that cannot be read or written). */
int edp_assign_release(const char *ledger, const char *workload, const char *const *devices, int n,
		       struct edp_error *err);

/* Move claims from workload `from` to workload `to` (the devices named,
 * each with its IOMMU group, or all of from's when n == 0) in one ledger
 * generation, under the ledger's lock: what a migrated instance's devices
 * need (edp-migrate; edp-assign move). Returns how many claims moved and
 * the new generation in *generation, or -1 with err set: a device from
 * does not hold, from holding nothing (EDP_ERR_RUNTIME), from == to
 * (EDP_ERR_USAGE), a ledger that cannot be read or written. */
int edp_assign_move(const char *ledger, const char *from, const char *to, const char *const *devices, int n,
		    uint64_t *generation, struct edp_error *err);

/* The ledger against the inventory: one line per problem into out (claims
 * on devices that are gone, drivers changed, firmware drifted, pins broken,
 * groups split). Returns how many. */
int edp_assign_check(const struct edp_inventory *inv, const struct edp_ledger *l, char *out, size_t size);

/* A device's state for listing: "free", "assigned", or "unusable" with why. */
const char *edp_assign_state(const struct edp_inventory *inv, const struct edp_ledger *l, const struct edp_device *d,
			     bool force, char *why, size_t size);

#endif
