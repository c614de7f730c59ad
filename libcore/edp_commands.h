/* edp_commands: the control commands of a running datapath, served on its
 * control socket (edp_ctl.h); those of a migration are edp_migrate's.
 * Until an instance has a datapath (edp-run --incoming), status and stop
 * answer and the others say why not:
 *   status   the instance: name, pid, config file, its hash and generation,
 *            state, uptime, threads, ports
 *   stop     stop as SIGTERM does: what was read is written, the summary
 *            printed
 *   suspend  take no packet from the inputs (edp_datapath_suspend) until
 *   resume   resume
 *   rebalance  run the Thread Load Balancer now: its plan, and whether it
 *            was applied (edp_datapath_rebalance)
 *   reload [FILE]  read the config again (the running one's file, or FILE)
 *            and make it the running one (edp_reload.h); on any error the
 *            running one stays
 *   flows [--limit N]  the threads' flow-cache entries (edp_flowcache_dump)
 *   macs     the learning switch's table
 *   stats-clear  the live counters to zero (edp_datapath_clear_stats)
 *   pin PORT:QUEUE CPU, unpin PORT:QUEUE  bind a receive queue to the
 *            worker on CPU, or let the balancer move it (edp_datapath_pin)
 *   save [--no-pause]  the instance's state as a checkpoint (edp_state.h),
 *            written to the descriptor the request came with
 * Each handler reads what the datapath publishes for it; none waits for a
 * datapath thread (save waits, with its pause, for the packets read to be
 * processed: at most a second).
 */
#ifndef EDP_COMMANDS_H
#define EDP_COMMANDS_H

#include "edp_ctl.h"
#include "edp_datapath.h"

struct edp_commands {
	struct edp_datapath *dp;
	const char *name;             /* the instance's */
	uint64_t start_ns;            /* CLOCK_MONOTONIC when it started */
	void (*stop)(void *ctx);      /* ask for the stop (edp-run: SIGTERM to itself) */
	/* the config a reload of `file` (NULL: the built-in one) gives: the
	 * file as the instance was started on its (edp-run: with its command
	 * line's -r, -w, -t... applied); 0 or an error (EDP_ERR_USAGE for the
	 * file's) */
	int (*load)(void *ctx, const char *file, struct edp_config *cfg, struct edp_error *err);
	void *ctx;
	struct edp_ctl *ctl;          /* set by edp_commands_register */
	struct edp_move *move;        /* a migration's side, whose state status shows (edp_migrate.h) */
};

/* Register the commands on c; env must outlive c. 0 or -1. */
int edp_commands_register(struct edp_ctl *c, struct edp_commands *env);

#endif
