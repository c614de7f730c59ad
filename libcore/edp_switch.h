/* edp_switch: the MAC-learning L2 switch module of the slow path.
 *
 * The MAC table maps (VLAN, MAC) to the port the MAC was last seen on. It is
 * bounded: a set-associative table of buckets of EDP_SWITCH_WAYS entries,
 * sized at creation; learning into a full bucket replaces its oldest entry.
 * Entries age out `ageing_ns` after they were last seen (packet time); the
 * datapath sweeps the table periodically (edp_switch_age) and a lookup never
 * returns an expired entry.
 *
 * Every bucket has an epoch that changes whenever any entry of the bucket is
 * added, moved, replaced or removed. A cached forwarding decision records the
 * epochs of the buckets it read; the flow cache compares them on every hit,
 * so a learned, moved or aged MAC invalidates exactly the flows that depend on
 * it. `stamps` holds each entry's last-seen time; the action executor
 * refreshes it for flows served from the cache.
 *
 * Thread-safety: one writer at a time, holding the switch's lock
 * (edp_switch_lock: the slow path of every thread and every generation of
 * the pipeline share the table); stamps and epochs may be read and stamps
 * refreshed concurrently (relaxed atomics).
 */
#ifndef EDP_SWITCH_H
#define EDP_SWITCH_H

#include <stdbool.h>
#include <stdint.h>

#include "edp_error.h"

#define EDP_SWITCH_WAYS 4

struct edp_switch_stats {
	uint64_t learned, moved, aged, replaced;
};

struct edp_switch;

struct edp_switch *edp_switch_create(uint32_t table_size, uint64_t ageing_ns, struct edp_error *err);
void edp_switch_destroy(struct edp_switch *sw);

/* Learn that `mac` on `vlan` was seen on `port` at `now_ns`. Returns the entry
 * index (for refreshing) and stores the bucket it lives in in *bucket. */
uint32_t edp_switch_learn(struct edp_switch *sw, uint16_t vlan, const uint8_t mac[6], uint16_t port,
			  uint64_t now_ns, uint32_t *bucket);

/* The port `mac` on `vlan` was learned on, or -1; *bucket gets the bucket
 * consulted either way (a flow that floods depends on it too), *entry (if
 * not NULL) the entry found. */
int edp_switch_lookup(struct edp_switch *sw, uint16_t vlan, const uint8_t mac[6], uint64_t now_ns,
		      uint32_t *bucket, uint32_t *entry);

/* A sweep (under the lock): unmark every entry, mark those to keep, then
 * forget the others (each removal moves its bucket's epoch). mark says
 * whether (vlan, mac) was there; forget_unmarked how many went. */
void edp_switch_unmark_all(struct edp_switch *sw);
bool edp_switch_mark(struct edp_switch *sw, uint16_t vlan, const uint8_t mac[6]);
uint32_t edp_switch_forget_unmarked(struct edp_switch *sw);

/* Set the ageing time (a reloaded config's), under the lock. */
void edp_switch_set_ageing_ns(struct edp_switch *sw, uint64_t ageing_ns);

/* The one writer's lock. */
void edp_switch_lock(struct edp_switch *sw);
void edp_switch_unlock(struct edp_switch *sw);

/* Remove every entry not seen for longer than the ageing time. */
void edp_switch_age(struct edp_switch *sw, uint64_t now_ns);

/* An entry of the table as edp_switch_dump gives it. */
struct edp_switch_entry {
	uint8_t mac[6];
	uint16_t vlan;
	uint16_t port;
	uint64_t seen_ns; /* packet time it was last seen */
};

/* The table's size, in entries. */
uint32_t edp_switch_capacity(const struct edp_switch *sw);

/* Copy up to max entries to out (under the lock); how many. */
uint32_t edp_switch_dump(const struct edp_switch *sw, struct edp_switch_entry *out, uint32_t max);

const uint32_t *edp_switch_epochs(const struct edp_switch *sw);
uint64_t *edp_switch_stamps(struct edp_switch *sw);
uint32_t edp_switch_entries(const struct edp_switch *sw);
const struct edp_switch_stats *edp_switch_stats(const struct edp_switch *sw);

#endif
