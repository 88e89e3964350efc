/* expect: SY */
/* Network connect to 127.0.0.1:25: AF_INET sockets are forbidden (and the
 * netns is empty anyway). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
int main(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(25) };
	a.sin_addr.s_addr = htonl(0x7f000001);
	return connect(s, (struct sockaddr *)&a, sizeof a) == 0;
}
