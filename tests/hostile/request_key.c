/* expect: SY */
/* syscall: request_key */
/* Looks up a key in every keyring of the uid (one a previous box of the
 * slot may have left). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_request_key, "user", "sercom-hostile", NULL, 0L);
	printf("request_key: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
