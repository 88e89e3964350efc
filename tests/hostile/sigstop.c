/* expect: WT */
/* opts: --wall 1 */
/* Stops itself: no CPU is used, only the wall limit ends it. */
#include <signal.h>
int main(void) { raise(SIGSTOP); return 0; }
