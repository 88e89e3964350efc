/* expect: OK */
/* The other side of the socket rules: an AF_UNIX pair is allowed and
 * works (students' programs talk to a child over one). */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void)
{
	int sv[2];
	char c = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	if (write(sv[0], "x", 1) != 1 || read(sv[1], &c, 1) != 1 || c != 'x')
		return 1;
	puts("socketpair(AF_UNIX): ok");
	return 0;
}
