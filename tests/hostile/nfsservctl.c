/* expect: SY */
/* syscall: nfsservctl */
/* The NFS server's old control call (ENOSYS since Linux 3.1). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_nfsservctl, 0, NULL, NULL);
	printf("nfsservctl: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
