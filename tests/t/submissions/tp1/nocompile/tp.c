/* tp1 test submission (nocompile): a syntax error. Expected: BUILD_FAILED
 * with the compiler's message (tp.c:10) in the reply. */
#include <stdio.h>

int main(void)
{
	double sum = 0
	printf("sum: %.2f\n", sum);
	return 0;
}
