/* expect: SY */
/* syscall: pivot_root */
/* Swaps the box root for the work dir, the old root stacked under it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_pivot_root, ".", ".");
	printf("pivot_root: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
