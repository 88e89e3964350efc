/* intake: records the messages sercom-deliver hands over (intake.h).
 *
 * The answer comes first: sercom-deliver has already spooled and fsync'd
 * the message, so once the intake has checked the copy is there it owns
 * it, and the MTA can let go. The intake then records it while the next
 * delivery starts; that one waits on the socket until this one is
 * recorded, so nothing piles up unseen. A record that fails (database
 * locked past the timeout, a full disk) leaves the copy unrecorded in
 * var/mail/new, and the recovery a minute later records it.
 *
 * Attack: a crafted mail that crashes the parser, or makes it loop until
 * the time limit kills the intake, would be found again by the recovery
 * and kill every intake after it. The intake writes the path it is
 * recording into var/intake.current and clears it after; a new intake
 * that finds a path there tries it once more, and sets it aside in
 * var/mail/held/new the second time (a line in the log says so). */
#define _GNU_SOURCE 1
#include "intake.h"
#include "handoff.h"
#include "ingest.h"
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQUEST_WAIT_MS 5000 /* for a connected client to send its request */
#define RECORD_LIMIT_S 60    /* to record one message */
#define RECOVER_S 600        /* between two looks for unrecorded messages */
#define RETRY_S 61           /* the look after a failed record (min age 60 s) */
#define MARK_FILE "intake.current"
#define MARK_MAX 4096

struct intake {
	const struct sercom_conf *conf; /* the one it started with, or reloaded */
	struct sercom_conf *reloaded;   /* owned: the last reload */
	struct stat conf_st;            /* of the file conf was read from */
	struct store *store;
	int mark_fd;
	size_t mark_len;                /* what the last mark() wrote */
	int64_t next_recover;
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
	/* an instance owned by root (tests, a demo run as root) is delivered
	 * to as root: its intake is no stronger than its MDA then */
	if (st.st_uid == 0)
		return true;
	if (setgroups(0, NULL) < 0 || setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0) {
		g_set_error(err, SERCOM_ERROR, errno, "becoming uid %ld (owner of %s): %s",
		            (long)st.st_uid, c->var, g_strerror(errno));
		return false;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return true;
}

/* The crash marker: "TRIES PATH" NUL-padded, rewritten in place (no new
 * inode per mail); "" when nothing is being recorded. A process crash
 * keeps what was written; a power cut may not, and needs no marker. */
static void mark(struct intake *in, const char *path, int tries)
{
	char buf[MARK_MAX] = { 0 };
	if (path)
		snprintf(buf, sizeof buf, "%d %s", tries, path);
	/* all NULs over the previous mark when clearing */
	size_t len = path ? strlen(buf) + 1 : in->mark_len;
	if (in->mark_fd < 0 || !len)
		return;
	if (pwrite(in->mark_fd, buf, len, 0) < 0)
		log_warn("%s/%s: %s", in->conf->var, MARK_FILE, g_strerror(errno));
	in->mark_len = path ? len : 0;
}

/* A teacher who edits sercom.conf (a policy, a limit) expects the next
 * mail to follow it, as it would with an MDA process per mail: the file
 * is read again when it changed. Its var/ stays the one the intake serves. */
static void refresh_conf(struct intake *in)
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
		log_error("intake: %s: keeping the configuration read before", err->message);
		g_error_free(err);
		return;
	}
	if (strcmp(c->var, in->conf->var)) {
		log_warn("intake: %s: var changed to %s: restart sercom-runner to serve it", c->path, c->var);
		conf_free(c);
		return;
	}
	log_info("intake: %s read again", c->path);
	if (in->reloaded)
		conf_free(in->reloaded);
	in->conf = in->reloaded = c;
}

static void guard(const char *path, void *data)
{
	mark(data, path, 1);
}

static void recover(struct intake *in)
{
	GError *err = NULL;
	refresh_conf(in);
	if (ingest_recover(in->conf, in->store, 60, guard, in, &err) < 0) {
		log_error("intake: recovering unrecorded messages: %s", err->message);
		g_error_free(err);
	}
	in->next_recover = util_now() + RECOVER_S;
}

/* Records path (mark tries), logging the outcome. */
static void record(struct intake *in, const char *path, const struct ingest_opts *o, int tries)
{
	struct ingest_result res = { 0 };
	GError *err = NULL;
	mark(in, path, tries);
	/* attack: a mail that makes a parser loop forever would stall every
	 * delivery behind it; SIGALRM ends this process (see above) */
	alarm(RECORD_LIMIT_S);
	bool ok = ingest_spooled(in->conf, in->store, path, o, &res, &err);
	alarm(0);
	mark(in, NULL, 0);
	if (ok) {
		g_autofree char *text = ingest_describe(&res);
		log_info("%s", text);
		if (res.drop_copy)
			unlink(path);
		if (res.outcome == INGEST_QUEUED || res.outcome == INGEST_REJECTED)
			ingest_wake_runner(in->conf);
	} else {
		log_warn("%s: not recorded yet (tried again in a minute): %s", path, err->message);
		g_error_free(err);
		if (in->next_recover > util_now() + RETRY_S)
			in->next_recover = util_now() + RETRY_S;
	}
	ingest_result_clear(&res);
}

/* What the previous intake was recording when it died (see above). */
static void settle_last(struct intake *in)
{
	char buf[MARK_MAX + 1] = { 0 };
	ssize_t n = pread(in->mark_fd, buf, MARK_MAX, 0);
	char *path = n > 0 ? strchr(buf, ' ') : NULL;
	if (!path || !path[1])
		return;
	int tries = atoi(buf);
	path++;
	in->mark_len = (size_t)n;
	GError *err = NULL;
	int known = ingest_is_recorded(in->store, path, &err);
	if (known < 0) {
		log_error("intake: %s", err->message);
		g_error_free(err);
		return;
	}
	if (known || access(path, F_OK) < 0) {
		mark(in, NULL, 0);
		return;
	}
	if (tries < 2) {
		log_warn("%s: the last intake died recording it: one more try", path);
		record(in, path, &(struct ingest_opts){ 0 }, tries + 1);
		return;
	}
	/* a Maildir of its own: `sercom import-maildir var/mail/held` feeds
	 * them again once the cause is known */
	g_autofree char *held = g_build_filename(in->conf->mail_dir, "held", "new", NULL);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *dst = g_build_filename(held, base, NULL);
	if (util_mkdir_p(held, 0750) < 0 || rename(path, dst) < 0) {
		log_error("%s: killed the intake twice, and cannot be set aside in %s: %s",
		          path, held, g_strerror(errno));
		return;
	}
	log_error("%s: killed the intake twice (a crash or the %d s limit): set aside as %s, "
	          "not recorded and not answered", path, RECORD_LIMIT_S, dst);
	mark(in, NULL, 0);
}

/* One request: the copy is checked, the client answered, then recorded. */
static void serve_one(struct intake *in, int conn, const struct handoff_request *rq)
{
	refresh_conf(in);
	g_autofree char *path = g_build_filename(in->conf->mail_dir, "new", rq->spool_name, NULL);
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		handoff_answer(conn, EX_TEMPFAIL_, "the intake finds no such spooled message");
		log_warn("intake: %s: no such spooled message", path);
		return;
	}
	g_autofree char *text = g_strdup_printf("stored %s: handed to the intake", path);
	handoff_answer(conn, 0, text);
	struct ingest_opts o = {
		.exercise = rq->exercise,
		.extension = rq->extension,
		.sender = rq->sender,
		.recipient = rq->recipient,
	};
	record(in, path, &o, 1);
}

/* Serves every connection waiting on the (non-blocking) socket. */
static void serve_pending(struct intake *in, int lfd)
{
	for (;;) {
		GError *err = NULL;
		struct handoff_request rq = { 0 };
		int conn = handoff_accept(lfd, &rq, REQUEST_WAIT_MS, &err);
		if (conn < 0) {
			bool none = g_error_matches(err, SERCOM_ERROR, EAGAIN);
			if (!none)
				log_warn("intake: %s", err->message);
			g_error_free(err);
			if (none)
				return;
			continue;
		}
		serve_one(in, conn, &rq);
		handoff_request_clear(&rq);
	}
}

int intake_serve(const struct sercom_conf *c, int stop_fd)
{
	GError *err = NULL;
	struct intake in = { .conf = c, .mark_fd = -1 };
	stat(c->path, &in.conf_st);
	int rc = util_mkdir_p(c->attempts_dir, 0755);
	if (rc < 0) {
		log_error("intake: %s: %s", c->attempts_dir, g_strerror(-rc));
		return EX_TEMPFAIL_;
	}
	if (!spool_init(c->mail_dir, &err) || !(in.store = store_open(c->db_path, 30000, &err))) {
		log_error("intake: %s", err->message);
		g_error_free(err);
		return EX_TEMPFAIL_;
	}
	int lfd = handoff_listen(c->var, &err);
	if (lfd < 0) {
		log_error("intake: %s", err->message);
		g_error_free(err);
		store_close(in.store);
		return EX_TEMPFAIL_;
	}
	g_autofree char *mark_path = g_build_filename(c->var, MARK_FILE, NULL);
	in.mark_fd = open(mark_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (in.mark_fd < 0)
		log_warn("intake: %s: %s: a mail that kills the intake is not set aside", mark_path, g_strerror(errno));
	mime_init();
	if (in.mark_fd >= 0)
		settle_last(&in);
	/* a handoff whose intake died left its copy unrecorded; so may a
	 * power cut */
	recover(&in);
	in.next_recover = util_now() + RETRY_S;
	log_info("intake: listening on %s/%s", c->var, HANDOFF_SOCKET);
	for (;;) {
		struct pollfd p[2] = { { .fd = stop_fd, .events = POLLIN }, { .fd = lfd, .events = POLLIN } };
		int64_t wait_s = in.next_recover - util_now();
		int n = poll(p, 2, wait_s > 0 ? (int)(wait_s * 1000) : 0);
		if (n < 0 && errno != EINTR) {
			log_error("intake: poll: %s", g_strerror(errno));
			break;
		}
		if (n > 0 && p[0].revents)
			break;
		if (n > 0 && (p[1].revents & POLLIN))
			serve_pending(&in, lfd);
		if (util_now() >= in.next_recover)
			recover(&in);
	}
	/* stopping: no new connections (the next sercom-deliver records in a
	 * process of its own), but the ones already queued on the socket
	 * handed their message over: they are served */
	g_autofree char *sock = g_build_filename(c->var, HANDOFF_SOCKET, NULL);
	unlink(sock);
	serve_pending(&in, lfd);
	close(lfd);
	if (in.mark_fd >= 0)
		close(in.mark_fd);
	store_close(in.store);
	if (in.reloaded)
		conf_free(in.reloaded);
	log_info("intake: stopped");
	return 0;
}
