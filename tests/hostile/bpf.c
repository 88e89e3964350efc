/* expect: SY */
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) { char a[128]; memset(a, 0, sizeof a); syscall(SYS_bpf, 0, a, sizeof a); return 0; }
