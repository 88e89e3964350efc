/* expect: SY */
/* unshare(CLONE_NEWUSER) would give root-like capabilities in a new user
 * namespace: denied. */
#define _GNU_SOURCE
#include <sched.h>
int main(void) { unshare(CLONE_NEWUSER | CLONE_NEWNS); return 0; }
