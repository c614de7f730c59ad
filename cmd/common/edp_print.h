/* edp_print: the binaries' shared output: run summaries and live stats, as
 * text for people and as JSON (stable keys, documented in the man pages). */
#ifndef EDP_PRINT_H
#define EDP_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "edp_datapath.h"
#include "edp_pcapio.h"
#include "edp_stats.h"

/* "PROG: message" and the --help hint on stderr; returns 2 (usage error). */
int edp_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* getopt_long (with opterr = 0 and an optstring that starts with ':')
 * returned c, '?' or ':': the usage error naming the option. Returns 2. */
int edp_option_error(const char *prog, int c, char *const argv[]);

/* An option's value that must be a number greater than 0 and at most max
 * (fractions allowed): 0 with it in *out, or 2 after the usage error of
 * option opt ("'1e12' is above the maximum of 1000000000", or "expected
 * WHAT greater than 0, not '0'"). */
int edp_parse_positive(const char *prog, const char *opt, const char *what, const char *s, double max, double *out);

/* Flush f (called `name` in the error): 0, or 1 after "PROG: NAME: write
 * failed: REASON" on stderr. A command calls it on stdout before exit 0:
 * output that did not arrive (a broken pipe, a full disk) is a failure. */
int edp_print_flush(const char *prog, FILE *f, const char *name);

/* True when --json[=FILE] (json_path NULL or "-": stdout) would write into
 * the capture written to `output` ("-": stdout): the same stream or file. */
bool edp_print_json_clash(const char *json_path, const char *output);

/* Where --json[=FILE] goes: stdout for no FILE or "-", else FILE created;
 * NULL after "PROG: FILE: cannot create: REASON" on stderr. */
FILE *edp_print_json_open(const char *prog, const char *path);
/* Done with it: flushed (and closed unless stdout); 0, or 1 after the error
 * of edp_print_flush. */
int edp_print_json_close(const char *prog, FILE *f, const char *path);

/* words[0..n) joined with single spaces into buf, as tcpdump joins the
 * words of a filter expression; false when they do not fit. */
#define EDP_PRINT_FILTER_MAX 8192
bool edp_print_join(char *const *words, int n, char *buf, size_t size);

/* For each input port whose capture is not Ethernet: "PROG: port P: FILE
 * has link type T: each packet is given an Ethernet header", once at the
 * start of a run. */
void edp_print_framing(FILE *f, const char *prog, const struct edp_datapath *dp);

/* A balancer move's prediction and what followed: "spread B -> A
 * predicted[, M measured after][; rate xS predicted (saturated)[, xT
 * measured]]" (measured < 0: not yet; speedup 1: not saturated). */
void edp_print_move(char *buf, size_t n, double before, double after, double measured, double speedup,
		    double speedup_measured);
/* The same as JSON keys: moved, spread_before, spread_after,
 * spread_measured, speedup and speedup_measured (null until measured: < 0). */
struct edp_json;
void edp_print_move_json(struct edp_json *j, uint32_t moved, double before, double after, double measured,
			 double speedup, double speedup_measured);

/* The end-of-run summary of edp-run. */
void edp_print_summary(FILE *f, const char *prog, const struct edp_datapath_stats *s);
void edp_print_summary_json(FILE *f, const struct edp_datapath_stats *s);

/* One snapshot of a running instance. */
void edp_print_stats_json(FILE *f, const struct edp_stats_snapshot *s, double uptime_s);
void edp_print_stats_text(FILE *f, const struct edp_stats_snapshot *s, double uptime_s);

#endif
