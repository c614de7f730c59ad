/* edp_run_progress: edp-run's progress line on a terminal, like
 * edp-replay's: packets read, the rate, and with capture files of a known
 * size the percent done and the time left, refreshed 4 times a second on
 * stderr by a thread of its own (from the instance's live stats and the
 * files' offsets), erased when the run ends. */
#ifndef EDP_RUN_PROGRESS_H
#define EDP_RUN_PROGRESS_H

#include "edp_datapath.h"

struct edp_run_progress;

/* Show the progress of dp, published as instance `name`: NULL (nothing
 * shown) when stderr is not a terminal. */
struct edp_run_progress *edp_run_progress_start(struct edp_datapath *dp, const char *name);

/* Stop and erase the line (before dp is destroyed); NULL: nothing. */
void edp_run_progress_stop(struct edp_run_progress *p);

/* Erase the line now, so that a line said on stderr starts a line of its
 * own (the next refresh draws it again). */
void edp_run_progress_clear(struct edp_run_progress *p);

#endif
