/* edp_signals: how the binaries stop. SIGINT and SIGTERM (and SIGALRM, the
 * --duration timer) set edp_stop_requested, which the library polls; a
 * broken pipe is an error from the write, not a signal. A shared file that
 * another process shrinks under its mapping is an error, not a SIGBUS
 * (edp_shm.h: the mapping's guard catches it). */
#ifndef EDP_SIGNALS_H
#define EDP_SIGNALS_H

#include <signal.h>

extern volatile sig_atomic_t edp_stop_requested;

void edp_catch_stop_signals(void);

#endif
