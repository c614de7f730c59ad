/* edp_state: a datapath's learned state taken out (into an edp_checkpoint)
 * and put back: what a saved or migrated instance carries so that the next
 * one starts warm.
 *
 * Taken (edp_datapath_save): the switch's MACs and every thread's
 * flow-cache keys of the running config, while the datapath runs, from the
 * control thread; with `pause`, the inputs are suspended and the packets
 * already read processed first, so that nothing is learned during the copy
 * (the pause is measured), and resumed after (unless they were suspended
 * before).
 *
 * Put back (edp_datapath_restore), before the run starts: the checkpoint's
 * ports must be the config's (same names, same order); its MACs are
 * learned into the switch with their times (none when the config has no
 * switch); its flow keys are classified by the pipeline and cached where
 * the run will look for them (the cache of the thread that owns the
 * flow's receive queue at the start, under the hash it looks up by),
 * unless the config
 * differs from the one they were decided under (its hash), which is
 * refused unless allowed, and then only the MACs are carried.
 */
#ifndef EDP_STATE_H
#define EDP_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "edp_checkpoint.h"
#include "edp_datapath.h"

struct edp_save_report {
	bool paused, drained;   /* paused: inputs suspended for the copy; drained: all read was processed */
	double pause_ms;        /* inputs suspended (0 without pause) */
	double copy_ms;         /* the copy itself */
};

/* Fill ck (free with edp_checkpoint_free; its arrays are the caller's) with
 * the instance `name`'s state. Errors: out of memory. */
int edp_datapath_save(struct edp_datapath *dp, const char *name, bool pause, struct edp_checkpoint *ck,
		      struct edp_save_report *report, struct edp_error *err);

/* The same, the flows only of the flow-cache buckets that changed since
 * marks[thread] was taken (edp_flowcache_dump_changed; one array a
 * thread, zeroed for the first): a migration's pre-copy rounds. */
int edp_datapath_save_changed(struct edp_datapath *dp, const char *name, bool pause, uint32_t *const *marks,
			      struct edp_checkpoint *ck, struct edp_save_report *report, struct edp_error *err);

struct edp_restore_report {
	uint32_t macs, flows;             /* carried */
	uint32_t macs_left, flows_left;   /* not: no switch; another config */
};

#define EDP_RESTORE_ALLOW_CONFIG_CHANGE 1 /* another config's: its MACs only */
#define EDP_RESTORE_EXACT_MACS 2          /* the switch forgets the MACs ck does not have */

/* Whether ck can be put into a datapath of cfg: the same ports (names,
 * order), entries that name them, and the config it was taken under (its
 * hash) unless EDP_RESTORE_ALLOW_CONFIG_CHANGE. 0, or EDP_ERR_RUNTIME
 * naming what does not fit (`what` names ck). */
int edp_checkpoint_fits(const struct edp_checkpoint *ck, const struct edp_config *cfg, unsigned flags, const char *what,
			struct edp_error *err);

/* Put ck's state into dp (not running yet), again and again for a
 * migration's rounds. `what` names the checkpoint in errors. Errors
 * (EDP_ERR_RUNTIME): other ports; an entry that names a port the config
 * does not have; another config without EDP_RESTORE_ALLOW_CONFIG_CHANGE. */
int edp_datapath_restore(struct edp_datapath *dp, const struct edp_checkpoint *ck, const char *what,
			 unsigned flags, struct edp_restore_report *report, struct edp_error *err);

#endif
