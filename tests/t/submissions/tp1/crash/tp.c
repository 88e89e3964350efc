/* tp1 test submission (crash): prints part of the answer, then writes
 * through a NULL pointer (getenv of an unset variable). Expected: SIGNAL
 * (SIGSEGV) on every case that reads numbers. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	double v, sum = 0;
	long n = 0;
	while (scanf("%lf", &v) == 1) {
		sum += v;
		n++;
	}
	printf("count: %ld\n", n);
	fflush(stdout);
	char *p = getenv("SERCOM_TEST_NO_SUCH_VARIABLE");
	p[0] = 'x';
	printf("sum: %.2f\n", sum);
	return 0;
}
