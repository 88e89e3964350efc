/* expect: SY */
/* syscall: vhangup */
/* Hangs up the controlling terminal: the staff's shell, when the box is
 * run by hand. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_vhangup);
	printf("vhangup: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
