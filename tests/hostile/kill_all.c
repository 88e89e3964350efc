/* expect: OK */
/* kill(-1, SIGKILL): reaches only processes of the box uid in the box's PID
 * namespace (none but itself, which kill(-1) skips). The suite's runner and
 * other boxes survive. */
#include <signal.h>
int main(void) { kill(-1, SIGKILL); kill(-1, SIGTERM); return 0; }
