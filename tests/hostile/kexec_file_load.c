/* expect: SY */
/* syscall: kexec_file_load */
/* Loads a kernel to boot into from a file: here this program, which is
 * not one. */
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
	long r = syscall(SYS_kexec_file_load, fd, -1, 1UL, "", 4UL /* KEXEC_FILE_NO_INITRAMFS */);
	printf("kexec_file_load(%d): %ld %s\n", fd, r, r < 0 ? strerror(errno) : "");
	return 0;
}
