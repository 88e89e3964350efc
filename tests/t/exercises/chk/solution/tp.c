#include <stdio.h>
int main(void) { printf("1.414\n"); return 0; }
