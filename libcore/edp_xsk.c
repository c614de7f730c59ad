#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "edp_xsk.h"

#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "edp_clock.h"
#include "edp_pages.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#define BATCH 64u /* frames taken from a ring at a time, handed back together */
#define BUSY_WAITS 40

struct queue {
	struct xsk_socket *xsk;
	struct xsk_umem *umem;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp, rx;
	uint8_t *area;
	uint32_t id;
};

struct edp_xsk {
	struct queue q[EDP_XSK_MAX_QUEUES];
	uint32_t n;
	uint32_t turn;                  /* the queue whose batch is being given */
	uint32_t batch_idx, batch_n, batch_pos;
	uint64_t batch_ts;
	uint32_t frame_size, frames;    /* a UMEM's */
	int epfd;                       /* over the sockets when there are several (-1: one) */
	char name[IF_NAMESIZE + 1];
};

/* libxdp and libbpf say what they do on stderr: libcore prints nothing,
 * and an error comes back with its reason from the call that failed */
static int quiet_xdp(enum libxdp_print_level l, const char *f, va_list a) { return (void)l, (void)f, (void)a, 0; }
static int quiet_bpf(enum libbpf_print_level l, const char *f, va_list a) { return (void)l, (void)f, (void)a, 0; }
static void quiet(void)
{
	libxdp_set_print(quiet_xdp);
	libbpf_set_print(quiet_bpf);
}

/* The receive queues the kernel has for iface (its rx-N directories). */
static uint32_t rx_queues(const char *iface)
{
	char path[64];
	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", iface);
	DIR *d = opendir(path);
	uint32_t n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += strncmp(e->d_name, "rx-", 3) == 0;
	if (d)
		closedir(d);
	return n ? n : 1;
}

static const char *why(int e)
{
	switch (e) {
	case EPERM:
	case EACCES:
		return "needs CAP_NET_ADMIN and CAP_BPF";
	case EBUSY:
		return "another XDP program or AF_XDP socket has it";
	case EOPNOTSUPP:
	case EINVAL:
		return "its driver cannot run this XDP program";
	default:
		return "";
	}
}

static int queue_open(struct edp_xsk *x, struct queue *q, uint32_t id, struct edp_error *err)
{
	size_t len = (size_t)x->frames * x->frame_size;
	q->id = id;
	q->area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q->area == MAP_FAILED) {
		q->area = NULL;
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: queue %u: cannot map %zu bytes of frames: %s", x->name, id,
				     len, strerror(errno));
	}
	edp_pages_write_once(q->area, len);
	const struct xsk_umem_config uc = {
		.fill_size = x->frames, .comp_size = BATCH, .frame_size = x->frame_size,
	};
	int rc = xsk_umem__create(&q->umem, q->area, len, &q->fill, &q->comp, &uc);
	if (rc) {
		q->umem = NULL;
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: queue %u: cannot register AF_XDP frames: %s", x->name, id,
				     strerror(-rc));
	}
	/* every frame the kernel's to fill before the socket takes any */
	uint32_t at = 0;
	xsk_ring_prod__reserve(&q->fill, x->frames, &at); /* an empty ring of that size */
	for (uint32_t i = 0; i < x->frames; i++)
		*xsk_ring_prod__fill_addr(&q->fill, at + i) = (uint64_t)i * x->frame_size;
	xsk_ring_prod__submit(&q->fill, x->frames);
	const struct xsk_socket_config sc = { .rx_size = x->frames };
	/* the kernel lets go of a closed socket's queue a little later (its
	 * pool goes in a work item): a run started right after another waits
	 * for it, up to BUSY_WAITS times 5 ms */
	for (int i = 0; (rc = xsk_socket__create(&q->xsk, x->name, id, q->umem, &q->rx, NULL, &sc)) == -EBUSY &&
			    i < BUSY_WAITS; i++)
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	if (rc) {
		q->xsk = NULL;
		const char *w = why(-rc);
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: queue %u: no AF_XDP socket: %s%s%s%s", x->name, id,
				     strerror(-rc), *w ? " (" : "", w, *w ? ")" : "");
	}
	return 0;
}

static void queue_close(struct edp_xsk *x, struct queue *q)
{
	if (q->xsk)
		xsk_socket__delete(q->xsk);
	if (q->umem)
		xsk_umem__delete(q->umem);
	if (q->area)
		munmap(q->area, (size_t)x->frames * x->frame_size);
	memset(q, 0, sizeof(*q));
}

/* x's poll descriptor over its n sockets (an epoll when n > 1). */
static int poll_set(struct edp_xsk *x, struct edp_error *err)
{
	if (x->epfd >= 0)
		close(x->epfd);
	x->epfd = -1;
	if (x->n < 2)
		return 0;
	if ((x->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: epoll: %s", x->name, strerror(errno));
	for (uint32_t i = 0; i < x->n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
		if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, xsk_socket__fd(x->q[i].xsk), &ev) < 0)
			return edp_error_set(err, EDP_ERR_RUNTIME, "%s: epoll: %s", x->name, strerror(errno));
	}
	return 0;
}

static struct edp_xsk *xsk_new(const char *iface, uint32_t frame_size, uint32_t frames)
{
	struct edp_xsk *x = calloc(1, sizeof(*x));
	if (x) {
		x->epfd = -1;
		x->frame_size = frame_size;
		x->frames = frames;
		snprintf(x->name, sizeof(x->name), "%s", iface);
	}
	return x;
}

struct edp_xsk *edp_xsk_open(const char *iface, int mtu, struct edp_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, quiet);
	if (strlen(iface) >= IF_NAMESIZE || !if_nametoindex(iface)) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: no such interface", iface);
		return NULL;
	}
	/* a frame lies after XDP's headroom in its UMEM frame, which is a
	 * page at most: an Ethernet header and two VLAN tags over the MTU */
	uint32_t frame = mtu > 0 && mtu + 22 <= 2048 - XDP_PACKET_HEADROOM ? 2048 : 4096;
	if (mtu < 0 || mtu + 22 > 4096 - XDP_PACKET_HEADROOM) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: an MTU of %d: an AF_XDP frame holds %u bytes", iface, mtu,
			      4096 - XDP_PACKET_HEADROOM);
		return NULL;
	}
	uint32_t n = rx_queues(iface), frames = EDP_XSK_MIN_FRAMES;
	if (n > EDP_XSK_MAX_QUEUES) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: %u receive queues: AF_XDP reads at most %u", iface, n,
			      EDP_XSK_MAX_QUEUES);
		return NULL;
	}
	while ((uint64_t)frames * 2 * frame * n <= EDP_XSK_BYTES) /* a power of two: the rings' sizes */
		frames *= 2;
	struct edp_xsk *x = xsk_new(iface, frame, frames);
	if (!x) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", iface);
		return NULL;
	}
	for (; x->n < n; x->n++)
		if (queue_open(x, &x->q[x->n], x->n, err)) {
			x->n++; /* closed with the others */
			edp_xsk_close(x);
			return NULL;
		}
	if (poll_set(x, err)) {
		edp_xsk_close(x);
		return NULL;
	}
	return x;
}

/* The batch given hands its frames back to the kernel (the fill ring has
 * room for every frame of the UMEM, so for these). */
static void batch_return(struct edp_xsk *x)
{
	struct queue *q = &x->q[x->turn];
	uint32_t at = 0;
	xsk_ring_prod__reserve(&q->fill, x->batch_n, &at);
	for (uint32_t i = 0; i < x->batch_n; i++)
		*xsk_ring_prod__fill_addr(&q->fill, at + i) =
			xsk_umem__extract_addr(xsk_ring_cons__rx_desc(&q->rx, x->batch_idx + i)->addr);
	xsk_ring_prod__submit(&q->fill, x->batch_n);
	xsk_ring_cons__release(&q->rx, x->batch_n);
	x->batch_n = x->batch_pos = 0;
}

int edp_xsk_next(struct edp_xsk *x, struct edp_xsk_frame *f)
{
	if (x->batch_pos == x->batch_n) {
		if (x->batch_n)
			batch_return(x);
		uint32_t got = 0, t = x->turn;
		for (uint32_t i = 0; i < x->n && !got; i++) { /* each queue in turn, from the next one */
			t = t + 1 < x->n ? t + 1 : 0;
			got = xsk_ring_cons__peek(&x->q[t].rx, BATCH, &x->batch_idx);
		}
		if (!got)
			return 0;
		x->turn = t;
		x->batch_n = got;
		x->batch_ts = edp_clock_ns(CLOCK_REALTIME);
	}
	struct queue *q = &x->q[x->turn];
	const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, x->batch_idx + x->batch_pos++);
	f->data = xsk_umem__get_data(q->area, d->addr);
	f->len = d->len;
	f->ts_ns = x->batch_ts;
	return 1;
}

int edp_xsk_fd(const struct edp_xsk *x) { return x->epfd >= 0 ? x->epfd : xsk_socket__fd(x->q[0].xsk); }
uint32_t edp_xsk_queues(const struct edp_xsk *x) { return x->n; }

struct edp_xsk *edp_xsk_split(struct edp_xsk *x, uint32_t k, uint32_t n, struct edp_error *err)
{
	if (x->batch_n) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: split after a read", x->name);
		return NULL;
	}
	if (k == 0 || k >= n || k >= x->n) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: %u receive queues for %u threads", x->name, x->n, n);
		return NULL;
	}
	struct edp_xsk *part = xsk_new(x->name, x->frame_size, x->frames);
	if (!part) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", x->name);
		return NULL;
	}
	uint32_t kept = 0;
	for (uint32_t i = 0; i < x->n; i++) {
		if (x->q[i].id % n == k)
			part->q[part->n++] = x->q[i];
		else
			x->q[kept++] = x->q[i];
	}
	for (uint32_t i = kept; i < x->n; i++)
		memset(&x->q[i], 0, sizeof(x->q[i]));
	x->n = kept;
	x->turn = 0;
	if (poll_set(x, err) || poll_set(part, err)) {
		edp_xsk_close(part); /* its queues go unread: the run fails */
		return NULL;
	}
	return part;
}

uint64_t edp_xsk_drops(const struct edp_xsk *x)
{
	uint64_t drops = 0;
	for (uint32_t i = 0; i < x->n; i++) {
		struct xdp_statistics st;
		socklen_t len = sizeof(st);
		if (getsockopt(xsk_socket__fd(x->q[i].xsk), SOL_XDP, XDP_STATISTICS, &st, &len) == 0)
			drops += st.rx_dropped + st.rx_ring_full;
	}
	return drops;
}

void edp_xsk_ring(const struct edp_xsk *x, uint32_t *frames, uint64_t *bytes)
{
	*frames = x->n * x->frames;
	*bytes = (uint64_t)x->n * x->frames * x->frame_size;
}

void edp_xsk_close(struct edp_xsk *x)
{
	if (!x)
		return;
	for (uint32_t i = 0; i < x->n; i++)
		queue_close(x, &x->q[i]);
	if (x->epfd >= 0)
		close(x->epfd);
	free(x);
}
