/* expect: SY */
/* syscall: quotactl_fd */
/* quotactl by descriptor: Q_GETINFO of the work dir's filesystem is
 * allowed to any uid. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/quota.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	struct dqinfo info;
	int fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long r = syscall(SYS_quotactl_fd, fd, QCMD(Q_GETINFO, USRQUOTA), 0, &info);
	printf("quotactl_fd: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
