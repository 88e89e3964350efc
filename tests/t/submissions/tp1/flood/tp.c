/* tp1 test submission (flood): writes 50 MB to stdout. Expected:
 * OUTPUT_LIMIT on every case; the runner's memory stays bounded (it must
 * not buffer the flood) and it stays responsive. */
#include <stdio.h>
#include <string.h>

int main(void)
{
	static char line[1024];
	memset(line, 'x', sizeof line - 1);
	line[sizeof line - 1] = '\n';
	for (int i = 0; i < 50 * 1024; i++)
		if (fwrite(line, 1, sizeof line, stdout) != sizeof line)
			return 1;
	return 0;
}
