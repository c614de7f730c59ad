/* edp_assign_print: edp-assign's output, as tables for people and as JSON
 * (keys documented in edp-assign(1)), one function per command. */
#ifndef EDP_ASSIGN_PRINT_H
#define EDP_ASSIGN_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "edp_assign.h"

void edp_print_devices(FILE *f, const struct edp_inventory *inv, const struct edp_ledger *l, bool force, bool json);
void edp_print_plan(FILE *f, const char *workload, const struct edp_inventory *inv, const struct edp_plan *p,
		    bool claimed, bool json, bool explain);
/* The claims of `workload` (NULL: all). */
void edp_print_claims(FILE *f, const struct edp_ledger *l, const char *workload, bool json);
/* `problems` lines of check's report (edp_assign_check). */
void edp_print_check(FILE *f, const char *ledger, uint32_t claims, const char *report, int problems, bool json);
void edp_print_released(FILE *f, const char *workload, int released, bool json);
void edp_print_moved(FILE *f, const char *from, const char *to, int moved, uint64_t generation, bool json);

#endif
