#include "edp_run.h"

#include <time.h>

#include "edp_datapath_impl.h"
#include "edp_worker.h"

int edp_run(struct edp_datapath *dp, const volatile sig_atomic_t *stop, struct edp_error *err)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dp->run_start_ns = (uint64_t)t0.tv_sec * 1000000000ull + (uint64_t)t0.tv_nsec;
	int rc = dp->cfg->threads ? edp_worker_run(dp, stop, err) : edp_datapath_run_inline(dp, stop, err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dp->seconds += (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return rc;
}
