#include "edp-run/edp_run_serve.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "common/edp_ctl_print.h"
#include "common/edp_signals.h"
#include "edp_reload.h"
#include "edp_run.h"

#define PROG "edp-run"

/* The control socket's stop: as SIGTERM (taken by the main thread). */
static void stop_self(void *ctx)
{
	(void)ctx;
	kill(getpid(), SIGTERM);
}

/* What a SIGHUP's reload did (on the control thread, right after it). */
static void report_reload(void *ctx, const char *reply)
{
	const struct edp_run_serve *s = ctx;
	struct edp_reply r;
	if (edp_reply_parse(reply, &r) || !r.ok) {
		fprintf(stderr, PROG ": SIGHUP: the config stays as it was: %s\n", r.error);
		return;
	}
	struct edp_config_id id;
	edp_datapath_config_id(s->commands.dp, &id);
	if (!s->quiet)
		fprintf(stderr, PROG ": SIGHUP: config %s reloaded: generation %llu\n", id.path ? id.path : "(built-in)",
			(unsigned long long)id.generation);
}

/* The stun of a migration ends the run as a stop does (2: not a signal's
 * stop, which is 1 and wins); its end takes that back. */
static void end_run_for_stun(void *ctx, bool on)
{
	(void)ctx;
	if (on && !edp_stop_requested)
		edp_stop_requested = 2;
	else if (!on && edp_stop_requested == 2)
		edp_stop_requested = 0;
}

/* The control socket for s->move (made already: NULL is out of memory),
 * publishing its counters to stats. 0 or 1 (said). */
static int serve(struct edp_run_serve *s, struct edp_stats_writer *stats)
{
	struct edp_error err = { 0 };
	s->ctl = s->move ? edp_ctl_create() : NULL;
	if (!s->ctl || edp_commands_register(s->ctl, &s->commands) || edp_move_register(s->ctl, s->move) ||
	    edp_ctl_on_signal(s->ctl, SIGHUP, "reload", report_reload, s) ||
	    edp_ctl_listen(s->ctl, s->commands.name, stats, &err)) {
		fprintf(stderr, PROG ": %s\n", err.msg[0] ? err.msg : "out of memory");
		edp_run_serve_free(s);
		return 1;
	}
	return 0;
}

static void start(struct edp_run_serve *s, const char *name, struct run_args *args, bool quiet)
{
	*s = (struct edp_run_serve){ .commands = { .name = name, .stop = stop_self, .load = edp_run_load_config,
						   .ctx = args },
				     .quiet = quiet };
}

struct edp_datapath *edp_run_serve_incoming(struct edp_run_serve *s, const char *name, struct edp_config *cfg,
					    struct run_args *args, bool quiet, int *rc)
{
	struct edp_error err = { 0 };
	start(s, name, args, quiet);
	s->move = edp_move_destination(&s->commands, cfg, &err);
	if (!s->move)
		fprintf(stderr, PROG ": %s\n", err.msg);
	if (!s->move || serve(s, edp_move_stats(s->move))) {
		edp_run_serve_free(s);
		*rc = 1;
		return NULL;
	}
	struct edp_datapath *dp = edp_move_incoming_wait(s->move, &edp_stop_requested, &err);
	const struct edp_checkpoint *from = edp_move_arrived(s->move);
	if (!dp) {
		if (err.msg[0])
			fprintf(stderr, PROG ": %s\n", err.msg);
		else if (!quiet)
			fprintf(stderr, PROG ": stopped while incoming: nothing moved in\n");
		edp_run_serve_free(s);
		*rc = err.msg[0] ? 1 : 0;
	} else if (!quiet && from && from->has_counters) {
		fprintf(stderr, PROG ": moved in from %s, which had taken %llu packets (%llu forwarded, %llu dropped)\n",
			from->name, (unsigned long long)from->counters.packets_in,
			(unsigned long long)from->counters.forwarded, (unsigned long long)from->counters.dropped);
	}
	return dp;
}

int edp_run_serve_source(struct edp_run_serve *s, const char *name, struct edp_datapath *dp, struct run_args *args,
			 bool quiet)
{
	start(s, name, args, quiet);
	s->commands.dp = dp;
	s->move = edp_move_source(&s->commands, end_run_for_stun, NULL);
	return serve(s, edp_datapath_stats_writer(dp));
}

int edp_run_serve_run(struct edp_run_serve *s, struct edp_datapath *dp, struct edp_error *err)
{
	int rc;
	enum edp_move_verdict verdict;
	do /* a stun ends the run; the source runs again unless it moved */
		rc = edp_run(dp, &edp_stop_requested, err);
	while ((verdict = edp_move_park(s->move)) == EDP_MOVE_RESUME && !rc && edp_stop_requested != 1);
	edp_ctl_destroy(s->ctl);
	s->ctl = NULL;
	if (verdict == EDP_MOVE_GONE && !s->quiet)
		fprintf(stderr, PROG ": moved: its inputs and outputs are another instance's now\n");
	return rc;
}

void edp_run_serve_free(struct edp_run_serve *s)
{
	edp_ctl_destroy(s->ctl);
	edp_move_destroy(s->move);
	s->ctl = NULL;
	s->move = NULL;
}
