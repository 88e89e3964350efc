/* expect: SY */
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) { char a[128]; memset(a, 0, sizeof a); syscall(SYS_perf_event_open, a, 0, -1, -1, 0); return 0; }
