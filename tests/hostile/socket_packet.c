/* expect: SY */
/* syscall: socket */
/* Only AF_UNIX sockets: a raw packet socket sees every frame of an
 * interface (needs CAP_NET_RAW too). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void)
{
	int r = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	printf("socket(AF_PACKET): %d %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
