/* expect: SY */
/* syscall: userfaultfd */
/* userfaultfd stalls the kernel's copy from a chosen page of user memory:
 * the classic way to hold a kernel race window open. UFFD_USER_MODE_ONLY
 * gives one to any uid since Linux 5.11 (vm.unprivileged_userfaultfd=0
 * or not). If allowed: a descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
	printf("userfaultfd: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
