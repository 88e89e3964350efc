/* expect: OK */
/* Where does stdin come from? readlink(/proc/self/fd/0) of a host fd names
 * the case's file on the host (its path tells the exercise's layout and
 * the private case's name). Prints the link, whether stdin reads back the
 * same after a seek to 0 (programs may rewind it), and whether it could
 * write to its input through a reopened /proc/self/fd/0. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char link[4096];
	ssize_t n = readlink("/proc/self/fd/0", link, sizeof link - 1);
	if (n < 0)
		return 1;
	link[n] = '\0';
	printf("link %s\n", link);
	static char buf[1 << 16];
	ssize_t a = read(0, buf, sizeof buf);
	ssize_t b = lseek(0, 0, SEEK_SET) == 0 ? read(0, buf, sizeof buf) : -2;
	printf("seek %s\n", a > 0 && a == b ? "ok" : "no");
	int w = open("/proc/self/fd/0", O_WRONLY);
	printf("write %s\n", w >= 0 && write(w, "x", 1) == 1 ? "yes" : "no");
	return 0;
}
