/* edp_xsk: an interface's receive queues read through AF_XDP sockets
 * (libxdp), the "xdp:IFACE" input: an XDP program on the interface hands
 * each frame to the socket of the queue it came in on, before the kernel's
 * network stack sees it.
 *
 * Owns: a socket and its UMEM (the frames' memory, this process's) for
 * each receive queue taken, the batch of frames being given, and an epoll
 * descriptor over the sockets when there are several. libxdp loads the
 * program (its default: a frame of a queue without a socket goes on to the
 * stack) and takes it off with the last socket.
 *
 * Invariants: a frame is given once, in the order its queue's ring has
 * it, and its memory is the kernel's again (on the fill ring) only after
 * the next one is asked for; every queue the interface has is read by
 * some socket (the ones an edp_xsk_split took by the other), so no frame
 * goes to the stack unseen; a frame the kernel could not queue (the ring
 * or the fill ring empty, a frame longer than a UMEM frame) is counted in
 * edp_xsk_drops.
 *
 * What AF_XDP does not give: receive stamps (a frame is stamped when its
 * batch is taken from the ring, CLOCK_REALTIME), a VLAN tag the device
 * stripped before XDP (a veth strips none), and a hand-over to another
 * process (the UMEM is this process's memory).
 *
 * Thread-safety: one thread per edp_xsk.
 */
#ifndef EDP_XSK_H
#define EDP_XSK_H

#include <stdbool.h>
#include <stdint.h>

#include "edp_error.h"

/* The UMEMs of an interface: 64 MiB over its queues (as edp_afpacket's
 * ring: a burst while the reader is off its CPU), 2,048 frames a queue at
 * least; a queue's rings hold all its frames. */
#define EDP_XSK_BYTES (64u << 20)
#define EDP_XSK_MIN_FRAMES 2048u
#define EDP_XSK_MAX_QUEUES 64u

struct edp_xsk;

/* One frame, valid until the next edp_xsk_next. */
struct edp_xsk_frame {
	const uint8_t *data;
	uint32_t len;
	uint64_t ts_ns;
};

/* A socket on each receive queue of iface, whose MTU (-1: not known)
 * sets the UMEM frame
 * (2 KiB, or 4 KiB above an MTU of 1,770). NULL with err (naming iface and
 * the queue, with the kernel's or libxdp's reason) when any cannot be had:
 * no such interface, an MTU above 3,818 (a frame is a page at most), no
 * XDP in its driver, another program or socket on it, no CAP_NET_ADMIN
 * and CAP_BPF. */
struct edp_xsk *edp_xsk_open(const char *iface, int mtu, struct edp_error *err);

/* The next frame (the one before it handed back): 1, or 0 when no queue
 * has one now. */
int edp_xsk_next(struct edp_xsk *x, struct edp_xsk_frame *f);

/* A descriptor to poll for frames (the socket, or an epoll over them). */
int edp_xsk_fd(const struct edp_xsk *x);

/* The receive queues x reads. */
uint32_t edp_xsk_queues(const struct edp_xsk *x);

/* Take the queues q with q % n == k (0 < k < n) out of x into an edp_xsk
 * of their own, for another thread (a flow stays on its queue: the
 * device's hash places it). x must have given no frame yet. NULL with err
 * when x has no such queue (fewer queues than n). */
struct edp_xsk *edp_xsk_split(struct edp_xsk *x, uint32_t k, uint32_t n, struct edp_error *err);

/* Frames the kernel dropped on x's sockets (a full ring, no free frame, a
 * frame too long). A system call a socket: not for a hot path. */
uint64_t edp_xsk_drops(const struct edp_xsk *x);
/* The frames and bytes of x's UMEMs. */
void edp_xsk_ring(const struct edp_xsk *x, uint32_t *frames, uint64_t *bytes);

void edp_xsk_close(struct edp_xsk *x);

#endif
