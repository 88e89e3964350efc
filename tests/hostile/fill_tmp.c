/* expect: OK */
/* opts: --mem 256M --tmp-size 8M */
/* Fills /tmp: the small tmpfs says ENOSPC (its pages are also charged to
 * the box's memory cgroup). Exits 0 when the write fails as it should. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
int main(void)
{
	int fd = open("/tmp/fill", O_WRONLY | O_CREAT, 0644);
	char b[65536];
	memset(b, 'f', sizeof b);
	for (long i = 0; i < 100000; i++)
		if (write(fd, b, sizeof b) < 0)
			return errno == ENOSPC ? 0 : 1;
	return 1;
}
