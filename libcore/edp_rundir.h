/* edp_rundir: where a running instance keeps the files others open (its
 * stats segment, its vports, later its control socket) and the names they
 * go by. Every file under it is named after an instance (and a port), and
 * opened with O_NOFOLLOW by its users.
 */
#ifndef EDP_RUNDIR_H
#define EDP_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "edp_error.h"

/* The longest instance or port name. */
#define EDP_NAME_MAX 32

/* The directory of control sockets and stats segments: $EDP_RUNDIR, else
 * /run/edp when /run is writable, else $XDG_RUNTIME_DIR/edp, else
 * /tmp/edp-$UID; created owner-only when missing. One that exists must be
 * a directory (not a link), owned by this user, that nobody else may write
 * to; $EDP_RUNDIR or /tmp/edp-$UID that is not is refused with the reason.
 * Its files are opened with O_NOFOLLOW. */
int edp_rundir_path(char *buf, size_t size, struct edp_error *err);

/* True when name is 1..32 of [a-z0-9_-]. */
bool edp_rundir_name_valid(const char *name);

/* The path of instance `name`'s file with `suffix` (".stats", ".ctl") in
 * the run directory. Errors: EDP_ERR_USAGE for a name that is not valid,
 * EDP_ERR_RUNTIME for the directory or a path longer than size. */
int edp_rundir_file(const char *name, const char *suffix, char *path, size_t size, struct edp_error *err);

#endif
