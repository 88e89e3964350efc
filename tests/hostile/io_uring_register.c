/* expect: SY */
/* syscall: io_uring_register */
/* Registers buffers with a ring (a leaked descriptor; stdin stands in). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
int main(void)
{
	static char buf[4096];
	struct iovec v = { buf, sizeof buf };
	long r = syscall(427 /* io_uring_register */, 0, 0U /* IORING_REGISTER_BUFFERS */, &v, 1U);
	printf("io_uring_register: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
