/* expect: SY */
/* syscall: init_module */
/* Loads code into the kernel. The image here is not a module, so even a
 * privileged caller would only get an error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	static const char image[64] = "\177ELF";
	long r = syscall(SYS_init_module, image, sizeof image, "");
	printf("init_module: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
