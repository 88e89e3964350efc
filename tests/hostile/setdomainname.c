/* expect: SY */
/* syscall: setdomainname */
/* The NIS domain name: as sethostname. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_setdomainname, "pwned", 5UL);
	printf("setdomainname: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
