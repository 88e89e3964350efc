/* expect: SY */
/* syscall: uselib */
/* Maps an a.out library: old loader code nobody maintains. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_uselib, "/lib/x86_64-linux-gnu/libc.so.6");
	printf("uselib: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
