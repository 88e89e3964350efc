/* expect: SY */
/* syscall: socket */
/* Only AF_UNIX sockets: vsock reaches the hypervisor and other guests,
 * outside every network namespace. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void)
{
	int r = socket(40 /* AF_VSOCK */, SOCK_STREAM | SOCK_CLOEXEC, 0);
	printf("socket(AF_VSOCK): %d %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
