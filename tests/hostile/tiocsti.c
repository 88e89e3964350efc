/* expect: SY */
/* TIOCSTI injects keystrokes into the terminal that started us. */
#include <sys/ioctl.h>
#include <termios.h>
int main(void)
{
	char c = 'x';
	ioctl(0, TIOCSTI, &c);
	ioctl(1, TIOCSTI, &c);
	return 0;
}
