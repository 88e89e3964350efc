/* intake: records the messages sercom-deliver hands over (intake.h).
 *
 * The answer comes first: sercom-deliver has spooled and fsync'd the
 * message, so once the intake has opened the copy it owns it, and the MTA
 * can let go. The intake then records it while the next delivery starts;
 * that one waits on the socket until this one is recorded, so nothing
 * piles up unseen. Owning the copy means the intake also owns what the
 * MTA's retry used to do:
 * - the envelope (-e, $EXTENSION, the sender and recipient) must outlive
 *   the process: it is written with the path into var/intake.current
 *   before the answer, and cleared after the record;
 * - a record that fails (the database locked past its timeout, a full
 *   disk) keeps its envelope in var/mail/envelope/NAME and is tried again
 *   every minute, by this intake or the next;
 * - attack: a crafted mail that crashes the parser, or makes it loop until
 *   the time limit ends the intake, would kill every intake after it. A
 *   new intake that finds a path in var/intake.current tries it again (its
 *   predecessor may have died of something else) and sets it aside in the
 *   Maildir var/mail/held at the third death, with a line in the log. */
#define _GNU_SOURCE 1
#include "intake.h"
#include "handoff.h"
#include "ingest.h"
#include "log.h"
#include "mime.h"
#include "spool.h"
#include "store.h"
#include "util.h"

#include <dirent.h>
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
#define RETRY_S 60           /* between two tries of a failed record */
#define RECOVER_S 600        /* between two looks for unrecorded copies, */
#define RECOVER_AGE_S 600    /* older than this (no MDA is still at them) */
#define MAX_DEATHS 3         /* intakes a mail may kill before it is held */
#define BATCH 64             /* requests served before the loop looks again */
#define MARK_FILE "intake.current"
#define MARK_MAX (HANDOFF_MAX + 4096)

struct intake {
	const struct sercom_conf *conf; /* the one it started with, or reloaded */
	struct sercom_conf *reloaded;   /* owned: the last reload */
	struct stat conf_st;            /* of the file conf was read from */
	struct store *store;
	int mark_fd;
	size_t mark_len;                /* what the last mark() wrote */
	GPtrArray *failed;              /* paths whose record failed (g_free) */
	int64_t next_retry, next_recover;
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
	 * to as root: its intake is no stronger than its MDA then, but that
	 * is worth a line */
	if (st.st_uid == 0) {
		log_warn("intake: %s belongs to root: mail is parsed as root; chown it to the user "
		         "the MTA delivers as", c->var);
		return true;
	}
	if (setgroups(0, NULL) < 0 || setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0) {
		g_set_error(err, SERCOM_ERROR, errno, "becoming uid %ld (owner of %s): %s",
		            (long)st.st_uid, c->var, g_strerror(errno));
		return false;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return true;
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

/* The crash marker: "DEATHS LEN PATH\n" and the envelope's packet of LEN
 * bytes, rewritten in place (no new inode per mail), NULs over it when
 * nothing is being recorded. DEATHS: intakes that died recording PATH so
 * far. A process crash keeps what was written; a power cut may not, and
 * then the copy is a recovery's (its envelope lost). */
static void mark(struct intake *in, const char *path, int deaths, const struct handoff_request *env)
{
	if (in->mark_fd < 0)
		return;
	g_autoptr(GByteArray) b = g_byte_array_new();
	if (path) {
		g_autoptr(GByteArray) pk = env ? handoff_encode(env) : g_byte_array_new();
		g_autofree char *head = g_strdup_printf("%d %u %s\n", deaths, pk->len, path);
		g_byte_array_append(b, (const guint8 *)head, (guint)strlen(head));
		g_byte_array_append(b, pk->data, pk->len);
	} else {
		/* clearing: NULs over the previous mark */
		g_byte_array_set_size(b, (guint)in->mark_len);
		memset(b->data, 0, in->mark_len);
	}
	size_t len = b->len;
	if (len && pwrite(in->mark_fd, b->data, len, 0) < 0)
		log_warn("%s/%s: %s", in->conf->var, MARK_FILE, g_strerror(errno));
	in->mark_len = path ? len : 0;
}

static void keep_envelope(struct intake *in, const char *copy, const struct handoff_request *env)
{
	g_autofree char *dir = g_build_filename(in->conf->mail_dir, "envelope", NULL);
	g_autofree char *dst = ingest_envelope_path(in->conf, copy);
	g_autofree char *tmp = g_strconcat(dst, ".tmp", NULL);
	g_autoptr(GByteArray) pk = handoff_encode(env);
	int fd = util_mkdir_p(dir, 0750) < 0 ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || util_write_all(fd, pk->data, pk->len) < 0 || fsync(fd) < 0 || rename(tmp, dst) < 0) {
		log_error("%s: cannot keep its envelope (%s): a later record reads only its headers",
		          copy, g_strerror(errno));
		unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
}

static void record_started(struct intake *in, const char *path, int deaths, const struct handoff_request *env)
{
	mark(in, path, deaths, env);
	/* attack: a mail that makes a parser loop forever would stall every
	 * delivery behind it; SIGALRM ends this process (see above) */
	alarm(RECORD_LIMIT_S);
}

static void record_ended(struct intake *in)
{
	alarm(0);
	mark(in, NULL, 0, NULL);
}

static void forget_envelope(struct intake *in, const char *copy)
{
	g_autofree char *e = ingest_envelope_path(in->conf, copy);
	unlink(e);
}

/* Whether copy is still there and has no record (a recovery may have been
 * first): the copies of settle() and retry_failed() (a fresh handoff's
 * cannot be recorded yet). */
static bool unrecorded(struct intake *in, const char *copy)
{
	GError *err = NULL;
	int known = ingest_is_recorded(in->store, copy, &err);
	g_clear_error(&err);
	return known == 0 && access(copy, F_OK) == 0;
}

/* Records path with its envelope (deaths: intakes it killed so far). A
 * client waiting on answer_fd (or -1) is answered once the envelope is on
 * disk, before the record. */
static void record(struct intake *in, const char *path, const struct handoff_request *env, int deaths,
                   bool envelope_kept, int answer_fd)
{
	record_started(in, path, deaths, env);
	if (answer_fd >= 0) {
		g_autofree char *text = g_strdup_printf("stored %s: handed to the intake", path);
		handoff_answer(answer_fd, 0, text);
	}
	struct ingest_opts o = {
		.exercise = env->exercise,
		.extension = env->extension,
		.sender = env->sender,
		.recipient = env->recipient,
	};
	struct ingest_result res = { 0 };
	GError *err = NULL;
	bool ok = ingest_spooled(in->conf, in->store, path, &o, &res, &err);
	record_ended(in);
	if (ok) {
		g_autofree char *text = ingest_describe(&res);
		log_info("%s", text);
		if (res.drop_copy)
			unlink(path);
		if (envelope_kept)
			forget_envelope(in, path);
		if (res.outcome == INGEST_QUEUED || res.outcome == INGEST_REJECTED)
			ingest_wake_runner(in->conf);
	} else {
		log_warn("%s: not recorded yet (tried again in a minute): %s", path, err->message);
		g_error_free(err);
		if (!envelope_kept)
			keep_envelope(in, path, env);
		g_ptr_array_add(in->failed, g_strdup(path));
		if (in->next_retry == 0)
			in->next_retry = util_now() + RETRY_S;
	}
	ingest_result_clear(&res);
}

/* The records that failed, once more each. */
static void retry_failed(struct intake *in)
{
	GPtrArray *paths = in->failed;
	in->failed = g_ptr_array_new_with_free_func(g_free);
	in->next_retry = 0;
	for (guint i = 0; i < paths->len; i++) {
		const char *p = paths->pdata[i];
		if (!unrecorded(in, p)) {
			forget_envelope(in, p);
			continue;
		}
		struct handoff_request env = { 0 };
		bool kept = ingest_read_envelope(in->conf, p, &env);
		record(in, p, &env, 0, kept, -1);
		handoff_request_clear(&env);
	}
	g_ptr_array_free(paths, TRUE);
}

static void recover_before(const char *path, void *data)
{
	record_started(data, path, 0, NULL);
}

static void recover_after(const char *path, void *data)
{
	(void)path;
	record_ended(data);
}

static void recover(struct intake *in)
{
	GError *err = NULL;
	refresh_conf(in);
	struct ingest_recover_hooks h = { recover_before, recover_after, in };
	if (ingest_recover(in->conf, in->store, RECOVER_AGE_S, &h, &err) < 0) {
		log_error("intake: recovering unrecorded messages: %s", err->message);
		g_error_free(err);
	}
	in->next_recover = util_now() + RECOVER_S;
}

/* Sets a mail that killed MAX_DEATHS intakes aside. */
static void hold(struct intake *in, const char *path, int deaths)
{
	/* a Maildir of its own: `sercom import-maildir var/mail/held` feeds
	 * them again once the cause is known */
	g_autofree char *held = g_build_filename(in->conf->mail_dir, "held", "new", NULL);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *dst = g_build_filename(held, base, NULL);
	int rc = util_mkdir_p(held, 0750);
	if (rc < 0 || rename(path, dst) < 0) {
		log_error("%s: killed %d intakes, and cannot be set aside in %s: %s",
		          path, deaths, held, g_strerror(rc < 0 ? -rc : errno));
		return;
	}
	util_fsync_dir(held);
	log_error("%s: killed %d intakes (a crash, or the %d s limit of a record): set aside as %s. "
	          "The MTA was answered, the student was not: staff must look at it",
	          path, deaths, RECORD_LIMIT_S, dst);
}

/* What the previous intake was recording when it died, and the records
 * that failed (their envelopes kept): before any new request. */
static void settle(struct intake *in)
{
	char *buf = g_malloc0(MARK_MAX + 1);
	ssize_t n = in->mark_fd >= 0 ? pread(in->mark_fd, buf, MARK_MAX, 0) : 0;
	int deaths = 0, at = 0;
	unsigned envlen = 0;
	char *nl = n > 0 ? memchr(buf, '\n', (size_t)n) : NULL;
	if (nl && sscanf(buf, "%d %u %n", &deaths, &envlen, &at) == 2 && at > 0 && buf + at < nl) {
		*nl = 0;
		in->mark_len = (size_t)n;
		deaths++;
		const char *path = buf + at;
		struct handoff_request env = { 0 };
		size_t off = (size_t)(nl + 1 - buf);
		if (envlen && off + envlen <= (size_t)n && !handoff_decode(nl + 1, envlen, &env))
			handoff_request_clear(&env);
		if (!unrecorded(in, path)) {
			mark(in, NULL, 0, NULL);
		} else if (deaths >= MAX_DEATHS) {
			hold(in, path, deaths);
			mark(in, NULL, 0, NULL);
		} else {
			log_warn("%s: the last intake died recording it (%d of %d): once more", path, deaths, MAX_DEATHS);
			record(in, path, &env, deaths, false, -1);
		}
		handoff_request_clear(&env);
	} else if (n > 0) {
		in->mark_len = (size_t)n;
		mark(in, NULL, 0, NULL);
	}
	g_free(buf);
	/* records that failed: their envelope is kept */
	g_autofree char *dir = g_build_filename(in->conf->mail_dir, "envelope", NULL);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d))) {
		if (g_str_has_suffix(name, ".tmp"))
			continue;
		g_autofree char *copy = g_build_filename(in->conf->mail_dir, "new", name, NULL);
		g_ptr_array_add(in->failed, g_steal_pointer(&copy));
	}
	if (d)
		g_dir_close(d);
	if (in->failed->len)
		retry_failed(in);
}

/* One request: the copy opened, the client answered, then recorded. */
static void serve_one(struct intake *in, int conn, const struct handoff_request *rq)
{
	refresh_conf(in);
	g_autofree char *path = g_build_filename(in->conf->mail_dir, "new", rq->spool_name, NULL);
	/* only a copy it can read is the intake's (one spooled by root is
	 * not): refused, sercom-deliver records it itself */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = fd < 0 ? errno : EINVAL;
		g_autofree char *why = g_strdup_printf("the intake cannot take %s: %s", path, g_strerror(e));
		handoff_answer(conn, EX_TEMPFAIL_, why);
		log_warn("intake: %s", why);
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	record(in, path, rq, 0, false, conn);
}

/* Serves the connections waiting on the (non-blocking) socket, at most
 * BATCH, so that stopping and retries are looked at under load too. */
static void serve_pending(struct intake *in, int lfd)
{
	for (int i = 0; i < BATCH; i++) {
		GError *err = NULL;
		struct handoff_request rq = { 0 };
		int conn = handoff_accept(lfd, &rq, REQUEST_WAIT_MS, &err);
		if (conn < 0) {
			/* a bad client is forgotten; anything else (EAGAIN: none
			 * left, EMFILE...) ends the batch instead of spinning */
			bool bad_client = g_error_matches(err, SERCOM_ERROR, EPROTO) ||
			                  g_error_matches(err, SERCOM_ERROR, ETIMEDOUT) ||
			                  g_error_matches(err, SERCOM_ERROR, EPERM);
			if (!g_error_matches(err, SERCOM_ERROR, EAGAIN))
				log_warn("intake: %s", err->message);
			g_error_free(err);
			if (bad_client)
				continue;
			return;
		}
		serve_one(in, conn, &rq);
		handoff_request_clear(&rq);
	}
}

int intake_serve(const struct sercom_conf *c, int stop_fd)
{
	GError *err = NULL;
	struct intake in = { .conf = c, .mark_fd = -1, .failed = g_ptr_array_new_with_free_func(g_free) };
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
	g_autofree char *mark_path = g_build_filename(c->var, MARK_FILE, NULL);
	in.mark_fd = open(mark_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (in.mark_fd < 0)
		log_warn("intake: %s: %s: a mail that kills the intake is not set aside, "
		         "and an envelope dies with it", mark_path, g_strerror(errno));
	mime_init();
	/* before it listens: a copy it settles or recovers cannot also be
	 * handed over while it does (deliveries record themselves meanwhile) */
	settle(&in);
	recover(&in);
	int lfd = handoff_listen(c->var, &err);
	if (lfd < 0) {
		log_error("intake: %s", err->message);
		g_error_free(err);
		store_close(in.store);
		return EX_TEMPFAIL_;
	}
	log_info("intake: listening on %s/%s", c->var, HANDOFF_SOCKET);
	for (;;) {
		struct pollfd p[2] = { { .fd = stop_fd, .events = POLLIN }, { .fd = lfd, .events = POLLIN } };
		int64_t next = in.next_retry && in.next_retry < in.next_recover ? in.next_retry : in.next_recover;
		int64_t wait_s = next - util_now();
		int n = poll(p, 2, wait_s > 0 ? (int)(wait_s * 1000) : 0);
		if (n < 0 && errno != EINTR) {
			log_error("intake: poll: %s", g_strerror(errno));
			break;
		}
		if (n > 0 && p[0].revents)
			break;
		if (n > 0 && (p[1].revents & POLLIN))
			serve_pending(&in, lfd);
		if (in.next_retry && util_now() >= in.next_retry)
			retry_failed(&in);
		if (util_now() >= in.next_recover)
			recover(&in);
	}
	/* stopping: no new connections (the next sercom-deliver records in a
	 * process of its own), but the ones already queued on the socket
	 * handed their message over: they are served */
	g_autofree char *sock = g_build_filename(c->var, HANDOFF_SOCKET, NULL);
	unlink(sock);
	for (int i = 0; i < 128 / BATCH + 1; i++)
		serve_pending(&in, lfd);
	close(lfd);
	if (in.mark_fd >= 0)
		close(in.mark_fd);
	/* failed records keep their envelope for the next intake */
	g_ptr_array_free(in.failed, TRUE);
	store_close(in.store);
	if (in.reloaded)
		conf_free(in.reloaded);
	log_info("intake: stopped");
	return 0;
}
