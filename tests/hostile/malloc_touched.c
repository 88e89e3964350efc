/* expect: ML */
/* opts: --mem 128M */
/* 1 GiB malloc'd and touched: the memory cgroup's OOM kill. */
#include <stdlib.h>
#include <string.h>
int main(void)
{
	char *p = malloc(1UL << 30);
	if (!p) return 3;
	memset(p, 1, 1UL << 30);
	return p[12345];
}
