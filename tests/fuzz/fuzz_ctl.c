/* Control-socket requests from a client: the input is what a client sends
 * on one connection (any bytes: lines, garbage, NULs, overlong lines, no
 * newline at all), to a live server with a command that echoes its words
 * and one that fails. Every reply is one JSON object line; after the
 * client hangs up the server still answers a fresh connection. */
#include "fuzz.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "edp_ctl.h"

static int echo(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)aux, (void)err;
	edp_json_array(j, "words");
	for (int i = 0; i < argc; i++)
		edp_json_string(j, NULL, argv[i]);
	edp_json_end(j);
	return 0;
}

static int no(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)aux, (void)argc, (void)argv;
	edp_json_string(j, "dropped", "never seen");
	return edp_error_set(err, EDP_ERR_RUNTIME, "no, %s", argc > 1 ? argv[1] : "never");
}

static struct edp_ctl *server(void)
{
	static struct edp_ctl *c;
	if (!c) {
		fuzz_dir();
		struct edp_error err;
		FUZZ_CHECK((c = edp_ctl_create()));
		FUZZ_CHECK(edp_ctl_register(c, "echo", "[WORD]...", 0, EDP_CTL_MAX_ARGS, echo, NULL) == 0);
		FUZZ_CHECK(edp_ctl_register(c, "no", "[WHY]", 0, 1, no, NULL) == 0);
		FUZZ_CHECK(edp_ctl_listen(c, "fuzz", NULL, &err) == 0);
	}
	return c;
}

static int connect_server(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/fuzz.ctl", fuzz_dir());
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	return fd;
}

/* Every line a reply: a JSON object that starts with the schema and ok. */
static void check_replies(const char *buf, size_t n)
{
	for (size_t at = 0; at < n;) {
		const char *nl = memchr(buf + at, '\n', n - at);
		FUZZ_CHECK(nl); /* a reply is whole */
		size_t len = (size_t)(nl - (buf + at));
		FUZZ_CHECK(len > 22 && !memcmp(buf + at, "{\"schema\":1,\"ok\":", 17) && buf[at + len - 1] == '}');
		FUZZ_CHECK(!memchr(buf + at, 0, len));
		at += len + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 3 * EDP_CTL_MAX_LINE)
		return 0;
	server();
	int fd = connect_server();
	size_t sent = 0;
	while (sent < size) { /* the server may close early (a request too long) */
		ssize_t w = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	static char buf[1 << 20];
	size_t n = 0;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int ready;
		while ((ready = poll(&p, 1, 10000)) < 0 && errno == EINTR) /* libFuzzer's timer */
			;
		FUZZ_CHECK(ready == 1); /* the server answers or hangs up, never stalls */
		ssize_t r = recv(fd, buf + n, sizeof(buf) - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		FUZZ_CHECK(n < sizeof(buf));
	}
	close(fd);
	check_replies(buf, n);
	char *reply;
	struct edp_error err;
	FUZZ_CHECK(edp_ctl_request("fuzz", "version", 10000, &reply, &err) == 0);
	FUZZ_CHECK(strstr(reply, "\"ok\":true"));
	free(reply);
	return 0;
}
