/* edp_top_screen: edp-top's interactive terminal (ncurses), apart from its
 * options and batch mode. */
#ifndef EDP_TOP_SCREEN_H
#define EDP_TOP_SCREEN_H

#include <stdbool.h>

#include "edp_monitor.h"

#define PROG "edp-top"

/* Why the screen cannot be drawn (standard output or input not a
 * terminal, TERM unset or unknown), or NULL. */
const char *edp_top_screen_unusable(void);

/* Take over the terminal (colours unless !color); edp_top_screen_close
 * gives it back. */
void edp_top_screen_open(bool color);
void edp_top_screen_close(void);

/* Several instances and no name: let the operator pick one. Returns its
 * index, or -1 to quit. */
int edp_top_screen_choose(char (*names)[EDP_NAME_MAX + 1], int n);

/* Watch m, refreshing every `delay` seconds, until q or a stop signal;
 * the keys are in the help screen. Returns the exit status. */
int edp_top_screen_run(struct edp_monitor *m, double delay, bool color);

#endif
