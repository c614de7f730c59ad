/* edp-c2c: how long a cache line takes to go from one CPU to another and
 * back, the price of every line that crosses between edp-run's reader and
 * its worker. Two threads, pinned to the first two CPUs this process may
 * use, bounce a counter on one line; prints the median of a few rounds:
 *
 *   round_trip_ns=123.4
 *
 * On a virtual machine the figure moves with where the host runs the two
 * vCPUs (on this project's 2-vCPU machine: 60 to 560 ns within a minute),
 * and so does a `-t 2` run, while a one-thread run such as tcpdump's does
 * not notice: `make bench` prints it next to the end-to-end tables.
 *
 * `edp-c2c wake`: how long a thread asleep in poll(2) takes to run once
 * another thread writes to its pipe, every 10 ms (its CPU idle meanwhile),
 * from the other CPU and from its own, the floor of any latency through a
 * reader that sleeps while idle (on this project's VM the other CPU's
 * wake-up is a halted vCPU's):
 *
 *   wake_other_p50_us=72.4 wake_other_p99_us=211.5 wake_same_p50_us=3.0 wake_same_p99_us=23.8 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BOUNCES 200000
#define ROUNDS 5

static _Alignas(64) _Atomic long ball;

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* The other side (started on the second CPU): returns each odd value as
 * the next even one. */
static void *partner(void *arg)
{
	(void)arg;
	for (long i = 1; i < 2L * BOUNCES * ROUNDS; i += 2) {
		while (atomic_load_explicit(&ball, memory_order_acquire) != i)
			;
		atomic_store_explicit(&ball, i + 1, memory_order_release);
	}
	return NULL;
}

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

#define WAKES 300

static int wake_pipe[2];
static double woke_after[WAKES];

/* The sleeper: each write's time stamp against the moment it ran. */
static void *sleeper(void *arg)
{
	(void)arg;
	for (int i = 0; i < WAKES; i++) {
		struct pollfd p = { .fd = wake_pipe[0], .events = POLLIN };
		double sent;
		if (poll(&p, 1, -1) != 1 || read(wake_pipe[0], &sent, sizeof(sent)) != sizeof(sent))
			return NULL;
		woke_after[i] = now_ns() - sent;
	}
	return NULL;
}

/* A sleeper on CPU `on` woken WAKES times by this thread (on its CPU):
 * prints the median and 99th percentile in microseconds as NAME_p50_us=
 * and NAME_p99_us=. */
static int wakes(const char *name, int on)
{
	pthread_attr_t attr;
	cpu_set_t cpu;
	CPU_ZERO(&cpu);
	CPU_SET(on, &cpu);
	pthread_t t;
	if (pipe(wake_pipe) || pthread_attr_init(&attr) || pthread_attr_setaffinity_np(&attr, sizeof(cpu), &cpu) ||
	    pthread_create(&t, &attr, sleeper, NULL)) {
		fprintf(stderr, "edp-c2c: cannot start a thread on CPU %d\n", on);
		return 1;
	}
	pthread_attr_destroy(&attr);
	for (int i = 0; i < WAKES; i++) {
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
		double sent = now_ns();
		if (write(wake_pipe[1], &sent, sizeof(sent)) != sizeof(sent))
			return 1;
	}
	pthread_join(t, NULL);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	qsort(woke_after, WAKES, sizeof(woke_after[0]), cmp_double);
	printf("%s_p50_us=%.1f %s_p99_us=%.1f", name, woke_after[WAKES / 2] / 1e3, name,
	       woke_after[WAKES * 99 / 100] / 1e3);
	return 0;
}

int main(int argc, char **argv)
{
	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof(allowed), &allowed)) {
		perror("edp-c2c: sched_getaffinity");
		return 1;
	}
	int cpus[2], found = 0;
	for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[found++] = c;
	if (found < 2) {
		fprintf(stderr, "edp-c2c: needs two CPUs, this process may use %d\n", found);
		return 1;
	}
	if (pin(cpus[0])) {
		fprintf(stderr, "edp-c2c: cannot pin to CPU %d\n", cpus[0]);
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "wake") == 0) {
		if (wakes("wake_other", cpus[1]) || printf(" ") < 0 || wakes("wake_same", cpus[0]))
			return 1;
		printf("\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: edp-c2c [wake]\n");
		return 2;
	}
	pthread_attr_t attr;
	cpu_set_t second;
	CPU_ZERO(&second);
	CPU_SET(cpus[1], &second);
	pthread_t t;
	if (pthread_attr_init(&attr) || pthread_attr_setaffinity_np(&attr, sizeof(second), &second) ||
	    pthread_create(&t, &attr, partner, NULL)) {
		fprintf(stderr, "edp-c2c: cannot start a thread on CPU %d\n", cpus[1]);
		return 1;
	}
	pthread_attr_destroy(&attr);
	double rt[ROUNDS];
	long v = 0;
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_ns();
		for (int i = 0; i < BOUNCES; i++) {
			atomic_store_explicit(&ball, ++v, memory_order_release);
			while (atomic_load_explicit(&ball, memory_order_acquire) != v + 1)
				;
			v++;
		}
		rt[r] = (now_ns() - t0) / BOUNCES;
	}
	pthread_join(t, NULL);
	qsort(rt, ROUNDS, sizeof(rt[0]), cmp_double);
	printf("round_trip_ns=%.1f\n", rt[ROUNDS / 2]);
	return 0;
}
