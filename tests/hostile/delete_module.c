/* expect: SY */
/* syscall: delete_module */
/* Unloads a kernel module (a filesystem, a firewall); here one that does
 * not exist. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_delete_module, "sercom_no_such_module", O_NONBLOCK);
	printf("delete_module: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
