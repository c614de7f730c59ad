/* edp_run: runs a datapath over its inputs: the mode (inline on the calling
 * thread, or worker threads) and the run's wall time.
 *
 * It holds the inline batch loop and decides which runs go on threads
 * (edp_worker). Both call down into the datapath's parts (edp_input,
 * edp_lane, edp_output, edp_publish), which call nothing above them.
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
