/* edp_json: the one JSON writer of edp (like iproute2's json_print), for
 * the binaries' --json and the control socket's replies: objects and arrays, strings escaped, integers exact, floats
 * with a fixed number of decimals (never an exponent; NaN and infinities
 * are null), commas placed by the writer. Every document it writes is one
 * object on one line whose first key is "schema" (EDP_JSON_SCHEMA), so a
 * script can tell when the keys change.
 *
 * A value takes a key inside an object and NULL inside an array. The keys
 * are documented in each binary's man page (tests/cli/docs.bats checks
 * that every key written is there). It writes to the FILE it is given (a
 * memory stream for a reply) and never to a terminal of its own.
 */
#ifndef EDP_JSON_H
#define EDP_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define EDP_JSON_SCHEMA 1
#define EDP_JSON_MAX_DEPTH 16

struct edp_json {
	FILE *f;
	uint32_t depth;
	bool more[EDP_JSON_MAX_DEPTH]; /* a value is written at this depth: the next one follows a comma */
	char close[EDP_JSON_MAX_DEPTH]; /* what ends the object or array open at this depth */
};

/* Start a document on f: "{"schema":1". */
void edp_json_begin(struct edp_json *j, FILE *f);
/* End it: every open object and array closed, then a newline. */
void edp_json_finish(struct edp_json *j);

/* Open an object or an array (at most EDP_JSON_MAX_DEPTH - 1 deep). */
void edp_json_object(struct edp_json *j, const char *key);
void edp_json_array(struct edp_json *j, const char *key);
/* Close the innermost object or array. */
void edp_json_end(struct edp_json *j);

/* A string; NULL is null. */
void edp_json_string(struct edp_json *j, const char *key, const char *s);
void edp_json_uint(struct edp_json *j, const char *key, uint64_t v);
void edp_json_int(struct edp_json *j, const char *key, int64_t v);
void edp_json_bool(struct edp_json *j, const char *key, bool v);
void edp_json_null(struct edp_json *j, const char *key);
/* A number with `decimals` digits after the point; not finite: null. */
void edp_json_fixed(struct edp_json *j, const char *key, double v, int decimals);
/* The lines of a text, as a list of strings. */
void edp_json_lines(struct edp_json *j, const char *key, const char *text);

#endif
