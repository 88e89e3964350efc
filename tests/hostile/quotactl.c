/* expect: SY */
/* syscall: quotactl */
/* Disk quota control; Q_SYNC of every filesystem is allowed to any
 * uid, and writes to every quota file of the host. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/quota.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_quotactl, QCMD(Q_SYNC, USRQUOTA), NULL, 0, NULL);
	printf("quotactl: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
