/* edp_afpacket: a network interface's receive ring of our own, an
 * AF_PACKET socket with a TPACKET_V2 ring mapped into this process.
 *
 * Owns: the socket, the ring's mapping, the read position (the next
 * frame to look at) and the kernel's drop count (which the kernel resets
 * on every read of it, so it is summed here).
 *
 * Invariants: a frame is the kernel's again (released) before the next one
 * is looked at, so every frame before the read position has been handed
 * back; a ring handed to another process (edp-migrate) goes on there at
 * the read position, with no frame taken twice or passed over, and the
 * frames the kernel queued meanwhile still in it.
 *
 * Why not libpcap's ring: it cannot be handed to another process, and its
 * size cannot be said. Why TPACKET_V2, not V3: a V3 block reaches the
 * reader only when it is full or its timeout (a millisecond at least)
 * passes, which at a low rate holds every frame back that long; a V2
 * frame wakes the reader as it lands.
 *
 * The socket takes incoming frames only (not the ones sent on the
 * interface), in promiscuous mode (a datapath forwards frames addressed to
 * others), and puts a VLAN tag the driver stripped back into the frame.
 *
 * Thread-safety: one thread per ring.
 */
#ifndef EDP_AFPACKET_H
#define EDP_AFPACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edp_error.h"

#define EDP_AFPACKET_RING_BYTES (64u << 20) /* a burst while the reader is off its CPU */

struct edp_afpacket;

/* One frame in the ring, valid until the next edp_afpacket_next. */
struct edp_afpacket_frame {
	const uint8_t *data;
	uint32_t caplen, wire_len;
	uint64_t ts_ns; /* CLOCK_REALTIME */
};

/* Whether iface is an interface this engine reads (Ethernet or loopback);
 * others (tun, "any") are libpcap's. */
bool edp_afpacket_fits(const char *iface);

/* A ring on iface whose frames hold `snaplen` bytes (longer frames are
 * cut). Errors name the interface: no such interface, down, permission. */
struct edp_afpacket *edp_afpacket_open(const char *iface, uint32_t snaplen, struct edp_error *err);

/* The next frame (the one before it released): 1, or 0 when the ring has
 * none now. */
int edp_afpacket_next(struct edp_afpacket *a, struct edp_afpacket_frame *f);

/* The socket, to poll for frames. */
int edp_afpacket_fd(const struct edp_afpacket *a);

/* Join PACKET_FANOUT group `group` of the interface, a group that gives
 * every frame to its first member until edp_afpacket_spread. What the
 * socket took before (a socket takes every frame until it joins) is passed
 * over, the last of it a grace period of the receive path later (a frame
 * the kernel handles on another CPU during the join can come through both
 * the socket's own hook and the group's): for the first member, the frames
 * before the group began, which it then reads from; for the others, copies
 * of the first's (the group gives them nothing meanwhile). So none comes
 * twice and none after the group began is lost. Errors name the
 * interface. */
int edp_afpacket_fanout(struct edp_afpacket *a, uint16_t group, struct edp_error *err);
/* Once every member joined a's group: frames go to the members by their
 * flow (a hash of addresses and ports, the same both ways), a flow's
 * always to the same one. */
int edp_afpacket_spread(struct edp_afpacket *a, struct edp_error *err);
/* Frames the kernel dropped for a full ring since this process took it. */
uint64_t edp_afpacket_drops(struct edp_afpacket *a);
/* Frames in the ring waiting to be read. */
uint32_t edp_afpacket_queued(const struct edp_afpacket *a);
/* The ring's frames and bytes. */
void edp_afpacket_ring(const struct edp_afpacket *a, uint32_t *frames, uint64_t *bytes);

/* Hand the ring over between two reads: the frame given last released,
 * the drops counted, *fd a duplicate of the socket and *state (malloc'd,
 * *len bytes) what the next reader needs. a may go on reading if the other
 * process never took it. */
int edp_afpacket_handover(struct edp_afpacket *a, int *fd, uint8_t **state, size_t *len, struct edp_error *err);
/* The other process took the ring: a reads no more and asks the kernel
 * for no drop count (which would take the other's); its close touches
 * nothing the other has. */
void edp_afpacket_detach(struct edp_afpacket *a);

/* A ring that goes on from a hand-over on iface (the socket taken, also
 * on failure). A state that does not fit the socket is refused, naming
 * iface. */
struct edp_afpacket *edp_afpacket_adopt(int fd, const uint8_t *state, size_t len, const char *iface, uint32_t snaplen,
					struct edp_error *err);

void edp_afpacket_close(struct edp_afpacket *a);

#endif
