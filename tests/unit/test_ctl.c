#include "unit.h"
#include "edp_clock.h"
#include "edp_ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

static int echo(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)aux, (void)err;
	edp_json_array(j, "words");
	for (int i = 1; i < argc; i++)
		edp_json_string(j, NULL, argv[i]);
	edp_json_end(j);
	return 0;
}

static int no(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)aux, (void)argc, (void)argv;
	edp_json_string(j, "half", "written");
	return edp_error_set(err, EDP_ERR_RUNTIME, "not now");
}

/* The reply edp_ctl_answer gives to a line. */
static const char *answer(struct edp_ctl *c, const char *line)
{
	static char *buf;
	size_t len;
	free(buf);
	FILE *f = open_memstream(&buf, &len);
	edp_ctl_answer(c, line, f);
	fclose(f);
	return buf;
}

static struct edp_ctl *commands(void)
{
	struct edp_ctl *c = edp_ctl_create();
	assert_non_null(c);
	assert_int_equal(edp_ctl_register(c, "echo", "A [B]", 1, 2, echo, NULL), 0);
	assert_int_equal(edp_ctl_register(c, "no", "", 0, 0, no, NULL), 0);
	assert_int_equal(edp_ctl_register(c, "echo", "", 0, 0, echo, NULL), -1); /* taken */
	assert_int_equal(edp_ctl_register(c, "version", "", 0, 0, echo, NULL), -1); /* built in */
	return c;
}

/* Words, usage, built-ins; a handler's failure drops what it wrote. */
static void test_answers(void **state)
{
	(void)state;
	struct edp_ctl *c = commands();
	assert_string_equal(answer(c, "echo a"), "{\"schema\":1,\"ok\":true,\"words\":[\"a\"]}\n");
	assert_string_equal(answer(c, " \techo  a\tb \r"), "{\"schema\":1,\"ok\":true,\"words\":[\"a\",\"b\"]}\n");
	assert_string_equal(answer(c, "echo"), "{\"schema\":1,\"ok\":false,\"error\":\"usage: echo A [B]\",\"usage\":true}\n");
	assert_string_equal(answer(c, "echo a b c"),
			    "{\"schema\":1,\"ok\":false,\"error\":\"usage: echo A [B]\",\"usage\":true}\n");
	assert_string_equal(answer(c, "no"), "{\"schema\":1,\"ok\":false,\"error\":\"not now\"}\n");
	assert_string_equal(answer(c, ""), "{\"schema\":1,\"ok\":false,\"error\":\"an empty request (try help)\",\"usage\":true}\n");
	assert_string_equal(answer(c, "frob \"x"),
			    "{\"schema\":1,\"ok\":false,\"error\":\"unknown command 'frob' (try help)\",\"usage\":true}\n");
	assert_string_equal(answer(c, "echo 1 2 3 4 5 6 7 8 9"),
			    "{\"schema\":1,\"ok\":false,\"error\":\"too many words (a command takes at most 8)\",\"usage\":true}\n");
	assert_string_equal(answer(c, "version extra"), "{\"schema\":1,\"ok\":false,\"error\":\"usage: version\",\"usage\":true}\n");
	char want[128];
	snprintf(want, sizeof(want), "{\"schema\":1,\"ok\":true,\"version\":\"%s\",\"protocol\":1}\n", EDP_VERSION);
	assert_string_equal(answer(c, "version"), want);
	assert_string_equal(answer(c, "help"), "{\"schema\":1,\"ok\":true,\"commands\":[\"help\",\"version\",\"echo A [B]\",\"no\"]}\n");
	edp_ctl_destroy(c);
}

/* A socket bound where instance name's control socket goes (a->sun_path). */
static int bound_at(const char *name, struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	*a = (struct sockaddr_un){ .sun_family = AF_UNIX };
	snprintf(a->sun_path, sizeof(a->sun_path), "%.80s/%s.ctl", unit_dir(), name);
	assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof(*a)), 0);
	return fd;
}

/* One live socket a name: a second server is refused; a dead one's socket
 * is replaced; a file that is no socket is left alone and refused. */
static void test_socket_life(void **state)
{
	(void)state;
	struct edp_error err = { 0 };
	struct edp_ctl *a = commands(), *b = commands();
	assert_int_equal(edp_ctl_listen(a, "life", NULL, &err), 0);
	assert_int_equal(edp_ctl_listen(b, "life", NULL, &err), EDP_ERR_RUNTIME);
	assert_string_equal(err.msg, "instance 'life' already has a control socket");
	edp_ctl_destroy(b);
	char *reply;
	assert_int_equal(edp_ctl_request("life", "echo x", 5000, &reply, &err), 0);
	assert_string_equal(reply, "{\"schema\":1,\"ok\":true,\"words\":[\"x\"]}");
	free(reply);
	struct edp_stats_control n;
	edp_ctl_counters(a, &n);
	assert_int_equal(n.requests, 1);
	edp_ctl_destroy(a); /* the socket goes with it */
	char path[100]; /* fits a socket address */
	snprintf(path, sizeof(path), "%.80s/life.ctl", unit_dir());
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(edp_ctl_request("life", "echo x", 5000, &reply, &err), EDP_ERR_RUNTIME);
	/* a socket nobody serves: stale, replaced */
	struct sockaddr_un sa;
	close(bound_at("life", &sa));
	assert_int_equal(edp_ctl_request("life", "echo x", 5000, &reply, &err), EDP_ERR_RUNTIME);
	char want[256];
	snprintf(want, sizeof(want), "instance 'life' is not running (stale socket %s)", path);
	assert_string_equal(err.msg, want);
	a = commands();
	assert_int_equal(edp_ctl_listen(a, "life", NULL, &err), 0);
	edp_ctl_destroy(a);
	/* a regular file there: not ours to remove */
	FILE *f = fopen(path, "w");
	fclose(f);
	a = commands();
	assert_int_equal(edp_ctl_listen(a, "life", NULL, &err), EDP_ERR_RUNTIME);
	snprintf(want, sizeof(want), "%s: not a socket; remove it", path);
	assert_string_equal(err.msg, want);
	edp_ctl_destroy(a);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
}

/* A server that takes the connection and never answers: a signal's
 * handler that runs while the client waits does not make it wait past
 * its timeout (a poll that a signal cut short once left it in a read with
 * no end). The listener hangs up when the client is done, or after 3 s: a
 * client still waiting then says so, instead of hanging the test. */
struct mute {
	int listen_fd, done[2]; /* done: closed when the test is done */
	struct sockaddr_un a;
	pthread_t client;
};

static void mute_listen(struct mute *m, const char *name, int backlog)
{
	assert_int_equal(pipe(m->done), 0);
	m->listen_fd = bound_at(name, &m->a);
	assert_int_equal(listen(m->listen_fd, backlog), 0);
}

static void on_signal(int sig) { (void)sig; }

static void *mute_server(void *arg)
{
	struct mute *m = arg;
	nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	pthread_kill(m->client, SIGUSR1); /* the client is waiting by now */
	struct pollfd p = { m->done[0], POLLIN, 0 };
	poll(&p, 1, 3000);
	int fd = accept(m->listen_fd, NULL, NULL);
	close(fd);
	return NULL;
}

static void test_no_reply_signal(void **state)
{
	(void)state;
	struct sigaction sa = { .sa_handler = on_signal }, old; /* no SA_RESTART */
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	struct mute m = { .client = pthread_self() };
	mute_listen(&m, "mute", 4);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, mute_server, &m), 0);
	char *reply = NULL;
	struct edp_error err = { 0 };
	assert_int_equal(edp_ctl_request("mute", "version", 300, &reply, &err), EDP_ERR_RUNTIME);
	close(m.done[1]);
	assert_string_equal(err.msg, "instance 'mute': no reply in 300 ms");
	pthread_join(t, NULL);
	close(m.done[0]);
	close(m.listen_fd);
	unlink(m.a.sun_path);
	sigaction(SIGUSR1, &old, NULL);
}

/* A listener whose backlog is full (it takes no connection): a request
 * gives up at its timeout, not when the listener lets go; listening under
 * its name is refused (it is alive), its socket left in place. The
 * listener closes when the test is done, or after 3 s: a client still
 * waiting then fails the test instead of hanging it. */
static void *full_server(void *arg)
{
	struct mute *m = arg;
	struct pollfd p = { m->done[0], POLLIN, 0 };
	poll(&p, 1, 3000);
	close(m->listen_fd); /* a connect still waiting is refused */
	return NULL;
}

static void test_backlog_full(void **state)
{
	(void)state;
	struct mute m = { 0 };
	mute_listen(&m, "full", 0);
	int queued[8], n = 0;
	for (; n < 8; n++) { /* until the backlog takes no more */
		queued[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(queued[n], (struct sockaddr *)&m.a, sizeof(m.a)) != 0) {
			assert_int_equal(errno, EAGAIN);
			close(queued[n]);
			break;
		}
	}
	assert_true(n >= 1 && n < 8);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, full_server, &m), 0);
	char *reply = NULL;
	struct edp_error err = { 0 };
	uint64_t t0 = edp_clock_ns(CLOCK_MONOTONIC);
	assert_int_equal(edp_ctl_request("full", "version", 300, &reply, &err), EDP_ERR_RUNTIME);
	assert_string_equal(err.msg, "instance 'full': its control socket took no connection in 300 ms");
	assert_true(edp_clock_ns(CLOCK_MONOTONIC) - t0 < 2000000000ull);
	struct edp_ctl *c = commands();
	assert_int_equal(edp_ctl_listen(c, "full", NULL, &err), EDP_ERR_RUNTIME);
	assert_string_equal(err.msg, "instance 'full' already has a control socket");
	edp_ctl_destroy(c);
	assert_int_equal(access(m.a.sun_path, F_OK), 0);
	close(m.done[1]);
	pthread_join(t, NULL);
	for (int i = 0; i < n; i++)
		close(queued[i]);
	close(m.done[0]);
	unlink(m.a.sun_path);
}

/* "cat": the descriptor the request came with is read to its end, and
 * what it held goes back in the reply; "pipe": a pipe's read end goes
 * back with the reply, "hello" in it; "pipe-no": the same, then a
 * failure: no descriptor goes. */
static int cat(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)argc, (void)argv;
	int fd = edp_ctl_take_fd(aux);
	if (fd < 0)
		return edp_error_set(err, EDP_ERR_USAGE, "no descriptor");
	char buf[64] = "";
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	edp_json_string(j, "read", buf);
	return 0;
}

static int give_pipe(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)argc, (void)j;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "hello", 5), 5);
	close(p[1]);
	assert_int_equal(edp_ctl_give_fd(aux, p[0]), 0);
	return strcmp(argv[0], "pipe-no") ? 0 : edp_error_set(err, EDP_ERR_RUNTIME, "changed my mind");
}

static int open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* Descriptors both ways: with a request, with a reply; none leaks. */
static void test_descriptors(void **state)
{
	(void)state;
	struct edp_ctl *c = edp_ctl_create();
	assert_int_equal(edp_ctl_register(c, "cat", "", 0, 0, cat, c), 0);
	assert_int_equal(edp_ctl_register(c, "pipe", "", 0, 0, give_pipe, c), 0);
	assert_int_equal(edp_ctl_register(c, "pipe-no", "", 0, 0, give_pipe, c), 0);
	struct edp_error err = { 0 };
	assert_int_equal(edp_ctl_listen(c, "fds", NULL, &err), 0);
	int before = open_fds();
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "sent along", 10), 10);
	close(p[1]);
	char *reply;
	assert_int_equal(edp_ctl_request_fd("fds", "cat", p[0], 5000, &reply, &err), 0);
	close(p[0]);
	assert_string_equal(reply, "{\"schema\":1,\"ok\":true,\"read\":\"sent along\"}");
	free(reply);
	int got[EDP_CTL_MAX_FDS], n = -1;
	assert_int_equal(edp_ctl_exchange("fds", "pipe", -1, 5000, &reply, got, &n, &err), 0);
	assert_string_equal(reply, "{\"schema\":1,\"ok\":true}");
	free(reply);
	assert_int_equal(n, 1);
	char buf[8] = "";
	assert_int_equal(read(got[0], buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	close(got[0]);
	assert_int_equal(edp_ctl_exchange("fds", "pipe-no", -1, 5000, &reply, got, &n, &err), 0);
	assert_string_equal(reply, "{\"schema\":1,\"ok\":false,\"error\":\"changed my mind\"}");
	free(reply);
	assert_int_equal(n, 0);
	/* a descriptor the handler did not take is closed, not kept */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(edp_ctl_request_fd("fds", "pipe", p[0], 5000, &reply, &err), 0);
	free(reply);
	close(p[0]);
	close(p[1]);
	for (int i = 0; i < 100 && open_fds() != before; i++) /* the server closes its copies after sending */
		usleep(10000);
	assert_int_equal(open_fds(), before);
	edp_ctl_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_socket_life),
		cmocka_unit_test(test_no_reply_signal),
		cmocka_unit_test(test_backlog_full),
		cmocka_unit_test(test_descriptors),
	};
	return cmocka_run_group_tests_name("ctl", tests, unit_dir_setup, unit_dir_teardown);
}
