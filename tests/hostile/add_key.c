/* expect: SY */
/* syscall: add_key */
/* The kernel keyrings are not namespaced: keys outlive the box and are
 * shared by every process of the uid (the next student on the slot).
 * Here a key in this process's own keyring. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_add_key, "user", "sercom-hostile", "pwned", 5UL,
	                 -2L /* KEY_SPEC_PROCESS_KEYRING */);
	printf("add_key: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
