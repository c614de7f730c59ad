#include "edp_stats.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)
#define READ_GIVE_UP_NS 1000000000ull /* a block that stays mid-update this long: its writer died */

struct edp_stats_writer {
	int fd;
	size_t size;
	uint8_t *base;
	char path[4096];
};

static uint64_t now_ns(clockid_t clk)
{
	struct timespec t;
	clock_gettime(clk, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Cycles per second of edp_stats_cycles: the cycles and the nanoseconds
 * since the instance started (the TSC runs at one rate on every core), so
 * nobody sleeps to measure it; the error is the gap between two reads, well
 * under 1e-4 after the first millisecond. */
static uint64_t cycles_per_s(const struct edp_stats_header *h)
{
#if defined(__x86_64__) || defined(__i386__)
	uint64_t t = now_ns(CLOCK_MONOTONIC);
	if (t < h->start_mono_ns + 1000000) { /* less than 1 ms up: wait for it */
		struct timespec d = { 0, (long)(h->start_mono_ns + 1000000 - t) };
		nanosleep(&d, NULL);
	}
	t = now_ns(CLOCK_MONOTONIC);
	uint64_t c = edp_stats_cycles();
	return t > h->start_mono_ns ? (uint64_t)((double)(c - h->start_cycles) * 1e9 / (double)(t - h->start_mono_ns))
				    : 1000000000ull;
#else
	(void)h;
	return 1000000000ull;
#endif
}

bool edp_stats_name_valid(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= EDP_STATS_NAME_MAX && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static int ensure_dir(const char *d)
{
	if (mkdir(d, 0700) == 0)
		return 0;
	struct stat st;
	if (errno != EEXIST || stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
		return -1;
	return access(d, W_OK | X_OK);
}

int edp_stats_rundir(char *buf, size_t size, struct edp_error *err)
{
	const char *env = getenv("EDP_RUNDIR");
	if (env && *env) {
		snprintf(buf, size, "%s", env);
		if (ensure_dir(buf) < 0)
			return edp_error_set(err, EDP_ERR_RUNTIME, "EDP_RUNDIR=%s: not a usable directory: %s", env,
					     strerror(errno));
		return 0;
	}
	snprintf(buf, size, "/run/edp");
	if (access("/run", W_OK) == 0 && ensure_dir(buf) == 0)
		return 0;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg) {
		snprintf(buf, size, "%s/edp", xdg);
		if (ensure_dir(buf) == 0)
			return 0;
	}
	snprintf(buf, size, "/tmp/edp-%u", (unsigned)getuid());
	struct stat st;
	if (ensure_dir(buf) < 0 || stat(buf, &st) != 0 || st.st_uid != getuid())
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: not a usable directory of this user", buf);
	return 0;
}

static size_t segment_size(uint32_t threads, uint32_t queues, uint32_t ports)
{
	return ALIGN64(sizeof(struct edp_stats_header)) + threads * sizeof(struct edp_stats_thread) +
	       queues * sizeof(struct edp_stats_queue) + ports * sizeof(struct edp_stats_port) +
	       ports * sizeof(struct edp_stats_port_tx);
}

/* Offsets of the block arrays of a segment with these counts. */
static void offsets(const struct edp_stats_header *h, size_t *t, size_t *q, size_t *p, size_t *x)
{
	*t = ALIGN64(sizeof(struct edp_stats_header));
	*q = *t + h->n_threads * sizeof(struct edp_stats_thread);
	*p = *q + h->n_queues * sizeof(struct edp_stats_queue);
	*x = *p + h->n_ports * sizeof(struct edp_stats_port);
}

static int segment_path(const char *name, char *path, size_t size, struct edp_error *err)
{
	if (!edp_stats_name_valid(name))
		return edp_error_set(err, EDP_ERR_USAGE, "instance name '%s' must be 1 to 32 of a-z 0-9 _ -", name);
	char dir[4000];
	if (edp_stats_rundir(dir, sizeof(dir), err))
		return EDP_ERR_RUNTIME;
	snprintf(path, size, "%s/%s.stats", dir, name);
	return 0;
}

static int32_t pid_in(int fd)
{
	struct edp_stats_header h;
	return pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) && h.magic == EDP_STATS_MAGIC ? h.pid : 0;
}

/* The instance's lock on its segment. A reader looking whether a segment
 * is stale holds a shared lock on it for a moment (edp_stats_read,
 * edp_stats_list): that is waited out (up to a second), so that a monitor
 * polling for an instance cannot make it fail to start; only another
 * instance's exclusive lock is a refusal. Returns 0, or -1 when an instance
 * holds it. */
static int lock_segment(int fd)
{
	for (int tries = 0; tries < 1000; tries++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK || flock(fd, LOCK_SH | LOCK_NB) < 0)
			return -1; /* held exclusively: an instance runs */
		flock(fd, LOCK_UN); /* only readers: they let go soon */
		struct timespec d = { 0, 1000000 };
		nanosleep(&d, NULL);
	}
	return -1;
}

struct edp_stats_writer *edp_stats_create(const char *name, const struct edp_stats_layout *l, struct edp_error *err)
{
	struct edp_stats_writer *w = calloc(1, sizeof(*w));
	if (!w) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		return NULL;
	}
	w->fd = -1;
	if (segment_path(name, w->path, sizeof(w->path), err))
		goto fail;
	w->fd = open(w->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->fd < 0) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot create: %s", w->path, strerror(errno));
		goto fail;
	}
	if (lock_segment(w->fd) < 0) {
		edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s' is already running (pid %d)", name, pid_in(w->fd));
		close(w->fd);
		w->fd = -1; /* not ours: do not unlink it */
		w->path[0] = 0;
		goto fail;
	}
	/* new, or stale (nobody held it): (re)initialise */
	w->size = segment_size(l->n_threads, l->n_queues, l->n_ports);
	if (fchmod(w->fd, 0600) < 0 || ftruncate(w->fd, 0) < 0 || ftruncate(w->fd, (off_t)w->size) < 0) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot size the stats segment: %s", w->path, strerror(errno));
		goto fail;
	}
	w->base = mmap(NULL, w->size, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
	if (w->base == MAP_FAILED) {
		w->base = NULL;
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot map: %s", w->path, strerror(errno));
		goto fail;
	}
	struct edp_stats_header *h = (struct edp_stats_header *)w->base;
	h->version = EDP_STATS_VERSION;
	h->size = (uint32_t)w->size;
	h->pid = (int32_t)getpid();
	h->n_threads = l->n_threads;
	h->n_queues = l->n_queues;
	h->n_ports = l->n_ports;
	h->start_ns = now_ns(CLOCK_REALTIME);
	h->start_mono_ns = now_ns(CLOCK_MONOTONIC);
	h->start_cycles = edp_stats_cycles();
	h->running = 1;
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->config, sizeof(h->config), "%s", l->config ? l->config : "");
	for (uint32_t i = 0; i < l->n_ports; i++)
		snprintf(edp_stats_port(w, i)->name, sizeof(edp_stats_port(w, i)->name), "%s",
			 l->port_names[i] ? l->port_names[i] : "");
	for (uint32_t i = 0; i < l->n_threads; i++)
		edp_stats_thread(w, i)->cpu = edp_stats_thread(w, i)->numa_node = -1;
	atomic_thread_fence(memory_order_release);
	__atomic_store_n(&h->magic, EDP_STATS_MAGIC, __ATOMIC_RELEASE); /* valid from now on */
	return w;
fail:
	edp_stats_destroy(w);
	return NULL;
}

void edp_stats_destroy(struct edp_stats_writer *w)
{
	if (!w)
		return;
	if (w->base) {
		((struct edp_stats_header *)w->base)->running = 0;
		munmap(w->base, w->size);
	}
	if (w->fd >= 0) {
		unlink(w->path); /* while still holding the lock */
		close(w->fd);
	}
	free(w);
}

struct edp_stats_header *edp_stats_header(struct edp_stats_writer *w) { return (struct edp_stats_header *)w->base; }

/* Block i of the array that starts `which` offsets into the segment. */
static void *block(struct edp_stats_writer *w, int which, size_t each, uint32_t i)
{
	size_t off[4];
	offsets(edp_stats_header(w), &off[0], &off[1], &off[2], &off[3]);
	return w->base + off[which] + i * each;
}

struct edp_stats_thread *edp_stats_thread(struct edp_stats_writer *w, uint32_t i)
{
	return block(w, 0, sizeof(struct edp_stats_thread), i);
}

struct edp_stats_queue *edp_stats_queue(struct edp_stats_writer *w, uint32_t i)
{
	return block(w, 1, sizeof(struct edp_stats_queue), i);
}

struct edp_stats_port *edp_stats_port(struct edp_stats_writer *w, uint32_t i)
{
	return block(w, 2, sizeof(struct edp_stats_port), i);
}

struct edp_stats_port_tx *edp_stats_port_tx(struct edp_stats_writer *w, uint32_t i)
{
	return block(w, 3, sizeof(struct edp_stats_port_tx), i);
}

void edp_stats_event(struct edp_stats_writer *w, uint32_t moved, float before, float after, const char *what)
{
	struct edp_stats_header *h = edp_stats_header(w);
	edp_stats_write_begin(&h->seq);
	struct edp_stats_event *e = &h->events[h->n_events % EDP_STATS_EVENTS];
	e->time_ns = now_ns(CLOCK_REALTIME);
	e->moved = moved;
	e->spread_before = before;
	e->spread_after = after;
	snprintf(e->what, sizeof(e->what), "%s", what);
	h->n_events++;
	edp_stats_write_end(&h->seq);
}

/* Copy one seqlocked block; -1 when no consistent copy could be had for
 * READ_GIVE_UP_NS (its writer died mid-write). Bounded in time, not in
 * tries: a writer that publishes often on a loaded machine only delays it. */
static int read_block(void *dst, const void *src, size_t size)
{
	const _Atomic uint32_t *seq = src;
	uint64_t give_up = 0;
	for (uint32_t i = 1;; i++) {
		uint32_t a = atomic_load_explicit(seq, memory_order_acquire);
		if (!(a & 1)) {
			memcpy(dst, src, size);
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(seq, memory_order_relaxed) == a)
				return 0;
		}
		if (i % 64 == 0) { /* let the writer finish, now and then look at the time */
			sched_yield();
			uint64_t now = now_ns(CLOCK_MONOTONIC);
			if (!give_up)
				give_up = now + READ_GIVE_UP_NS;
			else if (now > give_up)
				return -1;
		}
	}
}

int edp_stats_read(const char *name, struct edp_stats_snapshot *snap, struct edp_error *err)
{
	memset(snap, 0, sizeof(*snap));
	char path[4096];
	if (segment_path(name, path, sizeof(path), err))
		return err ? err->status : EDP_ERR_RUNTIME;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, errno == ENOENT ? "no instance '%s' is running (no %s)"
								  : "instance '%s': %s: cannot open", name, path);
	int rc = EDP_ERR_RUNTIME;
	void *base = MAP_FAILED;
	struct stat st;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) { /* no instance holds it */
		int32_t pid = pid_in(fd);
		if (pid)
			edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s' is not running (stale segment of pid %d)", name,
				      pid);
		else
			edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s' is not running (%s is not a stats segment)", name,
				      path);
		goto out;
	}
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(struct edp_stats_header)) {
		edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s': %s is not a stats segment", name, path);
		goto out;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s': cannot map %s", name, path);
		goto out;
	}
	const struct edp_stats_header *h = base;
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) == 0) {
		edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s' is starting; try again", name);
		goto out;
	}
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != EDP_STATS_MAGIC || h->version != EDP_STATS_VERSION ||
	    h->size != (uint64_t)st.st_size || h->n_threads > 4096 || h->n_queues > 65536 ||
	    h->n_ports > EDP_MAX_PORTS || segment_size(h->n_threads, h->n_queues, h->n_ports) != h->size) {
		edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s': %s is not a version %d stats segment", name, path,
			      EDP_STATS_VERSION);
		goto out;
	}
	size_t t, q, p, x;
	offsets(h, &t, &q, &p, &x);
	snap->threads = calloc(h->n_threads + 1, sizeof(*snap->threads));
	snap->queues = calloc(h->n_queues + 1, sizeof(*snap->queues));
	snap->ports = calloc(h->n_ports + 1, sizeof(*snap->ports));
	snap->ports_tx = calloc(h->n_ports + 1, sizeof(*snap->ports_tx));
	if (!snap->threads || !snap->queues || !snap->ports || !snap->ports_tx) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		goto out;
	}
	/* the header's first part never changes; its seq guards the rest */
	memcpy(&snap->header, h, offsetof(struct edp_stats_header, seq));
	int bad = read_block(&snap->header.seq, &h->seq, sizeof(*h) - offsetof(struct edp_stats_header, seq));
	for (uint32_t i = 0; i < h->n_threads; i++)
		bad |= read_block(&snap->threads[i], (const uint8_t *)base + t + i * sizeof(*snap->threads),
				  sizeof(*snap->threads));
	for (uint32_t i = 0; i < h->n_queues; i++)
		bad |= read_block(&snap->queues[i], (const uint8_t *)base + q + i * sizeof(*snap->queues),
				  sizeof(*snap->queues));
	for (uint32_t i = 0; i < h->n_ports; i++) {
		bad |= read_block(&snap->ports[i], (const uint8_t *)base + p + i * sizeof(*snap->ports),
				  sizeof(*snap->ports));
		bad |= read_block(&snap->ports_tx[i], (const uint8_t *)base + x + i * sizeof(*snap->ports_tx),
				  sizeof(*snap->ports_tx));
	}
	if (bad) {
		edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s': a block stayed mid-update", name);
		goto out;
	}
	snap->header.cycles_per_s = cycles_per_s(&snap->header);
	rc = 0;
out:
	if (base != MAP_FAILED)
		munmap(base, (size_t)st.st_size);
	close(fd);
	if (rc)
		edp_stats_snapshot_free(snap);
	return rc;
}

void edp_stats_snapshot_free(struct edp_stats_snapshot *snap)
{
	free(snap->threads);
	free(snap->queues);
	free(snap->ports);
	free(snap->ports_tx);
	snap->threads = NULL;
	snap->queues = NULL;
	snap->ports = NULL;
	snap->ports_tx = NULL;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

int edp_stats_list(char (*names)[EDP_STATS_NAME_MAX + 1], int max, struct edp_error *err)
{
	char dir[4000];
	if (edp_stats_rundir(dir, sizeof(dir), err))
		return -1;
	DIR *d = opendir(dir);
	if (!d)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot list: %s", dir, strerror(errno)), -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		size_t len = strlen(e->d_name);
		if (len <= 6 || strcmp(e->d_name + len - 6, ".stats") != 0 || len - 6 > EDP_STATS_NAME_MAX)
			continue;
		char name[EDP_STATS_NAME_MAX + 1];
		memcpy(name, e->d_name, len - 6);
		name[len - 6] = 0;
		char path[sizeof(dir) + sizeof(e->d_name) + 1];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		int fd = edp_stats_name_valid(name) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_SH | LOCK_NB) < 0) /* held: its instance runs */
			memcpy(names[n++], name, sizeof(name));
		close(fd);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), by_name);
	return n;
}
