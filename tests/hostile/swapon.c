/* expect: SY */
/* syscall: swapon */
/* Adds a swap area: the host would page to a file the box names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_swapon, "swapfile", 0);
	printf("swapon: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
