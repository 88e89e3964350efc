/* expect: SY */
/* syscall: acct */
/* Process accounting into a file of the box: a record of every process
 * of the host (commands, uids, times). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_acct, "acct.log");
	printf("acct: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
