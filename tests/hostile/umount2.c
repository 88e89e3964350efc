/* expect: SY */
/* syscall: umount2 */
/* Detaches the box's /work (what lies under a mount may be more than the
 * box should see). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_umount2, "/work", MNT_DETACH);
	printf("umount2: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
