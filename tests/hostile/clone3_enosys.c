/* expect: OK */
/* opts: --procs 4 */
/* clone3 passes its flags in memory the seccomp filter cannot read, so
 * the filter answers ENOSYS to every clone3 (libc then falls back to
 * clone, whose flags it can read). Asked for a new user namespace, the
 * program must see ENOSYS and exit 0; any other answer (a child, EPERM)
 * means clone3 reached the kernel: exit 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void)
{
	struct clone_args a = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
	long r = syscall(SYS_clone3, &a, sizeof a);
	if (r == 0)
		_exit(0);
	int e = errno;
	if (r > 0)
		waitpid((pid_t)r, NULL, __WALL);
	printf("clone3(CLONE_NEWUSER): %ld %s\n", r, r < 0 ? strerror(e) : "");
	return r < 0 && e == ENOSYS ? 0 : 1;
}
