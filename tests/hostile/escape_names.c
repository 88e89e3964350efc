/* expect: OK */
/* Attack on the staff's terminal: a tp1 submission that creates files
 * whose names are terminal escape sequences (clear the screen, red text),
 * and prints one on stdout. The runner reports "unexpected file NAME" and
 * diffs the output; `sercom show` must print them escaped (table.c). Used
 * by tests/t/70-admin.t. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	const char *names[] = { "\x1b[2J\x1b[1;31mHACKED", "bell\a\rspoof", "csi\xc2\x9b" "2J" };
	for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
		int fd = open(names[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0)
			close(fd);
	}
	printf("\x1b]0;owned\a\x1b[2Jsum 0\n");
	return 0;
}
