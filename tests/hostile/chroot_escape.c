/* expect: SY */
/* The chroot-in-chroot escape: mkdir, chroot into it, chdir("..") past the
 * old root. chroot is denied by seccomp (and needs CAP_SYS_CHROOT). */
#include <sys/stat.h>
#include <unistd.h>
int main(void)
{
	mkdir("/work/jail", 0755);
	if (chroot("/work/jail") < 0) return 0;
	for (int i = 0; i < 100; i++) chdir("..");
	chroot(".");
	return execl("/bin/sh", "sh", "-c", "cat /etc/shadow", (char *)0);
}
