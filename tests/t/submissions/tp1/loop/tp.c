/* tp1 test submission (loop): never ends, burning CPU. Expected:
 * TIME_LIMIT on every case, within about the CPU limit, and the runner
 * stays responsive meanwhile. */
#include <stdio.h>

int main(void)
{
	volatile unsigned long n = 0;
	printf("count: ");
	for (;;)
		n++;
	return 0;
}
