/* expect: OL */
/* opts: --output 1M */
#include <string.h>
#include <unistd.h>
int main(void)
{
	char b[65536];
	memset(b, 'y', sizeof b);
	for (;;) if (write(1, b, sizeof b) < 0) return 1;
}
