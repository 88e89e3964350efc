/* expect: SY */
/* syscall: socket */
/* Only AF_UNIX sockets: netlink talks to the kernel's routing, audit,
 * uevent and netfilter code (any uid may open NETLINK_ROUTE). */
#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void)
{
	int r = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	printf("socket(AF_NETLINK): %d %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
