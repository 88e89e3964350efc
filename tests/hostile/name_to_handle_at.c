/* expect: SY */
/* syscall: name_to_handle_at */
/* A file handle of the box root: half of the "shocker" escape (with
 * open_by_handle_at, a handle is a path that ignores the mount tree).
 * Any uid may take one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	union { struct file_handle h; char b[sizeof(struct file_handle) + MAX_HANDLE_SZ]; } u;
	int mnt = -1;
	u.h.handle_bytes = MAX_HANDLE_SZ;
	long r = syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &u.h, &mnt, 0);
	printf("name_to_handle_at: %ld %s type %d\n", r, r < 0 ? strerror(errno) : "", u.h.handle_type);
	return 0;
}
