/* tp1 test submission (fill-workdir): writes file after file of the
 * largest size allowed into its work directory (a tmpfs charged to its
 * memory cgroup), with almost no memory of its own. Expected:
 * MEMORY_LIMIT on every case (the program is the OOM victim, never the
 * runner's worker: the attempt must not end in INTERNAL_ERROR), and the
 * files gone with the work dir. */
#include <stdio.h>
#include <string.h>

int main(void)
{
	static char buf[64 * 1024];
	memset(buf, 'x', sizeof buf);
	for (int i = 0; i < 100000; i++) {
		char name[32];
		snprintf(name, sizeof name, "fill%d", i);
		FILE *f = fopen(name, "w");
		if (!f)
			break;
		/* below RLIMIT_FSIZE (1M for tp1), so no SIGXFSZ */
		for (int k = 0; k < 15; k++)
			fwrite(buf, 1, sizeof buf, f);
		fclose(f);
	}
	printf("count: 0\n");
	return 0;
}
