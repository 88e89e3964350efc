/* expect: OL */
/* opts: --fsize 10M */
/* A 2 GB sparse file: RLIMIT_FSIZE raises SIGXFSZ at the seek+write. */
#include <fcntl.h>
#include <unistd.h>
int main(void)
{
	int fd = open("/work/sparse", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) return 2;
	lseek(fd, 2000000000L, SEEK_SET);
	write(fd, "x", 1);
	return 0;
}
