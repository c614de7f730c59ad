#include "edp_topo.h"

#include <errno.h>
#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>


int edp_topo_discover(struct edp_topo *t, struct edp_error *err)
{
	memset(t, 0, sizeof(*t));
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, "cannot read the CPU affinity: %s", strerror(errno));
	t->numa = numa_available() >= 0;
	t->n_nodes = t->numa ? (uint32_t)numa_max_node() + 1 : 1;
	for (int c = 0; c < CPU_SETSIZE && t->n_cpus < EDP_TOPO_MAX_CPUS; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		int node = t->numa ? numa_node_of_cpu(c) : 0;
		t->cpu[t->n_cpus] = c;
		t->node[t->n_cpus] = node < 0 ? 0 : node;
		t->n_cpus++;
	}
	if (!t->n_cpus)
		return edp_error_set(err, EDP_ERR_RUNTIME, "no CPU to run on");
	return 0;
}

int32_t edp_topo_node_of(const struct edp_topo *t, int32_t cpu)
{
	for (uint32_t i = 0; i < t->n_cpus; i++)
		if (t->cpu[i] == cpu)
			return t->node[i];
	return -1;
}

int edp_topo_pin(int32_t cpu, struct edp_error *err)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	return rc ? edp_error_set(err, EDP_ERR_RUNTIME, "cannot pin a thread to cpu %d: %s", cpu, strerror(rc)) : 0;
}

int32_t edp_topo_current_node(void)
{
	unsigned cpu = 0, node = 0;
	return getcpu(&cpu, &node) == 0 ? (int32_t)node : 0;
}

#define HUGE_PAGE (2u << 20)

/* What a table of size takes: whole huge pages from an eighth of one on
 * (the flow cache's buckets: 512 KiB by default). */
static size_t alloc_size(size_t size)
{
	if (size < HUGE_PAGE / 8)
		return size ? size : 1;
	return (size + HUGE_PAGE - 1) & ~((size_t)HUGE_PAGE - 1);
}

void edp_topo_place(const struct edp_topo *t, void *p, size_t size, int32_t node)
{
	if (!t->numa || !p || !size || node < 0)
		return;
	numa_tonode_memory(p, alloc_size(size), node); /* page-aligned: its own mapping */
}

void *edp_topo_alloc_on(size_t size, int32_t node)
{
	size_t len = alloc_size(size);
	bool huge = len % HUGE_PAGE == 0;
	/* a huge page more, trimmed, so that the table starts on one */
	uint8_t *m = mmap(NULL, len + (huge ? HUGE_PAGE : 0), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uint8_t *p = m;
	if (huge) {
		p = (uint8_t *)(((uintptr_t)m + HUGE_PAGE - 1) & ~((uintptr_t)HUGE_PAGE - 1));
		if (p > m)
			munmap(m, (size_t)(p - m));
		munmap(p + len, (size_t)(m + HUGE_PAGE - p));
		madvise(p, len, MADV_HUGEPAGE); /* a hint: 4 KiB pages still work */
	}
	if (node >= 0 && numa_available() >= 0) /* untouched yet: every page faults in on node */
		numa_tonode_memory(p, len, node);
	return p;
}

void *edp_topo_alloc(size_t size) { return edp_topo_alloc_on(size, -1); }

void edp_topo_free(void *p, size_t size)
{
	if (p)
		munmap(p, alloc_size(size));
}

/* libnuma reports failures by printing through these two (weak) hooks;
 * libcore never prints, and placement is best effort. */
void numa_error(char *where)
{
	(void)where;
}

void numa_warn(int number, char *where, ...)
{
	(void)number;
	(void)where;
}

void edp_topo_cpu_list(const struct edp_topo *t, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = 0;
	for (uint32_t i = 0; i < t->n_cpus && len + 1 < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%d", i ? ", " : "", t->cpu[i]);
}
