#include "aux.h"

long suma(long a, long b)
{
	return a + b;
}
