/* expect: SY */
/* syscall: ioctl */
/* TIOCLINUX pastes the console's selection into the input queue of the
 * terminal (the VT twin of TIOCSTI): keystrokes in the shell that started
 * us. Subcode 3 is TIOCL_PASTESEL. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
int main(void)
{
	for (int fd = 0; fd < 3; fd++) {
		char sub = 3;
		int r = ioctl(fd, TIOCLINUX, &sub);
		printf("ioctl(%d, TIOCLINUX): %d %s\n", fd, r, r < 0 ? strerror(errno) : "");
	}
	return 0;
}
