/* edp_config: the YAML configuration (edp.yaml(5)) as a validated struct.
 *
 * libyaml parses the file; every value is checked here (names, MACs,
 * prefixes, port ranges, references to ports), and an error carries
 * "file:line:column: message" with EDP_ERR_USAGE. Unknown keys are refused,
 * so a typo never silently changes behaviour. Relative rx/tx paths in a file
 * are taken relative to the directory of the file.
 *
 * The struct owns its strings and arrays; release with edp_config_free.
 */
#ifndef EDP_CONFIG_H
#define EDP_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "edp_action.h"
#include "edp_error.h"
#include "edp_pcapio.h"
#include "edp_firewall.h"
#include "edp_router.h"

#define EDP_PORT_NAME_MAX 32
#define EDP_MAX_THREADS 64
#define EDP_MAX_QUEUES 64
#define EDP_MAX_CPU 1023

/* What a port's rx or tx names: a capture file ("-" = stdin or stdout),
 * the port's virtual port ("vport", rx only: edp_vport.h) or a network
 * interface ("live:IFACE", or "xdp:IFACE": read through AF_XDP). A file
 * called so is given as ./vport. */
#define EDP_VPORT_SPEC "vport"
enum edp_io_kind { EDP_IO_FILE, EDP_IO_VPORT, EDP_IO_LIVE };
enum edp_io_kind edp_port_io_kind(const char *spec);
/* NULL when spec is a valid rx (or tx) value, else why not. */
const char *edp_port_io_check(const char *spec, bool rx);

/* Where a value stands in the config file (line 0: not from a file), for
 * the errors found only once the machine is known: a CPU or a NUMA node it
 * does not have (edp_config_fail_at). */
struct edp_config_at {
	uint32_t line, column;
};

struct edp_port_config {
	char name[EDP_PORT_NAME_MAX + 1];
	char *rx;          /* what to read (edp_io_kind), "-" = stdin, NULL = none */
	char *tx;          /* what to write (a file, live:IFACE or xdp:IFACE), "-" = stdout, NULL = none */
	bool has_mac;
	uint8_t mac[6];
	char device[32];               /* PCI address the port uses ("" = none): the instance must own it */
	int32_t numa_node;             /* node of the port's device; -1 = the reader's */
	int32_t rx_queue_cpus[EDP_MAX_QUEUES]; /* queue i pinned to the worker on this cpu */
	uint32_t n_rx_queue_cpus;
	struct edp_config_at numa_node_at, rx_queue_cpus_at[EDP_MAX_QUEUES];
};

struct edp_config {
	char *path;                     /* NULL for the built-in default */
	uint64_t file_hash;             /* FNV-1a 64 of the file's bytes (edp_yaml), 0 without a file */
	const char *instance;           /* the instance name (its vports are named after it); NULL = "default" */
	struct edp_port_config ports[EDP_MAX_PORTS];
	uint32_t n_ports;
	uint32_t flow_cache_entries;

	uint32_t threads;               /* worker threads; 0 = inline, single-threaded */
	uint32_t rx_queues;             /* receive queues per input port; 0 = threads */
	bool ordered;                   /* keep the global input order on output */
	uint8_t parallel;               /* enum edp_parallel: how threads share a capture file */
	int32_t cpus[EDP_MAX_THREADS];  /* worker i runs on cpus[i % n_cpus]; none = automatic */
	uint32_t n_cpus;
	struct edp_config_at cpus_at[EDP_MAX_THREADS];
	uint32_t loop;                  /* read each input this many times; 0 = forever */
	uint64_t count;                 /* stop after this many packets taken in; 0 = no limit */
	const char *filter;             /* pcap-filter(7) expression every input is read through (not
					 * owned, not from the file: the command line's); NULL = none */

	bool tlb_enabled;               /* the Thread Load Balancer (edp_tlb.h) */
	uint32_t tlb_interval_ms;
	double tlb_threshold, tlb_min_improvement;
	double tlb_min_gain;            /* the hysteresis (edp_tlb_decide): a spread reduction of at least this, */
	uint32_t tlb_sustain;           /* worth it this many intervals in a row; a move measured over */
	uint32_t tlb_verify, tlb_backoff; /* the next tlb_verify, held off tlb_backoff after one that missed */
	double tlb_shift;               /* the share of the packets on other queues that ends a hold */

	bool has_firewall;
	uint8_t firewall_default;       /* enum edp_fw_action */
	struct edp_fw_rule *rules;
	uint32_t n_rules;

	bool has_router;
	struct edp_route *routes;
	uint32_t n_routes;

	bool has_switch;
	uint32_t ageing_s;
	uint32_t mac_table_size;
};

/* datapath.parallel: how the threads of a run on a capture file share it
 * (edp-run(1), THREADS AND ORDER). */
enum edp_parallel {
	EDP_PARALLEL_AUTO,   /* chunks where they fit, else flows */
	EDP_PARALLEL_CHUNKS, /* each worker a run of consecutive records (edp_chunk) */
	EDP_PARALLEL_FLOWS,  /* a reader spreads the packets over the workers by flow (edp_worker) */
	EDP_PARALLEL_MODES
};

/* A mode's word in the config ("auto", "chunks", "flows"). */
const char *edp_parallel_name(uint8_t mode);

/* The built-in default: a two-port wire, ports "in" and "out", no modules,
 * one worker thread. */
void edp_config_default(struct edp_config *cfg);

/* Load and validate `path`. On failure cfg is left empty (safe to free). */
int edp_config_load(struct edp_config *cfg, const char *path, struct edp_error *err);

void edp_config_free(struct edp_config *cfg);

/* Set err (EDP_ERR_USAGE) to the message, after "file:line:column: " when
 * `at` is a place in cfg's file. Returns EDP_ERR_USAGE. */
int edp_config_fail_at(const struct edp_config *cfg, struct edp_config_at at, struct edp_error *err,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Index of the port called name, or -1. */
int edp_config_port_index(const struct edp_config *cfg, const char *name);

/* Parsers shared with the command line; each returns 0 or -1. */
int edp_parse_mac(const char *s, uint8_t mac[6]);

#endif
