#include "edp-run/edp_run_progress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/edp_monitor_print.h"
#include "edp_clock.h"
#include "edp_monitor.h"

#define PROG "edp-run"
#define REFRESH_NS 250000000ull

struct edp_run_progress {
	struct edp_datapath *dp;
	struct edp_monitor *m;
	pthread_t thread;
	pthread_mutex_t lock; /* guards stop and the terminal's line */
	pthread_cond_t wake;
	bool stop, shown;
};

/* One refresh: "edp-run: 1.23M packets, 4.56M pps, 42% of 152 MB, 3 s left" */
static void draw(struct edp_run_progress *p, uint64_t start_ns, uint64_t *last_done, uint64_t *last_ns, double *byte_rate)
{
	struct edp_monitor_sample s;
	if (edp_monitor_sample(p->m, &s, NULL))
		return;
	uint64_t done, total, now = edp_clock_ns(CLOCK_MONOTONIC);
	edp_datapath_input_progress(p->dp, &done, &total);
	char pk[16], rate[16], line[160];
	int n = snprintf(line, sizeof(line), PROG ": %s packets, %s pps, %.1f s", edp_print_si(pk, sizeof(pk), (double)s.rx_packets),
			 edp_print_si(rate, sizeof(rate), s.rx_pps), (double)(now - start_ns) / 1e9);
	if (total) {
		if (*last_ns && now > *last_ns && done >= *last_done) /* smoothed over a few refreshes */
			*byte_rate = 0.7 * *byte_rate + 0.3 * (double)(done - *last_done) * 1e9 / (double)(now - *last_ns);
		*last_done = done;
		*last_ns = now;
		n += snprintf(line + n, sizeof(line) - (size_t)n, ", %.0f%% of %.0f MB", 100.0 * (double)done / (double)total,
			      (double)total / 1e6);
		if (*byte_rate > 0 && done < total)
		{
			double left = (double)(total - done) / *byte_rate;
			snprintf(line + n, sizeof(line) - (size_t)n, left < 10 ? ", %.1f s left" : ", %.0f s left", left);
		}
	}
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	p->shown = true;
}

static void *progress_thread(void *arg)
{
	struct edp_run_progress *p = arg;
	const char *test_ms = getenv("EDP_TEST_PROGRESS_MS"); /* the tests' refresh, to see one in a short run */
	long refresh_ns = test_ms && atol(test_ms) > 0 ? atol(test_ms) * 1000000L : (long)REFRESH_NS;
	uint64_t start = edp_clock_ns(CLOCK_MONOTONIC), last_done = 0, last_ns = 0;
	double byte_rate = 0;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += refresh_ns / 1000000000L;
		until.tv_nsec += refresh_ns % 1000000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &until) == 0)
			;
		if (!p->stop)
			draw(p, start, &last_done, &last_ns, &byte_rate);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct edp_run_progress *edp_run_progress_start(struct edp_datapath *dp, const char *name)
{
	if (!isatty(STDERR_FILENO))
		return NULL;
	struct edp_run_progress *p = calloc(1, sizeof(*p));
	if (!p || !(p->m = edp_monitor_create(name, NULL))) {
		free(p);
		return NULL;
	}
	p->dp = dp;
	pthread_mutex_init(&p->lock, NULL);
	edp_clock_cond_init(&p->wake);
	if (pthread_create(&p->thread, NULL, progress_thread, p)) {
		edp_monitor_destroy(p->m);
		free(p);
		return NULL;
	}
	return p;
}

void edp_run_progress_clear(struct edp_run_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = false;
	pthread_mutex_unlock(&p->lock);
}

void edp_run_progress_stop(struct edp_run_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	edp_run_progress_clear(p);
	edp_monitor_destroy(p->m);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
