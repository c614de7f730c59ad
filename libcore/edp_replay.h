/* edp_replay: replay captures or synthetic traffic into a sink, paced.
 *
 * Sources: pcap/pcapng files or stdin ("-"), one after the other or merged
 * by timestamp; or the synthetic generator (edp_synth). With preload the
 * source is read into memory first, so the disk does not shape the timing
 * (and stdin can be looped). Loops replay the source again; with a capture's
 * own timing each loop continues one mean gap after the last packet, and
 * the timestamps written continue likewise (the first loop keeps the
 * capture's own, so a plain replay to a file is byte-identical to its
 * input; retime stamps each packet with its departure time instead).
 *
 * Sink: a pcap file or stdout ("-"), written through edp_pcapio, flushed
 * before each wait so that a paced pipe sees every packet on time; a
 * network interface (libpcap inject); or the vport of a running edp-run
 * (edp_vport.h), whose full ring is waited out (or, with drop_when_full,
 * the packet is dropped and counted).
 *
 * Every packet read is sent, or the run ends with an error naming why: a
 * replay never loses a packet silently. The run stops at the end of the
 * source (and its loops), at `limit` packets, after `duration_ns`, or when
 * *stop is set; res then holds what was sent.
 */
#ifndef EDP_REPLAY_H
#define EDP_REPLAY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "edp_error.h"
#include "edp_pace.h"
#include "edp_rewrite.h"
#include "edp_synth.h"

#define EDP_REPLAY_MAX_INPUTS 64
#define EDP_REPLAY_MAX_FLOWS (1u << 22) /* distinct flows counted exactly up to this */

struct edp_replay_config {
	const char *inputs[EDP_REPLAY_MAX_INPUTS]; /* files, "-" = stdin */
	uint32_t n_inputs;
	bool merge;                      /* by timestamp, instead of one after the other */
	bool synth;                      /* the generator instead of inputs */
	struct edp_synth_spec synth_spec;
	struct edp_pace_config pace;
	uint64_t loops;                  /* times through the source; 0 = until stopped */
	uint64_t limit;                  /* packets, 0 = no limit */
	uint64_t duration_ns;            /* 0 = no limit */
	bool preload, retime;
	struct edp_rewrite rewrite;
	const char *output;              /* pcap file, "-" = stdout; or */
	const char *iface;               /* a network interface to send on; or */
	const char *vport_instance, *vport_port; /* the vport of a running edp-run */
	bool drop_when_full;             /* a full vport: drop and count, instead of waiting */
	const char *filter;              /* pcap-filter(7) expression the captures are read through; NULL: none */
};

struct edp_replay_result {
	uint64_t packets, bytes;         /* sent; bytes are frame (wire) lengths */
	uint64_t loops;                  /* loops begun */
	uint64_t flows;                  /* distinct flows sent (directional 5-tuple + VLAN) */
	bool flows_capped;               /* more than EDP_REPLAY_MAX_FLOWS */
	uint64_t failed;                 /* packets that could not be sent (the run then ends) */
	uint64_t retried;                /* sends that found the interface's queue or the vport full, then went */
	uint64_t dropped;                /* drop_when_full: packets a full vport did not take */
	uint64_t rewrite_skipped;        /* VLAN pushes that found no room (packet sent as it was) */
	uint64_t filtered;               /* packets the filter expression rejected (never sent) */
	uint64_t framed;                 /* packets given an Ethernet header: their capture's link type is link */
	const char *link;                /* NULL: every capture was Ethernet; "several": more than one other */
	double seconds;                  /* first departure to last */
	uint64_t gap_p50_ns, gap_p99_ns;   /* inter-departure gaps */
	uint64_t late_p50_ns, late_p99_ns; /* departure after due time (paced modes) */
};

/* Check cfg (usage errors: EDP_ERR_USAGE), then replay. Calls progress (if
 * set) about 4 times a second with the running result. Returns 0,
 * EDP_ERR_USAGE or EDP_ERR_RUNTIME (err says what; res says what was sent). */
int edp_replay_run(const struct edp_replay_config *cfg, const volatile sig_atomic_t *stop,
		   void (*progress)(void *ctx, const struct edp_replay_result *now), void *ctx,
		   struct edp_replay_result *res, struct edp_error *err);

#endif
