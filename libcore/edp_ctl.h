/* edp_ctl: the control socket of a running instance, NAME.ctl in the run
 * directory (edp_rundir.h): an AF_UNIX stream socket, mode 0600, served by
 * a thread of its own, never by a datapath thread.
 *
 * Protocol: a request is one line of words separated by blanks, at most
 * EDP_CTL_MAX_LINE bytes with its newline; it gets one reply line, a JSON
 * object (edp_json.h): {"schema":1,"ok":true,...} or
 * {"schema":1,"ok":false,"error":"..."}. A connection may carry any number
 * of requests, one after the other. `version` and `help` are built in; the
 * other commands are registered by the instance before it listens. A
 * request may come with up to EDP_CTL_MAX_FDS descriptors (SCM_RIGHTS,
 * sent with its bytes) for its handler to take (edp_ctl_take_fd): where
 * to write a checkpoint, say.
 *
 * Hostile clients never stall it or the datapath: a peer of another user
 * (SO_PEERCRED; root may) is refused; beyond EDP_CTL_MAX_CLIENTS
 * connections a new one is told so and closed; a request longer than
 * EDP_CTL_MAX_LINE, or with a NUL byte, is refused and its connection
 * closed; a connection that completes no request for EDP_CTL_TIMEOUT_MS is
 * closed; a reply is sent as the client takes it, other connections served
 * meanwhile, and a client that has not taken all of it EDP_CTL_TIMEOUT_MS
 * after the request is dropped. Each refusal is counted (struct
 * edp_stats_control, in the instance's stats segment when it has one).
 *
 * Thread-safety: register before edp_ctl_listen; handlers run on the
 * control thread, one at a time.
 */
#ifndef EDP_CTL_H
#define EDP_CTL_H

#include <stdint.h>
#include <stdio.h>

#include "edp_error.h"
#include "edp_json.h"
#include "edp_stats.h"

#define EDP_CTL_MAX_LINE 4096
#define EDP_CTL_MAX_CLIENTS 16
#define EDP_CTL_TIMEOUT_MS 5000
#define EDP_CTL_MAX_ARGS 8
#define EDP_CTL_MAX_COMMANDS 32
#define EDP_CTL_PROTOCOL 1
#define EDP_CTL_MAX_FDS 130 /* descriptors a request or a reply may carry: a checkpoint and every
			     * input and output of EDP_MAX_PORTS ports (edp-migrate) */

struct edp_ctl;

/* A command's handler: argv[0] is the command, argv[1..argc-1] its words.
 * Writes the reply's fields to j (after "schema" and "ok", which are the
 * server's). Returns 0, or -1 with err set: the reply is then ok false with
 * err's message, and what the handler wrote is dropped; "usage":true too
 * when err's status is EDP_ERR_USAGE (what the request named is wrong: a
 * config file that does not load). */
typedef int (*edp_ctl_handler)(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err);

struct edp_ctl *edp_ctl_create(void);

/* Add a command taking min_args..max_args words (max_args <=
 * EDP_CTL_MAX_ARGS); `usage` shows them ("[FILE]"). 0, or -1 when the
 * table is full or the name taken. */
int edp_ctl_register(struct edp_ctl *c, const char *name, const char *usage, int min_args, int max_args,
		     edp_ctl_handler fn, void *aux);

/* Take `request` when signal signo comes (SIGHUP: "reload"), as if a client
 * had sent it; report gets its reply line (no newline) on the control
 * thread. Signals that come together are taken once. The caller has
 * blocked signo in every thread (before starting any). Before
 * edp_ctl_listen; 0 or -1. */
int edp_ctl_on_signal(struct edp_ctl *c, int signo, const char *request,
		      void (*report)(void *ctx, const char *reply), void *ctx);

/* In a handler: a descriptor the request came with (SCM_RIGHTS), now the
 * handler's to close, or -1 when there is none (left). Those not taken are
 * closed once the request is answered. */
int edp_ctl_take_fd(struct edp_ctl *c);

/* In a handler: send descriptor fd (now the server's to close) with the
 * reply (SCM_RIGHTS, on its first bytes), at most EDP_CTL_MAX_FDS a reply;
 * a request that fails sends none. 0, or -1 outside a handler or beyond
 * the limit (fd stays the caller's). */
int edp_ctl_give_fd(struct edp_ctl *c, int fd);

/* Serve NAME.ctl from now on, publishing the counters to stats (may be
 * NULL). A socket file left by an instance that is gone is replaced; one
 * that answers is another instance's and is refused. Errors: the run
 * directory (edp_rundir_path), a socket that cannot be made. */
int edp_ctl_listen(struct edp_ctl *c, const char *name, struct edp_stats_writer *stats, struct edp_error *err);

/* Publish the counters to stats from now on (NULL: nowhere): an instance
 * whose stats segment is made again (edp-run --incoming). The control
 * thread's (a handler's). */
void edp_ctl_set_stats(struct edp_ctl *c, struct edp_stats_writer *stats);

/* Answer one request line (no newline): its reply line, newline included,
 * to out. What the server does with each line it reads. */
void edp_ctl_answer(struct edp_ctl *c, const char *line, FILE *out);

/* What the server counted so far. */
void edp_ctl_counters(struct edp_ctl *c, struct edp_stats_control *out);

/* Stop serving (the thread ends, the connections close, the socket file
 * goes) and free. NULL is fine. */
void edp_ctl_destroy(struct edp_ctl *c);

/* Client: send `request` to instance `name` and wait at most timeout_ms
 * for the reply line; *reply gets it, without its newline (free it).
 * Errors (EDP_ERR_RUNTIME): no such instance, a stale socket, no reply. */
int edp_ctl_request(const char *name, const char *request, int timeout_ms, char **reply, struct edp_error *err);

/* The same, the request sent with descriptor pass_fd (SCM_RIGHTS; -1 for
 * none), which the instance then holds too. */
int edp_ctl_request_fd(const char *name, const char *request, int pass_fd, int timeout_ms, char **reply,
		       struct edp_error *err);

/* The same, taking the descriptors the reply came with into got (up to
 * EDP_CTL_MAX_FDS; *n_got of them, the caller's to close). */
int edp_ctl_exchange(const char *name, const char *request, int pass_fd, int timeout_ms, char **reply, int *got,
		     int *n_got, struct edp_error *err);

/* The same, the request sent with n_pass descriptors (at most
 * EDP_CTL_MAX_FDS). */
int edp_ctl_exchange_fds(const char *name, const char *request, const int *pass, int n_pass, int timeout_ms,
			 char **reply, int *got, int *n_got, struct edp_error *err);

#endif
