/* expect: OK */
/* opts: --procs 4 */
/* Orphaned zombies pile up on init, which reaps them; forks keep working. */
#include <sys/wait.h>
#include <unistd.h>
int main(void)
{
	for (int i = 0; i < 200; i++) {
		pid_t p = fork();
		if (p == 0) {
			if (fork() == 0) _exit(0);
			_exit(0);
		}
		if (p < 0) return 1;
		waitpid(p, 0, 0);
	}
	return 0;
}
