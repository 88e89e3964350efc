/* expect: SY */
/* syscall: fanotify_init */
/* A filesystem event queue: with FAN_REPORT_FID any uid may watch what
 * other processes open on the host's binds (Linux 5.13+). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_fanotify_init, FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_CLOEXEC, O_RDONLY);
	printf("fanotify_init: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	return 0;
}
