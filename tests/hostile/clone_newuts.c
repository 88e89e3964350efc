/* expect: SY */
/* opts: --procs 4 */
/* syscall: clone */
/* clone(2) with CLONE_NEWUTS: a UTS namespace (hostname) of its own.
 * Every namespace flag is a rule of its own
 * (tests/hostile/clone_newuser.c: CLONE_NEWUSER). If allowed, the child
 * exits at once (--procs 4: far enough for the kernel to try). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_clone, (unsigned long)(CLONE_NEWUTS | SIGCHLD), NULL, NULL, NULL, 0UL);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, __WALL);
	printf("clone(CLONE_NEWUTS): %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
