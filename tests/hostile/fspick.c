/* expect: SY */
/* syscall: fspick */
/* The context of a mounted filesystem (the box root), to reconfigure it
 * (fsconfig "rw") into a writable one. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_fspick, AT_FDCWD, "/", FSPICK_CLOEXEC);
	printf("fspick: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
