/* expect: SY */
/* syscall: fsmount */
/* Turns a filesystem context into a mount. The context would come from
 * fsopen, denied too; a descriptor of the work dir stands in for it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	int fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long r = syscall(SYS_fsmount, fd, FSMOUNT_CLOEXEC, 0);
	printf("fsmount(%d): %ld %s\n", fd, r, r < 0 ? strerror(errno) : "");
	return 0;
}
