/* expect: SY */
/* syscall: clock_settime */
/* Sets the host's clock (time is not namespaced for CLOCK_REALTIME): every
 * deadline, certificate and late-submission rule on the host follows it.
 * Here to the time it already is, so a broken box would do no harm. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
int main(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long r = syscall(SYS_clock_settime, CLOCK_REALTIME, &now);
	printf("clock_settime: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
