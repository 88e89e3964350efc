/* TP1 — Carla Núñez: suma de dos enteros leídos de la entrada estándar; este comentario es deliberadamente largo para que el cliente de correo lo corte con saltos suaves */
#include <stdio.h>

int main(void)   
{
	long a = 0, b = 0, suma = 0;
	if (scanf("%ld %ld", &a, &b) != 2)
		return 1;
	suma = a + b; /* a=b? no: a+b */
	printf("%ld\n", suma);
	return 0;
}
