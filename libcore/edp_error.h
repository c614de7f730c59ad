/* edp_error: how libcore reports failure.
 *
 * libcore never prints and never exits: a function that can fail takes a
 * `struct edp_error *` and, on failure, fills it with an exit-status class and
 * a one-line message that names the input and the problem. The binary decides
 * what to say and with which status. A NULL error pointer is allowed and means
 * "the caller does not care about the message".
 */
#ifndef EDP_ERROR_H
#define EDP_ERROR_H

#include <stdarg.h>

enum edp_status {
	EDP_OK = 0,
	EDP_ERR_RUNTIME = 1, /* bad input data, I/O failure: exit status 1 */
	EDP_ERR_USAGE = 2,   /* bad option or config: exit status 2 */
};

struct edp_error {
	int status;        /* enum edp_status */
	char msg[512];     /* one line, no trailing newline */
};

/* Fill err (if not NULL) and return status, so callers can write
 * `return edp_error_set(err, EDP_ERR_USAGE, "...", ...);`. */
int edp_error_set(struct edp_error *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
