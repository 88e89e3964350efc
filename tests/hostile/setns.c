/* expect: SY */
/* syscall: setns */
/* Joins another namespace through a descriptor of it (here the box's own
 * mount namespace; a leaked descriptor of the host's is the attack). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	long r = syscall(SYS_setns, fd, CLONE_NEWNS);
	printf("setns(%d): %ld %s\n", fd, r, r < 0 ? strerror(errno) : "");
	return 0;
}
