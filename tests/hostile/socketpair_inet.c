/* expect: SY */
/* syscall: socketpair */
/* Only AF_UNIX socket pairs (the rule covers socketpair as well as
 * socket). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void)
{
	int sv[2];
	int r = socketpair(AF_INET, SOCK_STREAM, 0, sv);
	printf("socketpair(AF_INET): %d %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
