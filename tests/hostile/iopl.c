/* expect: SY */
/* syscall: iopl */
/* Raw access to every I/O port of the machine. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_iopl, 3);
	printf("iopl: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
