/* expect: SY */
/* syscall: io_uring_enter */
/* io_uring runs syscalls the seccomp filter never sees. The ring would
 * come from io_uring_setup (denied, tests/hostile/io_uring.c) or a leaked
 * descriptor; stdin stands in for it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(426 /* io_uring_enter */, 0, 1U, 1U, 1U /* IORING_ENTER_GETEVENTS */, NULL, 0UL);
	printf("io_uring_enter: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
