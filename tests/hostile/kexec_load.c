/* expect: SY */
/* syscall: kexec_load */
/* Loads a kernel to boot into. No segments: unloads the one loaded,
 * which needs CAP_SYS_BOOT, which no box has. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL);
	printf("kexec_load: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
