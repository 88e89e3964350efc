/* expect: SY */
/* ptrace another process (here the parent, init): denied by seccomp. */
#include <sys/ptrace.h>
int main(void) { ptrace(PTRACE_ATTACH, 1, 0, 0); return 0; }
