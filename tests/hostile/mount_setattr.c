/* expect: SY */
/* syscall: mount_setattr */
/* Clears read-only and nosuid on every mount of the box: its binds of the
 * host's /usr and /lib made writable. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	struct mount_attr a = { .attr_clr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID };
	long r = syscall(SYS_mount_setattr, AT_FDCWD, "/", 0x8000 /* AT_RECURSIVE */, &a, sizeof a);
	printf("mount_setattr: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
