/* expect: SY */
/* opts: --procs 4 */
/* syscall: clone */
/* clone(2) with CLONE_NEWTIME's bit (0x80). clone(2) reads that bit as
 * part of the child's exit signal (145: none; the call succeeds), unshare
 * and clone3 as a new time namespace. The filter denies it in clone's
 * flags all the same: a kernel that read it as the flag would otherwise
 * let a time namespace through. */
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
	long r = syscall(SYS_clone, (unsigned long)(0x80 /* CLONE_NEWTIME */ | SIGCHLD),
	                 NULL, NULL, NULL, 0UL);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, __WALL);
	printf("clone(CLONE_NEWTIME): %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
