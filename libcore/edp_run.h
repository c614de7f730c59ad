/* edp_run: runs a datapath over its inputs: the mode (inline on the calling
 * thread, or worker threads) and the run's wall time.
 *
 * It sits above edp_datapath (the batch loop and its halves) and
 * edp_worker (the threads), which call down and never up: neither calls
 * this engine, and the datapath never calls the worker.
 */
#ifndef EDP_RUN_H
#define EDP_RUN_H

#include <signal.h>

#include "edp_datapath.h"

/* Process every input of dp to its end, or until *stop becomes non-zero:
 * inline when the config has no threads, else on its worker threads.
 * Returns 0, or EDP_ERR_RUNTIME when an input or output failed (err says
 * which); the packets read before the fault have been processed either
 * way. */
int edp_run(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err);

#endif
