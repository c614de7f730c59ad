/* edp_run_serve: what a running edp-run serves beside its datapath: the
 * control socket (the commands, the side of a move, SIGHUP as a reload),
 * and the datapath's way through a move: --incoming's wait for one, and a
 * source's run, again after each stun that did not move it. */
#ifndef EDP_RUN_SERVE_H
#define EDP_RUN_SERVE_H

#include <stdbool.h>

#include "edp_commands.h"
#include "edp_config.h"
#include "edp_ctl.h"
#include "edp_datapath.h"
#include "edp_migrate.h"
#include "edp-run/edp_run_config.h"

struct edp_run_serve {
	struct edp_commands commands;
	struct edp_move *move;
	struct edp_ctl *ctl;
	bool quiet;
};

/* --incoming as instance `name` on cfg (whose ports take the source's
 * inputs and outputs): serve, and wait for a move. Its datapath, or NULL
 * with *rc set (0: stopped before one came; said on stderr). */
struct edp_datapath *edp_run_serve_incoming(struct edp_run_serve *s, const char *name, struct edp_config *cfg,
					    struct run_args *args, bool quiet, int *rc);

/* Serve instance `name` (published) for dp, which a move may take away.
 * 0, or 1 (said on stderr). */
int edp_run_serve_source(struct edp_run_serve *s, const char *name, struct edp_datapath *dp, struct run_args *args,
			 bool quiet);

/* Run dp to its end (again after each stun that did not move it; one
 * that did is said on stderr), then stop serving. edp_run's result. */
int edp_run_serve_run(struct edp_run_serve *s, struct edp_datapath *dp, struct edp_error *err);

/* What serving holds, after the summary. */
void edp_run_serve_free(struct edp_run_serve *s);

#endif
