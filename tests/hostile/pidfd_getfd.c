/* expect: SY */
/* syscall: pidfd_getfd */
/* Copies a descriptor out of another process (box init's seccomp
 * listener, a runner's database). Here its own stdout. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	long r = syscall(SYS_pidfd_getfd, pidfd, 1, 0);
	printf("pidfd_getfd(%ld): %ld %s\n", pidfd, r, r < 0 ? strerror(errno) : "");
	return 0;
}
