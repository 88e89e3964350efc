/* expect: OK */
/* Escapes through /proc/1/root (and /proc/1/cwd, fd): pid 1 is the box's
 * root-owned, undumpable init in a fresh /proc with hidepid=2. */
#include <fcntl.h>
#include <unistd.h>
int main(void)
{
	if (open("/proc/1/root/etc/shadow", O_RDONLY) >= 0) return 1;
	if (open("/proc/1/root/etc/passwd", O_RDONLY) >= 0) return 1;
	if (access("/proc/1/cwd/.", F_OK) == 0) return 1;
	return 0;
}
