/* expect: OK */
/* opts: --mem 128M */
/* 1 GiB malloc'd and never touched: costs nothing, harms nothing. */
#include <stdlib.h>
int main(void) { char *volatile p = malloc(1UL << 30); (void)p; return 0; }
