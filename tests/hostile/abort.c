/* expect: SG */
/* abort(): SIGABRT is reported (the program is not the namespace init,
 * which would ignore its own signals). */
#include <stdlib.h>
int main(void) { abort(); }
