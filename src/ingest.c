/* ingest: the ingester's engine. See ingest.h.
 *
 * Design rationale (the order matters):
 * 1. sercom-deliver put the raw bytes in var/mail/new (fsync'd) before
 *    anything that can fail: parse errors, a missing exercise, a locked
 *    database. From then on the homework exists on our disk, and it stays
 *    in new/ until it is recorded (intake.c).
 * 2. Parsing, identification and unpacking happen outside the database
 *    lock, into a staging directory var/attempts/.stage-XXXXXX. Every
 *    check that can reject without the files (window, size, attempt
 *    budget) comes before unpacking: a rejected mail must not cost the
 *    disk what its archives unpack to.
 * 3. One BEGIN IMMEDIATE transaction checks the duplicate (the same
 *    Message-ID and the same bytes, by digest) and the attempt budget, numbers the
 *    attempt, supersedes older QUEUED ones, renames the staging directory
 *    to var/attempts/ID and commits. A crash anywhere before COMMIT leaves
 *    no row; a directory left by a crashed transaction under a reused ID
 *    is removed before the rename. A rejected attempt keeps no files: its
 *    raw mail is the record.
 * 4. Any error leaves the mail in new/ for the next pass. */
#define _GNU_SOURCE
#include "ingest.h"
#include "authres.h"
#include "bounce.h"
#include "exercise.h"
#include "envelope.h"
#include "log.h"
#include "mime.h"
#include "policy.h"
#include "spool.h"
#include "unpack.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const outcome_names[] = { "queued", "rejected", "ignored", "automatic", "duplicate", "bounce" };

const char *ingest_outcome_name(enum ingest_outcome o)
{
	return outcome_names[o];
}

void ingest_result_clear(struct ingest_result *res)
{
	g_free(res->reason);
	g_free(res->spool_path);
	memset(res, 0, sizeof *res);
}

char *ingest_describe(const struct ingest_result *res)
{
	return g_strdup_printf("stored %s: %s%s%s%s, attempt %lld", res->spool_path,
	                       ingest_outcome_name(res->outcome), res->reason ? " (" : "",
	                       res->reason ? res->reason : "", res->reason ? ")" : "",
	                       (long long)res->attempt_id);
}

void ingest_wake_runner(const struct sercom_conf *c)
{
	/* O_NONBLOCK: ENXIO when no runner has the FIFO open, EAGAIN when its
	 * buffer is full of earlier pokes; either way the runner's timer or
	 * its next read finds the work */
	int fd = open(c->fifo_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = write(fd, "!", 1);
	(void)n;
	close(fd);
}

/* What the decisions before the transaction found. */
struct verdict {
	enum ingest_outcome outcome;
	enum reject_reason reason;
	char *detail;
	char *why;          /* ignored/automatic: why */
	char *student;      /* roster id, NULL when unknown */
	char *register_name;/* unknown_sender = accept: register with this name */
	char *email;        /* address to answer */
	char *exercise;
	struct exercise *ex;
	char *stage;        /* staging dir (holds submitted/, maybe ignored/) */
	GString *ignored;   /* names of files not accepted by the exercise */
	GPtrArray *skipped; /* unpack's notes: archive entries not written and why */
	GHashTable *renamed;/* stored name -> the name it came with (unpack.h) */
	char *auth;         /* messages.auth: "pass: HOW", "fail: HOW", "exempt"; NULL when off */
	bool auth_pass;     /* passed, or exempt */
	char *quiet;        /* attempts.quiet: why it is never answered */
	GPtrArray *receipt; /* struct receipt_file *: what the mail brought */
	struct bounce_dsn *dsn; /* the mail is a delivery status notification */
	int64_t bounce_outbox;  /* INGEST_BOUNCE: the row its address names */
	struct policy_terms terms; /* the student's extension (0: none) */
};

/* One line of the receipt (receipts table). */
struct receipt_file {
	char *name;
	uint64_t size;
	char sha256[65];
};

static void receipt_file_free(gpointer p)
{
	struct receipt_file *f = p;
	g_free(f->name);
	g_free(f);
}

static void verdict_clear(struct verdict *v)
{
	g_free(v->detail);
	g_free(v->why);
	g_free(v->student);
	g_free(v->register_name);
	g_free(v->email);
	g_free(v->exercise);
	exercise_free(v->ex);
	if (v->stage) {
		util_rm_rf(v->stage);
		g_free(v->stage);
	}
	if (v->ignored)
		g_string_free(v->ignored, TRUE);
	if (v->skipped)
		g_ptr_array_free(v->skipped, TRUE);
	if (v->renamed)
		g_hash_table_destroy(v->renamed);
	g_free(v->auth);
	g_free(v->quiet);
	if (v->receipt)
		g_ptr_array_free(v->receipt, TRUE);
	bounce_dsn_free(v->dsn);
}

/* Appends text from an archive with its line breaks made spaces. */
static void append_flat(GString *n, const char *text)
{
	gsize from = n->len;
	g_string_append(n, text);
	g_strdelimit(n->str + from, "\r\n", ' ');
}

/* One line of the note: "KIND: a; b; c" (the line break before it when
 * the note has lines already). */
static void note_line(GString *n, const char *kind, const char *item, bool first)
{
	if (first)
		g_string_append_printf(n, "%s%s: ", n->len ? "\n" : "", kind);
	else
		g_string_append(n, "; ");
	append_flat(n, item);
}

/* The attempt's note: one line per kind, read back by the composer. Names
 * come from archives: a newline in one must not start a line of its own.
 * "renamed: OLD -> NEW; ..." says which name became which (sorted). */
static char *attempt_note(const struct verdict *v)
{
	GString *n = g_string_new(NULL);
	if (v->ignored && v->ignored->len)
		note_line(n, "ignored", v->ignored->str, true);
	for (guint i = 0; v->skipped && i < v->skipped->len; i++)
		note_line(n, "skipped", v->skipped->pdata[i], i == 0);
	GList *keys = v->renamed ? g_list_sort(g_hash_table_get_keys(v->renamed), (GCompareFunc)strcmp) : NULL;
	for (GList *k = keys; k; k = k->next) {
		g_autofree char *item = g_strdup_printf("%s -> %s",
			(const char *)g_hash_table_lookup(v->renamed, k->data), (const char *)k->data);
		note_line(n, "renamed", item, k == keys);
	}
	g_list_free(keys);
	return g_string_free(n, n->len == 0);
}

static void reject(struct verdict *v, enum reject_reason r, char *detail)
{
	v->outcome = INGEST_REJECTED;
	v->reason = r;
	g_free(v->detail);
	v->detail = detail;
}

/* Students often zip the folder they worked in: when the submission is a
 * single directory, its contents are the submission. */
static void flatten_single_dir(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	if (!d)
		return;
	const char *n, *only = NULL;
	int count = 0;
	while ((n = g_dir_read_name(d))) {
		count++;
		only = n;
	}
	g_autofree char *sub = count == 1 ? g_build_filename(dir, only, NULL) : NULL;
	g_dir_close(d);
	struct stat st;
	if (!sub || lstat(sub, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	g_autofree char *tmp = g_strconcat(dir, ".flat", NULL);
	if (rename(sub, tmp) == 0 && rmdir(dir) == 0)
		rename(tmp, dir);
}

/* Moves files the exercise does not accept out of submitted/ into
 * ignored/ (kept for staff, never built) and collects their names. Walks
 * the tree recursively; names are relative paths. */
static void set_aside_ignored(const struct exercise *e, const char *root, const char *rel,
                              const char *ignored_root, GString *ignored, GPtrArray *kept)
{
	g_autofree char *dir = rel ? g_build_filename(root, rel, NULL) : g_strdup(root);
	GDir *d = g_dir_open(dir, 0, NULL);
	if (!d)
		return;
	const char *n;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	while ((n = g_dir_read_name(d)))
		g_ptr_array_add(names, g_strdup(n));
	g_dir_close(d);
	for (guint i = 0; i < names->len; i++) {
		const char *name = names->pdata[i];
		g_autofree char *relp = rel ? g_build_filename(rel, name, NULL) : g_strdup(name);
		g_autofree char *path = g_build_filename(root, relp, NULL);
		struct stat st;
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			set_aside_ignored(e, root, relp, ignored_root, ignored, kept);
			continue;
		}
		if (S_ISREG(st.st_mode) && exercise_file_accepted(e, name)) {
			g_ptr_array_add(kept, g_strdup(name));
			continue;
		}
		g_autofree char *dst = g_build_filename(ignored_root, relp, NULL);
		g_autofree char *dstdir = g_path_get_dirname(dst);
		util_mkdir_p(dstdir, 0755);
		if (rename(path, dst) < 0)
			unlink(path);
		if (ignored->len)
			g_string_append_c(ignored, ' ');
		g_string_append(ignored, relp);
	}
	g_ptr_array_free(names, TRUE);
}

/* Writes the mail's files into the staging dir, unpacking archives, and
 * applies the exercise's files/required rules. */
static bool stage_files(const struct sercom_conf *c, const struct mime_info *m, struct verdict *v,
                        GError **err)
{
	g_autofree char *tmpl = g_build_filename(c->attempts_dir, ".stage-XXXXXX", NULL);
	if (!g_mkdtemp_full(tmpl, 0755)) {
		int e = errno;
		g_set_error(err, SERCOM_ERROR, e, "%s: cannot create: %s", tmpl, g_strerror(e));
		return false;
	}
	v->stage = g_strdup(tmpl);
	g_autofree char *sub = g_build_filename(v->stage, "submitted", NULL);
	if (mkdir(sub, 0755) < 0) {
		int e = errno;
		g_set_error(err, SERCOM_ERROR, e, "%s: cannot create: %s", sub, g_strerror(e));
		return false;
	}
	if (v->outcome != INGEST_QUEUED)
		return true; /* already rejected: the raw mail is kept, no files */
	/* the parser stopped collecting: the file list is incomplete, and
	 * grading part of a submission would be a wrong answer */
	if (m->too_large) {
		reject(v, REJECT_TOO_LARGE, g_strdup_printf("attachments:%llu",
		       (unsigned long long)v->ex->limits.unpacked_size));
		return true;
	}
	if (m->too_many_parts) {
		reject(v, REJECT_TOO_LARGE, g_strdup_printf("parts:%d", MIME_MAX_PARTS));
		return true;
	}
	struct unpack_limits lim = {
		.max_total_bytes = v->ex->limits.unpacked_size,
		.max_files = v->ex->limits.files,
		.max_ratio = 200,
	};
	struct unpack_stats stats = { 0 };
	/* zip-slip paths, links, devices are left out, not fatal: the student
	 * is told which and why (and a required file among them is missing) */
	v->skipped = g_ptr_array_new_with_free_func(g_free);
	v->renamed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (guint i = 0; i < m->files->len; i++) {
		const struct mime_file *f = m->files->pdata[i];
		gsize len;
		const void *data = g_bytes_get_data(f->data, &len);
		g_autofree char *why = NULL;
		enum unpack_result r = unpack_file(sub, f->name, data, len, &lim, &stats, NULL, v->skipped,
		                                   v->renamed, &why);
		switch (r) {
		case UNPACK_OK:
			/* after it is written: unpack must not move it aside
			 * for a renamed file of its own name */
			if (f->renamed_from && !g_hash_table_contains(v->renamed, f->name))
				g_hash_table_insert(v->renamed, g_strdup(f->name), g_strdup(f->renamed_from));
			break;
		case UNPACK_BAD_ARCHIVE:
			reject(v, REJECT_BAD_ARCHIVE, g_strdup_printf("%s:%s", f->name, why ? why : "unreadable archive"));
			return true;
		case UNPACK_TOO_LARGE:
			/* detail "what:limit": the limit that was hit */
			reject(v, REJECT_TOO_LARGE, g_strdup_printf("%s:%llu", why ? why : f->name,
			       (unsigned long long)(why && strstr(why, "files") ? lim.max_files : lim.max_total_bytes)));
			return true;
		default:
			g_set_error(err, SERCOM_ERROR, EIO, "%s: cannot store %s: %s", sub, f->name, why ? why : "I/O error");
			return false;
		}
	}
	flatten_single_dir(sub);
	g_autofree char *ign = g_build_filename(v->stage, "ignored", NULL);
	GPtrArray *kept = g_ptr_array_new_with_free_func(g_free);
	set_aside_ignored(v->ex, sub, NULL, ign, v->ignored, kept);
	if (kept->len == 0) {
		reject(v, REJECT_NO_FILES, g_strdup(""));
	} else {
		g_ptr_array_add(kept, NULL);
		char **missing = exercise_missing_required(v->ex, (char **)kept->pdata);
		if (missing && *missing)
			reject(v, REJECT_MISSING_REQUIRED, g_strjoinv(" ", missing));
		g_strfreev(missing);
	}
	g_ptr_array_free(kept, TRUE);
	return true;
}

/* The size of the mail, and whether it was read from its headers alone. */
struct mail_size {
	uint64_t bytes;    /* the real size, also of a copy the spool cut */
	bool headers_only; /* over the instance's message_size, maybe cut */
};

/* [mail] authenticate: reads what our MTA wrote (authres.h) about the
 * From: address the student is identified by. Attack: anyone can write
 * "From: ana@..."; with require, such a mail is REJECTED unauthenticated
 * and answered to Ana's roster address only (never to whoever sent it),
 * so she learns of it; an unknown address is not registered. */
static void authenticate(const struct sercom_conf *c, const struct ingest_opts *o, struct verdict *v)
{
	if (c->authenticate == AUTH_OFF)
		return;
	g_autofree char *how = NULL;
	if (authres_exempt(c->auth_exempt, v->email)) {
		v->auth_pass = true;
		v->auth = g_strdup("exempt");
		return;
	}
	v->auth_pass = authres_check(o->head ? o->head : "", o->head ? o->head_len : 0, c->authserv_ids,
	                             v->email, &how);
	v->auth = g_strdup_printf("%s: %s", v->auth_pass ? "pass" : "fail", how);
	if (v->auth_pass || c->authenticate != AUTH_REQUIRE || v->outcome != INGEST_QUEUED)
		return;
	if (v->register_name) {
		/* unknown_sender = accept: not on the roster, so nobody to
		 * tell, and a forged address is never registered */
		g_clear_pointer(&v->register_name, g_free);
		g_clear_pointer(&v->student, g_free);
	}
	reject(v, REJECT_UNAUTHENTICATED, g_steal_pointer(&how));
}

/* The student's extension for the exercise (`sercom extend`): their own
 * deadline and budget. */
static bool load_terms(struct store *s, struct verdict *v, GError **err)
{
	int64_t until = 0, max = 0;
	if (!v->student || !v->exercise)
		return true;
	if (!store_query_int(s, &until, 0, err, "SELECT until FROM extensions WHERE student = %Q AND exercise = %Q",
	                     v->student, v->exercise) ||
	    !store_query_int(s, &max, 0, err, "SELECT coalesce(attempts, 0) FROM extensions "
	                     "WHERE student = %Q AND exercise = %Q", v->student, v->exercise))
		return false;
	v->terms = (struct policy_terms){ .until = until, .max_attempts = (int)max };
	return true;
}

/* Decisions that need no lock: automatic mail, sender, exercise, dates,
 * size. Sets v->outcome; returns false only on errors (-> 75). */
static bool decide(const struct sercom_conf *c, struct store *s, const struct mime_info *m,
                   const struct ingest_opts *o, const struct mail_size *size, struct verdict *v,
                   GError **err)
{
	v->outcome = INGEST_QUEUED;
	v->ignored = g_string_new(NULL);
	const char *auto_why = policy_automatic(m, o->sender);
	if (auto_why) {
		v->outcome = INGEST_AUTOMATIC;
		v->why = g_strdup(auto_why);
		return true;
	}
	/* the student is the From: address; the envelope sender only when
	 * there is no usable From: (a forwarder may rewrite the envelope) */
	const char *addr = m->from_addr ? m->from_addr : o->sender ? o->sender : m->mbox_sender;
	if (!addr || !*addr) {
		v->outcome = INGEST_AUTOMATIC;
		v->why = g_strdup("no sender address to answer");
		return true;
	}
	v->email = g_ascii_strdown(addr, -1);

	if (c->trusted && !g_regex_match(c->trusted, v->email, 0, NULL)) {
		reject(v, REJECT_UNTRUSTED_SENDER, g_strdup(v->email));
	} else {
		GError *e = NULL;
		v->student = store_student_by_email(s, v->email, &e);
		if (e) {
			g_propagate_error(err, e);
			return false;
		}
		if (!v->student) {
			switch (c->unknown_sender) {
			case UNKNOWN_REJECT:
				reject(v, REJECT_UNKNOWN_SENDER, g_strdup(v->email));
				break;
			case UNKNOWN_IGNORE:
				v->outcome = INGEST_IGNORED;
				v->why = g_strdup_printf("unknown sender %s (unknown_sender = ignore)", v->email);
				return true;
			case UNKNOWN_ACCEPT:
				v->student = g_strdup(v->email);
				v->register_name = g_strdup(m->from_name ? m->from_name : "");
				break;
			}
		}
	}

	authenticate(c, o, v);

	char **known = exercise_list_names(c);
	g_autofree char *tried = NULL;
	/* the envelope recipient first: it is what the MTA matched */
	GPtrArray *rcpts = g_ptr_array_new();
	if (o->recipient)
		g_ptr_array_add(rcpts, (void *)o->recipient);
	for (char **r = m->recipients; r && *r; r++)
		g_ptr_array_add(rcpts, *r);
	g_ptr_array_add(rcpts, NULL);
	v->exercise = policy_pick_exercise(known, o->exercise, o->extension,
	                                   (const char *const *)rcpts->pdata, m->subject, &tried);
	g_ptr_array_free(rcpts, TRUE);
	g_strfreev(known);
	if (!v->exercise) {
		if (v->outcome == INGEST_QUEUED)
			reject(v, REJECT_UNKNOWN_EXERCISE, g_strdup(tried ? tried : ""));
		return true;
	}
	/* v->exercise is a name of the exercises directory (the pick matched
	 * it against that list): loaded without its cases, which the runner
	 * reads and checks when it grades */
	g_autofree char *exdir = g_build_filename(c->exercises, v->exercise, NULL);
	v->ex = exercise_load_rules(c, exdir, err);
	if (!v->ex)
		return false; /* a broken exercise.conf is the staff's to fix: 75, retried */
	if (v->outcome != INGEST_QUEUED)
		return true;
	if (!load_terms(s, v, err))
		return false;
	/* the attempt budget needs the database: check_before_unpack(). The
	 * window is judged at the time the MDA got the mail (its envelope,
	 * written by sercom-deliver, not by the sender): a mail that waited
	 * in var/mail/new is not late for that */
	char *detail = NULL;
	enum reject_reason r = policy_check_window(v->ex, &v->terms, o->received, 0, &detail);
	/* the instance's message_size is a ceiling (the spool cut the copy
	 * there, and its files were not read): an exercise only lowers it */
	uint64_t limit = MIN(v->ex->limits.message_size, c->limits.message_size);
	if (r != REJECT_NONE)
		reject(v, r, detail);
	else if (size->headers_only || size->bytes > limit)
		reject(v, REJECT_TOO_LARGE, g_strdup_printf("message:%llu:%llu", (unsigned long long)limit,
		                                            (unsigned long long)size->bytes));
	return true;
}

/* The student's attempts at the exercise: the highest number so far and
 * how many count against max_attempts: charged (a build failure under
 * charge_build_failures = no is not), not rejected or superseded. */
static bool count_attempts(struct store *s, const struct verdict *v, int64_t *number, int64_t *used,
                           GError **err)
{
	return store_query_int(s, number, 0, err,
	           "SELECT max(number) FROM attempts WHERE student = %Q AND exercise = %Q", v->student, v->exercise) &&
	       store_query_int(s, used, 0, err,
	           "SELECT count(*) FROM attempts WHERE student = %Q AND exercise = %Q "
	           "AND charged = 1 AND state NOT IN ('REJECTED', 'SUPERSEDED')", v->student, v->exercise);
}

/* The exercise's rate limit ([limits] min_interval, max_per_day) over the
 * student's accepted mails (not REJECTED) received up to this one. Attack:
 * a flood of submissions (or forged ones, with authenticate off) must not
 * use up the student's attempts nor the graders: a mail over the limit is
 * kept and REJECTED rate_limited, and does not count. */
#define RATE_FROM "FROM attempts a JOIN messages m ON m.id = a.message WHERE a.student = %Q " \
                  "AND a.exercise = %Q AND a.state != 'REJECTED' AND m.received <= %lld"
static bool check_rate(struct store *s, struct verdict *v, int64_t received, GError **err)
{
	if (v->outcome != INGEST_QUEUED || !v->student || !v->ex ||
	    (!v->ex->limits.min_interval_ms && !v->ex->limits.max_per_day))
		return true;
	int64_t last, n, oldest, r = received, day = received - 86400;
	if (!store_query_int(s, &last, 0, err, "SELECT max(m.received) " RATE_FROM,
	                     v->student, v->exercise, (long long)r) ||
	    !store_query_int(s, &n, 0, err, "SELECT count(*) " RATE_FROM " AND m.received > %lld",
	                     v->student, v->exercise, (long long)r, (long long)day) ||
	    !store_query_int(s, &oldest, 0, err, "SELECT min(m.received) " RATE_FROM " AND m.received > %lld",
	                     v->student, v->exercise, (long long)r, (long long)day))
		return false;
	char *detail = NULL;
	enum reject_reason why = policy_check_rate(v->ex, received, last, oldest, n, &detail);
	if (why != REJECT_NONE)
		reject(v, why, detail);
	return true;
}

/* Whether the attempt is ever answered (docs/ARCHITECTURE.md section 6: only roster
 * addresses, and senders matching trusted that passed authentication).
 * Attack: backscatter. A mail "From: victim@elsewhere" must not make the
 * course's server mail a stranger (with text the sender chose), and a
 * flood must not make it mail anyone thousands of times: such attempts
 * are kept, counted and listed for staff, with v->quiet saying why. Under
 * the lock: of two mails of one flood, one only is the one answered. */
static bool decide_quiet(const struct sercom_conf *c, struct store *s, struct verdict *v, int64_t received,
                         GError **err)
{
	int64_t n = 0;
	if (!v->student) {
		if (!c->trusted || !g_regex_match(c->trusted, v->email, 0, NULL) || !v->auth_pass) {
			v->quiet = g_strdup("not a roster address, nor an authenticated one matching trusted");
			return true;
		}
		/* an unknown address gets one answer a day */
		if (!store_query_int(s, &n, 0, err,
		                     "SELECT count(*) FROM attempts a JOIN messages m ON m.id = a.message "
		                     "WHERE a.student IS NULL AND a.email = %Q AND a.quiet IS NULL AND m.received > %lld",
		                     v->email, (long long)(received - 86400)))
			return false;
		if (n)
			v->quiet = g_strdup("unknown address: answered once a day");
		return true;
	}
	if (v->outcome != INGEST_REJECTED)
		return true;
	/* A roster address gets one answer per rejection reason and exercise
	 * per interval (min_interval, at least a minute; a day for a
	 * max_per_day limit): 2,000 mails over the limit, to a closed
	 * exercise or forged in the student's name (unauthenticated) get one
	 * answer, not 2,000 */
	int64_t iv = v->ex ? (int64_t)(v->ex->limits.min_interval_ms / 1000) : 0;
	int64_t span = v->reason == REJECT_RATE_LIMITED && !iv ? 86400 : MAX(iv, 60);
	const char *reason = policy_reason_name(v->reason);
	if (!store_query_int(s, &n, 0, err,
	                     "SELECT count(*) FROM attempts a JOIN messages m ON m.id = a.message "
	                     "WHERE a.student = %Q AND a.exercise IS %Q AND a.reason = %Q "
	                     "AND a.quiet IS NULL AND m.received > %lld",
	                     v->student, v->exercise, reason, (long long)(received - span)))
		return false;
	if (n)
		v->quiet = g_strdup_printf("%s: answered once per %lld s", reason, (long long)span);
	return true;
}

/* The receipt's files: every attachment as the mail brought it, then
 * what its archives unpacked to (submitted/, ignored/), by relative
 * path, when the attempt kept files. */
static void receipt_add(struct verdict *v, const char *name, const void *data, gsize len)
{
	struct receipt_file *f = g_new0(struct receipt_file, 1);
	f->name = g_strdup(name);
	f->size = len;
	g_autofree char *h = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
	g_strlcpy(f->sha256, h, sizeof f->sha256);
	for (guint i = 0; i < v->receipt->len; i++) {
		const struct receipt_file *o = v->receipt->pdata[i];
		if (!strcmp(o->name, f->name) && !strcmp(o->sha256, f->sha256)) {
			receipt_file_free(f); /* an attachment stored as it came */
			return;
		}
	}
	g_ptr_array_add(v->receipt, f);
}

static void receipt_walk(struct verdict *v, const char *root, const char *rel)
{
	g_autofree char *dir = rel ? g_build_filename(root, rel, NULL) : g_strdup(root);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *n;
	while (d && (n = g_dir_read_name(d))) {
		g_autofree char *relp = rel ? g_build_filename(rel, n, NULL) : g_strdup(n);
		g_autofree char *path = g_build_filename(root, relp, NULL);
		struct stat st;
		g_autofree char *data = NULL;
		gsize len;
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			receipt_walk(v, root, relp);
		else if (S_ISREG(st.st_mode) && g_file_get_contents(path, &data, &len, NULL))
			receipt_add(v, relp, data, len);
	}
}

static void build_receipt(const struct mime_info *m, struct verdict *v)
{
	v->receipt = g_ptr_array_new_with_free_func(receipt_file_free);
	for (guint i = 0; i < m->files->len; i++) {
		const struct mime_file *f = m->files->pdata[i];
		gsize len;
		const void *data = g_bytes_get_data(f->data, &len);
		receipt_add(v, f->name, data, len);
	}
	if (!v->stage || v->outcome != INGEST_QUEUED)
		return;
	g_autofree char *sub = g_build_filename(v->stage, "submitted", NULL);
	g_autofree char *ign = g_build_filename(v->stage, "ignored", NULL);
	receipt_walk(v, sub, NULL);
	receipt_walk(v, ign, NULL);
}

static bool insert_receipt(struct store *s, int64_t message_row, const struct verdict *v, GError **err)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO receipts(message, name, size, sha256) VALUES (?1, ?2, ?3, ?4)", err);
	if (!st)
		return false;
	bool ok = true;
	for (guint i = 0; ok && v->receipt && i < v->receipt->len; i++) {
		const struct receipt_file *f = v->receipt->pdata[i];
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, message_row);
		sqlite3_bind_text(st, 2, f->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)f->size);
		sqlite3_bind_text(st, 4, f->sha256, -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_DONE;
	}
	if (!ok)
		store_set_error(s, err, "record the receipt");
	sqlite3_finalize(st);
	return ok;
}

/* Checks that need the database but not its lock, before anything is
 * unpacked: a student who used every attempt must not make us unpack
 * 50 MB per mail (an archive bomb within the ratio) to reject it anyway.
 * Read without the lock: record() checks the budget again under it
 * (race-safe); a mail let through here by a race is rejected there. A
 * rate limit belongs here too. */
static bool check_before_unpack(struct store *s, struct verdict *v, int64_t received, GError **err)
{
	if (v->outcome != INGEST_QUEUED || !v->student || !v->ex)
		return true;
	int64_t number, used;
	if (!count_attempts(s, v, &number, &used, err))
		return false;
	char *detail = NULL;
	enum reject_reason r = policy_check_window(v->ex, &v->terms, received, used, &detail);
	if (r != REJECT_NONE)
		reject(v, r, detail);
	return check_rate(s, v, received, err);
}

/* A rejected attempt keeps its raw mail only: whatever was unpacked for
 * it (maybe 50 MB of a bomb cut at the limit, or a whole submission that
 * came after the last attempt) goes; an empty submitted/ stays. */
static void drop_staged_files(const char *stage)
{
	g_autofree char *sub = g_build_filename(stage, "submitted", NULL);
	g_autofree char *ign = g_build_filename(stage, "ignored", NULL);
	util_rm_rf(sub);
	util_rm_rf(ign);
	mkdir(sub, 0755);
}

/* The envelope line of fd's file (envelope.h) and the offset of the
 * message after it. A file without one (dropped into new/ by hand) is all
 * message, its envelope unknown. */
static uint64_t read_envelope(int fd, uint64_t file_size, struct envelope *e)
{
	char buf[ENVELOPE_MAX];
	ssize_t n = pread(fd, buf, sizeof buf, 0);
	const char *nl = n > 0 ? memchr(buf, '\n', (size_t)n) : NULL;
	if (nl && envelope_parse(buf, (size_t)(nl - buf), e))
		return (uint64_t)(nl + 1 - buf);
	memset(e, 0, sizeof *e);
	e->size = file_size;
	return 0;
}

/* SHA-256 of the message's bytes from offset on (the envelope line, with
 * its time, differs between an MTA's two deliveries of one mail). */
static char *message_digest(int fd, uint64_t offset)
{
	g_autoptr(GChecksum) ck = g_checksum_new(G_CHECKSUM_SHA256);
	char buf[65536];
	ssize_t n;
	off_t at = (off_t)offset;
	while ((n = pread(fd, buf, sizeof buf, at)) > 0) {
		g_checksum_update(ck, (const guchar *)buf, (gsize)n);
		at += n;
	}
	return n < 0 ? NULL : g_strdup(g_checksum_get_string(ck));
}

/* The SHA-256 of a recorded mail's message bytes (after its envelope line),
 * from its spool file; NULL when the file cannot be read. */
static char *spool_digest(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return NULL;
	char *d = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		struct envelope env;
		uint64_t offset = read_envelope(fd, (uint64_t)st.st_size, &env);
		envelope_clear(&env);
		d = message_digest(fd, offset);
	}
	close(fd);
	return d;
}

/* A row found by find_duplicate: *row and *orig_path set, or *row = 0. */
static bool first_row(struct store *s, sqlite3_stmt *st, int64_t *row, char **orig_path, GError **err)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*row = sqlite3_column_int64(st, 0);
		*orig_path = g_strdup((const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_set_error(s, err, "duplicate check");
		return false;
	}
	return true;
}

/* Recorded before? A copy is a duplicate only when both its Message-ID
 * (or its lack of one) and its bytes (digest) are those of a recorded
 * mail: an MTA's retry after a delivery killed before its exit 0, or a
 * client sending the same mail twice. Attack (and broken clients): a
 * different mail that reuses a recorded Message-ID must not be dropped as
 * a duplicate, or a student's second submission, or another student's,
 * is never graded: it is recorded as a mail of its own. */
static bool find_duplicate(struct store *s, const char *mid, const char *digest, int64_t *row,
                           char **orig_path, GError **err)
{
	*row = 0;
	sqlite3_stmt *st = store_prepare(s,
		"SELECT id, spool_file FROM messages WHERE digest = ?1 AND message_id IS ?2 "
		"AND outcome != 'duplicate' LIMIT 1", err);
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, mid, -1, SQLITE_STATIC);
	if (!first_row(s, st, row, orig_path, err))
		return false;
	if (*row || !mid)
		return true;
	/* a mail recorded before schema 4 has no digest when it had a
	 * Message-ID (schema.sql.h): its bytes are read from its spool file */
	st = store_prepare(s, "SELECT id, spool_file FROM messages WHERE message_id = ?1 "
	                      "AND digest IS NULL AND outcome != 'duplicate' LIMIT 1", err);
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, mid, -1, SQLITE_STATIC);
	if (!first_row(s, st, row, orig_path, err))
		return false;
	g_autofree char *old = *row ? spool_digest(*orig_path) : NULL;
	if (*row && g_strcmp0(old, digest)) {
		/* other bytes, or a copy no longer readable: not provably the
		 * same mail, so recorded (a retry graded twice costs a number;
		 * a mail dropped is a homework lost) */
		*row = 0;
		g_clear_pointer(orig_path, g_free);
	}
	return true;
}

static bool insert_message(struct store *s, const struct mime_info *m, const struct ingest_opts *o,
                           const char *spool_path, const char *outcome, const char *note,
                           int64_t *row, GError **err)
{
	sqlite3_stmt *st = store_prepare(s,
		"INSERT INTO messages(message_id, spool_file, sender, recipient, subject, received, outcome, note, "
		"refs, digest, envelope_sender, auth, raw_sha256) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)", err);
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, m ? m->message_id : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, spool_path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m && m->from_addr ? m->from_addr : o->sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, o->recipient, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, m ? m->subject : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, o->received ? o->received : util_now());
	sqlite3_bind_text(st, 7, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, note, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, o->references, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, o->digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, o->sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, o->auth, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, o->raw_sha256, -1, SQLITE_STATIC);
	bool ok = sqlite3_step(st) == SQLITE_DONE;
	if (!ok)
		store_set_error(s, err, "record message");
	sqlite3_finalize(st);
	*row = sqlite3_last_insert_rowid(store_db(s));
	return ok;
}

/* A delivery status notification (every one is automatic mail: a
 * multipart/report) about one of our replies: the outbox row its address
 * names (bounce.h), found before the transaction. Attack: a student
 * forging a bounce of another student's reply. Only an address whose MAC
 * checks names a row (the envelope recipient, postfix's extension, or
 * the To:/Delivered-To of the notification); anything else stays
 * automatic mail, recorded and never answered, whatever it quotes.
 * false only when the instance's key cannot be read (the mail waits). */
static bool route_bounce(const struct sercom_conf *c, const struct mime_info *m, const struct ingest_opts *o,
                         struct verdict *v, GError **err)
{
	if (v->outcome != INGEST_AUTOMATIC || !v->dsn)
		return true;
	g_autofree char *secret = bounce_secret(c, err);
	if (!secret)
		return false;
	const char *const envelope[] = { o->recipient, o->extension, o->exercise };
	int64_t row = 0;
	for (size_t i = 0; !row && i < G_N_ELEMENTS(envelope); i++)
		row = bounce_address_parse(envelope[i], secret);
	for (char **r = m->recipients; !row && *r; r++)
		row = bounce_address_parse(*r, secret);
	g_free(v->why);
	if (!row)
		v->why = g_strdup("delivery status notification, to no signed bounce address of ours");
	else if (!v->dsn->failed)
		v->why = g_strdup_printf("delivery status notification (%s) of outbox %lld", v->dsn->action,
		                         (long long)row);
	else {
		v->outcome = INGEST_BOUNCE;
		v->bounce_outbox = row;
		v->why = bounce_dsn_reason(v->dsn);
	}
	return true;
}

/* Inside record's transaction: the notification kept as a message of
 * outcome bounce, and its row BOUNCED. A notification that quotes the
 * X-Sercom-Attempt of another attempt than the row's is not believed
 * (recorded as automatic): the MAC proves the address, and the quote
 * must agree with it. */
static bool record_bounce(struct store *s, const struct mime_info *m, const struct ingest_opts *o,
                          const char *spool_path, struct verdict *v, struct ingest_result *res, GError **err)
{
	int64_t attempt = -1, id = v->bounce_outbox;
	if (!store_query_int(s, &attempt, -1, err, "SELECT coalesce(attempt, 0) FROM outbox WHERE id = %lld",
	                     (long long)id))
		return false;
	const char *quoted = v->dsn->attempt;
	char *end = NULL;
	long long q = quoted ? g_ascii_strtoll(quoted, &end, 10) : 0;
	if (attempt < 0 || (quoted && (!end || *end || q != attempt))) {
		g_free(v->why);
		v->why = attempt < 0 ? g_strdup_printf("delivery status notification of outbox %lld, which does not exist",
		                                       (long long)id)
		                     : g_strdup_printf("delivery status notification of outbox %lld quoting attempt %s, "
		                                       "not its attempt %lld: nothing changed",
		                                       (long long)id, quoted, (long long)attempt);
		res->outcome = INGEST_AUTOMATIC;
		res->reason = g_strdup(v->why);
		return insert_message(s, m, o, spool_path, "automatic", v->why, &res->message_row, err);
	}
	res->outcome = INGEST_BOUNCE;
	if (!insert_message(s, m, o, spool_path, "bounce", v->why, &res->message_row, err) ||
	    !store_exec(s, err, "UPDATE outbox SET state = 'BOUNCED', bounce = %Q, bounced = %lld, bounce_message = %lld "
	                "WHERE id = %lld AND state IN ('PENDING','SENT')",
	                v->why, (long long)util_now(), (long long)res->message_row, (long long)id))
		return false;
	res->reason = g_strdup_printf("outbox %lld BOUNCED: %s", (long long)id, v->why);
	log_info("outbox %lld: BOUNCED: %s", (long long)id, v->why);
	return true;
}

/* The transaction of step 3. */
static bool record(const struct sercom_conf *c, struct store *s, const struct mime_info *m,
                   const struct ingest_opts *o, const char *spool_path, struct verdict *v,
                   struct ingest_result *res, GError **err)
{
	g_autofree char *orig = NULL, *note = NULL, *dir = NULL;
	if (!store_begin(s, err))
		return false;
	int64_t dup;
	if (!find_duplicate(s, m->message_id, o->digest, &dup, &orig, err))
		goto fail;
	if (dup) {
		res->outcome = INGEST_DUPLICATE;
		/* the same Message-ID and the same bytes (an MTA's retry after
		 * a delivery killed before its exit 0) are graded once; the
		 * copy is kept, with a row of its own */
		note = g_strdup_printf("duplicate of message %lld", (long long)dup);
		if (!insert_message(s, m, o, spool_path, "duplicate", note, &res->message_row, err))
			goto fail;
		res->spool_path = g_strdup(spool_path);
		res->reason = g_steal_pointer(&note);
		return store_commit(s, err);
	}
	if (v->outcome == INGEST_BOUNCE) {
		if (!record_bounce(s, m, o, spool_path, v, res, err))
			goto fail;
		return store_commit(s, err);
	}
	if (v->outcome == INGEST_AUTOMATIC || v->outcome == INGEST_IGNORED) {
		res->outcome = v->outcome;
		if (!insert_message(s, m, o, spool_path, ingest_outcome_name(v->outcome), v->why, &res->message_row, err))
			goto fail;
		res->reason = g_strdup(v->why);
		return store_commit(s, err);
	}
	if (v->register_name &&
	    !store_exec(s, err, "INSERT OR IGNORE INTO students(id, name) VALUES (%Q, %Q);"
	                "INSERT OR IGNORE INTO student_emails(email, student) VALUES (%Q, %Q)",
	                v->student, v->register_name, v->email, v->student))
		goto fail;

	int64_t number = 0;
	if (v->student && v->exercise) {
		int64_t used;
		if (!count_attempts(s, v, &number, &used, err))
			goto fail;
		number++;
		char *detail = NULL;
		enum reject_reason r = v->outcome == INGEST_QUEUED ?
			policy_check_window(v->ex, &v->terms, o->received, used, &detail) : REJECT_NONE;
		if (r != REJECT_NONE)
			reject(v, r, detail);
		if (!check_rate(s, v, o->received, err))
			goto fail;
	}
	if (!decide_quiet(c, s, v, o->received, err))
		goto fail;
	res->outcome = v->outcome;
	if (!insert_message(s, m, o, spool_path, ingest_outcome_name(v->outcome),
	                    v->outcome == INGEST_REJECTED ? policy_reason_name(v->reason) : NULL,
	                    &res->message_row, err) ||
	    !insert_receipt(s, res->message_row, v, err))
		goto fail;
	sqlite3_stmt *st = store_prepare(s,
		"INSERT INTO attempts(student, email, exercise, number, message, state, reason, detail, queued, note, verdict, "
		"quiet, late_days, penalty) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)", err);
	if (!st)
		goto fail;
	bool rejected = v->outcome == INGEST_REJECTED;
	note = attempt_note(v);
	sqlite3_bind_text(st, 1, v->student, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v->email, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, v->exercise, -1, SQLITE_STATIC);
	if (number)
		sqlite3_bind_int64(st, 4, number);
	sqlite3_bind_int64(st, 5, res->message_row);
	sqlite3_bind_text(st, 6, rejected ? "REJECTED" : "QUEUED", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, rejected ? policy_reason_name(v->reason) : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, v->detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, util_now());
	sqlite3_bind_text(st, 10, note, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, rejected ? "REJECTED" : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, v->quiet, -1, SQLITE_STATIC);
	/* a late mail the rule let through: its days and penalty (score.h) */
	int late = !rejected && v->ex ? policy_late_days(v->ex, &v->terms, o->received) : 0;
	sqlite3_bind_int(st, 13, late);
	sqlite3_bind_double(st, 14, late ? score_penalty(&v->ex->late, late) : 0);
	bool ok = sqlite3_step(st) == SQLITE_DONE;
	if (!ok)
		store_set_error(s, err, "record attempt");
	sqlite3_finalize(st);
	if (!ok)
		goto fail;
	res->attempt_id = sqlite3_last_insert_rowid(store_db(s));
	if (rejected)
		res->reason = g_strdup(policy_reason_name(v->reason));
	/* a newer submission replaces one still waiting (the CI controller's
	 * "newer patchset cancels older queued jobs") */
	if (!rejected && v->student &&
	    !store_exec(s, err, "UPDATE attempts SET state = 'SUPERSEDED', finished = %lld "
	                "WHERE student = %Q AND exercise = %Q AND state = 'QUEUED' AND id != %lld",
	                (long long)util_now(), v->student, v->exercise, (long long)res->attempt_id))
		goto fail;

	if (rejected)
		drop_staged_files(v->stage);
	dir = g_strdup_printf("%s/%lld", c->attempts_dir, (long long)res->attempt_id);
	/* an ID is reused after a crash rolled back its transaction: whatever
	 * lies under it was never recorded */
	util_rm_rf(dir);
	if (rename(v->stage, dir) < 0) {
		int e = errno;
		g_set_error(err, SERCOM_ERROR, e, "%s: cannot move into place: %s", dir, g_strerror(e));
		goto fail;
	}
	g_clear_pointer(&v->stage, g_free);
	/* no fsync of attempts/: like the row, the directory is derived from
	 * the spooled message, which is on disk (see store.c) */
	if (!store_commit(s, err)) {
		util_rm_rf(dir);
		return false;
	}
	return true;
fail:
	store_rollback(s);
	return false;
}

/* The ids a reply's References carries (RFC 5322 3.6.4): the parent's
 * References, else its one In-Reply-To id. Attack: a References of 10000
 * ids must not grow our row nor our reply: the thread's root and the last
 * REFS_KEEP ids are kept (RFC 5322 lets a reply drop the middle). */
#define REFS_KEEP 10
static char *thread_references(const struct mime_info *m)
{
	const char *v = m->references ? m->references : m->in_reply_to;
	GMimeReferences *refs = v ? g_mime_references_parse(NULL, v) : NULL;
	if (!refs)
		return NULL;
	int n = g_mime_references_length(refs);
	GString *out = g_string_new(NULL);
	if (m->references || n == 1) {
		for (int i = 0; i < n; i++) {
			if (i != 0 && i < n - REFS_KEEP)
				continue;
			g_string_append_printf(out, "%s%s", out->len ? " " : "", g_mime_references_get_message_id(refs, i));
		}
	}
	g_mime_references_free(refs);
	return g_string_free(out, out->len == 0);
}

/* The first bytes of the message, where its header block is, for
 * authres_check (which reads the top of it only; a trace block longer
 * than this is not believed). */
#define HEAD_MAX (256 * 1024)
static char *read_head(int fd, uint64_t offset, size_t *len)
{
	char *buf = g_malloc(HEAD_MAX);
	ssize_t n = pread(fd, buf, HEAD_MAX, (off_t)offset);
	*len = n > 0 ? (size_t)n : 0;
	return buf;
}

/* Test hooks (tests/t/14-ingest.t): a mail whose envelope names the
 * exercise $SERCOM_TEST_POISON crashes the ingester, one that names
 * $SERCOM_TEST_STALL makes it hang, as a parser bug a crafted mail
 * triggers would. Unset in any real run. */
static void test_poison(const struct envelope *e)
{
	const char *p = g_getenv("SERCOM_TEST_POISON"), *h = g_getenv("SERCOM_TEST_STALL");
	if (p && *p && e->exercise && !strcmp(e->exercise, p))
		abort();
	while (h && *h && e->exercise && !strcmp(e->exercise, h))
		pause();
}

bool ingest_spooled(const struct sercom_conf *c, struct store *s, const char *spool_path,
                    const char *record_as, struct ingest_result *res, GError **err)
{
	int fd = open(spool_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = fd < 0 ? errno : EINVAL;
		g_set_error(err, SERCOM_ERROR, e, "%s: %s", spool_path, g_strerror(e));
		if (fd >= 0)
			close(fd);
		return false;
	}
	struct envelope env;
	uint64_t offset = read_envelope(fd, (uint64_t)st.st_size, &env);
	test_poison(&env);
	mime_init();
	struct mime_limits ml = {
		.max_parts = MIME_MAX_PARTS,
		.max_depth = MIME_MAX_DEPTH,
		.max_file_bytes_total = c->limits.unpacked_size,
	};
	/* a copy the MDA cut, or one over the limit all the same (an import):
	 * rejected as too large whatever its files, so not worth decoding
	 * them (up to unpacked_size in memory); the headers still say who to
	 * answer */
	struct mail_size size = { .bytes = env.size,
	                          .headers_only = env.truncated || env.size > c->limits.message_size };
	if (size.headers_only)
		ml = (struct mime_limits){ .max_parts = 2, .max_depth = 1, .max_file_bytes_total = 1 };
	g_autofree char *digest = NULL;
	GMimeStream *file = g_mime_stream_fs_new(dup(fd));
	GMimeStream *msg = g_mime_stream_substream(file, (gint64)offset, -1);
	struct mime_info *m = mime_parse(msg, &ml, err);
	g_object_unref(msg);
	g_object_unref(file);
	/* every mail's: the duplicate rule compares bytes (find_duplicate) */
	if (m && !(digest = message_digest(fd, offset))) {
		g_set_error(err, SERCOM_ERROR, errno, "%s: %s", spool_path, g_strerror(errno));
		mime_info_free(m);
		m = NULL;
	}
	g_autofree char *raw_sha256 = m ? message_digest(fd, 0) : NULL;
	/* a bounce of one of our replies is automatic mail too: read as a
	 * delivery status notification (route_bounce) */
	struct bounce_dsn *dsn = NULL;
	if (m && m->automatic && !size.headers_only) {
		GMimeStream *f2 = g_mime_stream_fs_new(dup(fd));
		GMimeStream *sub = g_mime_stream_substream(f2, (gint64)offset, -1);
		dsn = bounce_dsn_read(sub);
		g_object_unref(sub);
		g_object_unref(f2);
	}
	size_t head_len = 0;
	g_autofree char *head = m && c->authenticate != AUTH_OFF ? read_head(fd, offset, &head_len) : NULL;
	close(fd);
	if (!m) {
		envelope_clear(&env);
		return false;
	}
	g_autofree char *refs = thread_references(m);
	struct ingest_opts o = {
		.exercise = env.exercise, .extension = env.extension,
		.sender = env.sender, .recipient = env.recipient,
		.references = refs, .digest = digest, .received = env.time ? env.time : util_now(),
		.head = head, .head_len = head_len, .raw_sha256 = raw_sha256,
	};
	struct verdict v = { .dsn = dsn };
	/* every check that can reject without the files, before unpacking */
	bool ok = decide(c, s, m, &o, &size, &v, err) && (o.auth = v.auth, true) && route_bounce(c, m, &o, &v, err) &&
	          (v.outcome == INGEST_AUTOMATIC || v.outcome == INGEST_IGNORED || v.outcome == INGEST_BOUNCE ||
	           (check_before_unpack(s, &v, o.received, err) && stage_files(c, m, &v, err) &&
	            (build_receipt(m, &v), true))) &&
	          record(c, s, m, &o, record_as, &v, res, err);
	if (ok && !res->spool_path)
		res->spool_path = g_strdup(record_as);
	verdict_clear(&v);
	mime_info_free(m);
	envelope_clear(&env);
	return ok;
}

int ingest_is_recorded(struct store *s, const char *spool_path, GError **err)
{
	int64_t n;
	if (!store_query_int(s, &n, 0, err, "SELECT count(*) FROM messages WHERE spool_file = %Q", spool_path))
		return -1;
	return n > 0;
}
