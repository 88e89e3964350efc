/* expect: SY */
/* A syscall through the x32 ABI (number | 0x40000000). */
#include <unistd.h>
#include <sys/syscall.h>
int main(void) { syscall(0x40000000L | SYS_getpid); return 0; }
