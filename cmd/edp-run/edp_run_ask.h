/* edp_run_ask: edp-run's questions to a running instance. */
#ifndef EDP_RUN_ASK_H
#define EDP_RUN_ASK_H

/* edp-run --stats [NAME] [--json[=FILE]]: one snapshot of NAME's live
 * stats (no NAME: the only instance running; several: a usage error naming
 * them), the JSON to stdout or FILE. Returns the exit status. */
int edp_run_stats(const char *name, int json, const char *json_path);

/* edp-run ctl [NAME] COMMAND [ARG]... [--json] (argv[0] is "ctl"): one
 * request to NAME's control socket, and its reply. Returns the exit
 * status: 0 yes, 1 no (or no instance, no reply), 2 a wrong request. */
int edp_run_ctl(int argc, char **argv);

#endif
