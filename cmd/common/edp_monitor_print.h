/* edp_monitor_print: edp-top's text and JSON (keys documented in
 * edp-top(1)): numbers for people, the header lines, one row format per
 * view shared by the terminal and batch mode, whole snapshots. */
#ifndef EDP_MONITOR_PRINT_H
#define EDP_MONITOR_PRINT_H

#include <stdio.h>

#include "edp_monitor.h"

/* 1234567 -> "1.23M" (6 characters at most) */
const char *edp_print_si(char *buf, size_t n, double v);
/* a ratio as a percentage, "-" when unknown (< 0) */
const char *edp_print_pct(char *buf, size_t n, double ratio);
void edp_print_title_text(char *buf, size_t n, const struct edp_monitor_sample *s);
void edp_print_totals_text(char *buf, size_t n, const struct edp_monitor_sample *s);
void edp_print_event_text(char *buf, size_t n, const struct edp_monitor_sample *s);
const char *edp_print_view_header(enum edp_monitor_view v);
void edp_print_row_text(char *buf, size_t n, const struct edp_monitor_sample *s, enum edp_monitor_view v, uint32_t i);
/* One snapshot as text (like top -b), and as one JSON line; a sample of a
 * gone instance prints `gone_why` (JSON). */
void edp_print_sample_text(FILE *f, const struct edp_monitor_sample *s);
void edp_print_sample_json(FILE *f, const struct edp_monitor_sample *s, const char *gone_why);

#endif
