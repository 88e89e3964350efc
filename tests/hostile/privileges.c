/* expect: OK */
/* Checks the credentials: a non-root uid, no supplementary groups, no
 * capabilities in any set, no_new_privs, seccomp filter mode. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void)
{
	if (getuid() == 0 || geteuid() == 0 || getgid() == 0 || getgroups(0, 0) > 1)
		return 1;
	FILE *f = fopen("/proc/self/status", "r");
	char l[256];
	int bad = 0;
	while (f && fgets(l, sizeof l, f)) {
		if (!strncmp(l, "Cap", 3) && !strstr(l, "0000000000000000")) bad = 1;
		if (!strncmp(l, "NoNewPrivs:", 11) && !strstr(l, "1")) bad = 1;
		if (!strncmp(l, "Seccomp:", 8) && !strstr(l, "2")) bad = 1;
	}
	return bad || !f;
}
