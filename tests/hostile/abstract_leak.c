/* expect: OK */
/* A garbage cycle that outlives the box: an abstract datagram socket named
 * after this run's stdin (a private case's input) sends its own fd to
 * itself over SCM_RIGHTS, and the program exits. Nothing but the kernel's
 * collector frees such a socket, so its name stays bound in the network
 * namespace after the box is gone: a later run sharing that namespace
 * reads the input from /proc/net/unix, or connects to it.
 * "abstract_leak probe SECRET": a later run looks for it; exit 0 when the
 * name is free (connect refused, bind succeeds) and /proc/net/unix lists
 * no such name, 3 when it leaked (what it saw is printed). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t leak_addr(struct sockaddr_un *a, const char *secret)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "sercom-leak|%s", secret);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static int plant(void)
{
	char secret[64] = "none";
	ssize_t n = read(0, secret, sizeof secret - 1);
	if (n > 0)
		secret[n] = '\0';
	secret[strcspn(secret, "\n")] = '\0';
	struct sockaddr_un a;
	socklen_t len = leak_addr(&a, secret);
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, len) < 0)
		return 1;
	/* the socket's own fd, in flight to itself */
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } c;
	memset(&c, 0, sizeof c);
	char byte = 'x';
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_name = &a, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1,
		            .msg_control = c.buf, .msg_controllen = sizeof c.buf };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &s, sizeof s);
	if (sendmsg(s, &m, 0) != 1)
		return 2;
	close(s);
	return 0;
}

static int probe(const char *secret)
{
	int leaked = 0;
	char line[512];
	FILE *f = fopen("/proc/net/unix", "r");
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "@sercom-leak|")) {
			printf("listed: %s", line);
			leaked = 1;
		}
	if (f)
		fclose(f);
	struct sockaddr_un a;
	socklen_t len = leak_addr(&a, secret);
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (connect(s, (struct sockaddr *)&a, len) == 0 || errno != ECONNREFUSED) {
		printf("connect: %s\n", strerror(errno));
		leaked = 1;
	}
	int b = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (bind(b, (struct sockaddr *)&a, len) < 0) {
		printf("bind: %s\n", strerror(errno));
		leaked = 1;
	}
	printf("%s\n", leaked ? "leaked" : "free");
	return leaked ? 3 : 0;
}

int main(int argc, char **argv)
{
	return argc > 2 && strcmp(argv[1], "probe") == 0 ? probe(argv[2]) : plant();
}
