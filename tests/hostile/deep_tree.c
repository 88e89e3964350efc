/* expect: OK */
/* Leaves a tree 1,500 directories deep in its work dir: mkdir("d");
 * chdir("d") again and again. A clean-up that holds one descriptor per
 * level cannot remove it with the 1,024 a service gets, and used to make
 * the slot's next attempt (another student's) fail. The runner drops the
 * work dir's tmpfs instead (src/grade.c), and util_rm_rf walks with two
 * descriptors (src/util.c). Prints "ok" once the tree is made. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	for (int i = 0; i < 1500; i++) {
		if (mkdir("d", 0700) < 0 || chdir("d") < 0) {
			printf("stopped at depth %d\n", i);
			return 0;
		}
	}
	puts("ok");
	return 0;
}
