#include "edp_shm.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct guard {
	atomic_bool taken;
	_Atomic uintptr_t base; /* 0: nothing guarded (set last, cleared first) */
	_Atomic size_t len;
	atomic_bool lost;
};

static struct guard guards[EDP_SHM_GUARDS];

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	uintptr_t a = (uintptr_t)si->si_addr;
	for (int i = 0; i < EDP_SHM_GUARDS; i++) {
		uintptr_t b = atomic_load_explicit(&guards[i].base, memory_order_acquire);
		size_t len = atomic_load_explicit(&guards[i].len, memory_order_relaxed);
		if (b && a >= b && a - b < len &&
		    mmap((void *)b, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
			    MAP_FAILED) {
			atomic_store_explicit(&guards[i].lost, true, memory_order_release);
			return; /* the access is made again, on zero pages */
		}
	}
	signal(sig, SIG_DFL); /* not ours: fault again, as without the handler */
}

/* The SIGBUS handler installed (again, if something replaced it). */
static void install_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

int edp_shm_guard(void *base, size_t len)
{
	install_handler(); /* a system call a mapping; a test harness replaces it between tests */
	for (int i = 0; i < EDP_SHM_GUARDS; i++)
		if (!atomic_exchange(&guards[i].taken, true)) {
			atomic_store(&guards[i].len, len);
			atomic_store(&guards[i].lost, false);
			atomic_store_explicit(&guards[i].base, (uintptr_t)base, memory_order_release);
			return i;
		}
	return -1;
}

bool edp_shm_lost(int g)
{
	return g >= 0 && atomic_load_explicit(&guards[g].lost, memory_order_acquire);
}

const atomic_bool *edp_shm_lost_flag(int g)
{
	static const atomic_bool never;
	return g >= 0 ? &guards[g].lost : &never;
}

void edp_shm_unguard(int g)
{
	if (g < 0)
		return;
	atomic_store_explicit(&guards[g].base, 0, memory_order_release);
	atomic_store(&guards[g].taken, false);
}

void edp_shm_close_removed(int fd)
{
	if (ftruncate(fd, 0) < 0) {
		/* nothing to do: the close frees the pages itself */
	}
	close(fd);
}
