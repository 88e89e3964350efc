/* expect: OK */
/* opts: --procs 4 */
/* A child escapes the process group and session with setsid() and keeps
 * running after its parent exits: the PID namespace dies with the program. */
#include <unistd.h>
int main(void)
{
	if (fork() == 0) {
		setsid();
		for (;;) pause();
	}
	return 0;
}
