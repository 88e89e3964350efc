/* handoff: the request of sercom-deliver to the intake, both sides. */
#define _GNU_SOURCE 1
#include "handoff.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAGIC "sercom-handoff-1"

void handoff_request_clear(struct handoff_request *rq)
{
	g_free(rq->spool_name);
	g_free(rq->exercise);
	g_free(rq->extension);
	g_free(rq->sender);
	g_free(rq->recipient);
	memset(rq, 0, sizeof *rq);
}

/* The socket's address. A var/ path longer than sun_path (deep test
 * trees) is reached through an O_PATH fd of the directory instead: *dir_fd
 * is then >= 0 and the caller closes it after bind/connect. */
static bool socket_addr(const char *var_dir, struct sockaddr_un *a, int *dir_fd)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	*dir_fd = -1;
	if ((size_t)snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", var_dir, HANDOFF_SOCKET) < sizeof a->sun_path)
		return true;
	*dir_fd = open(var_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dir_fd < 0)
		return false;
	snprintf(a->sun_path, sizeof a->sun_path, "/proc/self/fd/%d/%s", *dir_fd, HANDOFF_SOCKET);
	return true;
}

static void put(GByteArray *b, const char *key, const char *value)
{
	if (!value)
		return;
	g_byte_array_append(b, (const guint8 *)key, (guint)strlen(key) + 1);
	g_byte_array_append(b, (const guint8 *)value, (guint)strlen(value) + 1);
}

GByteArray *handoff_encode(const struct handoff_request *rq)
{
	GByteArray *b = g_byte_array_new();
	g_byte_array_append(b, (const guint8 *)MAGIC, sizeof MAGIC);
	put(b, "spool", rq->spool_name);
	put(b, "exercise", rq->exercise);
	put(b, "extension", rq->extension);
	put(b, "sender", rq->sender);
	put(b, "recipient", rq->recipient);
	return b;
}

/* Waits for fd to be readable; false on timeout or error. */
static bool wait_readable(int fd, int timeout_ms)
{
	int64_t end = util_now_ms() + timeout_ms;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(end - util_now_ms());
		int r = poll(&p, 1, left > 0 ? left : 0);
		if (r > 0)
			return true;
		if (r == 0 || errno != EINTR)
			return false;
	}
}

enum handoff_status handoff_submit(const char *var_dir, const struct handoff_request *rq,
                                   int timeout_ms, int *code, char **text, GError **err)
{
	struct sockaddr_un a;
	int dir_fd;
	if (!socket_addr(var_dir, &a, &dir_fd))
		return HANDOFF_NO_INTAKE;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (dir_fd >= 0)
			close(dir_fd);
		return HANDOFF_NO_INTAKE;
	}
	/* no socket, a stale one, one we may not use: nothing was sent, so
	 * the caller records the message itself */
	int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
	if (dir_fd >= 0)
		close(dir_fd);
	if (rc < 0) {
		close(fd);
		return HANDOFF_NO_INTAKE;
	}
	GByteArray *b = handoff_encode(rq);
	ssize_t n = b->len <= HANDOFF_MAX ? send(fd, b->data, b->len, MSG_NOSIGNAL) : -1;
	bool sent = n == (ssize_t)b->len;
	g_byte_array_free(b, TRUE);
	if (!sent) {
		/* a packet is delivered whole or not at all */
		close(fd);
		return HANDOFF_NO_INTAKE;
	}
	char buf[4096];
	n = -1;
	if (wait_readable(fd, timeout_ms)) {
		do
			n = recv(fd, buf, sizeof buf - 1, 0);
		while (n < 0 && errno == EINTR);
	}
	close(fd);
	if (n <= 0) {
		g_set_error(err, SERCOM_ERROR, ETIMEDOUT, "the intake took the message but did not answer %s",
		            n == 0 ? "(it stopped)" : "in time");
		return HANDOFF_LOST;
	}
	buf[n] = 0;
	size_t head = strlen(buf);
	*code = atoi(buf);
	*text = g_strdup(head < (size_t)n ? buf + head + 1 : "");
	return HANDOFF_ANSWERED;
}

int handoff_listen(const char *var_dir, GError **err)
{
	struct sockaddr_un a;
	int dir_fd;
	g_autofree char *path = g_build_filename(var_dir, HANDOFF_SOCKET, NULL);
	if (!socket_addr(var_dir, &a, &dir_fd)) {
		g_set_error(err, SERCOM_ERROR, errno, "%s: %s", var_dir, g_strerror(errno));
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* a second runner of the same instance must not steal the socket of
	 * the first (its deliveries would go on, but to whom?) */
	if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
		g_set_error(err, SERCOM_ERROR, EADDRINUSE, "%s: another intake serves this instance", path);
		close(fd);
		if (dir_fd >= 0)
			close(dir_fd);
		return -1;
	}
	close(fd);
	/* non-blocking: the intake accepts until nothing is pending */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	unlink(path);
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
	umask(old);
	if (rc < 0 || listen(fd, 128) < 0)
		goto fail;
	if (dir_fd >= 0)
		close(dir_fd);
	return fd;
fail:;
	int e = errno;
	g_set_error(err, SERCOM_ERROR, e, "%s: %s", path, g_strerror(e));
	if (fd >= 0)
		close(fd);
	if (dir_fd >= 0)
		close(dir_fd);
	return -1;
}

bool handoff_valid_spool_name(const char *n)
{
	return n && n[0] && n[0] != '.' && !strchr(n, '/') && strlen(n) < 256;
}

bool handoff_decode(const char *buf, size_t len, struct handoff_request *rq)
{
	if (len < sizeof MAGIC || memcmp(buf, MAGIC, sizeof MAGIC) || buf[len - 1])
		return false;
	for (size_t i = sizeof MAGIC; i < len;) {
		const char *key = buf + i;
		i += strlen(key) + 1;
		if (i >= len)
			return false;
		const char *value = buf + i;
		i += strlen(value) + 1;
		char **slot = !strcmp(key, "spool") ? &rq->spool_name :
		              !strcmp(key, "exercise") ? &rq->exercise :
		              !strcmp(key, "extension") ? &rq->extension :
		              !strcmp(key, "sender") ? &rq->sender :
		              !strcmp(key, "recipient") ? &rq->recipient : NULL;
		if (slot && !*slot)
			*slot = g_strdup(value);
	}
	return handoff_valid_spool_name(rq->spool_name);
}

int handoff_accept(int listen_fd, struct handoff_request *rq, int timeout_ms, GError **err)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		int e = errno == EWOULDBLOCK ? EAGAIN : errno;
		g_set_error(err, SERCOM_ERROR, e, "accept: %s", g_strerror(e));
		return -1;
	}
	/* a client that connects and sends nothing must not stall every
	 * delivery behind it */
	if (!wait_readable(fd, timeout_ms)) {
		g_set_error(err, SERCOM_ERROR, ETIMEDOUT, "a client sent no request in %d ms", timeout_ms);
		close(fd);
		return -1;
	}
	char *buf = g_malloc(HANDOFF_MAX);
	struct iovec iov = { .iov_base = buf, .iov_len = HANDOFF_MAX };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	do
		n = recvmsg(fd, &mh, 0);
	while (n < 0 && errno == EINTR);
	/* the socket's mode already keeps other users out; a peer of another
	 * uid (a socket made reachable by mistake) is refused all the same.
	 * After its request is read: closed unread, the answer is lost. */
	struct ucred cr = { .uid = (uid_t)-1 };
	socklen_t cl = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
	    (cr.uid != geteuid() && cr.uid != 0)) {
		g_set_error(err, SERCOM_ERROR, EPERM, "refused a request of uid %ld", (long)cr.uid);
		handoff_answer(fd, EX_TEMPFAIL_, "refused: not the instance's owner");
		g_free(buf);
		return -1;
	}
	bool ok = n > 0 && !(mh.msg_flags & MSG_TRUNC) && handoff_decode(buf, (size_t)n, rq);
	g_free(buf);
	if (!ok) {
		handoff_request_clear(rq);
		if (n <= 0) {
			close(fd);
			g_set_error(err, SERCOM_ERROR, EPROTO, "a client left before its request");
		} else {
			handoff_answer(fd, EX_TEMPFAIL_, "malformed request");
			g_set_error(err, SERCOM_ERROR, EPROTO, "malformed request");
		}
		return -1;
	}
	return fd;
}

void handoff_answer(int conn_fd, int code, const char *text)
{
	/* "CODE\0TEXT", the text cut to what the client reads */
	char msg[4000];
	int head = snprintf(msg, sizeof msg, "%d", code) + 1;
	g_strlcpy(msg + head, text ? text : "", sizeof msg - (size_t)head);
	size_t len = (size_t)head + strlen(msg + head);
	/* a client that is gone (killed by the MTA) needs no answer */
	(void)!send(conn_fd, msg, len, MSG_NOSIGNAL);
	close(conn_fd);
}
