/* expect: SY */
/* syscall: clock_adjtime */
/* adjtimex by clock id; here a slew of nothing of CLOCK_REALTIME. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>
int main(void)
{
	struct timex tx = { .modes = ADJ_OFFSET_SINGLESHOT, .offset = 0 };
	long r = syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx);
	printf("clock_adjtime: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
