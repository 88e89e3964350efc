/* expect: OK */
/* Connects to an abstract unix socket another box (or the host) listens on
 * ("@sercom-hostile"; the test starts a listener). Boxes of different
 * slots have different network namespaces: ECONNREFUSED. */
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(void)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	memcpy(a.sun_path, "\0sercom-hostile", 15);
	return connect(s, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 15) == 0;
}
