/* expect: SY */
/* syscall: fsconfig */
/* Sets an option of a filesystem context ("rw" here). The context would
 * come from fsopen or fspick, denied too; a descriptor of the work dir
 * stands in for it, so the call is made whatever they answer. */
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
	long r = syscall(SYS_fsconfig, fd, FSCONFIG_SET_FLAG, "rw", NULL, 0);
	printf("fsconfig(%d): %ld %s\n", fd, r, r < 0 ? strerror(errno) : "");
	return 0;
}
