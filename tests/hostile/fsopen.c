/* expect: SY */
/* syscall: fsopen */
/* The new mount API, step one: a filesystem context of our choosing (a
 * tmpfs here), to be mounted over the box's read-only binds. */
#include <errno.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	printf("fsopen: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
