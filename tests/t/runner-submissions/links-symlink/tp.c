/* Attack on the runner (tests/t/44-runner-symlink.t): the runner reads the
 * files a case expects from the work dir after the box is gone, as root,
 * in the host's mount tree. Instead of writing them, this program leaves
 * in their place
 *   passwd  result.txt -> /etc/passwd (a host file, by absolute path);
 *   db      result.txt -> ../../sercom.db (relative: the work dir is
 *           var/work/work on the host, so this names the runner's
 *           database, which only root may read);
 *   other   result.txt -> ../../attempts/1/submitted/tp.c, another
 *           student's program (attempt ids count from 1);
 *   answer  result.txt -> the exercise's own expected file (found the
 *           same way: exercises/ beside var/), to pass without working;
 *   dir     d -> the exercise's expected out/d (a directory on the path);
 *   fifo    result.txt a FIFO no one writes (a reader that blocks hangs
 *           the worker).
 * Each case prints "done" once its trap is set: the stdout matches, so
 * the file alone decides the verdict. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	int r = -1;
	if (!strcmp(c, "passwd"))
		r = symlink("/etc/passwd", "result.txt");
	else if (!strcmp(c, "db"))
		r = symlink("../../sercom.db", "result.txt");
	else if (!strcmp(c, "other"))
		r = symlink("../../attempts/1/submitted/tp.c", "result.txt");
	else if (!strcmp(c, "answer"))
		r = symlink("../../../exercises/links/tests/03-answer/out/result.txt", "result.txt");
	else if (!strcmp(c, "dir"))
		r = symlink("../../../exercises/links/tests/04-dir/out/d", "d");
	else if (!strcmp(c, "fifo"))
		r = mkfifo("result.txt", 0666);
	if (r != 0) {
		perror(c);
		return 1;
	}
	puts("done");
	return 0;
}
