/* expect: OK */
/* Executes the setuid-root su: no_new_privs, nosuid binds and an empty
 * bounding set keep it at the box uid. A child runs su; the parent checks
 * /proc/PID/status while su waits for its password on a pipe. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void)
{
	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[0], 0);
		execl("/usr/bin/su", "su", "-c", "id", (char *)0);
		_exit(0); /* no su: nothing to test */
	}
	int root = 0;
	for (int i = 0; i < 50; i++) {
		char path[64], line[256];
		snprintf(path, sizeof path, "/proc/%d/status", pid);
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof line, f))
			if (!strncmp(line, "Uid:", 4) && strstr(line, "\t0"))
				root = 1;
		if (f) fclose(f);
		usleep(2000);
	}
	close(p[1]);
	waitpid(pid, 0, 0);
	return root;
}
