#include "edp_stats.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
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

#include "edp_clock.h"
#include "edp_rundir.h"
#include "edp_shm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)
/* a segment that stays mid-update this long: its writer died */
static _Atomic uint64_t read_give_up_ns = 1000000000ull;

void edp_stats_read_wait(uint64_t ns)
{
	atomic_store(&read_give_up_ns, ns);
}

struct edp_stats_writer {
	int fd;
	size_t size;
	uint8_t *base;
	size_t off[5];    /* of the thread, queue, port, port-tx and cleared blocks: ours, not the file's */
	uint64_t events;  /* events logged */
	int guard;        /* edp_shm: another process may shrink the file */
	char path[4096];
};

/* Cycles per second of edp_stats_cycles: the cycles and the nanoseconds
 * since the instance started (the TSC runs at one rate on every core), so
 * nobody sleeps to measure it; the error is the gap between two reads, well
 * under 1e-4 after the first millisecond. */
static uint64_t cycles_per_s(const struct edp_stats_header *h)
{
#if defined(__x86_64__) || defined(__i386__)
	uint64_t t = edp_clock_ns(CLOCK_MONOTONIC);
	if (h->start_mono_ns <= t && t - h->start_mono_ns < 1000000) { /* less than 1 ms up: wait for it */
		struct timespec d = { 0, (long)(h->start_mono_ns + 1000000 - t) };
		nanosleep(&d, NULL);
	}
	t = edp_clock_ns(CLOCK_MONOTONIC);
	uint64_t c = edp_stats_cycles();
	/* the start comes from the segment: a rate no machine has is not believed */
	double hz = t > h->start_mono_ns ? (double)(c - h->start_cycles) * 1e9 / (double)(t - h->start_mono_ns) : 0;
	return hz >= 1e6 && hz < 1e11 ? (uint64_t)hz : 1000000000ull;
#else
	(void)h;
	return 1000000000ull;
#endif
}

/* Bytes of the thread, queue, port and port-tx arrays. */
static size_t arrays_size(uint32_t threads, uint32_t queues, uint32_t ports)
{
	return threads * sizeof(struct edp_stats_thread) + queues * sizeof(struct edp_stats_queue) +
	       ports * sizeof(struct edp_stats_port) + ports * sizeof(struct edp_stats_port_tx);
}

/* The cleared block: its head and a copy of the arrays. */
static size_t cleared_size(uint32_t threads, uint32_t queues, uint32_t ports)
{
	return ALIGN64(sizeof(struct edp_stats_cleared)) + arrays_size(threads, queues, ports);
}

static size_t segment_size(uint32_t threads, uint32_t queues, uint32_t ports)
{
	return ALIGN64(sizeof(struct edp_stats_header)) + arrays_size(threads, queues, ports) +
	       cleared_size(threads, queues, ports);
}

/* Offsets of the block arrays of a segment with these counts, and of its
 * cleared block (whose arrays are laid out as the live ones, from its head's
 * end). */
static void offsets(const struct edp_stats_header *h, size_t off[5])
{
	off[0] = ALIGN64(sizeof(struct edp_stats_header));
	off[1] = off[0] + h->n_threads * sizeof(struct edp_stats_thread);
	off[2] = off[1] + h->n_queues * sizeof(struct edp_stats_queue);
	off[3] = off[2] + h->n_ports * sizeof(struct edp_stats_port);
	off[4] = off[3] + h->n_ports * sizeof(struct edp_stats_port_tx);
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
	w->guard = -1;
	if (edp_rundir_file(name, ".stats", w->path, sizeof(w->path), err))
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
	w->guard = edp_shm_guard(w->base, w->size);
	struct edp_stats_header *h = (struct edp_stats_header *)w->base;
	h->version = EDP_STATS_VERSION;
	h->size = (uint32_t)w->size;
	h->pid = (int32_t)getpid();
	h->n_threads = l->n_threads;
	h->n_queues = l->n_queues;
	h->n_ports = l->n_ports;
	h->chunks = l->chunks;
	offsets(h, w->off);
	h->start_ns = edp_clock_ns(CLOCK_REALTIME);
	h->start_mono_ns = edp_clock_ns(CLOCK_MONOTONIC);
	h->start_cycles = edp_stats_cycles();
	h->running = 1;
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->control.config, sizeof(h->control.config), "%s", l->config ? l->config : "");
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
		edp_shm_unguard(w->guard);
		munmap(w->base, w->size);
	}
	if (w->fd >= 0) {
		unlink(w->path); /* while still holding the lock */
		edp_shm_close_removed(w->fd);
	}
	free(w);
}

struct edp_stats_header *edp_stats_header(struct edp_stats_writer *w) { return (struct edp_stats_header *)w->base; }

/* Block i of the array that starts `which` offsets into the segment. */
static void *block(struct edp_stats_writer *w, int which, size_t each, uint32_t i)
{
	return w->base + w->off[which] + i * each;
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

struct edp_stats_control *edp_stats_control(struct edp_stats_writer *w)
{
	return &edp_stats_header(w)->control;
}

static int read_block(void *dst, const void *src, size_t size, uint64_t deadline);

void edp_stats_clear(struct edp_stats_writer *w)
{
	struct edp_stats_cleared *c = (struct edp_stats_cleared *)(w->base + w->off[4]);
	uint8_t *copy = (uint8_t *)c + ALIGN64(sizeof(*c));
	uint64_t deadline = edp_clock_ns(CLOCK_MONOTONIC) + 1000000000ull;
	edp_stats_write_begin(&c->seq);
	/* block by block, each as its writer left it (a block that stays
	 * mid-update past the deadline keeps what it had: its count is not
	 * cleared, never made up) */
	size_t each[4] = { sizeof(struct edp_stats_thread), sizeof(struct edp_stats_queue),
			   sizeof(struct edp_stats_port), sizeof(struct edp_stats_port_tx) };
	for (int a = 0; a < 4; a++)
		for (size_t o = w->off[a]; o < w->off[a + 1]; o += each[a])
			read_block(copy + (o - w->off[0]), w->base + o, each[a], deadline);
	c->clears++;
	c->at_ns = edp_clock_ns(CLOCK_REALTIME);
	edp_stats_write_end(&c->seq);
}

uint64_t edp_stats_event(struct edp_stats_writer *w, uint32_t moved, float before, float after, float speedup,
			 const char *what)
{
	struct edp_stats_header *h = edp_stats_header(w);
	edp_stats_write_begin(&h->seq);
	struct edp_stats_event *e = &h->events[w->events % EDP_STATS_EVENTS];
	*e = (struct edp_stats_event){ edp_clock_ns(CLOCK_REALTIME), moved, before, after, -1, speedup, -1, "" };
	snprintf(e->what, sizeof(e->what), "%s", what);
	h->n_events = ++w->events;
	edp_stats_write_end(&h->seq);
	return w->events - 1;
}

void edp_stats_event_measured(struct edp_stats_writer *w, uint64_t number, float spread, float speedup)
{
	if (w->events - number > EDP_STATS_EVENTS)
		return;
	struct edp_stats_header *h = edp_stats_header(w);
	edp_stats_write_begin(&h->seq);
	h->events[number % EDP_STATS_EVENTS].spread_measured = spread;
	h->events[number % EDP_STATS_EVENTS].speedup_measured = speedup;
	edp_stats_write_end(&h->seq);
}

/* Whether segment fd was removed (edp_stats_destroy unlinks and empties
 * it as its instance ends): then err says the instance ended. */
static bool ended(int fd, const char *name, struct edp_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_nlink != 0)
		return false;
	edp_error_set(err, EDP_ERR_RUNTIME, "no instance '%s' is running (it ended)", name);
	return true;
}

/* Copy a block consistently (its seqlock even and unchanged around the
 * copy). Returns -1 once `deadline` (CLOCK_MONOTONIC) has passed: one
 * bounded wait for the whole segment, however many blocks stay odd (a
 * writer that died mid-write, or one that never writes them right). */
static int read_block(void *dst, const void *src, size_t size, uint64_t deadline)
{
	const _Atomic uint32_t *seq = src;
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
			if (edp_clock_ns(CLOCK_MONOTONIC) > deadline)
				return -1;
		}
	}
}

/* Text from another process, made safe to print: ends within its field,
 * and what is not printable ASCII shows as '?'. */
static void sanitize(char *s, size_t size)
{
	s[size - 1] = 0;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

static float finite_or(float x, float otherwise)
{
	return isfinite(x) ? x : otherwise;
}

/* a - b, never below 0 */
static void sub(uint64_t *a, uint64_t b) { *a = *a > b ? *a - b : 0; }

/* The counters since the last clear: what the cleared block (a copy of it,
 * laid out as the segment's) holds taken from each. */
static void since_cleared(struct edp_stats_snapshot *s, const uint8_t *block)
{
	const struct edp_stats_cleared *c = (const struct edp_stats_cleared *)block;
	s->clears = c->clears;
	s->cleared_at_ns = c->at_ns;
	if (!c->clears)
		return;
	const struct edp_stats_header *h = &s->header;
	const struct edp_stats_thread *t0 = (const void *)(block + ALIGN64(sizeof(*c)));
	const struct edp_stats_queue *q0 = (const void *)(t0 + h->n_threads);
	const struct edp_stats_port *p0 = (const void *)(q0 + h->n_queues);
	const struct edp_stats_port_tx *x0 = (const void *)(p0 + h->n_ports);
	for (uint32_t i = 0; i < h->n_threads; i++) {
		struct edp_stats_thread *t = &s->threads[i];
		const struct edp_stats_thread *b = &t0[i];
		sub(&t->packets, b->packets);
		sub(&t->bytes, b->bytes);
		sub(&t->forwarded, b->forwarded);
		sub(&t->flow_cache_hits, b->flow_cache_hits);
		sub(&t->flow_cache_misses, b->flow_cache_misses);
		sub(&t->flow_cache_evictions, b->flow_cache_evictions);
		sub(&t->slow_path_runs, b->slow_path_runs);
		sub(&t->slow_path_cycles, b->slow_path_cycles);
		sub(&t->busy_cycles, b->busy_cycles);
		sub(&t->idle_cycles, b->idle_cycles);
		sub(&t->batches, b->batches);
		for (int r = 0; r < EDP_DROP_REASONS; r++)
			sub(&t->drops[r], b->drops[r]);
		for (int p = 0; p < EDP_MAX_PORTS; p++)
			sub(&t->port_drops[p], b->port_drops[p]);
	}
	for (uint32_t i = 0; i < h->n_queues; i++) {
		sub(&s->queues[i].packets, q0[i].packets);
		sub(&s->queues[i].cycles, q0[i].cycles);
	}
	for (uint32_t i = 0; i < h->n_ports; i++) {
		sub(&s->ports[i].rx_packets, p0[i].rx_packets);
		sub(&s->ports[i].rx_bytes, p0[i].rx_bytes);
		sub(&s->ports[i].kernel_drops, p0[i].kernel_drops);
		sub(&s->ports_tx[i].tx_packets, x0[i].tx_packets);
		sub(&s->ports_tx[i].tx_bytes, x0[i].tx_bytes);
	}
}

int edp_stats_read(const char *name, struct edp_stats_snapshot *snap, struct edp_error *err)
{
	memset(snap, 0, sizeof(*snap));
	char path[4096];
	if (edp_rundir_file(name, ".stats", path, sizeof(path), err))
		return err ? err->status : EDP_ERR_RUNTIME;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, errno == ENOENT ? "no instance '%s' is running (no %s)"
								  : "instance '%s': %s: cannot open", name, path);
	int rc = EDP_ERR_RUNTIME, guard = -1;
	void *base = MAP_FAILED;
	uint8_t *base_copy = NULL; /* the cleared block */
	struct stat st;
	if (ended(fd, name, err)) /* opened as its instance ended */
		goto out;
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
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size < sizeof(struct edp_stats_header)) {
		edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s': %s is not a stats segment", name, path);
		goto out;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s': cannot map %s", name, path);
		goto out;
	}
	guard = edp_shm_guard(base, (size_t)st.st_size);
	const struct edp_stats_header *h = base;
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) == 0) {
		edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s' is starting; try again", name);
		goto out;
	}
	/* the header's first part never changes: read once, and only this copy
	 * is believed (the counts size the arrays below) */
	struct edp_stats_header *c = &snap->header;
	memcpy(c, h, offsetof(struct edp_stats_header, seq));
	if (c->magic != EDP_STATS_MAGIC || c->version != EDP_STATS_VERSION || c->size != (uint64_t)st.st_size ||
	    c->n_threads > 4096 || c->n_queues > 65536 || c->n_ports > EDP_MAX_PORTS ||
	    segment_size(c->n_threads, c->n_queues, c->n_ports) != c->size) {
		edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s': %s is not a version %d stats segment", name, path,
			      EDP_STATS_VERSION);
		goto out;
	}
	size_t off[5];
	offsets(c, off);
	size_t t = off[0], q = off[1], p = off[2], x = off[3];
	size_t cleared = cleared_size(c->n_threads, c->n_queues, c->n_ports);
	base_copy = malloc(cleared);
	snap->threads = calloc(c->n_threads + 1, sizeof(*snap->threads));
	snap->queues = calloc(c->n_queues + 1, sizeof(*snap->queues));
	snap->ports = calloc(c->n_ports + 1, sizeof(*snap->ports));
	snap->ports_tx = calloc(c->n_ports + 1, sizeof(*snap->ports_tx));
	if (!snap->threads || !snap->queues || !snap->ports || !snap->ports_tx || !base_copy) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		goto out;
	}
	uint64_t deadline = edp_clock_ns(CLOCK_MONOTONIC) + atomic_load(&read_give_up_ns);
	int bad = read_block(&c->seq, &h->seq, offsetof(struct edp_stats_header, control) -
							offsetof(struct edp_stats_header, seq), deadline);
	bad |= read_block(&c->control, &h->control, sizeof(h->control), deadline);
	for (uint32_t i = 0; i < c->n_threads && !bad; i++)
		bad |= read_block(&snap->threads[i], (const uint8_t *)base + t + i * sizeof(*snap->threads),
				  sizeof(*snap->threads), deadline);
	for (uint32_t i = 0; i < c->n_queues && !bad; i++)
		bad |= read_block(&snap->queues[i], (const uint8_t *)base + q + i * sizeof(*snap->queues),
				  sizeof(*snap->queues), deadline);
	for (uint32_t i = 0; i < c->n_ports && !bad; i++) {
		bad |= read_block(&snap->ports[i], (const uint8_t *)base + p + i * sizeof(*snap->ports),
				  sizeof(*snap->ports), deadline);
		bad |= read_block(&snap->ports_tx[i], (const uint8_t *)base + x + i * sizeof(*snap->ports_tx),
				  sizeof(*snap->ports_tx), deadline);
	}
	if (!bad)
		bad |= read_block(base_copy, (const uint8_t *)base + off[4], cleared, deadline);
	if (edp_shm_lost(guard)) {
		if (!ended(fd, name, err)) /* emptied as its instance ended, or cut by someone else */
			edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s': %s shrank while it was read", name, path);
		goto out;
	}
	if (bad) {
		edp_error_set(err, EDP_ERR_RUNTIME, "instance '%s': a block stayed mid-update", name);
		goto out;
	}
	sanitize(c->name, sizeof(c->name));
	sanitize(c->control.config, sizeof(c->control.config));
	for (uint32_t i = 0; i < c->n_ports; i++)
		sanitize(snap->ports[i].name, sizeof(snap->ports[i].name));
	for (uint32_t i = 0; i < EDP_STATS_EVENTS; i++) {
		sanitize(c->events[i].what, sizeof(c->events[i].what));
		c->events[i].spread_before = finite_or(c->events[i].spread_before, 0);
		c->events[i].spread_after = finite_or(c->events[i].spread_after, 0);
		c->events[i].spread_measured = finite_or(c->events[i].spread_measured, -1);
		c->events[i].speedup = finite_or(c->events[i].speedup, 1);
		c->events[i].speedup_measured = finite_or(c->events[i].speedup_measured, -1);
	}
	c->cycles_per_s = cycles_per_s(c);
	since_cleared(snap, base_copy);
	rc = 0;
out:
	free(base_copy);
	edp_shm_unguard(guard);
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

int edp_stats_list(char (*names)[EDP_NAME_MAX + 1], int max, struct edp_error *err)
{
	char dir[4000];
	if (edp_rundir_path(dir, sizeof(dir), err))
		return -1;
	DIR *d = opendir(dir);
	if (!d)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot list: %s", dir, strerror(errno)), -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		size_t len = strlen(e->d_name);
		if (len <= 6 || strcmp(e->d_name + len - 6, ".stats") != 0 || len - 6 > EDP_NAME_MAX)
			continue;
		char name[EDP_NAME_MAX + 1];
		memcpy(name, e->d_name, len - 6);
		name[len - 6] = 0;
		char path[sizeof(dir) + sizeof(e->d_name) + 1];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		int fd = edp_rundir_name_valid(name) ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) : -1;
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

int edp_stats_only(char (*names)[EDP_NAME_MAX + 1], int max, struct edp_error *err)
{
	int n = edp_stats_list(names, max, err);
	if (n == 0)
		edp_error_set(err, EDP_ERR_RUNTIME, "no edp-run instance is running");
	if (n > 1) {
		char list[400] = "";
		for (int i = 0, l = 0; i < n && l < (int)sizeof(list); i++)
			l += snprintf(list + l, sizeof(list) - (size_t)l, "%s%s", i ? ", " : "", names[i]);
		edp_error_set(err, EDP_ERR_USAGE, "%d instances are running (%s): name one", n, list);
	}
	return n;
}

const char *edp_stats_state_name(uint32_t state)
{
	static const char *const names[] = { "running", "suspended", "incoming", "migrating" };
	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

void edp_stats_set_state(struct edp_stats_writer *w, uint32_t state)
{
	if (!w)
		return;
	/* outside the block's sequence: the main thread sets it too (a stun
	 * that ends by itself), and a word does not tear */
	__atomic_store_n(&edp_stats_control(w)->state, state, __ATOMIC_RELEASE);
}
