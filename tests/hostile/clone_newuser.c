/* expect: SY */
/* The same through clone(2) flags (clone3 answers ENOSYS). */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) { syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0); return 0; }
