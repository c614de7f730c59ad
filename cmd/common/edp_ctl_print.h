/* edp_ctl_print: a control socket's reply (one JSON object, edp_ctl.h) for
 * people: its fields as indented "key: value" lines. */
#ifndef EDP_CTL_PRINT_H
#define EDP_CTL_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct edp_reply {
	bool ok;
	bool usage;      /* the request was wrong (no such command, wrong words) */
	char error[512]; /* when !ok */
};

/* Read a reply line. -1 when it is not a JSON object. */
int edp_reply_parse(const char *json, struct edp_reply *r);

/* Its fields but schema and ok, one "key: value" line each, nested ones
 * indented (lists' items after "- "). -1 when it is not a JSON object. */
int edp_print_reply(FILE *f, const char *json);

#endif
