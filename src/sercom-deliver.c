/* sercom-deliver: the MDA (docs/ARCHITECTURE.md sections 1 and 2). Reads one message on
 * stdin and queues it, like postfix's postdrop or qmail-queue: one file in
 * var/mail/tmp holding our envelope line (envelope.h) and the message,
 * fsync, link into var/mail/new, fsync of new/, a poke of the runner's
 * FIFO (non-blocking: no reader is fine), exit 0. The ingester (intake.c)
 * records it later; until then new/ is the queue. Any failure removes the
 * copy and exits 75 (EX_TEMPFAIL): the MTA keeps the message and retries.
 * Postfix bounces on any other code, and a bounced homework is lost: even
 * a usage error, a broken configuration or a crash is 75 here.
 *
 * Why so little: it runs once per mail, often as the MTA's user, and every
 * mail waits for it. No parsing, no database, no resident process to talk
 * to, and only the C library, linked dynamically (a security update of a
 * library reaches it without a relink). Its configuration is two keys of
 * sercom.conf, read here with the GKeyFile syntax the rest uses.
 *
 * Attack: a mail bigger than anything the course accepts (a 141 MB
 * attachment) must not fill var/ nor be bounced (a bounce is a lost
 * homework): the copy keeps its first [limits] message_size bytes, stdin is
 * read to its end, and the envelope says truncated with the real size; the
 * ingester answers it as too_large from its headers. */
#define _GNU_SOURCE
#include "envelope.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define VERSION "0.1.0"
#define DEFAULT_CONF "/etc/sercom/sercom.conf"
#define DEFAULT_MESSAGE_SIZE (10ull << 20)

static bool verbose;
/* what a failure (a crash signal too) removes: the copy in tmp/, then
 * the one in new/ until new/ is on disk */
static char tmp_path[PATH_MAX], new_path[PATH_MAX];
static volatile sig_atomic_t linked;

static void remove_copy(void)
{
	if (tmp_path[0])
		unlink(tmp_path);
	if (linked)
		unlink(new_path);
}

static void crash_handler(int sig)
{
	(void)sig;
	remove_copy();
	_exit(EX_TEMPFAIL);
}

static void say(const char *level, const char *fmt, va_list ap)
{
	fprintf(stderr, "sercom-deliver: %s", level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* Every failure ends here: the copy removed, 75. */
static _Noreturn void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("error: ", fmt, ap);
	va_end(ap);
	fprintf(stderr, "sercom-deliver: exit 75: the MTA keeps the message and retries\n");
	remove_copy();
	exit(EX_TEMPFAIL);
}

static void info(const char *fmt, ...)
{
	if (!verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	say("", fmt, ap);
	va_end(ap);
}

/* dir/name into out (PATH_MAX bytes); a path too long is a failure */
static void path_join(char *out, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		fail("%s/%s: path too long", dir, name);
}

struct config {
	char var[PATH_MAX];
	uint64_t message_size;
};

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = 0;
	return s;
}

/* A size as util_parse_size reads it: a number, K/M/G, an optional i
 * and B. */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return false;
	double mul = 1;
	switch (*end) {
	case 'k': case 'K': mul = 1024.0; end++; break;
	case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
	case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
	}
	if (mul > 1 && (*end == 'i' || *end == 'I'))
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	*out = (uint64_t)(v * mul);
	return *end == 0;
}

/* [general] var (relative to the file's directory) and [limits]
 * message_size of the instance's sercom.conf, as conf.c reads them. */
static void read_config(const char *path, struct config *c)
{
	char abs[PATH_MAX], dir[PATH_MAX];
	if (path[0] == '/') {
		snprintf(abs, sizeof abs, "%s", path);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd))
			fail("%s: %s", path, strerror(errno));
		if ((size_t)snprintf(abs, sizeof abs, "%s/%s", cwd, path) >= sizeof abs)
			fail("%s: path too long", path);
	}
	snprintf(dir, sizeof dir, "%s", abs);
	*strrchr(dir, '/') = 0;
	FILE *f = fopen(abs, "re");
	if (!f)
		fail("%s: cannot read the configuration: %s", abs, strerror(errno));
	char var[PATH_MAX] = "var", section[64] = "";
	c->message_size = DEFAULT_MESSAGE_SIZE;
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		char *l = trim(line), *eq;
		if (*l == '#' || *l == ';' || !*l)
			continue;
		if (*l == '[') {
			char *close = strchr(l, ']');
			if (!close || (size_t)(close - l) > sizeof section)
				fail("%s:%u: a malformed group line", abs, lineno);
			*close = 0;
			snprintf(section, sizeof section, "%s", l + 1);
		} else if ((eq = strchr(l, '='))) {
			*eq = 0;
			char *key = trim(l), *value = trim(eq + 1);
			if (!strcmp(section, "general") && !strcmp(key, "var"))
				snprintf(var, sizeof var, "%s", value);
			else if (!strcmp(section, "limits") && !strcmp(key, "message_size") &&
			         !parse_size(value, &c->message_size))
				fail("%s: [limits] message_size: not a size: %s", abs, value);
		}
	}
	free(line);
	fclose(f);
	if ((size_t)snprintf(c->var, sizeof c->var, "%s%s%s", var[0] == '/' ? "" : dir,
	                     var[0] == '/' ? "" : "/", var) >= sizeof c->var)
		fail("%s: [general] var: path too long", abs);
}

/* Who we run as, for a permission error: the MTA picks the user (the
 * alias map's owner, pipe(8)'s user=, the .forward's owner), and the
 * admin must compare it with the owner of var/ (README "Installing for a
 * real course"). */
static const char *running_as(void)
{
	static char who[128];
	uid_t uid = geteuid();
	struct passwd *pw = getpwuid(uid);
	snprintf(who, sizeof who, "uid %ld (%s), gid %ld", (long)uid, pw ? pw->pw_name : "no passwd entry",
	         (long)getegid());
	return who;
}

/* var/mail and its dirs, owned like var/ (run by root, they must be the
 * ingester's, which is the owner of var/) */
static void make_dirs(const char *var, const char *mail)
{
	static const char *const subs[] = { "", "/tmp", "/new", "/cur" };
	struct stat st;
	if (stat(var, &st) < 0)
		fail("%s: %s", var, strerror(errno));
	for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
		char p[PATH_MAX];
		if ((size_t)snprintf(p, sizeof p, "%s%s", mail, subs[i]) >= sizeof p)
			fail("%s: path too long", mail);
		if (mkdir(p, 0750) < 0) {
			/* saved: running_as() may change errno, and argument
			 * order is unspecified */
			int e = errno;
			if (e != EEXIST)
				fail("%s: cannot create: %s (sercom-deliver runs as %s)", p, strerror(e), running_as());
		} else if (geteuid() == 0 && chown(p, st.st_uid, st.st_gid) < 0) {
			fail("%s: %s", p, strerror(errno));
		}
	}
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("%s: %s", tmp_path, n < 0 ? strerror(errno) : "short write");
		buf += n;
		len -= (size_t)n;
	}
}

/* The message from stdin after the envelope line; its real size. Past
 * max bytes it is read and counted, not kept (see the attack above). */
static uint64_t copy_stdin(int fd, uint64_t max)
{
	static char buf[1 << 16];
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("reading the message: %s", strerror(errno));
		if (n == 0)
			return total;
		if (total < max)
			write_all(fd, buf, (size_t)(max - total < (uint64_t)n ? max - total : (uint64_t)n));
		total += (uint64_t)n;
	}
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		fail("%s: fsync: %s", dir, strerror(errno));
	close(fd);
}

/* The runner waits on its FIFO: one byte, never blocking (ENXIO: no
 * runner; EAGAIN: enough pokes wait already). */
static void poke(const char *var)
{
	char fifo[PATH_MAX];
	if ((size_t)snprintf(fifo, sizeof fifo, "%s/runner.fifo", var) >= sizeof fifo)
		return;
	int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = write(fd, "!", 1);
	(void)n;
	close(fd);
}

/* Stores stdin with envelope e into var/mail/new (new_path). */
static void spool(const struct config *c, struct envelope *e)
{
	char mail[PATH_MAX], name[NAME_MAX], newdir[PATH_MAX];
	path_join(mail, c->var, "mail");
	path_join(newdir, mail, "new");
	envelope_spool_name(name, sizeof name, 1);
	char tmpdir[PATH_MAX], tmp[PATH_MAX];
	path_join(tmpdir, mail, "tmp");
	path_join(tmp, tmpdir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0 && errno == ENOENT) {
		make_dirs(c->var, mail);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	}
	if (fd < 0) {
		int saved = errno;
		fail("%s: cannot create: %s (sercom-deliver runs as %s)", tmp, strerror(saved), running_as());
	}
	memcpy(tmp_path, tmp, sizeof tmp);
	/* run by root (a test, an alias of root): the copy must be the
	 * ingester's to read, and the ingester is the owner of var/ */
	struct stat st;
	if (geteuid() == 0 && (stat(newdir, &st) < 0 || fchown(fd, st.st_uid, st.st_gid) < 0))
		fail("%s: %s", newdir, strerror(errno));
	char line[ENVELOPE_MAX];
	size_t len = envelope_format(e, line, sizeof line);
	if (!len)
		fail("the envelope does not fit in %d bytes", ENVELOPE_MAX);
	write_all(fd, line, len);
	e->size = copy_stdin(fd, c->message_size);
	e->truncated = e->size > c->message_size;
	envelope_patch(line, e->size, e->truncated);
	if (pwrite(fd, line, len, 0) != (ssize_t)len || fsync(fd) < 0 || close(fd) < 0)
		fail("%s: %s", tmp_path, strerror(errno));
	path_join(new_path, newdir, name);
	if (link(tmp_path, new_path) < 0)
		fail("%s: cannot link into new/: %s", tmp_path, strerror(errno));
	linked = 1;
	unlink(tmp_path);
	tmp_path[0] = 0;
	fsync_dir(newdir);
	linked = 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sercom-deliver [-c CONF] [-e EXERCISE] [-f SENDER] [-r RECIPIENT] [-v] < MESSAGE\n"
	           "Queues one mailed submission in the instance's var/mail for grading.\n"
	           "Exit 0 when it is on disk; 75 (try again later) otherwise.\n\n"
	           "  -c, --config CONF      configuration (default $SERCOM_CONF, " DEFAULT_CONF ")\n"
	           "  -e, --exercise NAME    the exercise (else $EXTENSION, the recipient's +tag, the Subject)\n"
	           "  -f, --sender ADDR      envelope sender (else $SENDER)\n"
	           "  -r, --recipient ADDR   envelope recipient (else $RECIPIENT)\n"
	           "  -v, --verbose          say where the message went\n"
	           "      --help, --version\n");
}

int main(int argc, char **argv)
{
	static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTERM, SIGXFSZ };
	for (size_t i = 0; i < sizeof crash_signals / sizeof *crash_signals; i++)
		signal(crash_signals[i], crash_handler);
	/* a closed pipe from the MTA must not kill us silently with 141 */
	signal(SIGPIPE, SIG_IGN);
	/* the spool holds students' code: nothing for other users (README
	 * "Installing for a real course"); the MTA's user and the owner of
	 * var/ share what they create by owner or group */
	umask(027);
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "exercise", required_argument, NULL, 'e' },
		{ "sender", required_argument, NULL, 'f' }, { "recipient", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 },
	};
	struct envelope e = { .time = (int64_t)time(NULL) };
	const char *conf = getenv("SERCOM_CONF");
	int o;
	while ((o = getopt_long(argc, argv, "c:e:f:r:v", opts, NULL)) != -1) {
		switch (o) {
		case 'c': conf = optarg; break;
		case 'e': e.exercise = optarg; break;
		case 'f': e.sender = optarg; break;
		case 'r': e.recipient = optarg; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("sercom-deliver " VERSION "\n"); return 0;
		default: usage(stderr); return EX_TEMPFAIL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sercom-deliver: unexpected argument: %s\n", argv[optind]);
		return EX_TEMPFAIL;
	}
	if (!e.sender)
		e.sender = getenv("SENDER");
	if (!e.recipient)
		e.recipient = getenv("RECIPIENT");
	e.extension = getenv("EXTENSION");
	struct config c;
	read_config(conf && *conf ? conf : DEFAULT_CONF, &c);
	spool(&c, &e);
	info("stored %s (%" PRIu64 " bytes%s)", new_path, e.size, e.truncated ? ", truncated" : "");
	poke(c.var);
	return 0;
}
