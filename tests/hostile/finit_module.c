/* expect: SY */
/* syscall: finit_module */
/* Loads a kernel module from a descriptor: here this program, which is
 * not a module. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	(void)argc;
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	long r = syscall(SYS_finit_module, fd, "", 0);
	printf("finit_module(%d): %ld %s\n", fd, r, r < 0 ? strerror(errno) : "");
	return 0;
}
