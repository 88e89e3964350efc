/* expect: OL */
/* opts: --output 64K */
/* The right answer first, then a flood: still over the cap. */
#include <stdio.h>
int main(void)
{
	printf("42\n");
	fflush(stdout);
	for (;;) putchar('x');
}
