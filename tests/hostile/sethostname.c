/* expect: SY */
/* syscall: sethostname */
/* Renames the machine (the box's UTS namespace is its own, but nothing in
 * it needs a new name). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_sethostname, "pwned", 5UL);
	printf("sethostname: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
