/* expect: SY */
/* syscall: move_mount */
/* Moves the work dir's mount over /tmp (new mount API). */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_move_mount, AT_FDCWD, "/work", AT_FDCWD, "/tmp", 0);
	printf("move_mount: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
