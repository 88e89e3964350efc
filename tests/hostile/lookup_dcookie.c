/* expect: SY */
/* syscall: lookup_dcookie */
/* oprofile's lookup of a path by cookie (gone in Linux 6.8; 6.1 has it). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	static char buf[4096];
	long r = syscall(SYS_lookup_dcookie, 0ULL, buf, sizeof buf);
	printf("lookup_dcookie: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
