/* edp-ctl-attack SOCKET COUNT-FILE: the hostile clients of edp-run-ctl.bats
 * in a loop, for tests/bench/ctl, until killed. One round: 200 connections
 * at once that say nothing (closed after 100 ms), a megabyte with no
 * newline, a request with a NUL byte, 100 unknown commands on one
 * connection, a status request (each reply read, or 1 s waited for it).
 * The rounds done so far are written to COUNT-FILE after each.
 *
 * edp-ctl-attack --silent SOCKET N SECONDS: N connections at once (one
 * process: 200 socat processes took over 5 s to start on a loaded machine)
 * that say nothing; what the server says on each within SECONDS, its first
 * line (or "(nothing)"), a line each in the order they were made. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path;

static int connect_to(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Send buf whole (or until the server closes), then read replies until
 * `lines` newlines came, the server closed, or 1 s passed. */
static void exchange(const char *buf, size_t len, int lines)
{
	int fd = connect_to();
	if (fd < 0)
		return;
	for (size_t at = 0; at < len;) {
		ssize_t n = send(fd, buf + at, len - at, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		at += (size_t)n;
	}
	char r[4096];
	for (int seen = 0; seen < lines;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 1000) <= 0)
			break;
		ssize_t n = recv(fd, r, sizeof(r), 0);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			seen += r[i] == '\n';
	}
	close(fd);
}

static int silent(int n, int seconds)
{
	int *fd = malloc(sizeof(*fd) * (size_t)n);
	char (*line)[256] = calloc((size_t)n, sizeof(*line));
	if (!fd || !line) {
		free(fd);
		free(line);
		return 1;
	}
	for (int i = 0; i < n; i++)
		fd[i] = connect_to();
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) { /* each connection until its first line, its end, or SECONDS */
		int waiting = 0;
		for (int i = 0; i < n; i++) {
			if (fd[i] < 0)
				continue;
			size_t have = strlen(line[i]);
			ssize_t got = recv(fd[i], line[i] + have, sizeof(line[i]) - 1 - have, MSG_DONTWAIT);
			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || strchr(line[i], '\n')) {
				close(fd[i]);
				fd[i] = -1;
			} else {
				waiting++;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (!waiting || t.tv_sec - t0.tv_sec >= seconds)
			break;
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	for (int i = 0; i < n; i++) {
		char *end = strchr(line[i], '\n');
		if (end)
			*end = '\0';
		printf("%s\n", line[i][0] ? line[i] : "(nothing)");
		if (fd[i] >= 0)
			close(fd[i]);
	}
	free(fd);
	free(line);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "--silent")) {
		sock_path = argv[2];
		return silent(atoi(argv[3]), atoi(argv[4]));
	}
	if (argc != 3) {
		fprintf(stderr, "usage: edp-ctl-attack SOCKET COUNT-FILE\n");
		return 2;
	}
	sock_path = argv[1];
	signal(SIGPIPE, SIG_IGN);
	size_t big = 1000000;
	char *mega = malloc(big), frobs[100 * 5];
	if (!mega)
		return 1;
	memset(mega, 'x', big);
	for (int i = 0; i < 100; i++)
		memcpy(frobs + 5 * i, "frob\n", 5);
	for (unsigned long round = 1;; round++) {
		int silent[200];
		for (int i = 0; i < 200; i++)
			silent[i] = connect_to();
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
		for (int i = 0; i < 200; i++)
			if (silent[i] >= 0)
				close(silent[i]);
		exchange(mega, big, 1);
		exchange("status\0x\n", 9, 1);
		exchange(frobs, sizeof(frobs), 100);
		exchange("status\n", 7, 1);
		FILE *f = fopen(argv[2], "w");
		if (f) {
			fprintf(f, "%lu\n", round);
			fclose(f);
		}
	}
}
