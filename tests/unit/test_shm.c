/* edp_shm: a guarded mapping survives its file cut under it, in a process
 * that installs no SIGBUS handler of its own (the guard installs its
 * handler itself; cmocka's own, or ASan's, would report the fault as a
 * crash). */
#include <fcntl.h>
#include <sys/mman.h>

#include "unit.h"
#include "edp_shm.h"

/* A file of two pages, mapped and guarded, cut to nothing: the read that
 * faults reads zeros, the guard says the region was lost, the process
 * lives. Without the guard's handler the read is a crash (SIGBUS). */
static void test_guard_installs_its_handler(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof(path), "%s/cut", unit_dir());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	size_t len = 2 * (size_t)sysconf(_SC_PAGESIZE);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	volatile uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	p[len - 1] = 7;
	int g = edp_shm_guard((void *)p, len);
	assert_true(g >= 0);
	assert_false(edp_shm_lost(g));
	assert_int_equal(p[len - 1], 7);
	assert_int_equal(ftruncate(fd, 0), 0); /* another process would: the same pages */
	assert_int_equal(p[len - 1], 0);       /* faulted, caught, read again on zero pages */
	assert_true(edp_shm_lost(g));
	edp_shm_unguard(g);
	munmap((void *)p, len);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guard_installs_its_handler),
	};
	return cmocka_run_group_tests_name("shm", tests, unit_dir_setup, unit_dir_teardown);
}
