/* expect: SY */
/* syscall: adjtimex */
/* Slews the host clock (NTP's interface); here adjtime(0), a slew of
 * nothing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <unistd.h>
int main(void)
{
	struct timex tx = { .modes = ADJ_OFFSET_SINGLESHOT, .offset = 0 };
	long r = syscall(SYS_adjtimex, &tx);
	printf("adjtimex: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
