/* expect: SY */
/* syscall: process_vm_writev */
/* Writes into another process's memory without ptrace. Here its own. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
int main(void)
{
	char src[] = "pwned", dst[sizeof src] = "";
	struct iovec l = { src, sizeof src }, r = { dst, sizeof dst };
	long n = syscall(SYS_process_vm_writev, getpid(), &l, 1UL, &r, 1UL, 0UL);
	printf("process_vm_writev: %ld %s %s\n", n, n < 0 ? strerror(errno) : "", dst);
	return 0;
}
