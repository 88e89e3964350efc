/* expect: OK */
/* Reads /etc/shadow and /etc/passwd: /etc is not in the box. */
#include <fcntl.h>
int main(void)
{
	return open("/etc/shadow", O_RDONLY) >= 0 || open("/etc/passwd", O_RDONLY) >= 0;
}
