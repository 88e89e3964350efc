/* expect: WT */
/* opts: --wall 1 */
#include <unistd.h>
int main(void) { pause(); return 0; }
