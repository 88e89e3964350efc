/* expect: SY */
/* syscall: open_tree */
/* A detached copy of the box's whole tree, to be attached elsewhere with
 * move_mount (without OPEN_TREE_CLONE it is O_PATH for any uid). */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_open_tree, AT_FDCWD, "/",
	                 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | 0x8000 /* AT_RECURSIVE */);
	printf("open_tree: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
