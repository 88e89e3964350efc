/* expect: SY */
/* syscall: process_vm_readv */
/* Reads another process's memory without ptrace (box init's, another
 * box's). Here its own, which any process may: if allowed, the bytes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
int main(void)
{
	char src[] = "secret", dst[sizeof src] = "";
	struct iovec l = { dst, sizeof dst }, r = { src, sizeof src };
	long n = syscall(SYS_process_vm_readv, getpid(), &l, 1UL, &r, 1UL, 0UL);
	printf("process_vm_readv: %ld %s %s\n", n, n < 0 ? strerror(errno) : "", dst);
	return 0;
}
