/* edp_output: the datapath's outputs (one writer per distinct tx of the
 * ports) and the account of what reached them.
 *
 * A packet is forwarded when every copy of it reached its output. A write
 * that fails is final for the whole run: from then on nothing is written,
 * and every packet that was to be written and was not (still in the failed
 * writer's buffer, or handed over after the failure) is an output error:
 * counted once as a packet (by its ingress port, for the drop counters) and
 * once per copy on each output port it missed (tx_errors). tx_packets and
 * tx_bytes count the copies that reached the output whole.
 *
 * So that the records a writer held when it failed can be named, each
 * output keeps, beside its writer, what it handed over that the writer may
 * still hold (a writer holds at most EDP_PCAP_MAX_BUFFERED records, and
 * one call of edp_output_emit hands it at most as many more).
 *
 * With a stats segment (edp_output_publish), each port's tx counters are
 * published there after every emit that changed them.
 *
 * Thread-safety: one thread at a time writes (the writer role).
 */
#ifndef EDP_OUTPUT_H
#define EDP_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "edp_config.h"
#include "edp_error.h"
#include "edp_mbuf.h"
#include "edp_pcapio.h"
#include "edp_stats.h"

struct edp_output_port {
	uint64_t packets, bytes; /* copies that reached the output whole */
	uint64_t errors;         /* copies that did not: tx_errors */
};

/* A copy handed to a writer: its packet and length, until it is written. */
struct edp_output_sent {
	uint64_t serial;   /* the packet's number in the run's output order */
	uint32_t wire_len;
	uint8_t in_port, out_port;
};

struct edp_output_lost {
	uint64_t serial;
	uint8_t in_port;
};

struct edp_output {
	struct edp_pcap_writer *sinks[EDP_MAX_PORTS];
	uint32_t n_sinks;
	int8_t port_sink[EDP_MAX_PORTS]; /* index into sinks, -1 = no output */
	struct edp_output_port tx[EDP_MAX_PORTS];
	struct edp_output_sent *sent[EDP_MAX_PORTS]; /* per sink: ring of 2 x EDP_PCAP_MAX_BUFFERED */
	uint64_t taken[EDP_MAX_PORTS];              /* per sink: records its writer took */
	uint64_t settled[EDP_MAX_PORTS];            /* per sink: records known written or lost */
	uint64_t serial;                            /* packets handed to emit so far */
	bool failed;
	struct edp_output_lost *lost;               /* packets not written (a packet may be here twice) */
	uint32_t n_lost, cap_lost;
	uint64_t unwritten[EDP_MAX_PORTS];          /* by ingress port: packets not written, each once (whole
						     * when the writers are closed) */
	struct edp_stats_writer *stats;             /* NULL: not published */
	uint32_t n_ports;
};

/* Which output each port writes to (one for each distinct tx of cfg's
 * ports), with no writer yet: they are set in sinks[] before the first
 * emit (a migration's, handed over by another process). */
int edp_output_plan(struct edp_output *o, const struct edp_config *cfg, struct edp_error *err);

/* Open a writer for each distinct tx of cfg's ports. On failure the
 * writers opened so far stay for edp_output_destroy. */
int edp_output_open(struct edp_output *o, const struct edp_config *cfg, bool nanosecond, uint32_t snaplen,
		    struct edp_error *err);

/* Write each packet to the output of each of its ports (out_ports), in
 * order; in_ports[i * in_step] is packet i's ingress port (in_step 0: all
 * the same); n <= EDP_PCAP_MAX_BUFFERED. Returns 0, or EDP_ERR_RUNTIME
 * when the outputs have failed (err is set by the call that met the
 * failure; later calls only count). */
int edp_output_emit(struct edp_output *o, const struct edp_pcap_record *rec, const uint64_t *out_ports,
		    const uint16_t *in_ports, uint32_t in_step, uint32_t n, struct edp_error *err);

/* The same from the packets' descriptors (any n). */
int edp_output_emit_mbufs(struct edp_output *o, struct edp_mbuf **mbufs, uint32_t n, struct edp_error *err);

/* Records staged for the outputs by a thread that is not writing (the
 * chunk mode, edp_chunk.h): each copy formatted for its sink as the
 * writer would write it, with what the account needs of it, to be written
 * in its turn, whole, by edp_output_commit. A stage belongs to one thread
 * until it is committed; staging reads only the output's plan. */
struct edp_output_block {
	uint8_t *bytes;
	size_t used, cap;
	struct edp_output_sent *sent; /* a copy each; serial: its packet's number in the stage */
	uint32_t n, cap_n;
	uint64_t wire_bytes;          /* of the copies in bytes */
	uint32_t refused;             /* sent[refused]'s time is past what a pcap record holds: neither it nor
				       * a copy after it is in bytes (UINT32_MAX: none is) */
	uint64_t refused_ts;
	bool nanosecond;              /* its writer's precision */
};

struct edp_output_stage {
	struct edp_output_block of[EDP_MAX_PORTS]; /* by sink */
	struct edp_output_port tx[EDP_MAX_PORTS];  /* the copies in bytes, by port */
	uint64_t packets;                           /* packets staged: the serials they take */
};

/* Room in each sink's block for `packets` copies of `bytes` bytes of
 * packets (it grows past that when it must), and its writer's precision
 * (the writers are open). Returns 0, or
 * EDP_ERR_RUNTIME (out of memory) with err set. */
int edp_output_stage_init(const struct edp_output *o, struct edp_output_stage *st, uint32_t packets, size_t bytes,
			  struct edp_error *err);
void edp_output_stage_free(struct edp_output_stage *st);

/* Stage n processed packets, after those staged so far. Returns 0, or
 * EDP_ERR_RUNTIME with err set (out of memory: the copies from the one
 * that found no room on are not staged). */
int edp_output_stage_mbufs(const struct edp_output *o, struct edp_output_stage *st, struct edp_mbuf *const *mbufs,
			   uint32_t n, struct edp_error *err);

/* Write a stage's records, each sink's in one write, as if its packets had
 * been handed to edp_output_emit now, and empty it (the writer role).
 * Returns 0, or EDP_ERR_RUNTIME when the outputs have failed (err set by
 * the call that met the failure). */
int edp_output_commit(struct edp_output *o, struct edp_output_stage *st, struct edp_error *err);

/* Publish the tx counters of the ports to `stats` from now on. */
void edp_output_publish(struct edp_output *o, struct edp_stats_writer *stats);

/* Hand what the writers buffer to their files and pipes now. Returns 0, or
 * EDP_ERR_RUNTIME with err set. */
int edp_output_flush(struct edp_output *o, struct edp_error *err);

/* Flush and close every writer, and count in `unwritten` each packet that
 * was to be written and was not. Returns 0, or EDP_ERR_RUNTIME with err set
 * by the first failure. */
int edp_output_close(struct edp_output *o, struct edp_error *err);

void edp_output_destroy(struct edp_output *o);

#endif
