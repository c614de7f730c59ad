/* edp_topo: the machine's NUMA topology and thread placement (libnuma).
 *
 * Discovery lists the CPUs this process may run on and the NUMA node of
 * each. Where libnuma reports no NUMA support, everything is one node (0)
 * and memory placement is a no-op; `numa` says which case holds.
 */
#ifndef EDP_TOPO_H
#define EDP_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edp_error.h"

#define EDP_TOPO_MAX_CPUS 1024

struct edp_topo {
	bool numa;        /* libnuma reports NUMA support */
	uint32_t n_nodes;
	uint32_t n_cpus;  /* CPUs this process may run on */
	int32_t cpu[EDP_TOPO_MAX_CPUS];
	int32_t node[EDP_TOPO_MAX_CPUS]; /* node of cpu[i] */
};

int edp_topo_discover(struct edp_topo *t, struct edp_error *err);

/* The node of an allowed CPU, or -1 when the CPU is not allowed. */
int32_t edp_topo_node_of(const struct edp_topo *t, int32_t cpu);

/* Pin the calling thread to one CPU. */
int edp_topo_pin(int32_t cpu, struct edp_error *err);

/* The node the calling thread runs on now (0 without NUMA support). */
int32_t edp_topo_current_node(void);

/* Move the pages of a table of edp_topo_alloc's, p and size as it was
 * asked for, to node (best effort; no-op without NUMA). The whole mapping
 * moves: a policy on a part of it would split it, and a part smaller than
 * a huge page cannot have one. */
void edp_topo_place(const struct edp_topo *t, void *p, size_t size, int32_t node);

/* Ask for the line at p with the intent to write it: PREFETCHW, which
 * takes the line exclusive at once. (__builtin_prefetch(p, 1) is a plain
 * read prefetch on the x86-64 baseline: a line another core last wrote
 * then comes shared and the store waits a second round trip for it.)
 * Every x86-64 CPU decodes PREFETCHW; those without it treat it as a NOP. */
static inline void edp_prefetch_write(const void *p)
{
#if defined(__x86_64__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

/* Zeroed memory for a large table (flow cache, packet buffers), mapped on
 * its own: it needs no clearing, and a page costs only once it is touched.
 * From 256 KiB on it is whole 2 MiB pages, aligned, and asked to be
 * transparent huge pages: on this project's VM the first touch of a 4 KiB
 * page costs 10-15 us (a fault the hypervisor takes part in), and a flow
 * cache of 100,000 flows touched 2,048 of them per thread. NULL when memory
 * is short. Free with edp_topo_free and the same size. */
void *edp_topo_alloc(size_t size);
/* The same, its pages on NUMA node `node` (-1, or no NUMA support: where
 * they are first touched). */
void *edp_topo_alloc_on(size_t size, int32_t node);
void edp_topo_free(void *p, size_t size);

/* "0, 1, 4" for messages. */
void edp_topo_cpu_list(const struct edp_topo *t, char *buf, size_t size);

#endif
