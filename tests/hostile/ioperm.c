/* expect: SY */
/* syscall: ioperm */
/* Raw access to the CMOS clock's I/O ports. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_ioperm, 0x70UL, 2UL, 1);
	printf("ioperm: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
