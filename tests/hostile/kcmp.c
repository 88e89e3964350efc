/* expect: SY */
/* syscall: kcmp */
/* Orders kernel objects of two processes by address: a probe of kernel
 * pointers (KASLR) and of what another process holds. Here its own
 * stdin and stdout. */
#include <errno.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, 0UL, 1UL);
	printf("kcmp: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
