/* intake: the ingester. See intake.h.
 *
 * The queue directory is the state, as in postfix's pickup: no marker, no
 * envelope file, no recovery by age.
 * - A pass takes var/mail/new oldest first (the names start with the
 *   time, spool.c), one pass at a time (a lock file: the daemon's
 *   ingester and a `sercom recover` run by hand never take the same mail).
 * - Each mail is renamed NAME,tN before its record (N: records started),
 *   recorded under var/mail/cur/NAME (the commit fsync'd, synchronous=FULL
 *   on this connection), then moved there. A crash between the commit and
 *   the move leaves it in new/ with a row: the next pass only moves it.
 * - Attack: a crafted mail that crashes the parser, or makes it loop (the
 *   RECORD_LIMIT_S alarm ends the process), would kill every ingester
 *   after it. A mail found with ,t3 killed three: it is set aside in
 *   var/mail/held (counted and listed by `sercom stats`), and the mails
 *   after it are recorded.
 * - A record that fails (the database locked past its timeout, a full
 *   disk, a broken exercise.conf) takes the mail back to its name in new/:
 *   it is tried again at the next pass, RETRY_S later. The instance's
 *   troubles (busy, full) end the pass; a mail's own go on to the next. */
#define _GNU_SOURCE 1
#include "intake.h"
#include "log.h"
#include "mime.h"
#include "spool.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sysexits.h>

#define RECORD_LIMIT_S 60 /* to record one mail */
#define RETRY_S 10        /* after a pass with a failed record */
#define IDLE_S 60         /* between passes with no news from new/ */
#define MAX_TRIES 3       /* ingesters a mail may kill before it is held */
#define TRIES_MARK ",t"

struct ingester {
	const struct sercom_conf *conf; /* the one it started with, or reloaded */
	struct sercom_conf *reloaded;   /* owned: the last reload */
	struct stat conf_st;            /* of the file conf was read from */
	struct store *store;
	int report_fd;                  /* intake_run's pipe, or -1 */
};

bool intake_drop_privileges(const struct sercom_conf *c, GError **err)
{
	if (geteuid() != 0)
		return true;
	struct stat st;
	if (stat(c->var, &st) < 0) {
		g_set_error(err, SERCOM_ERROR, errno, "%s: %s", c->var, g_strerror(errno));
		return false;
	}
	if (st.st_uid == 0) {
		g_set_error(err, SERCOM_ERROR, EPERM, "%s belongs to root, and mail is never parsed as root: "
		            "chown -R it to the user the MTA delivers as", c->var);
		return false;
	}
	/* OpenSMTPD's order: groups, gid, uid; then no way back */
	if (setgroups(0, NULL) < 0 || setresgid(st.st_gid, st.st_gid, st.st_gid) < 0 ||
	    setresuid(st.st_uid, st.st_uid, st.st_uid) < 0 || getuid() == 0) {
		g_set_error(err, SERCOM_ERROR, errno, "becoming uid %ld (owner of %s): %s",
		            (long)st.st_uid, c->var, g_strerror(errno));
		return false;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return true;
}

static gint compare_names(gconstpointer x, gconstpointer y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

char **intake_list(const struct sercom_conf *c, const char *sub)
{
	g_autofree char *dir = g_build_filename(c->mail_dir, sub, NULL);
	GPtrArray *names = g_ptr_array_new();
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *n;
	while (d && (n = g_dir_read_name(d)))
		if (n[0] != '.')
			g_ptr_array_add(names, g_strdup(n));
	if (d)
		g_dir_close(d);
	g_ptr_array_sort(names, compare_names);
	g_ptr_array_add(names, NULL);
	return (char **)g_ptr_array_free(names, FALSE);
}

/* A teacher who edits sercom.conf (a policy, a limit) expects the next
 * mail to follow it: the daemon's ingester reads it again when it changed.
 * Its var/ stays the one it serves. */
static void refresh_conf(struct ingester *in)
{
	struct stat st;
	if (stat(in->conf->path, &st) < 0 ||
	    (st.st_ino == in->conf_st.st_ino && st.st_size == in->conf_st.st_size &&
	     st.st_mtim.tv_sec == in->conf_st.st_mtim.tv_sec && st.st_mtim.tv_nsec == in->conf_st.st_mtim.tv_nsec))
		return;
	in->conf_st = st;
	GError *err = NULL;
	struct sercom_conf *c = conf_load(in->conf->path, &err);
	if (!c) {
		log_error("ingester: %s: keeping the configuration read before", err->message);
		g_error_free(err);
		return;
	}
	if (strcmp(c->var, in->conf->var)) {
		log_warn("ingester: %s: var changed to %s: restart sercom-runner to serve it", c->path, c->var);
		conf_free(c);
		return;
	}
	if (in->reloaded)
		conf_free(in->reloaded);
	in->conf = in->reloaded = c;
}

static void report(struct ingester *in, const char *name, int what, const char *detail)
{
	if (in->report_fd < 0)
		return;
	g_autofree char *d = g_strdup(detail ? detail : "");
	g_strdelimit(d, "\t\r\n", ' ');
	g_autofree char *line = g_strdup_printf("%s\t%d\t%s\n", name, what, d);
	util_write_all(in->report_fd, line, strlen(line));
}

/* BASE and the records started of a name of new/ (BASE,tN). */
static char *split_name(const char *name, int *tries)
{
	const char *m = g_strrstr(name, TRIES_MARK);
	*tries = 0;
	if (!m || m[2] < '1' || m[2] > '9' || m[3])
		return g_strdup(name);
	*tries = m[2] - '0';
	return g_strndup(name, (gsize)(m - name));
}

static char *mail_path(const struct ingester *in, const char *sub, const char *name, int tries)
{
	g_autofree char *n = tries ? g_strdup_printf("%s" TRIES_MARK "%d", name, tries) : g_strdup(name);
	return g_build_filename(in->conf->mail_dir, sub, n, NULL);
}

static void hold(struct ingester *in, const char *path, const char *base, int tries)
{
	g_autofree char *held = g_build_filename(in->conf->mail_dir, "held", NULL);
	g_autofree char *dst = g_build_filename(held, base, NULL);
	int rc = util_mkdir_p(held, 0750);
	if (rc < 0 || rename(path, dst) < 0) {
		log_error("%s: killed %d ingesters, and cannot be set aside in %s: %s",
		          path, tries, held, g_strerror(rc < 0 ? -rc : errno));
		return;
	}
	log_error("%s: killed %d ingesters (a crash, or the %d s limit of a record): set aside as %s; "
	          "the MTA was answered, the student was not: staff must look at it (sercom stats)",
	          path, tries, RECORD_LIMIT_S, dst);
	report(in, base, INTAKE_HELD, dst);
}

/* Seconds one record may take: the limit, or the tests' shorter one. */
static unsigned record_limit(void)
{
	const char *t = g_getenv("SERCOM_TEST_RECORD_LIMIT_S");
	int n = t ? atoi(t) : 0;
	return n > 0 ? (unsigned)n : RECORD_LIMIT_S;
}

enum take { TAKEN, FAILED, STOP };

/* One mail of new/: held, moved (recorded before), or recorded. */
static enum take take(struct ingester *in, const char *name)
{
	int tries;
	g_autofree char *base = split_name(name, &tries);
	g_autofree char *path = mail_path(in, "new", base, tries);
	g_autofree char *trying = mail_path(in, "new", base, tries + 1);
	g_autofree char *done = mail_path(in, "cur", base, 0);
	/* killed between its commit and its move: only the move is left */
	GError *err = NULL;
	int known = ingest_is_recorded(in->store, done, &err);
	if (known != 0) {
		if (known > 0 && rename(path, done) == 0)
			return TAKEN;
		log_error("%s: %s", path, err ? err->message : g_strerror(errno));
		g_clear_error(&err);
		return STOP;
	}
	if (tries >= MAX_TRIES) {
		hold(in, path, base, tries);
		return TAKEN;
	}
	if (rename(path, trying) < 0)
		return errno == ENOENT ? TAKEN : FAILED;
	struct ingest_result res = { 0 };
	alarm(record_limit());
	bool ok = ingest_spooled(in->conf, in->store, trying, done, &res, &err);
	alarm(0);
	if (!ok) {
		/* a failure is no death: back to the name it had */
		rename(trying, path);
		log_warn("%s: not recorded yet (tried again later): %s", path, err->message);
		report(in, base, INTAKE_FAILED, err->message);
		bool instance = err->code == EAGAIN || err->code == ENOSPC;
		g_error_free(err);
		return instance ? STOP : FAILED;
	}
	/* recorded: a failed move is the next pass's to do */
	if (rename(trying, done) < 0)
		log_warn("%s: recorded, not moved to %s yet: %s", trying, done, g_strerror(errno));
	g_autofree char *text = ingest_describe(&res);
	/* the daemon's log; a command prints the report instead */
	if (in->report_fd < 0)
		log_info("%s", text);
	else
		log_debug("%s", text);
	report(in, base, (int)res.outcome, res.reason);
	if (res.outcome == INGEST_QUEUED || res.outcome == INGEST_REJECTED)
		ingest_wake_runner(in->conf);
	ingest_result_clear(&res);
	return TAKEN;
}

/* A delivery killed before its link leaves its copy in tmp/ (the MTA
 * delivers the mail again): removed after 36 hours, maildir(5)'s rule. */
static void clean_tmp(const struct ingester *in)
{
	g_autofree char *tmp = g_build_filename(in->conf->mail_dir, "tmp", NULL);
	g_auto(GStrv) names = intake_list(in->conf, "tmp");
	int64_t old = util_now() - 36 * 3600;
	for (char **n = names; *n; n++) {
		g_autofree char *p = g_build_filename(tmp, *n, NULL);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime < old)
			unlink(p);
	}
}

/* Every mail of new/, oldest first; false when one failed. */
static bool pass(struct ingester *in)
{
	g_autofree char *lock = g_build_filename(in->conf->mail_dir, ".ingest.lock", NULL);
	int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX) < 0) {
		log_error("%s: %s", lock, g_strerror(errno));
		if (lfd >= 0)
			close(lfd);
		return false;
	}
	g_auto(GStrv) names = intake_list(in->conf, "new");
	bool ok = true;
	for (char **n = names; *n; n++) {
		enum take t = take(in, *n);
		ok = ok && t == TAKEN;
		if (t == STOP)
			break;
	}
	clean_tmp(in);
	close(lfd);
	return ok;
}

/* The ingester's state, unprivileged already; false with err. */
static bool ingester_open(struct ingester *in, const struct sercom_conf *c, int report_fd, GError **err)
{
	*in = (struct ingester){ .conf = c, .report_fd = report_fd };
	stat(c->path, &in->conf_st);
	int rc = util_mkdir_p(c->attempts_dir, 0755);
	if (rc < 0) {
		g_set_error(err, SERCOM_ERROR, -rc, "%s: %s", c->attempts_dir, g_strerror(-rc));
		return false;
	}
	/* the commit must be on disk before the mail leaves new/ */
	if (!spool_init(c->mail_dir, err) || !(in->store = store_open(c->db_path, 30000, err)) ||
	    !store_exec(in->store, err, "PRAGMA synchronous=FULL"))
		return false;
	mime_init();
	return true;
}

static void ingester_close(struct ingester *in)
{
	store_close(in->store);
	if (in->reloaded)
		conf_free(in->reloaded);
}

int intake_serve(const struct sercom_conf *c, int stop_fd)
{
	GError *err = NULL;
	struct ingester in;
	if (!ingester_open(&in, c, -1, &err)) {
		log_error("ingester: %s", err->message);
		g_error_free(err);
		ingester_close(&in);
		return EX_TEMPFAIL;
	}
	g_autofree char *newdir = g_build_filename(c->mail_dir, "new", NULL);
	int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino < 0 || inotify_add_watch(ino, newdir, IN_CREATE | IN_MOVED_TO) < 0)
		log_warn("ingester: inotify on %s: %s: a pass every %d s only", newdir, g_strerror(errno), IDLE_S);
	log_info("ingester: serving %s", newdir);
	int64_t next = 0;
	for (;;) {
		if (util_now_ms() >= next) {
			refresh_conf(&in);
			next = util_now_ms() + (pass(&in) ? IDLE_S : RETRY_S) * 1000;
		}
		struct pollfd p[2] = { { .fd = stop_fd, .events = POLLIN }, { .fd = ino, .events = POLLIN } };
		int64_t wait = next - util_now_ms();
		int n = poll(p, ino >= 0 ? 2 : 1, wait > 0 ? (int)wait : 0);
		if (n < 0 && errno != EINTR) {
			log_error("ingester: poll: %s", g_strerror(errno));
			break;
		}
		if (n > 0 && p[0].revents)
			break;
		if (n > 0 && p[1].revents) {
			char buf[4096];
			while (read(ino, buf, sizeof buf) > 0)
				;
			next = 0;
		}
	}
	if (ino >= 0)
		close(ino);
	ingester_close(&in);
	log_info("ingester: stopped");
	return 0;
}

/* The child of intake_run: unprivileged, one pass, reports on fd. */
static _Noreturn void run_child(const struct sercom_conf *c, int fd)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGALRM, SIG_DFL);
	GError *err = NULL;
	struct ingester in = { .report_fd = fd };
	bool ok = intake_drop_privileges(c, &err) && ingester_open(&in, c, fd, &err);
	if (!ok) {
		/* the line the parent turns into its error */
		in.report_fd = fd;
		report(&in, "-", -1, err->message);
		_exit(EX_TEMPFAIL);
	}
	pass(&in);
	ingester_close(&in);
	_exit(EXIT_SUCCESS);
}

/* Reads the child's report lines; its error (g_free) when it sent one. */
static char *read_reports(int fd, intake_report_fn fn, void *data)
{
	FILE *f = fdopen(fd, "r");
	char *line = NULL, *error = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = 0;
		g_auto(GStrv) w = g_strsplit(line, "\t", 3);
		if (g_strv_length(w) != 3)
			continue;
		int what = atoi(w[1]);
		if (what < 0) {
			g_free(error);
			error = g_strdup(w[2]);
		} else if (fn) {
			fn(w[0], what, w[2], data);
		}
	}
	free(line);
	fclose(f);
	return error;
}

bool intake_run(const struct sercom_conf *c, intake_report_fn fn, void *data, GError **err)
{
	g_auto(GStrv) waiting = intake_list(c, "new");
	/* each death moves one mail closer to held: this many rounds end
	 * with every mail recorded or held */
	guint rounds = MAX_TRIES * g_strv_length(waiting) + 1;
	for (guint r = 0; r < rounds; r++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			g_set_error(err, SERCOM_ERROR, errno, "pipe: %s", g_strerror(errno));
			return false;
		}
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			g_set_error(err, SERCOM_ERROR, errno, "fork: %s", g_strerror(errno));
			close(p[0]);
			close(p[1]);
			return false;
		}
		if (pid == 0) {
			close(p[0]);
			run_child(c, p[1]);
		}
		close(p[1]);
		g_autofree char *error = read_reports(p[0], fn, data);
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status)) {
			if (WEXITSTATUS(status) == 0)
				return true;
			g_set_error(err, SERCOM_ERROR, EIO, "the ingester: %s",
			            error ? error : "failed");
			return false;
		}
		log_warn("the ingester was killed by signal %d: once more", WTERMSIG(status));
	}
	g_set_error(err, SERCOM_ERROR, EIO, "the ingester keeps dying");
	return false;
}
