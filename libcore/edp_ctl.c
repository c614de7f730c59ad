#include "edp_ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "edp_clock.h"
#include "edp_rundir.h"

struct command {
	char name[32];
	const char *usage;
	int min_args, max_args;
	edp_ctl_handler fn;
	void *aux;
};

struct conn {
	int fd;           /* -1: a free slot */
	size_t len;       /* bytes of a request not answered yet */
	uint64_t deadline_ns; /* for its next request, or for its reply to be taken */
	char *out;        /* a reply its client has not taken all of yet, or NULL */
	size_t out_len, out_at;
	int fds[EDP_CTL_MAX_FDS]; /* passed with the request being read (SCM_RIGHTS) */
	int n_fds;
	int give[EDP_CTL_MAX_FDS]; /* to go with the reply's first bytes (edp_ctl_give_fd) */
	int n_give;
	char buf[EDP_CTL_MAX_LINE];
};

struct edp_ctl {
	struct command cmds[EDP_CTL_MAX_COMMANDS];
	int n_cmds;
	int listen_fd, wake[2];
	int signal_fd;                     /* edp_ctl_on_signal's, or -1 */
	const char *signal_request;
	void (*signal_report)(void *ctx, const char *reply);
	void *signal_ctx;
	bool serving;
	pthread_t thread;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct edp_stats_control counts;   /* the control thread's own */
	struct edp_stats_control *published; /* in the stats segment, or NULL */
	pthread_mutex_t lock;              /* counts, for edp_ctl_counters */
	struct conn conns[EDP_CTL_MAX_CLIENTS];
	struct conn *answering;            /* whose request a handler runs for */
};

static void close_given(struct conn *k);

/* Count one more in `field` of the counters (the control thread only). */
static void count(struct edp_ctl *c, uint64_t *field)
{
	pthread_mutex_lock(&c->lock);
	(*field)++;
	pthread_mutex_unlock(&c->lock);
	if (!c->published)
		return;
	struct edp_stats_control *p = c->published;
	edp_stats_write_begin(&p->seq);
	p->requests = c->counts.requests;
	p->refused_peer = c->counts.refused_peer;
	p->refused_busy = c->counts.refused_busy;
	p->refused_long = c->counts.refused_long;
	p->timed_out = c->counts.timed_out;
	p->unread = c->counts.unread;
	edp_stats_write_end(&p->seq);
}

struct edp_ctl *edp_ctl_create(void)
{
	struct edp_ctl *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->listen_fd = c->wake[0] = c->wake[1] = c->signal_fd = -1;
	for (int i = 0; i < EDP_CTL_MAX_CLIENTS; i++)
		c->conns[i].fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

int edp_ctl_register(struct edp_ctl *c, const char *name, const char *usage, int min_args, int max_args,
		     edp_ctl_handler fn, void *aux)
{
	if (c->n_cmds == EDP_CTL_MAX_COMMANDS || strlen(name) >= sizeof(c->cmds[0].name) || max_args > EDP_CTL_MAX_ARGS ||
	    !strcmp(name, "version") || !strcmp(name, "help"))
		return -1;
	for (int i = 0; i < c->n_cmds; i++)
		if (!strcmp(c->cmds[i].name, name))
			return -1;
	struct command *k = &c->cmds[c->n_cmds++];
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->usage = usage ? usage : "";
	k->min_args = min_args;
	k->max_args = max_args;
	k->fn = fn;
	k->aux = aux;
	return 0;
}

/* An error reply; `usage`: the request itself was wrong (no such command,
 * wrong words), not what it asked for. */
static void refuse(FILE *out, bool usage, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void refuse(FILE *out, bool usage, const char *fmt, ...)
{
	char msg[sizeof(((struct edp_error *)0)->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct edp_json j;
	edp_json_begin(&j, out);
	edp_json_bool(&j, "ok", false);
	edp_json_string(&j, "error", msg);
	if (usage)
		edp_json_bool(&j, "usage", true);
	edp_json_finish(&j);
}

/* The built-in commands: what this server speaks, and what it knows. */
static void answer_builtin(struct edp_ctl *c, const char *cmd, FILE *out)
{
	struct edp_json j;
	edp_json_begin(&j, out);
	edp_json_bool(&j, "ok", true);
	if (!strcmp(cmd, "version")) {
		edp_json_string(&j, "version", EDP_VERSION);
		edp_json_uint(&j, "protocol", EDP_CTL_PROTOCOL);
	} else {
		edp_json_array(&j, "commands");
		edp_json_string(&j, NULL, "help");
		edp_json_string(&j, NULL, "version");
		for (int i = 0; i < c->n_cmds; i++) {
			char line[160];
			snprintf(line, sizeof(line), "%s%s%s", c->cmds[i].name, *c->cmds[i].usage ? " " : "", c->cmds[i].usage);
			edp_json_string(&j, NULL, line);
		}
		edp_json_end(&j);
	}
	edp_json_finish(&j);
}

void edp_ctl_answer(struct edp_ctl *c, const char *line, FILE *out)
{
	char words[EDP_CTL_MAX_LINE];
	char *argv[EDP_CTL_MAX_ARGS + 2];
	int argc = 0;
	snprintf(words, sizeof(words), "%s", line);
	for (char *save, *w = strtok_r(words, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		if (argc == EDP_CTL_MAX_ARGS + 1)
			return refuse(out, true, "too many words (a command takes at most %d)", EDP_CTL_MAX_ARGS);
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	if (!argc)
		return refuse(out, true, "an empty request (try help)");
	bool builtin = !strcmp(argv[0], "version") || !strcmp(argv[0], "help");
	if (builtin && argc == 1)
		return answer_builtin(c, argv[0], out);
	const struct command *k = NULL;
	for (int i = 0; i < c->n_cmds && !k; i++)
		if (!strcmp(c->cmds[i].name, argv[0]))
			k = &c->cmds[i];
	if (!k && !builtin)
		return refuse(out, true, "unknown command '%.64s' (try help)", argv[0]);
	if (!k || argc - 1 < k->min_args || argc - 1 > k->max_args)
		return refuse(out, true, "usage: %s%s%s", argv[0], k && *k->usage ? " " : "", k ? k->usage : "");
	/* the handler writes into a reply of its own, kept only when it succeeds */
	char *body = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&body, &size);
	if (!f)
		return refuse(out, false, "out of memory");
	struct edp_json j;
	struct edp_error err = { 0 };
	edp_json_begin(&j, f);
	edp_json_bool(&j, "ok", true);
	int rc = k->fn(k->aux, argc, argv, &j, &err);
	edp_json_finish(&j);
	if (fclose(f) != 0)
		rc = edp_error_set(&err, EDP_ERR_RUNTIME, "out of memory");
	if (rc && c->answering) /* a refusal carries nothing */
		close_given(c->answering);
	if (rc) /* a handler's usage error: what the request named was wrong (a config file's) */
		refuse(out, err.status == EDP_ERR_USAGE, "%s", err.msg[0] ? err.msg : "failed");
	else
		fwrite(body, 1, size, out);
	free(body);
}

void edp_ctl_set_stats(struct edp_ctl *c, struct edp_stats_writer *stats)
{
	c->published = stats ? edp_stats_control(stats) : NULL;
}

void edp_ctl_counters(struct edp_ctl *c, struct edp_stats_control *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->counts;
	pthread_mutex_unlock(&c->lock);
}

/* Send a whole reply without waiting; false when the client did not take
 * it all (its socket buffer full: it does not read) or is gone. */
/* Send what fits now of buf[0..len): how much, or -1 when the peer is gone. */
static ssize_t send_some(int fd, const char *buf, size_t len)
{
	size_t at = 0;
	while (at < len) {
		ssize_t n = send(fd, buf + at, len - at, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		at += (size_t)n;
	}
	return (ssize_t)at;
}

/* A reply (an error) to a connection that is then closed: what fits. */
static void refuse_and_close(int fd, const char *msg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f) {
		refuse(f, false, "%s", msg);
		if (fclose(f) == 0)
			send_some(fd, buf, len);
	}
	free(buf);
	close(fd);
}

/* Close the descriptors a request came with that its handler did not take. */
static void close_fds(struct conn *k)
{
	for (int i = 0; i < k->n_fds; i++)
		close(k->fds[i]);
	k->n_fds = 0;
}

/* Close the descriptors a reply was to carry (sent, or not to be). */
static void close_given(struct conn *k)
{
	for (int i = 0; i < k->n_give; i++)
		close(k->give[i]);
	k->n_give = 0;
}

int edp_ctl_give_fd(struct edp_ctl *c, int fd)
{
	struct conn *k = c->answering;
	if (!k || k->n_give == EDP_CTL_MAX_FDS)
		return -1;
	k->give[k->n_give++] = fd;
	return 0;
}

int edp_ctl_take_fd(struct edp_ctl *c)
{
	struct conn *k = c->answering;
	if (!k || !k->n_fds)
		return -1;
	int fd = k->fds[0];
	memmove(k->fds, k->fds + 1, (size_t)--k->n_fds * sizeof(k->fds[0]));
	return fd;
}

/* Close a connection (after telling it why, when there is a why); its
 * slot is free again. */
static void drop(struct conn *k, const char *why)
{
	close_fds(k);
	close_given(k);
	if (why)
		refuse_and_close(k->fd, why);
	else
		close(k->fd);
	k->fd = -1;
	k->len = 0;
	free(k->out);
	k->out = NULL;
}

/* Send what it can of k's reply: false when the client is gone. The rest
 * waits for the client to read (poll says when), its deadline running. */
static bool send_reply(struct conn *k)
{
	ssize_t n;
	if (k->n_give && k->out_at == 0 && k->out_len) { /* the descriptors ride on the first bytes */
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(EDP_CTL_MAX_FDS * sizeof(int))];
		} ctrl;
		memset(&ctrl, 0, sizeof(ctrl));
		struct iovec iov = { k->out, k->out_len };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctrl,
				    .msg_controllen = CMSG_SPACE((size_t)k->n_give * sizeof(int)) };
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN((size_t)k->n_give * sizeof(int));
		memcpy(CMSG_DATA(h), k->give, (size_t)k->n_give * sizeof(int));
		do
			n = sendmsg(k->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true; /* poll says when */
		if (n <= 0)
			return false;
		close_given(k); /* the client has its own now */
	} else {
		n = send_some(k->fd, k->out + k->out_at, k->out_len - k->out_at);
	}
	if (n < 0)
		return false;
	k->out_at += (size_t)n;
	if (k->out_at == k->out_len) {
		free(k->out);
		k->out = NULL;
	}
	return true;
}

/* Take one waiting connection: served, or refused. False when none waits. */
static bool take_connection(struct edp_ctl *c)
{
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return false;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || (cred.uid != getuid() && cred.uid != 0)) {
		count(c, &c->counts.refused_peer);
		refuse_and_close(fd, "permission denied: another user's connection");
		return true;
	}
	for (int i = 0; i < EDP_CTL_MAX_CLIENTS; i++)
		if (c->conns[i].fd < 0) {
			c->conns[i].fd = fd;
			c->conns[i].len = 0;
			c->conns[i].deadline_ns = edp_clock_ns(CLOCK_MONOTONIC) + EDP_CTL_TIMEOUT_MS * 1000000ull;
			return true;
		}
	count(c, &c->counts.refused_busy);
	char msg[96];
	snprintf(msg, sizeof(msg), "busy: %d connections are open already", EDP_CTL_MAX_CLIENTS);
	refuse_and_close(fd, msg);
	return true;
}

int edp_ctl_on_signal(struct edp_ctl *c, int signo, const char *request,
		      void (*report)(void *ctx, const char *reply), void *ctx)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, signo);
	if (c->signal_fd >= 0 || (c->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return -1;
	c->signal_request = request;
	c->signal_report = report;
	c->signal_ctx = ctx;
	return 0;
}

/* The signal came (once or more since the last time): its request, once. */
static void serve_signal(struct edp_ctl *c)
{
	struct signalfd_siginfo si;
	bool came = false;
	while (read(c->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		came = true;
	char *reply = NULL;
	size_t len = 0;
	FILE *f = came ? open_memstream(&reply, &len) : NULL;
	if (!f)
		return;
	edp_ctl_answer(c, c->signal_request, f);
	count(c, &c->counts.requests);
	if (fclose(f) == 0 && len) {
		reply[len - 1] = 0; /* its newline */
		c->signal_report(c->signal_ctx, reply);
	}
	free(reply);
}

/* Answer the complete requests k holds, one after the other, until one's
 * reply waits for its client to read it. */
static void answer_requests(struct edp_ctl *c, struct conn *k)
{
	char *nl;
	while (!k->out && (nl = memchr(k->buf, '\n', k->len))) {
		size_t line = (size_t)(nl - k->buf);
		if (memchr(k->buf, 0, line)) {
			count(c, &c->counts.refused_long);
			return drop(k, "a request with a NUL byte");
		}
		*nl = 0;
		FILE *f = open_memstream(&k->out, &k->out_len);
		if (!f)
			return drop(k, NULL);
		c->answering = k;
		edp_ctl_answer(c, k->buf, f);
		c->answering = NULL;
		close_fds(k); /* they came with this request */
		count(c, &c->counts.requests); /* before the reply: a client that has it sees it counted */
		k->out_at = 0;
		k->len -= line + 1;
		memmove(k->buf, nl + 1, k->len);
		k->deadline_ns = edp_clock_ns(CLOCK_MONOTONIC) + EDP_CTL_TIMEOUT_MS * 1000000ull;
		if (fclose(f) != 0 || !send_reply(k))
			return drop(k, NULL);
	}
	if (!k->out && k->len == sizeof(k->buf)) {
		count(c, &c->counts.refused_long);
		char msg[96];
		snprintf(msg, sizeof(msg), "a request longer than %d bytes", EDP_CTL_MAX_LINE - 1);
		drop(k, msg);
	}
}

/* What poll found on a connection: room for the reply it waits to take,
 * or what the client sent. */
static void serve_connection(struct edp_ctl *c, struct conn *k)
{
	if (k->out) {
		if (!send_reply(k))
			return drop(k, NULL);
	} else {
		struct iovec iov = { k->buf + k->len, sizeof(k->buf) - k->len };
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(EDP_CTL_MAX_FDS * sizeof(int))];
		} ctrl;
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctrl, .msg_controllen = sizeof(ctrl) };
		ssize_t n = recvmsg(k->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		for (struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; h; h = CMSG_NXTHDR(&m, h))
			if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
				for (size_t i = 0; i < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
					int fd;
					memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
					if (k->n_fds < EDP_CTL_MAX_FDS)
						k->fds[k->n_fds++] = fd;
					else
						close(fd);
				}
		if (n <= 0)
			return drop(k, NULL);
		k->len += (size_t)n;
	}
	answer_requests(c, k);
}

static void *serve(void *arg)
{
	struct edp_ctl *c = arg;
	for (;;) {
		struct pollfd p[EDP_CTL_MAX_CLIENTS + 3];
		int map[EDP_CTL_MAX_CLIENTS + 3], n = 0;
		p[n] = (struct pollfd){ c->wake[0], POLLIN, 0 };
		map[n++] = -1;
		p[n] = (struct pollfd){ c->listen_fd, POLLIN, 0 };
		map[n++] = -1;
		p[n] = (struct pollfd){ c->signal_fd, POLLIN, 0 }; /* -1: ignored by poll */
		map[n++] = -1;
		uint64_t now = edp_clock_ns(CLOCK_MONOTONIC), next = now + 1000000000ull;
		for (int i = 0; i < EDP_CTL_MAX_CLIENTS; i++) {
			struct conn *k = &c->conns[i];
			if (k->fd < 0)
				continue;
			if (k->deadline_ns <= now && k->out) { /* did not take its reply in time */
				count(c, &c->counts.unread);
				drop(k, NULL);
				continue;
			}
			if (k->deadline_ns <= now) { /* completed no request in time */
				count(c, &c->counts.timed_out);
				drop(k, "timed out waiting for a request");
				continue;
			}
			next = k->deadline_ns < next ? k->deadline_ns : next;
			p[n] = (struct pollfd){ k->fd, k->out ? POLLOUT : POLLIN, 0 };
			map[n++] = i;
		}
		int ready = poll(p, (nfds_t)n, (int)((next - now) / 1000000ull) + 1);
		if (ready < 0 && errno != EINTR)
			break;
		if (ready <= 0)
			continue;
		if (p[0].revents)
			break; /* edp_ctl_destroy */
		/* what waits to connect, a backlog's worth at most: a flood of
		 * connections does not keep the served ones waiting */
		for (int k = 0; (p[1].revents & POLLIN) && k < 64 && take_connection(c); k++)
			;
		if (p[2].revents)
			serve_signal(c);
		for (int i = 3; i < n; i++)
			if (p[i].revents && c->conns[map[i]].fd == p[i].fd)
				serve_connection(c, &c->conns[map[i]]);
	}
	return NULL;
}

/* Connect to the socket at path, waiting at most timeout_ms for room in
 * a busy listener's backlog (then EAGAIN; the request's send is bounded
 * alike): the fd, or -1 with errno. */
static int connect_to(const char *path, int timeout_ms)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	timeout_ms = timeout_ms > 0 ? timeout_ms : 1; /* 0 would be no bound */
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int edp_ctl_listen(struct edp_ctl *c, const char *name, struct edp_stats_writer *stats, struct edp_error *err)
{
	if (edp_rundir_file(name, ".ctl", c->path, sizeof(c->path), err))
		return err ? err->status : EDP_ERR_RUNTIME;
	struct stat st;
	if (lstat(c->path, &st) == 0) {
		int fd = S_ISSOCK(st.st_mode) ? connect_to(c->path, 1000) : -1;
		bool busy = fd < 0 && S_ISSOCK(st.st_mode) && errno == EAGAIN; /* its backlog full */
		if (fd >= 0 || busy) { /* it answers: another instance's */
			if (fd >= 0)
				close(fd);
			c->path[0] = 0;
			return edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s' already has a control socket", name);
		}
		if (!S_ISSOCK(st.st_mode)) {
			edp_error_set(err, EDP_ERR_RUNTIME, "%s: not a socket; remove it", c->path);
			c->path[0] = 0; /* not ours to remove */
			return EDP_ERR_RUNTIME;
		}
		unlink(c->path); /* a dead instance's */
	}
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", c->path);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    chmod(c->path, 0600) != 0 || listen(c->listen_fd, 64) != 0 || pipe2(c->wake, O_CLOEXEC) != 0) {
		int e = errno;
		unlink(c->path);
		c->path[0] = 0;
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot serve the control socket: %s", a.sun_path,
				     strerror(e));
	}
	c->published = stats ? edp_stats_control(stats) : NULL;
	/* signals are the main thread's: this one never takes them */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&c->thread, NULL, serve, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		unlink(c->path);
		c->path[0] = 0;
		return edp_error_set(err, EDP_ERR_RUNTIME, "cannot start the control thread");
	}
	pthread_setname_np(c->thread, "edp-ctl");
	c->serving = true;
	return 0;
}

void edp_ctl_destroy(struct edp_ctl *c)
{
	if (!c)
		return;
	if (c->serving) {
		ssize_t w = write(c->wake[1], "x", 1);
		(void)w;
		pthread_join(c->thread, NULL);
	}
	for (int i = 0; i < EDP_CTL_MAX_CLIENTS; i++)
		if (c->conns[i].fd >= 0)
			drop(&c->conns[i], NULL);
	if (c->path[0])
		unlink(c->path);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->wake[0] >= 0) {
		close(c->wake[0]);
		close(c->wake[1]);
	}
	if (c->signal_fd >= 0)
		close(c->signal_fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int edp_ctl_request(const char *name, const char *request, int timeout_ms, char **reply, struct edp_error *err)
{
	return edp_ctl_request_fd(name, request, -1, timeout_ms, reply, err);
}

int edp_ctl_request_fd(const char *name, const char *request, int pass_fd, int timeout_ms, char **reply,
		       struct edp_error *err)
{
	return edp_ctl_exchange(name, request, pass_fd, timeout_ms, reply, NULL, NULL, err);
}

int edp_ctl_exchange(const char *name, const char *request, int pass_fd, int timeout_ms, char **reply, int *got,
		     int *n_got, struct edp_error *err)
{
	return edp_ctl_exchange_fds(name, request, &pass_fd, pass_fd >= 0, timeout_ms, reply, got, n_got, err);
}

int edp_ctl_exchange_fds(const char *name, const char *request, const int *pass, int n_pass, int timeout_ms,
			 char **reply, int *got, int *n_got, struct edp_error *err)
{
	if (n_pass < 0 || n_pass > EDP_CTL_MAX_FDS)
		return edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s': %d descriptors are too many to pass", name, n_pass);
	if (n_got)
		*n_got = 0;
	*reply = NULL;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (edp_rundir_file(name, ".ctl", path, sizeof(path), err))
		return err ? err->status : EDP_ERR_RUNTIME;
	uint64_t deadline = edp_clock_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000ull;
	int fd = connect_to(path, timeout_ms);
	if (fd < 0 && errno == EAGAIN)
		return edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s': its control socket took no connection in %d ms",
				     name, timeout_ms);
	if (fd < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME,
				     errno == ENOENT	     ? "no instance '%s' is running (no %s)"
				     : errno == ECONNREFUSED ? "instance '%s' is not running (stale socket %s)"
							     : "instance '%s': %s: cannot connect",
				     name, path);
	size_t len = strlen(request);
	struct iovec iov[2] = { { (void *)request, len }, { "\n", 1 } };
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(EDP_CTL_MAX_FDS * sizeof(int))];
	} ctrl;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	if (n_pass > 0) {
		memset(&ctrl, 0, sizeof(ctrl));
		m.msg_control = &ctrl;
		m.msg_controllen = CMSG_SPACE((size_t)n_pass * sizeof(int));
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN((size_t)n_pass * sizeof(int));
		memcpy(CMSG_DATA(h), pass, (size_t)n_pass * sizeof(int));
	}
	const char *why = sendmsg(fd, &m, MSG_NOSIGNAL) == (ssize_t)(len + 1) ? NULL : "the request could not be sent";
	char *buf = NULL, *nl = NULL;
	size_t have = 0, cap = 0, scanned = 0; /* bytes known to hold no newline */
	char late[48];
	while (!why && !(nl = have > scanned ? memchr(buf + scanned, '\n', have - scanned) : NULL)) {
		scanned = have;
		if (have == cap) {
			char *more = cap < (256u << 20) ? realloc(buf, cap ? cap * 2 : 4096) : NULL;
			if (!more) {
				why = cap < (256u << 20) ? "out of memory" : "a reply too long";
				break;
			}
			buf = more;
			cap = cap ? cap * 2 : 4096;
		}
		uint64_t now = edp_clock_ns(CLOCK_MONOTONIC);
		struct pollfd p = { fd, POLLIN, 0 };
		int ready = now < deadline ? poll(&p, 1, (int)((deadline - now) / 1000000ull) + 1) : 0;
		if (ready < 0 && errno == EINTR) /* a signal's handler ran: the deadline still holds */
			continue;
		if (ready <= 0) {
			snprintf(late, sizeof(late), "no reply in %d ms", timeout_ms);
			why = late;
			break;
		}
		struct iovec in = { buf + have, cap - have };
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(EDP_CTL_MAX_FDS * sizeof(int))];
		} came;
		struct msghdr rm = { .msg_iov = &in, .msg_iovlen = 1, .msg_control = &came, .msg_controllen = sizeof(came) };
		ssize_t n = recvmsg(fd, &rm, MSG_CMSG_CLOEXEC);
		for (struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&rm) : NULL; h; h = CMSG_NXTHDR(&rm, h))
			if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
				for (size_t i = 0; i < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
					int d;
					memcpy(&d, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
					if (got && n_got && *n_got < EDP_CTL_MAX_FDS)
						got[(*n_got)++] = d;
					else
						close(d);
				}
		if (n > 0)
			have += (size_t)n;
		else if (n == 0 || errno != EINTR)
			why = "it closed the connection without a reply";
	}
	close(fd);
	if (why) {
		free(buf);
		return edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s': %s", name, why);
	}
	*nl = 0;
	*reply = buf;
	return 0;
}
