/* expect: OK */
/* opts: --procs 8 */
/* The parent exits leaving busy children behind (double fork, daemons). */
#include <unistd.h>
int main(void)
{
	for (int i = 0; i < 4; i++)
		if (fork() == 0) {
			if (fork() == 0)
				for (;;) ;
			_exit(0);
		}
	return 0;
}
