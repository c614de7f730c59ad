/* edp_replay_print: edp-replay's output: the progress line on a
 * terminal, the summary (stderr) and its JSON (stable keys, in
 * edp-replay(1)). */
#ifndef EDP_REPLAY_PRINT_H
#define EDP_REPLAY_PRINT_H

#include <stdio.h>

#include "edp_replay.h"

/* edp_replay_run's progress callback: one line on stderr, redrawn. */
void edp_replay_print_progress(void *ctx, const struct edp_replay_result *r);

void edp_replay_print_summary(FILE *f, const struct edp_replay_config *c, const struct edp_replay_result *r);
void edp_replay_print_json(FILE *f, const struct edp_replay_config *c, const struct edp_replay_result *r);

#endif
