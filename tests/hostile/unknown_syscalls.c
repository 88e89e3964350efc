/* expect: SY */
/* Syscalls libseccomp 2.5.4 cannot name (x86_64: statmount 457, listmount
 * 458, mseal 462, open_tree_attr 467, file_setattr 469), a hole of the
 * table (400) and numbers no kernel has yet: a denylist lets them all
 * reach new kernel code nobody reviewed for the box. argv[1]: the number
 * (default 467, open_tree_attr). */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long nr = argc > 1 ? atol(argv[1]) : 467;
	syscall(nr, -1L, 0L, 0L, 0L, 0L, 0L);
	return 0;
}
