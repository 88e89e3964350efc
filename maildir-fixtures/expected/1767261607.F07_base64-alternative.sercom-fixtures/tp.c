/* tp1: suma de dos enteros */
#include <stdio.h>

int main(void)
{
	long a, b;
	if (scanf("%ld %ld", &a, &b) != 2) {
		fprintf(stderr, "entrada invalida\n");
		return 1;
	}
	printf("%ld\n", a + b);
	return 0;
}
