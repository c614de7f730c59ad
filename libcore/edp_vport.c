#include "edp_vport.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "edp_clock.h"
#include "edp_doorbell.h"
#include "edp_shm.h"
#include "edp_rundir.h"

#define VPORT_MAGIC 0x54524f5056504445ull /* "EDPVPORT" */
#define VPORT_VERSION 1
#define HEADER_SIZE 4096u
#define MAPPED (HEADER_SIZE + EDP_VPORT_DATA_SIZE)
#define GUARD_PAGE 4096u
#define REC_HDR 16u
#define WRAP_MARK 0xffffffffu
#define PUBLISH_EVERY 32 /* the consumer stores its tail at least this often */
#define RING_EVERY 32 /* the producer rings at least this often, and when it waits (edp_vport_ring) */
#define SHORT_WAIT_NS 50000 /* the consumer's waits on a ring that just ran dry ... */
#define SHORT_WAITS 40      /* ... for about 2 ms, before it sleeps until rung */
#define UNKICKED_WAIT_NS 10000000 /* a wait a kick cannot end (no futex_waitv) is no longer */
#define LOCK_CONSUMER 0
#define LOCK_PRODUCER 1

struct shm {
	uint64_t magic;
	uint32_t version, data_size;
	_Alignas(64) _Atomic uint64_t head; /* producer: bytes ever queued */
	_Atomic uint64_t sent;              /* producer: packets ever queued */
	_Alignas(64) _Atomic uint64_t tail; /* consumer: bytes ever taken */
	_Atomic uint64_t received;          /* consumer: packets ever taken */
	/* the consumer's doorbell (a shared futex word, bumped by a wake-up,
	 * and its waiters), rung by the producer after a record; zero in a
	 * ring made before it existed, whose producer never rings: the
	 * consumer's wait is bounded */
	_Alignas(64) _Atomic uint32_t bell;
	_Atomic uint32_t waiters;
};
_Static_assert(sizeof(struct shm) <= HEADER_SIZE, "vport header fits its page");

struct rec {
	uint32_t caplen, wire_len; /* caplen WRAP_MARK: go on at offset 0 */
	uint64_t ts_ns;
};
_Static_assert(sizeof(struct rec) == REC_HDR, "vport record header");

struct edp_vport {
	int fd;
	bool consumer;
	struct shm *shm;
	uint8_t *data;
	uint64_t mask;
	uint64_t pos;          /* our index: head (producer) or tail (consumer) */
	uint64_t other;        /* cached copy of the other side's index */
	uint64_t count;        /* packets: sent (producer) or received (consumer) */
	uint32_t unpublished;  /* consumer: records taken since the last tail store */
	uint32_t last;         /* consumer: length of the record of the last peek */
	uint32_t idle_waits;   /* consumer: waits since the last frame */
	uint32_t unrung;       /* producer: frames queued since it last rang */
	int guard;             /* edp_shm: the file shrinking under us */
	bool handed;           /* consumer: another process consumes now (edp_vport_detach) */
	char path[4096];
};

static uint32_t rec_len(uint32_t caplen)
{
	return REC_HDR + ((caplen + 15u) & ~15u);
}

static int vport_path(const char *instance, const char *port, char *path, size_t size, struct edp_error *err)
{
	if (!edp_rundir_name_valid(instance))
		return edp_error_set(err, EDP_ERR_USAGE, "instance name '%s' must be 1 to 32 of a-z 0-9 _ -", instance);
	if (!edp_rundir_name_valid(port))
		return edp_error_set(err, EDP_ERR_USAGE, "port name '%s' must be 1 to 32 of a-z 0-9 _ -", port);
	char dir[4000];
	if (edp_rundir_path(dir, sizeof(dir), err))
		return EDP_ERR_RUNTIME;
	snprintf(path, size, "%s/%s.%s.vport", dir, instance, port);
	return 0;
}

/* An open-file-description lock on byte `which`: 0, or -1 when held elsewhere. */
static int lock_byte(int fd, int which)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = which, .l_len = 1 };
	return fcntl(fd, F_OFD_SETLK, &fl);
}

static bool byte_locked(int fd, int which)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = which, .l_len = 1 };
	return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

/* Indexes as a ring of this layout can have them: head ahead of tail by
 * at most the data, both on a record boundary (16 bytes). */
static bool indexes_ok(uint64_t head, uint64_t tail)
{
	return head >= tail && head - tail <= EDP_VPORT_DATA_SIZE && ((head | tail) & (REC_HDR - 1)) == 0;
}

static bool valid(const struct shm *s)
{
	return s->magic == VPORT_MAGIC && s->version == VPORT_VERSION && s->data_size == EDP_VPORT_DATA_SIZE &&
	       indexes_ok(atomic_load(&s->head), atomic_load(&s->tail)) &&
	       atomic_load(&s->sent) >= atomic_load(&s->received);
}

/* The other side wrote what this layout cannot hold, or the file shrank:
 * an error naming the file, never a read or write out of the ring. */
static int broken(struct edp_vport *v, const char *what, struct edp_error *err)
{
	if (edp_shm_lost(v->guard))
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: the vport file shrank while in use", v->path), -1;
	return edp_error_set(err, EDP_ERR_RUNTIME, "%s: corrupt vport ring: %s (head %llu, tail %llu)", v->path, what,
			     (unsigned long long)(v->consumer ? v->other : v->pos),
			     (unsigned long long)(v->consumer ? v->pos : v->other)), -1;
}

/* A ring is a regular file of this user (a FIFO or a device planted
 * under its name is not). */
static bool our_file(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == getuid();
}

static struct edp_vport *map(int fd, bool consumer, const char *path, struct edp_error *err)
{
	struct edp_vport *v = calloc(1, sizeof(*v));
	/* the ring, then a page nothing may touch: a bound missed faults at
	 * once instead of reading or writing whatever is mapped next */
	void *area = mmap(NULL, MAPPED + GUARD_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *base = area == MAP_FAILED ? MAP_FAILED
					: mmap(area, MAPPED, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (!v || base == MAP_FAILED) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot map: %s", path, v ? strerror(errno) : "out of memory");
		if (area != MAP_FAILED)
			munmap(area, MAPPED + GUARD_PAGE);
		free(v);
		close(fd);
		return NULL;
	}
	v->fd = fd;
	v->consumer = consumer;
	v->shm = base;
	v->guard = edp_shm_guard(base, MAPPED);
	v->data = (uint8_t *)base + HEADER_SIZE;
	v->mask = EDP_VPORT_DATA_SIZE - 1;
	snprintf(v->path, sizeof(v->path), "%s", path);
	return v;
}

struct edp_vport *edp_vport_create(const char *instance, const char *port, bool *replaced, struct edp_error *err)
{
	char path[4096];
	if (replaced)
		*replaced = false;
	if (vport_path(instance, port, path, sizeof(path), err))
		return NULL;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0 || !our_file(fd)) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot create: %s", path,
			      fd < 0 ? (errno == ELOOP ? "a symbolic link is there" : strerror(errno))
				     : "not a regular file of this user");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (lock_byte(fd, LOCK_CONSUMER) < 0) {
		close(fd);
		edp_error_set(err, EDP_ERR_RUNTIME, "vport %s:%s is in use by another edp-run (%s)", instance, port, path);
		return NULL;
	}
	struct stat st;
	size_t total = MAPPED;
	if (fstat(fd, &st) < 0)
		st.st_size = 0;
	bool fresh = (size_t)st.st_size != total;
	if (fresh && (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)total) < 0)) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot size the ring: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	fchmod(fd, 0600);
	struct edp_vport *v = map(fd, true, path, err);
	if (!v)
		return NULL;
	struct shm *s = v->shm;
	if (fresh || !valid(s)) {
		if (replaced)
			*replaced = st.st_size != 0; /* something else was there */
		memset(s, 0, sizeof(*s));
		s->version = VPORT_VERSION;
		s->data_size = EDP_VPORT_DATA_SIZE;
		__atomic_store_n(&s->magic, VPORT_MAGIC, __ATOMIC_RELEASE);
	}
	v->pos = atomic_load_explicit(&s->tail, memory_order_relaxed);
	v->count = atomic_load_explicit(&s->received, memory_order_relaxed);
	v->other = atomic_load_explicit(&s->head, memory_order_acquire);
	return v;
}

struct edp_vport *edp_vport_attach(const char *instance, const char *port, struct edp_error *err)
{
	char path[4096];
	if (vport_path(instance, port, path, sizeof(path), err))
		return NULL;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd >= 0 && !our_file(fd)) {
		close(fd);
		fd = -1;
		errno = EPERM;
	}
	if (fd < 0) {
		if (errno == ENOENT)
			edp_error_set(err, EDP_ERR_RUNTIME,
				      "no vport %s:%s (no %s): start edp-run --name %s with port %s on rx: vport", instance,
				      port, path, instance, port);
		else
			edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot open: %s", path,
				      errno == ELOOP ? "a symbolic link is there"
				      : errno == EPERM ? "not a regular file of this user" : strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size != MAPPED) {
		close(fd);
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: not a vport ring", path);
		return NULL;
	}
	if (lock_byte(fd, LOCK_PRODUCER) < 0) {
		close(fd);
		edp_error_set(err, EDP_ERR_RUNTIME, "vport %s:%s already has a producer", instance, port);
		return NULL;
	}
	struct edp_vport *v = map(fd, false, path, err);
	if (!v)
		return NULL;
	if (__atomic_load_n(&v->shm->magic, __ATOMIC_ACQUIRE) != VPORT_MAGIC || !valid(v->shm)) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: not a version %d vport ring", path, VPORT_VERSION);
		edp_vport_close(v);
		return NULL;
	}
	v->pos = atomic_load_explicit(&v->shm->head, memory_order_relaxed);
	v->count = atomic_load_explicit(&v->shm->sent, memory_order_relaxed);
	v->other = atomic_load_explicit(&v->shm->tail, memory_order_acquire);
	return v;
}

const char *edp_vport_path(const struct edp_vport *v)
{
	return v->path;
}

static void publish_tail(struct edp_vport *v)
{
	atomic_store_explicit(&v->shm->received, v->count, memory_order_relaxed);
	atomic_store_explicit(&v->shm->tail, v->pos, memory_order_release);
	v->unpublished = 0;
}

int edp_vport_send(struct edp_vport *v, const uint8_t *data, uint32_t caplen, uint32_t wire_len, uint64_t ts_ns,
		   struct edp_error *err)
{
	if (caplen > EDP_VPORT_MAX_FRAME)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: a %u-byte frame is larger than a vport takes (%u)",
				     v->path, caplen, EDP_VPORT_MAX_FRAME),
		       -1;
	uint64_t off = v->pos & v->mask;
	uint64_t need = rec_len(caplen), skip = off + need > EDP_VPORT_DATA_SIZE ? EDP_VPORT_DATA_SIZE - off : 0;
	if (EDP_VPORT_DATA_SIZE - (v->pos - v->other) < skip + need) {
		v->other = atomic_load_explicit(&v->shm->tail, memory_order_acquire);
		if (!indexes_ok(v->pos, v->other) || edp_shm_lost(v->guard))
			return broken(v, "the consumer's tail is not one this ring can have", err);
		if (EDP_VPORT_DATA_SIZE - (v->pos - v->other) < skip + need)
			return 0;
	}
	if (skip) {
		((struct rec *)(v->data + off))->caplen = WRAP_MARK;
		v->pos += skip;
		off = 0;
	}
	struct rec *r = (struct rec *)(v->data + off);
	r->caplen = caplen;
	r->wire_len = wire_len;
	r->ts_ns = ts_ns;
	memcpy(r + 1, data, caplen);
	v->pos += need;
	v->count++;
	atomic_store_explicit(&v->shm->sent, v->count, memory_order_relaxed);
	atomic_store_explicit(&v->shm->head, v->pos, memory_order_release);
	/* a consumer asleep (it announced itself: a line that moves only when
	 * it sleeps or wakes) is rung for the first frame; one looking soon
	 * (edp_vport_wait) takes them as they come */
	if (++v->unrung == RING_EVERY || atomic_load_explicit(&v->shm->waiters, memory_order_relaxed))
		edp_vport_ring(v);
	return 1;
}

void edp_vport_ring(struct edp_vport *v)
{
	v->unrung = 0;
	edp_doorbell_fence(); /* the head before the look at the waiters (edp_vport_wait) */
	if (atomic_load_explicit(&v->shm->waiters, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&v->shm->bell, 1, memory_order_release);
		syscall(SYS_futex, &v->shm->bell, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	}
}

/* Count a waiter on s's doorbell and read the bell into *w, then the
 * head (ordered against the producer's ring, edp_vport_ring): true when
 * the head is still at pos. */
static bool announce(struct shm *s, uint64_t pos, struct futex_waitv *w)
{
	atomic_fetch_add_explicit(&s->waiters, 1, memory_order_seq_cst);
	edp_doorbell_fence(); /* the announcement before the look at the head */
	*w = (struct futex_waitv){ .val = atomic_load_explicit(&s->bell, memory_order_acquire),
				   .uaddr = (uintptr_t)&s->bell, .flags = FUTEX_32 }; /* shared: not private */
	return atomic_load_explicit(&s->head, memory_order_acquire) == pos;
}

void edp_vport_wait(struct edp_vport *const *v, uint32_t n, const _Atomic uint32_t *kick, uint32_t kick_seen,
		    uint64_t timeout_ns)
{
	/* a ring that ran dry a moment ago is looked at again soon: a producer
	 * that found the consumer asleep after each frame would make a system
	 * call a frame (10.8 -> 3.1-4.8 Mpps) */
	bool soon = false;
	for (uint32_t i = 0; i < n; i++)
		if (v[i]->idle_waits < SHORT_WAITS)
			v[i]->idle_waits++, soon = true;
	if (soon) {
		nanosleep(&(struct timespec){ 0, SHORT_WAIT_NS }, NULL);
		return;
	}
	struct futex_waitv w[EDP_VPORT_WAIT_MAX + 1];
	bool empty = true;
	n = n < EDP_VPORT_WAIT_MAX ? n : EDP_VPORT_WAIT_MAX;
	for (uint32_t i = 0; i < n; i++)
		empty &= announce(v[i]->shm, v[i]->pos, &w[i]);
	uint32_t n_w = n;
	if (kick) /* the consumer's own word: private */
		w[n_w++] = (struct futex_waitv){ .val = kick_seen, .uaddr = (uintptr_t)kick,
						 .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG };
	if (empty && n_w == 1) { /* at once if rung since the ticket */
		struct timespec ts = { (time_t)(timeout_ns / 1000000000ull), (long)(timeout_ns % 1000000000ull) };
		syscall(SYS_futex, &v[0]->shm->bell, FUTEX_WAIT, (uint32_t)w[0].val, &ts, NULL, 0);
	} else if (empty) { /* whichever is rung (or kicked) first: Linux 5.16 on */
		uint64_t at = edp_clock_ns(CLOCK_MONOTONIC) + timeout_ns;
		struct timespec until = { (time_t)(at / 1000000000ull), (long)(at % 1000000000ull) };
		if (syscall(SYS_futex_waitv, w, n_w, 0, &until, CLOCK_MONOTONIC) < 0 && errno == ENOSYS) {
			/* one ring: its doorbell alone, for as long as the kick
			 * may wait; several: a short sleep */
			uint64_t ns = timeout_ns < UNKICKED_WAIT_NS ? timeout_ns : UNKICKED_WAIT_NS;
			struct timespec ts = { 0, n == 1 ? (long)ns : SHORT_WAIT_NS };
			if (n == 1)
				syscall(SYS_futex, &v[0]->shm->bell, FUTEX_WAIT, (uint32_t)w[0].val, &ts, NULL, 0);
			else
				nanosleep(&ts, NULL);
		}
	}
	for (uint32_t i = 0; i < n; i++)
		atomic_fetch_sub_explicit(&v[i]->shm->waiters, 1, memory_order_relaxed);
}

struct edp_vport_watch {
	pthread_t thread;
	int fd;                  /* the eventfd it makes readable */
	pthread_mutex_t lock;    /* the rings and flags below */
	_Atomic uint32_t gen;    /* bumped by every change below: the thread's futex */
	bool told, stop;         /* the eventfd written for this generation; end the thread */
	uint32_t n;              /* rings watched (0: none) */
	struct shm *shm[EDP_VPORT_WAIT_MAX];
	uint64_t pos[EDP_VPORT_WAIT_MAX]; /* the consumer's position in each (empty there when armed) */
};

static void *watch_main(void *arg)
{
	struct edp_vport_watch *w = arg;
	struct shm *shm[EDP_VPORT_WAIT_MAX];
	uint64_t pos[EDP_VPORT_WAIT_MAX];
	struct futex_waitv fw[EDP_VPORT_WAIT_MAX + 1];
	for (;;) {
		pthread_mutex_lock(&w->lock);
		uint32_t gen = atomic_load_explicit(&w->gen, memory_order_relaxed), n = w->told ? 0 : w->n;
		bool stop = w->stop;
		memcpy(shm, w->shm, n * sizeof(shm[0]));
		memcpy(pos, w->pos, n * sizeof(pos[0]));
		pthread_mutex_unlock(&w->lock);
		if (stop)
			return NULL;
		/* until a ring moves past where it was armed, or the next generation */
		bool empty = true;
		for (uint32_t i = 0; i < n; i++)
			empty &= announce(shm[i], pos[i], &fw[i]);
		fw[n] = (struct futex_waitv){ .val = gen, .uaddr = (uintptr_t)&w->gen, .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG };
		if (empty && syscall(SYS_futex_waitv, fw, n + 1, 0, NULL, CLOCK_MONOTONIC) < 0 && errno != EAGAIN &&
		    errno != EINTR) /* no futex_waitv (before Linux 5.16): looked at every millisecond */
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		bool moved = false;
		for (uint32_t i = 0; i < n; i++) {
			atomic_fetch_sub_explicit(&shm[i]->waiters, 1, memory_order_relaxed);
			moved |= atomic_load_explicit(&shm[i]->head, memory_order_acquire) != pos[i];
		}
		if (!moved)
			continue;
		pthread_mutex_lock(&w->lock);
		w->told |= atomic_load_explicit(&w->gen, memory_order_relaxed) == gen;
		pthread_mutex_unlock(&w->lock);
		uint64_t one = 1;
		if (write(w->fd, &one, sizeof(one)) < 0)
			continue; /* the count is full: readable all the same */
	}
}

struct edp_vport_watch *edp_vport_watch_start(struct edp_error *err)
{
	struct edp_vport_watch *w = calloc(1, sizeof(*w));
	if (!w) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	/* signals are the consumer's (they end its poll): the thread blocks
	 * all but the faults (a blocked SIGBUS would kill, not reach edp_shm) */
	sigset_t block, old;
	sigfillset(&block);
	sigdelset(&block, SIGBUS);
	sigdelset(&block, SIGSEGV);
	sigdelset(&block, SIGFPE);
	sigdelset(&block, SIGILL);
	int rc = 0;
	if ((w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) >= 0) {
		pthread_sigmask(SIG_BLOCK, &block, &old);
		rc = pthread_create(&w->thread, NULL, watch_main, w);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (w->fd < 0 || rc) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: %s", w->fd < 0 ? "eventfd" : "a watch thread",
			      strerror(w->fd < 0 ? errno : rc));
		if (w->fd >= 0)
			close(w->fd);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NULL;
	}
	return w;
}

int edp_vport_watch_fd(const struct edp_vport_watch *w) { return w->fd; }

/* Under w->lock: a new generation, the thread woken to take it. */
static void next_gen(struct edp_vport_watch *w)
{
	atomic_fetch_add_explicit(&w->gen, 1, memory_order_relaxed);
	syscall(SYS_futex, &w->gen, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void edp_vport_watch_arm(struct edp_vport_watch *w, struct edp_vport *const *v, uint32_t n)
{
	n = n < EDP_VPORT_WAIT_MAX ? n : EDP_VPORT_WAIT_MAX;
	pthread_mutex_lock(&w->lock);
	bool same = !w->told && w->n == n;
	for (uint32_t i = 0; i < n && same; i++)
		same = w->shm[i] == v[i]->shm && w->pos[i] == v[i]->pos;
	if (!same) { /* what it watches already, and not told: nothing to do (an idle wait's every time) */
		for (uint32_t i = 0; i < n; i++) {
			w->shm[i] = v[i]->shm;
			w->pos[i] = v[i]->pos;
		}
		w->n = n;
		w->told = false;
		next_gen(w);
	}
	pthread_mutex_unlock(&w->lock);
}

void edp_vport_watch_stop(struct edp_vport_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	next_gen(w);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	close(w->fd);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int edp_vport_peek(struct edp_vport *v, struct edp_pcap_packet *pkt, struct edp_error *err)
{
	for (;;) {
		if (v->pos == v->other) {
			v->other = atomic_load_explicit(&v->shm->head, memory_order_acquire);
			if (!indexes_ok(v->other, v->pos) || edp_shm_lost(v->guard))
				return broken(v, "the producer's head is not one this ring can have", err);
			if (v->pos == v->other) {
				if (v->unpublished)
					publish_tail(v);
				return 0;
			}
		}
		uint64_t off = v->pos & v->mask;
		const struct rec *r = (const struct rec *)(v->data + off);
		uint32_t caplen = __atomic_load_n(&r->caplen, __ATOMIC_RELAXED); /* once: the producer may rewrite it */
		if (caplen == WRAP_MARK) {
			v->pos += EDP_VPORT_DATA_SIZE - off;
			if (v->pos > v->other)
				return broken(v, "a wrap marker past the head", err);
			continue;
		}
		/* a record never runs past the end (the producer wrapped it) nor
		 * past the head */
		if (caplen > EDP_VPORT_MAX_FRAME || off + rec_len(caplen) > EDP_VPORT_DATA_SIZE ||
		    v->pos + rec_len(caplen) > v->other)
			return broken(v, "a record runs past the ring or the head", err);
		pkt->data = (const uint8_t *)(r + 1);
		pkt->caplen = caplen;
		pkt->wire_len = r->wire_len;
		pkt->ts_ns = r->ts_ns;
		v->last = rec_len(caplen);
		v->idle_waits = 0;
		return 1;
	}
}

void edp_vport_done(struct edp_vport *v)
{
	v->pos += v->last;
	v->last = 0;
	v->count++;
	if (++v->unpublished >= PUBLISH_EVERY)
		publish_tail(v);
}

uint64_t edp_vport_queued(const struct edp_vport *v)
{
	uint64_t sent = v->consumer ? atomic_load_explicit(&v->shm->sent, memory_order_acquire) : v->count;
	uint64_t received = v->consumer ? v->count : atomic_load_explicit(&v->shm->received, memory_order_acquire);
	return sent - received;
}

bool edp_vport_has_consumer(const struct edp_vport *v)
{
	return byte_locked(v->fd, LOCK_CONSUMER);
}

int edp_vport_handover(struct edp_vport *v, int *fd, struct edp_error *err)
{
	publish_tail(v);
	if ((*fd = fcntl(v->fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot hand over: %s", v->path, strerror(errno));
	return 0;
}

struct edp_vport *edp_vport_adopt(int fd, const char *instance, const char *port, struct edp_error *err)
{
	char path[4096];
	if (vport_path(instance, port, path, sizeof(path), err)) {
		close(fd);
		return NULL;
	}
	struct stat st;
	if (!our_file(fd) || fstat(fd, &st) < 0 || (size_t)st.st_size != MAPPED) {
		close(fd);
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: the descriptor handed over is not a vport ring of this user", path);
		return NULL;
	}
	struct edp_vport *v = map(fd, true, path, err);
	if (v && !valid(v->shm)) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: the ring handed over is not a vport ring of this version", path);
		edp_vport_detach(v);
		edp_vport_close(v);
		return NULL;
	}
	if (v) {
		v->pos = atomic_load_explicit(&v->shm->tail, memory_order_acquire);
		v->count = atomic_load_explicit(&v->shm->received, memory_order_relaxed);
		v->other = atomic_load_explicit(&v->shm->head, memory_order_acquire);
	}
	return v;
}

void edp_vport_detach(struct edp_vport *v)
{
	if (v)
		v->handed = true;
}

void edp_vport_close(struct edp_vport *v)
{
	if (!v)
		return;
	bool gone = false;
	if (v->consumer && !v->handed) {
		publish_tail(v);
		if (edp_vport_queued(v) == 0 && !byte_locked(v->fd, LOCK_PRODUCER))
			gone = unlink(v->path) == 0;
	}
	edp_shm_unguard(v->guard);
	munmap(v->shm, MAPPED + GUARD_PAGE);
	if (gone)
		edp_shm_close_removed(v->fd);
	else
		close(v->fd);
	free(v);
}
