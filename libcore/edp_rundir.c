#include "edp_rundir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool edp_rundir_name_valid(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= EDP_NAME_MAX && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* A run directory fit for our files: made owner-only when missing; else a
 * real directory (not a link to one), ours, that nobody else may write
 * to. Returns NULL, or why not. */
static const char *unfit_dir(const char *d)
{
	static char why[128];
	if (mkdir(d, 0700) == 0)
		return NULL;
	struct stat st;
	if (errno != EEXIST || lstat(d, &st) != 0) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		return why;
	}
	if (S_ISLNK(st.st_mode))
		return "a symbolic link, not a directory";
	if (!S_ISDIR(st.st_mode))
		return "not a directory";
	if (st.st_uid != getuid()) {
		snprintf(why, sizeof(why), "owned by uid %u, not by this user (%u)", (unsigned)st.st_uid,
			 (unsigned)getuid());
		return why;
	}
	if (st.st_mode & 022) {
		snprintf(why, sizeof(why), "others may write to it (mode %04o)", (unsigned)(st.st_mode & 07777));
		return why;
	}
	if (access(d, W_OK | X_OK) != 0) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		return why;
	}
	return NULL;
}

int edp_rundir_path(char *buf, size_t size, struct edp_error *err)
{
	const char *env = getenv("EDP_RUNDIR"), *why;
	if (env && *env) {
		snprintf(buf, size, "%s", env);
		if ((why = unfit_dir(buf)))
			return edp_error_set(err, EDP_ERR_RUNTIME, "EDP_RUNDIR=%s: not a usable run directory: %s", env,
					     why);
		return 0;
	}
	snprintf(buf, size, "/run/edp");
	if (access("/run", W_OK) == 0 && !unfit_dir(buf))
		return 0;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg) {
		snprintf(buf, size, "%s/edp", xdg);
		if (!unfit_dir(buf))
			return 0;
	}
	snprintf(buf, size, "/tmp/edp-%u", (unsigned)getuid());
	if ((why = unfit_dir(buf)))
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: not a usable run directory: %s", buf, why);
	return 0;
}

int edp_rundir_file(const char *name, const char *suffix, char *path, size_t size, struct edp_error *err)
{
	if (!edp_rundir_name_valid(name))
		return edp_error_set(err, EDP_ERR_USAGE, "instance name '%s' must be 1 to 32 of a-z 0-9 _ -", name);
	char dir[4000];
	if (edp_rundir_path(dir, sizeof(dir), err))
		return EDP_ERR_RUNTIME;
	if ((size_t)snprintf(path, size, "%s/%s%s", dir, name, suffix) >= size)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s/%s%s: the path is too long", dir, name, suffix);
	return 0;
}
