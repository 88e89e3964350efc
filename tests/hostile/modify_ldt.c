/* expect: SY */
/* syscall: modify_ldt */
/* Installs a segment in the local descriptor table: 16-bit segments and
 * espfix are old CVE ground, and no student program needs them. Here a
 * flat 32-bit data segment, which any uid may install. */
#include <asm/ldt.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	struct user_desc d = { .entry_number = 0, .base_addr = 0, .limit = 0xfffff,
	                       .seg_32bit = 1, .limit_in_pages = 1, .useable = 1 };
	long r = syscall(SYS_modify_ldt, 1, &d, sizeof d);
	printf("modify_ldt: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
