/* edp_print: the binaries' shared output: run summaries and live stats, as
 * text for people and as JSON (stable keys, documented in the man pages). */
#ifndef EDP_PRINT_H
#define EDP_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "edp_datapath.h"
#include "edp_stats.h"

/* "PROG: message" and the --help hint on stderr; returns 2 (usage error). */
int edp_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void edp_print_json_string(FILE *f, const char *s);
/* "key":"value" and a comma when `comma` */
void edp_print_json_key(FILE *f, const char *key, const char *value, bool comma);
/* The lines of a text as a JSON list of strings. */
void edp_print_json_lines(FILE *f, const char *text);

/* The end-of-run summary of edp-run. */
void edp_print_summary(FILE *f, const char *prog, const struct edp_datapath_stats *s);
void edp_print_summary_json(FILE *f, const struct edp_datapath_stats *s);

/* One snapshot of a running instance. */
void edp_print_stats_json(FILE *f, const struct edp_stats_snapshot *s, double uptime_s);
void edp_print_stats_text(FILE *f, const struct edp_stats_snapshot *s, double uptime_s);

#endif
