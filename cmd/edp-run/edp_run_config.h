/* edp_run_config: what edp-run's command line makes of a config file, at
 * start and at each reload (the same -r, -w, -t, --ordered, --loop,
 * --count and filter expression over it), and a checkpoint to start from
 * (--restore). */
#ifndef EDP_RUN_CONFIG_H
#define EDP_RUN_CONFIG_H

#include <stdbool.h>

#include "edp_checkpoint.h"
#include "edp_config.h"
#include "edp_datapath.h"
#include "edp_error.h"

struct io_arg {
	char kind; /* 'r' or 'w' */
	const char *arg;
};

/* What the command line sets over the config file (or the built-in one).
 * The numbers were checked when the options were read. */
struct run_args {
	struct io_arg io[2 * EDP_MAX_PORTS]; /* one -r and one -w a port: more is an error */
	int n_io;
	long threads, loop;                  /* -1: not given */
	bool ordered;
	const char *instance;
	const char *filter;                  /* the trailing filter expression; NULL: none */
	uint64_t count;                      /* --count; 0: none */
};

/* a over cfg (have_config: cfg came from a file). 0, or EDP_ERR_USAGE. */
int edp_run_apply_args(const struct run_args *a, struct edp_config *cfg, bool have_config, struct edp_error *err);

/* The config `file` (NULL: the built-in one) with the command line ctx (a
 * struct run_args) over it: what a reload runs (edp_commands' load). */
int edp_run_load_config(void *ctx, const char *file, struct edp_config *cfg, struct edp_error *err);

/* --restore PATH ("-": stdin, which no port may read then): the checkpoint
 * read and checked into ck. Returns the exit status, having said why. */
int edp_run_read_checkpoint(const char *path, const struct edp_config *cfg, struct edp_checkpoint *ck);

/* ck put into dp (edp_datapath_restore), and a line saying so unless
 * quiet. Returns the exit status, having said why. */
int edp_run_restore(struct edp_datapath *dp, const struct edp_checkpoint *ck, const char *path, bool allow_change,
		    bool quiet);

#endif
