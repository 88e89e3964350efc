/* links: writes "answer for CASE" to result.txt (d/result.txt for the
 * case "dir"); CASE is argv[1]. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	const char *path = "result.txt";
	if (!strcmp(c, "dir")) {
		mkdir("d", 0755);
		path = "d/result.txt";
	}
	FILE *f = fopen(path, "w");
	if (!f || fprintf(f, "answer for %s\n", c) < 0 || fclose(f) != 0)
		return 1;
	puts("done");
	return 0;
}
