/* expect: SY */
/* syscall: settimeofday */
/* The host clock through the old interface (to the time it already is). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
int main(void)
{
	struct timeval now;
	gettimeofday(&now, NULL);
	long r = syscall(SYS_settimeofday, &now, NULL);
	printf("settimeofday: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
