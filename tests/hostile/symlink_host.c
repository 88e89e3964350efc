/* expect: OK */
/* A symlink to a host path in /work: inside the box it resolves in the box
 * root (no /etc/shadow here); the caller must read /work with O_NOFOLLOW. */
#include <fcntl.h>
#include <unistd.h>
int main(void)
{
	symlink("/etc/shadow", "/work/link");
	symlink("/proc/1/root/etc/shadow", "/work/link2");
	return open("/work/link", O_RDONLY) >= 0 || open("/work/link2", O_RDONLY) >= 0;
}
