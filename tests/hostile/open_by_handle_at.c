/* expect: SY */
/* syscall: open_by_handle_at */
/* The "shocker" escape (2014, out of Docker): open inode 2, the root of
 * the filesystem under a bind mount, by an ext4 handle made up by hand;
 * the mount tree of the box is bypassed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	union { struct file_handle h; char b[sizeof(struct file_handle) + 8]; } u;
	const unsigned int ino_gen[2] = { 2, 0 }; /* inode 2, generation 0 */
	u.h.handle_bytes = 8;
	u.h.handle_type = 1; /* FILEID_INO32_GEN */
	memcpy(u.h.f_handle, ino_gen, sizeof ino_gen);
	int mnt = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long r = syscall(SYS_open_by_handle_at, mnt, &u.h, O_RDONLY | O_DIRECTORY);
	printf("open_by_handle_at: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
