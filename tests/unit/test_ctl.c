#include "unit.h"
#include "edp_ctl.h"

#include <sys/socket.h>
#include <sys/un.h>

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
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_socket_life),
	};
	return cmocka_run_group_tests_name("ctl", tests, unit_dir_setup, unit_dir_teardown);
}
