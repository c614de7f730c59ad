/* edp_shm: shared files mapped by more than one process (stats segments,
 * vport rings), and surviving one that another process truncates.
 *
 * Touching a mapped page past the end of a file that shrank raises SIGBUS.
 * A region registered here is guarded: its registration installs the
 * process's SIGBUS handler (a guard without it guards nothing: a binary
 * that forgot to install it died where it should have read a shrink), and
 * a SIGBUS inside a guarded region replaces the whole region with private
 * zero pages and marks it lost, and the access that faulted goes on (it
 * reads zeros, or writes where nobody reads). The region's owner looks at
 * edp_shm_lost where it can stop with an error naming the file. A SIGBUS
 * anywhere else is what it always was.
 *
 * Thread-safety: guards are added and removed by any thread; the handler
 * reads them lock-free. At most EDP_SHM_GUARDS regions at once.
 */
#ifndef EDP_SHM_H
#define EDP_SHM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define EDP_SHM_GUARDS 128

/* Guard [base, base + len), a shared mapping of a file, and install the
 * handler. Returns the guard's index, or -1 when all are in use (the region
 * is then unguarded). */
int edp_shm_guard(void *base, size_t len);
/* True once guard g's file shrank under its mapping (false for -1). */
bool edp_shm_lost(int g);
/* The flag edp_shm_lost reads, for a path that asks it once a record (an
 * acquire load of it is the same answer); -1's is always false. */
const atomic_bool *edp_shm_lost_flag(int g);
/* Stop guarding (before munmap). */
void edp_shm_unguard(int g);

/* Close fd, a shared file this process has unlinked: emptied first.
 * Closing an unlinked file that still has dirty pages waits for the file
 * system when the run directory is on disk (/run on a machine without
 * systemd, a container's overlay: on ext4 1 ms for a stats segment, 14 ms
 * for a full vport ring; emptied first, 4 us and 0.9 ms). A process that
 * still maps it reads the shrink through its guard. */
void edp_shm_close_removed(int fd);

#endif
