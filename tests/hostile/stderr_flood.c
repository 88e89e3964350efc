/* expect: OL */
/* opts: --output 1M */
#include <string.h>
#include <unistd.h>
int main(void)
{
	char b[4096];
	memset(b, 'e', sizeof b);
	for (;;) if (write(2, b, sizeof b) < 0) return 1;
}
