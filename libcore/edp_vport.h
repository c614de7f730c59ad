/* edp_vport: virtual ports, named packet rings in shared memory between two
 * processes.
 *
 * The edp-run instance NAME that owns port PORT (`rx: vport`) creates
 * $EDP_RUNDIR/NAME.PORT.vport (owner-only) and consumes it; a producer
 * (edp-replay --to NAME:PORT) attaches to it and sends. The ring is a file:
 * it survives its consumer, so a later instance of the same name attaches to
 * it with everything still queued (nothing is lost across a restart), and a
 * producer may stay attached meanwhile, waiting for room.
 *
 * Layout: a header (magic, version, data size), the producer's cache line
 * (head, packets sent), the consumer's cache line (tail, packets received),
 * then the data: records of a 16-byte header (capture length, wire length,
 * timestamp) and the frame, each rounded up to 16 bytes; a record that
 * would run past the end is preceded by a wrap marker and starts at 0.
 * head and tail are byte counts that only grow. Single producer, single
 * consumer, lock-free: head is stored by the producer only (release, after
 * the record), tail by the consumer only (release, after it copied out).
 *
 * A consumer that found the ring empty sleeps on a doorbell in the header
 * (a futex word and a count of waiters), which the producer rings after a
 * record while someone waits: an idle port costs nothing and a frame wakes
 * it at once.
 *
 * The mapping ends with a page that nothing may touch (a missed bound
 * faults at once).
 *
 * Who is attached: each side holds an open-file-description lock on its own
 * byte of the file (consumer byte 0, producer byte 1) for as long as it is
 * attached; a second consumer or producer is refused, and a killed one
 * releases its lock with its last file descriptor.
 *
 * Thread-safety: one thread per side.
 */
#ifndef EDP_VPORT_H
#define EDP_VPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "edp_error.h"
#include "edp_pcapio.h"

#define EDP_VPORT_DATA_SIZE (16u << 20) /* bytes of records per ring */
#define EDP_VPORT_MAX_FRAME 262144u     /* largest capture length a record takes */

struct edp_vport;

/* Consumer: create (or take over, with its queued packets) the ring of
 * port `port` of instance `instance`. A file that is not a vport ring of
 * this version is replaced (*replaced set, when not NULL). Errors: another
 * consumer is attached, the run directory is unusable. */
struct edp_vport *edp_vport_create(const char *instance, const char *port, bool *replaced, struct edp_error *err);

/* Producer: attach to an existing ring. Errors: no such vport, another
 * producer is attached, not a vport ring. */
struct edp_vport *edp_vport_attach(const char *instance, const char *port, struct edp_error *err);

/* Consumer: hand the ring to another process (edp-migrate) between two
 * peeks: the tail published, *fd a duplicate of the descriptor (whose
 * open file description holds the consumer's lock: the other process
 * holds it with it). */
int edp_vport_handover(struct edp_vport *v, int *fd, struct edp_error *err);

/* Consumer: a ring handed over (fd, taken), the port `port` of instance
 * `instance` (its name stays the source's: its producer goes on unaware),
 * going on at its tail. Errors: not a vport ring of this user and version. */
struct edp_vport *edp_vport_adopt(int fd, const char *instance, const char *port, struct edp_error *err);

/* Consumer: the ring is another process's now: a close only unmaps (it
 * neither publishes a tail nor removes the file). */
void edp_vport_detach(struct edp_vport *v);

/* Detach. The consumer removes the file when nothing is queued and no
 * producer is attached; otherwise it stays for the next consumer. */
void edp_vport_close(struct edp_vport *v);

/* The file's path. */
const char *edp_vport_path(const struct edp_vport *v);

/* Producer: queue one frame. Returns 1 when queued, 0 when the ring has no
 * room now (try again later), -1 with err set for a frame larger than
 * EDP_VPORT_MAX_FRAME or a ring that holds what its layout cannot (a tail
 * the consumer never wrote, a file that shrank): nothing is written out of
 * the ring. */
int edp_vport_send(struct edp_vport *v, const uint8_t *data, uint32_t caplen, uint32_t wire_len, uint64_t ts_ns,
		   struct edp_error *err);

/* Producer: wake the consumer if it sleeps on the ring (edp_vport_wait).
 * A send rings every 32 frames and when it finds the consumer asleep; ring
 * before a pause too (a paced gap, a full ring, the end): a frame whose
 * look at the consumer crossed the consumer's going to sleep waits for the
 * next ring (or the consumer's timeout). */
void edp_vport_ring(struct edp_vport *v);

/* Consumer: the next frame, in place (valid until edp_vport_done). Returns
 * 1, 0 when the ring is empty now, or -1 with err set when the ring holds
 * what its layout cannot (a head or record the producer never wrote, a
 * file that shrank: see edp_shm.h): nothing out of the ring is read. */
int edp_vport_peek(struct edp_vport *v, struct edp_pcap_packet *pkt, struct edp_error *err);
/* Consumer: finished with the frame of the last peek. */
void edp_vport_done(struct edp_vport *v);

/* Consumer, on n empty rings (one thread's, up to EDP_VPORT_WAIT_MAX):
 * sleep until a producer queues a frame (it rings its ring's doorbell, a
 * futex in the shared header; several are waited on with futex_waitv), or
 * *kick (a futex word of the consumer's process, or NULL) moves from
 * kick_seen, or timeout_ns; returns at once when a frame is there already.
 * Without futex_waitv (before Linux 5.16) a kicked wait on one ring lasts
 * 10 ms at most, on several 50 us. For about 2 ms after a ring's last
 * frame it sleeps 50 us instead and is not rung: traffic that paused goes
 * on without a wake-up a frame. */
#define EDP_VPORT_WAIT_MAX 127 /* futex_waitv's limit (128), the kick one of them */
void edp_vport_wait(struct edp_vport *const *v, uint32_t n, const _Atomic uint32_t *kick, uint32_t kick_seen,
		    uint64_t timeout_ns);

/* A watch: a thread that sleeps on the doorbells of empty rings for a
 * consumer that sleeps in poll(2) on sockets at the same time (one wait
 * cannot take a futex and a socket), and makes its eventfd readable once
 * one of them moves past where it was armed. The consumer arms it before
 * each such wait (the same rings at the same positions: nothing to do)
 * and reads the eventfd after; an arm ends the last one's watch. The
 * thread looks at a ring from its arm until the next arm or the stop:
 * stop it before any ring it was armed with is closed. Start returns
 * NULL with err set (no memory, thread or eventfd). */
struct edp_vport_watch;
struct edp_vport_watch *edp_vport_watch_start(struct edp_error *err);
int edp_vport_watch_fd(const struct edp_vport_watch *w);
void edp_vport_watch_arm(struct edp_vport_watch *w, struct edp_vport *const *v, uint32_t n);
void edp_vport_watch_stop(struct edp_vport_watch *w);

/* Packets queued now (sent and not yet received). */
uint64_t edp_vport_queued(const struct edp_vport *v);

/* True when a consumer is attached (the producer's view). */
bool edp_vport_has_consumer(const struct edp_vport *v);

#endif
