/* expect: SY */
/* syscall: swapoff */
/* Removes the host's swap (memory pressure on the whole machine); here
 * a file that is not one. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_swapoff, "swapfile");
	printf("swapoff: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
