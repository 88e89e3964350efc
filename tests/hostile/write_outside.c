/* expect: OK */
/* Writes outside /work: every other place is read-only or absent. */
#include <fcntl.h>
int main(void)
{
	const char *p[] = { "/x", "/usr/x", "/usr/bin/ls", "/etc/x", "/proc/sys/kernel/hostname",
	                    "/dev/x", "/lib/x", "/bin/sh", 0 };
	for (int i = 0; p[i]; i++)
		if (open(p[i], O_WRONLY | O_CREAT | O_TRUNC, 0644) >= 0)
			return 1;
	return 0;
}
