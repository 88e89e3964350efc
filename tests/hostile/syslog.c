/* expect: SY */
/* syscall: syslog */
/* Reads the kernel log (addresses, other users' devices and mounts) when
 * kernel.dmesg_restrict is 0. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	static char buf[4096];
	long r = syscall(SYS_syslog, 3 /* SYSLOG_ACTION_READ_ALL */, buf, (int)sizeof buf);
	printf("syslog: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
