/* expect: TO */
/* opts: --procs 8 --cpu 1 --wall 5 */
/* Fork bomb: the pids cgroup and RLIMIT_NPROC stop the forks, the CPU
 * limit (cgroup usage of every process) ends the spinning. */
#include <unistd.h>
int main(void) { for (;;) fork(); }
