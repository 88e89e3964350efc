#include <stdio.h>
int main(void) { printf("1.5\n"); return 0; }
