#include <stdio.h>

int main(void)
{
	long a, sum = 0;
	while (scanf("%ld", &a) == 1)
		sum += a;
	printf("%ld\n", sum);
	return 0;
}
