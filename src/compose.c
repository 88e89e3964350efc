/* compose: the reply of docs/ARCHITECTURE.md section 7, built with GMime 3 and queued in
 * the outbox (var/outbox Maildir + an outbox row) before any send.
 *
 * Theory of operation
 *   compose_reply() reads the attempt, its message row, the results of its
 *   latest grading and the exercise definition, renders the texts from the
 *   course's templates (the score, and for each failing public case how it
 *   was run: feedback.c), builds a multipart/mixed message (a graded one
 *   with results.json: results.c), writes it durably
 *   into var/outbox (spool_write: tmp, fsync, link into new/), and only then,
 *   in one BEGIN IMMEDIATE transaction, inserts the outbox row and marks the
 *   attempt answered. A crash before the commit leaves an orphan file in
 *   var/outbox/new and an unanswered attempt: the next compose_pending()
 *   composes it again (the orphan is never sent: only rows are sent). Two
 *   runners composing the same attempt: the second finds answered = 1 inside
 *   its transaction and removes its own file.
 *
 * Templates (conf->templates/LANGUAGE/, editable by the course; see
 * conf/templates/README)
 *   strings.ini   a GKeyFile: [subject] [verdict] [build] [case] [signal]
 *                 [reason] [note] [admin] [score] [feedback]; each value is one line of text
 *                 with {placeholders}
 *   VERDICT.txt   the body of each outcome (ACCEPTED.txt, TESTS_FAILED.txt,
 *                 BUILD_FAILED.txt, REJECTED.txt, INTERNAL_ERROR.txt), with
 *                 {placeholders} for the rendered parts
 *   {name} is replaced by the value of name; an unknown {name} is kept as it
 *   is, so a typo in a template shows in the mail instead of failing it. A
 *   missing key renders as [group.key] for the same reason.
 *
 * Attacks and why the code is shaped this way
 *   - Header injection (CR/LF in a Subject, an address, a file name, program
 *     output): no student text is ever put in a header except the address of
 *     the To: (the MDA's parsed From: address, stripped of control characters
 *     and handed to GMime as a mailbox object) and Message-IDs of the
 *     submission (validated as msg-id: printable ASCII without <> or blanks).
 *     The student's Subject appears only in the body.
 *   - Attachment names come from the runner's report/ directory (case names
 *     and the names of output files, which a student program can choose):
 *     only the last path component is used, control characters are removed,
 *     the length is capped, and GMime writes it with RFC 2231 parameters;
 *     a name in results.diffs with "..", a leading "/" or any unsafe
 *     component is never opened (reading /etc/shadow into a reply).
 *   - Program output with NUL bytes or invalid UTF-8: attachment texts are
 *     made valid UTF-8 (NUL shown as U+2400, invalid bytes as U+FFFD) and
 *     encoded for a 7-bit transport (quoted-printable or base64), so no byte
 *     of it can end a MIME part or a header.
 *   - Mail loops: nothing is composed for automatic mail, duplicates, or
 *     addresses of mailer daemons and list robots (RFC 3834 section 2),
 *     even when such an attempt reaches us; every reply carries
 *     Auto-Submitted: auto-replied so well-behaved robots do not answer it.
 */
#include "compose.h"
#include "verdict.h"
#include "casewords.h"
#include "bounce.h"
#include "mime.h"
#include "log.h"
#include "spool.h"
#include "util.h"
#include "exercise.h"
#include "tpl.h"
#include "feedback.h"
#include "results.h"
#include "score.h"

#include <errno.h>
#include <fcntl.h>
#include <gmime/gmime.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* longest attachment file name we write (bytes, before RFC 2231 encoding) */
#define FILENAME_MAX_BYTES 120

/* ---- templates: tpl.c (struct tpl, tpl_load, tpl_str, tpl_expand, vars) - */

/* ---- text hygiene ---------------------------------------------------- */

/* One line of text for a header or a body line: control characters
 * (CR, LF, TAB, NUL...) become spaces, invalid UTF-8 becomes U+FFFD, and
 * surrounding blanks go. The CR/LF injection defence for everything we put
 * in a header. */
static char *one_line(const char *s)
{
	if (!s)
		return g_strdup("");
	char *v = g_utf8_make_valid(s, -1);
	for (char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return g_strstrip(v);
}

/* Arbitrary bytes -> valid UTF-8 text: NUL shown as U+2400, invalid bytes
 * as U+FFFD (program output reaches the student readable, and no byte of it
 * can confuse a mail reader). */
static char *text_from_bytes(const guint8 *b, gsize n)
{
	GString *o = g_string_sized_new(n + 16);
	gsize start = 0;
	for (gsize i = 0; i <= n; i++) {
		if (i == n || b[i] == 0) {
			if (i > start) {
				char *v = g_utf8_make_valid((const char *)b + start, (gssize)(i - start));
				g_string_append(o, v);
				g_free(v);
			}
			if (i < n)
				g_string_append(o, "\xe2\x90\x80");
			start = i + 1;
		}
	}
	return g_string_free(o, FALSE);
}

/* A msg-id's inside (RFC 5322 3.6.4) without the angle brackets: printable
 * ASCII with no blanks or brackets; anything else is dropped rather than
 * put into In-Reply-To/References. */
static bool msgid_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > 250)
		return false;
	for (const char *p = id; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>')
			return false;
	return true;
}

/* The bare address of a configured "Name <addr>" (g_free); NULL if none. */
static char *conf_addr(const char *spec)
{
	if (!spec)
		return NULL;
	InternetAddressList *l = internet_address_list_parse(NULL, spec);
	char *r = NULL;
	if (l) {
		for (int i = 0; i < internet_address_list_length(l) && !r; i++) {
			InternetAddress *a = internet_address_list_get_address(l, i);
			if (INTERNET_ADDRESS_IS_MAILBOX(a))
				r = g_strdup(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)));
		}
		g_object_unref(l);
	}
	if (r && (!*r || strpbrk(r, "\r\n"))) {
		g_free(r);
		r = NULL;
	}
	return r;
}

/* Whether addr is one plain address we may hand to sendmail or SMTP as a
 * recipient: local@domain, printable ASCII or UTF-8, no blanks, no list
 * or route syntax, not an option. A recipient "a@b, c@d" or one with a
 * line break would let a forged From: add recipients (sendmail parses its
 * arguments as address lists) or SMTP commands. */
static bool address_ok(const char *addr)
{
	return util_address_ok(addr);
}

/* An attempt graded but never answered because its address cannot be
 * (issue 17): `sercom attempts` and `show` say why (attempts.quiet), and the
 * admin is told, since the student hears nothing. */
static bool unanswerable(const struct sercom_conf *c, struct store *s, int64_t attempt_id, const char *rcpt,
                         GError **err)
{
	if (!store_exec(s, err, "UPDATE attempts SET quiet = 'invalid address' WHERE id = %lld", (long long)attempt_id))
		return false;
	g_autofree char *body = g_strdup_printf(
		"Attempt %lld was graded but not answered: its address \"%s\" is not one sercom can send to.\n"
		"Correct the roster (sercom roster import) and answer it with: sercom resend %lld\n",
		(long long)attempt_id, rcpt, (long long)attempt_id);
	GError *e = NULL;
	if (!compose_admin_notice(c, s, "a reply could not be sent: invalid address", body, &e)) {
		log_warn("attempt %lld: admin notice: %s", (long long)attempt_id, e->message);
		g_error_free(e);
	}
	return true;
}

/* ---- reading the state ----------------------------------------------- */

struct case_row {
	char *name;
	enum case_verdict verdict;
	int exit_code;
	bool has_exit;
	int signal;
	char *note;
	char *diffs;
	bool is_private;
	/* schema step 5: points worth and earned, the group; -1: not measured */
	double points, earned;
	bool scored;         /* earned known (results.score not NULL) */
	char *group;
	int64_t cpu_ms, wall_ms, max_rss_kib;
};

struct attempt_info {
	int64_t id;
	char *student;
	char *email;
	char *exercise;
	int64_t number;         /* 0: none */
	char *state;
	char *reason;
	char *detail;
	char *verdict;
	char *build;
	int64_t grading;
	bool answered;
	char *note;
	/* its message */
	char *message_id;
	char *subject;
	char *spool_file;
	char *refs;         /* its thread's ids, read by the ingester */
	char *outcome;
	int64_t received;
	char *quiet;        /* why it is never answered (ingest.c), or NULL */
	char *auth;         /* messages.auth: NULL (off), "pass: ..", "fail: ..", "exempt" */
	char *raw_sha256;
	GPtrArray *receipt; /* struct receipt_row *, by name */
	/* results of the latest grading, in seq order */
	GPtrArray *cases;       /* struct case_row * */
	int64_t used;           /* attempts that count, for "attempts left" */
	/* grades (schema step 5): NULL score = not scored (older attempts) */
	bool scored;
	double score, max_score, private_score, private_max, penalty;
	int late_days;
	bool charged;
	int64_t started, finished;
	int64_t ext_until;      /* the student's extension for the exercise; 0: none */
	int64_t ext_attempts;   /* its attempt budget; 0: max_attempts */
};

struct receipt_row {
	char *name;
	int64_t size;
	char *sha256;
};

static void receipt_row_free(gpointer p)
{
	struct receipt_row *r = p;
	g_free(r->name);
	g_free(r->sha256);
	g_free(r);
}

static void case_row_free(gpointer p)
{
	struct case_row *r = p;
	g_free(r->name);
	g_free(r->note);
	g_free(r->diffs);
	g_free(r->group);
	g_free(r);
}

static void attempt_info_free(struct attempt_info *a)
{
	if (!a)
		return;
	g_free(a->student);
	g_free(a->email);
	g_free(a->exercise);
	g_free(a->state);
	g_free(a->reason);
	g_free(a->detail);
	g_free(a->verdict);
	g_free(a->build);
	g_free(a->note);
	g_free(a->message_id);
	g_free(a->subject);
	g_free(a->spool_file);
	g_free(a->refs);
	g_free(a->outcome);
	g_free(a->quiet);
	g_free(a->auth);
	g_free(a->raw_sha256);
	if (a->receipt)
		g_ptr_array_free(a->receipt, TRUE);
	if (a->cases)
		g_ptr_array_free(a->cases, TRUE);
	g_free(a);
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? g_strdup((const char *)t) : NULL;
}

/* a results resource column: -1 when NULL (not measured) */
static int64_t col_measure(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, i);
}

/* The attempt's grade columns (schema step 5) and the student's extension
 * for the exercise, if any. */
static bool attempt_read_grades(struct store *s, struct attempt_info *a, GError **err)
{
	sqlite3_stmt *st = store_prepare(s,
		"SELECT score, max_score, private_score, private_max, late_days, penalty, charged, started, finished,"
		" (SELECT until FROM extensions x WHERE x.student = a.student AND x.exercise = a.exercise),"
		" (SELECT attempts FROM extensions x WHERE x.student = a.student AND x.exercise = a.exercise)"
		" FROM attempts a WHERE id = ?", err);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, a->id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		store_set_error(s, err, "reading the attempt's grade");
		sqlite3_finalize(st);
		return false;
	}
	a->scored = sqlite3_column_type(st, 0) != SQLITE_NULL && sqlite3_column_type(st, 1) != SQLITE_NULL;
	a->score = sqlite3_column_double(st, 0);
	a->max_score = sqlite3_column_double(st, 1);
	a->private_score = sqlite3_column_double(st, 2);
	a->private_max = sqlite3_column_double(st, 3);
	a->late_days = sqlite3_column_int(st, 4);
	a->penalty = sqlite3_column_double(st, 5);
	a->charged = sqlite3_column_int(st, 6) != 0;
	a->started = sqlite3_column_int64(st, 7);
	a->finished = sqlite3_column_int64(st, 8);
	a->ext_until = sqlite3_column_int64(st, 9);
	a->ext_attempts = sqlite3_column_int64(st, 10);
	sqlite3_finalize(st);
	return true;
}

/* The results of the attempt's latest grading, in seq order. */
static bool attempt_read_results(struct store *s, struct attempt_info *a, GError **err)
{
	a->cases = g_ptr_array_new_with_free_func(case_row_free);
	sqlite3_stmt *st = store_prepare(s,
		"SELECT case_name, verdict, exit_code, signal, note, diffs, private,"
		" points, score, grp, cpu_ms, wall_ms, max_rss_kib FROM results"
		" WHERE attempt = ? AND grading = ? ORDER BY seq, case_name", err);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_int64(st, 2, a->grading);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct case_row *r = g_new0(struct case_row, 1);
		r->name = col_text(st, 0);
		/* NULL or a name of no verdict: the case could not be judged */
		g_autofree char *vname = col_text(st, 1);
		if (!case_verdict_parse(vname, &r->verdict))
			r->verdict = CASE_SANDBOX_ERROR;
		r->has_exit = sqlite3_column_type(st, 2) != SQLITE_NULL;
		r->exit_code = sqlite3_column_int(st, 2);
		r->signal = sqlite3_column_int(st, 3);
		r->note = col_text(st, 4);
		r->diffs = col_text(st, 5);
		r->is_private = sqlite3_column_int(st, 6) != 0;
		r->points = sqlite3_column_type(st, 7) == SQLITE_NULL ? 1 : sqlite3_column_double(st, 7);
		r->scored = sqlite3_column_type(st, 8) != SQLITE_NULL;
		r->earned = sqlite3_column_double(st, 8);
		r->group = col_text(st, 9);
		r->cpu_ms = col_measure(st, 10);
		r->wall_ms = col_measure(st, 11);
		r->max_rss_kib = col_measure(st, 12);
		if (!r->name)
			r->name = g_strdup("?");
		g_ptr_array_add(a->cases, r);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_set_error(s, err, "reading the results");
		return false;
	}
	return true;
}

static struct attempt_info *attempt_read(struct store *s, int64_t id, GError **err)
{
	sqlite3_stmt *st = store_prepare(s,
		"SELECT a.student, a.email, a.exercise, a.number, a.state, a.reason, a.detail,"
		" a.verdict, a.build, a.grading, a.answered, a.note, m.message_id, m.subject,"
		" m.spool_file, m.outcome, m.received, m.refs, a.quiet, m.auth, m.raw_sha256, a.message"
		" FROM attempts a LEFT JOIN messages m ON m.id = a.message WHERE a.id = ?", err);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			g_set_error(err, SERCOM_ERROR, ENOENT, "attempt %lld: no such attempt", (long long)id);
		else
			store_set_error(s, err, "reading the attempt");
		sqlite3_finalize(st);
		return NULL;
	}
	struct attempt_info *a = g_new0(struct attempt_info, 1);
	a->id = id;
	a->student = col_text(st, 0);
	a->email = col_text(st, 1);
	a->exercise = col_text(st, 2);
	a->number = sqlite3_column_int64(st, 3);
	a->state = col_text(st, 4);
	a->reason = col_text(st, 5);
	a->detail = col_text(st, 6);
	a->verdict = col_text(st, 7);
	a->build = col_text(st, 8);
	a->grading = sqlite3_column_int64(st, 9);
	a->answered = sqlite3_column_int(st, 10) != 0;
	a->note = col_text(st, 11);
	a->message_id = col_text(st, 12);
	a->subject = col_text(st, 13);
	a->spool_file = col_text(st, 14);
	a->outcome = col_text(st, 15);
	a->received = sqlite3_column_int64(st, 16);
	a->refs = col_text(st, 17);
	a->quiet = col_text(st, 18);
	a->auth = col_text(st, 19);
	a->raw_sha256 = col_text(st, 20);
	int64_t message = sqlite3_column_int64(st, 21);
	sqlite3_finalize(st);

	a->receipt = g_ptr_array_new_with_free_func(receipt_row_free);
	st = store_prepare(s, "SELECT name, size, sha256 FROM receipts WHERE message = ? ORDER BY name, rowid", err);
	if (!st) {
		attempt_info_free(a);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, message);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct receipt_row *r = g_new0(struct receipt_row, 1);
		r->name = col_text(st, 0);
		r->size = sqlite3_column_int64(st, 1);
		r->sha256 = col_text(st, 2);
		g_ptr_array_add(a->receipt, r);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_set_error(s, err, "reading the receipt");
		attempt_info_free(a);
		return NULL;
	}

	if (!attempt_read_results(s, a, err)) {
		attempt_info_free(a);
		return NULL;
	}
	if (!attempt_read_grades(s, a, err)) {
		attempt_info_free(a);
		return NULL;
	}
	if (a->student && a->exercise) {
		int64_t used = 0;
		/* the budget counts what the intake counts (schema step 5):
		 * charged attempts, never REJECTED or SUPERSEDED ones */
		if (!store_query_int(s, &used, 0, err,
		                     "SELECT count(*) FROM attempts WHERE student = %Q AND exercise = %Q"
		                     " AND state NOT IN ('REJECTED','SUPERSEDED') AND charged = 1 AND id <= %lld",
		                     a->student, a->exercise, (long long)id)) {
			attempt_info_free(a);
			return NULL;
		}
		a->used = used;
	}
	return a;
}

/* The verdict word of the attempt: the attempt's verdict, REJECTED, or
 * INTERNAL_ERROR for ERROR and anything unexpected. */
static enum verdict attempt_verdict(const struct attempt_info *a)
{
	if (!g_strcmp0(a->state, "REJECTED"))
		return VERDICT_REJECTED;
	/* DONE: graded, or set by `sercom override` (any of the five) */
	enum verdict v;
	if (!g_strcmp0(a->state, "DONE") && verdict_parse(a->verdict, &v))
		return v;
	return VERDICT_INTERNAL_ERROR;
}

/* ACCEPTED, TESTS_FAILED, BUILD_FAILED: a grading with a score */
static bool verdict_graded(enum verdict v)
{
	return v == VERDICT_ACCEPTED || v == VERDICT_TESTS_FAILED || v == VERDICT_BUILD_FAILED;
}

/* ---- rendering ------------------------------------------------------- */

static const struct test_case *find_case(const struct exercise *e, const char *name)
{
	if (!e || !e->cases)
		return NULL;
	for (guint i = 0; i < e->cases->len; i++) {
		const struct test_case *tc = g_ptr_array_index(e->cases, i);
		if (!g_strcmp0(tc->name, name))
			return tc;
	}
	return NULL;
}

/* Whether a name from results.diffs may be opened under report/: relative,
 * every component a safe file name (no "..", no NUL or control chars). */
static bool report_name_ok(const char *n)
{
	if (!n || !*n || n[0] == '/')
		return false;
	g_auto(GStrv) parts = g_strsplit(n, "/", -1);
	for (char **p = parts; *p; p++)
		if (!util_safe_filename(*p))
			return false;
	return true;
}

/* "what differs" of a diff file name: CASE.stdout.diff, CASE.stderr.diff,
 * CASE.file.NAME.diff (g_free). */
static char *diff_subject(const struct tpl *t, const char *casename, const char *file)
{
	const char *base = file;
	const char *rest = base;
	if (g_str_has_prefix(base, casename) && base[strlen(casename)] == '.')
		rest = base + strlen(casename) + 1;
	g_autoptr(GHashTable) v = vars_new();
	if (!strcmp(rest, "stdout.diff"))
		return tpl_str(t, "case", "stdout");
	if (!strcmp(rest, "stderr.diff"))
		return tpl_str(t, "case", "stderr");
	if (g_str_has_prefix(rest, "file.") && g_str_has_suffix(rest, ".diff") && strlen(rest) > 10) {
		g_autofree char *name = g_strndup(rest + 5, strlen(rest) - 10);
		g_autofree char *clean = one_line(name);
		var_set(v, "name", clean);
		return tpl_expand(t, "case", "file", v);
	}
	return tpl_str(t, "case", "output");
}

/* The attachment name shown for a report file: its last component, one
 * line, capped (keeping the extension). */
static char *attachment_name(const char *file)
{
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	char *n = one_line(base);
	if (strlen(n) > FILENAME_MAX_BYTES) {
		const char *dot = strrchr(n, '.');
		size_t ext = dot && strlen(dot) < 16 ? strlen(dot) : 0;
		size_t keep = FILENAME_MAX_BYTES - ext - 3;
		/* cut at a character boundary */
		const char *cut = g_utf8_find_prev_char(n, n + keep + 1);
		if (!cut)
			cut = n;
		g_autofree char *head = g_strndup(n, (gsize)(cut - n));
		char *r = g_strconcat(head, "...", ext ? dot : "", NULL);
		g_free(n);
		n = r;
	}
	return n;
}

/* One line of the summary for a public case: what happened, in words. */
/* One diff of a failing case: "stdout differs (see CASE.stdout.diff)",
 * naming the attachment */
static char *reply_differs(const struct tpl *t, const char *case_name, const char *diff, void *data)
{
	(void)data;
	g_autofree char *what = diff_subject(t, case_name, diff);
	g_autofree char *an = attachment_name(diff);
	g_autoptr(GHashTable) dv = vars_new();
	var_set(dv, "what", what);
	var_set(dv, "file", an);
	return tpl_expand(t, "case", "differs", dv);
}

/* The case's result in words (casewords.h, the one rule) */
static char *case_words(const struct tpl *t, const struct case_row *r, const struct test_case *tc,
                        const struct sercom_conf *c)
{
	g_autofree char *note = one_line(r->note);
	struct case_outcome o = { .name = r->name, .verdict = r->verdict, .exit_code = r->exit_code,
	                          .signal = r->signal, .note = note, .diffs = r->diffs };
	return casewords(t, &o, tc, tc ? &tc->limits : &c->limits, reply_differs, NULL);
}

/* The rejection paragraph: what went wrong and what to do. */
static char *reason_text(const struct sercom_conf *c, const struct tpl *t, const struct attempt_info *a,
                         const struct exercise *e)
{
	g_autoptr(GHashTable) v = vars_new();
	/* no reason: rejected by the staff (`sercom override --verdict REJECTED`) */
	const char *reason = a->reason ? a->reason : "none";
	g_autofree char *detail = one_line(a->detail);
	g_autofree char *exname = one_line(a->exercise);
	g_autofree char *admin = one_line(c->admin);
	var_set(v, "detail", detail);
	var_set(v, "exercise", exname);
	var_set(v, "admin", admin);
	const char *key = reason;

	if (!strcmp(reason, "unknown_exercise")) {
		g_auto(GStrv) names = exercise_list_names(c);
		g_autofree char *list = names ? g_strjoinv(", ", names) : g_strdup("");
		var_set(v, "exercises", list);
		if (!*detail)
			key = "unknown_exercise_none";
	} else if (!strcmp(reason, "not_open") || !strcmp(reason, "closed")) {
		int64_t when = g_ascii_strtoll(detail, NULL, 10);
		g_autofree char *d = when > 0 ? util_format_date(when) : g_strdup(detail);
		var_set(v, "date", d);
	} else if (!strcmp(reason, "attempts_exhausted")) {
		var_set(v, "max", detail);
	} else if (!strcmp(reason, "no_files")) {
		g_autofree char *globs = e && e->files ? g_strjoinv(" ", e->files) : g_strdup("");
		var_set(v, "files", globs);
		if (!*globs)
			key = "no_files_any";
	} else if (!strcmp(reason, "missing_required")) {
		g_auto(GStrv) m = g_strsplit(detail, " ", -1);
		g_autofree char *list = g_strjoinv(", ", m);
		var_set(v, "missing", list);
	} else if (!strcmp(reason, "bad_archive")) {
		const char *colon = strchr(detail, ':');
		g_autofree char *file = colon ? g_strndup(detail, (gsize)(colon - detail)) : g_strdup(detail);
		var_set(v, "file", file);
		var_set(v, "why", colon ? g_strstrip((char *)colon + 1) : "");
	} else if (!strcmp(reason, "rate_limited")) {
		/* "interval:SECONDS:NEXT" or "day:MAX:NEXT" (policy.h) */
		long long n = 0, next = 0;
		int end = 0;
		bool day = sscanf(detail, "day:%lld:%lld%n", &n, &next, &end) == 2 && !detail[end];
		if (!day && !(sscanf(detail, "interval:%lld:%lld%n", &n, &next, &end) == 2 && !detail[end]))
			n = next = 0;
		g_autofree char *d = util_format_date(next);
		g_autofree char *iv = fmt_ms((uint64_t)n * 1000);
		var_set(v, "date", d);
		var_setf(v, "max", "%lld", n);
		var_set(v, "interval", iv);
		key = day ? "rate_limited_day" : "rate_limited_interval";
	} else if (!strcmp(reason, "too_large")) {
		/* "WHAT:LIMIT", or "message:LIMIT:SIZE" for the whole mail (WHAT
		 * may hold colons: it is cut at the last one) */
		unsigned long long ml, ms;
		int end = 0;
		if (sscanf(detail, "message:%llu:%llu%n", &ml, &ms, &end) == 2 && !detail[end]) {
			g_autofree char *lims = fmt_bytes(ml);
			g_autofree char *sizes = feedback_format_size(ms);
			var_set(v, "limit", lims);
			var_set(v, "size", sizes);
			var_set(v, "what", "message");
			/* a course's older templates: the plain too_large */
			key = tpl_has(t, "reason", "too_large_message") ? "too_large_message" : "too_large";
		} else {
			const char *colon = strrchr(detail, ':');
			g_autofree char *what = colon ? g_strndup(detail, (gsize)(colon - detail)) : g_strdup(detail);
			uint64_t lim = colon ? g_ascii_strtoull(colon + 1, NULL, 10) : 0;
			g_autofree char *lims = fmt_bytes(lim);
			var_set(v, "what", what);
			var_set(v, "limit", lims);
		}
	}
	if (!tpl_has(t, "reason", key))
		key = "unknown";
	return tpl_expand(t, "reason", key, v);
}

/* ---- the MIME message ------------------------------------------------ */

struct attachment {
	char *name;        /* shown file name */
	char *type;        /* "text/x-diff" ... */
	char *text;        /* valid UTF-8 */
};

static void attachment_free(gpointer p)
{
	struct attachment *at = p;
	g_free(at->name);
	g_free(at->type);
	g_free(at->text);
	g_free(at);
}

static GMimePart *text_part(const char *type, const char *subtype, const char *text, const char *filename)
{
	/* not g_mime_text_part_set_text(): it re-encodes to the smallest
	 * charset (ISO-8859-1 for Spanish); every text we attach is UTF-8 */
	GMimePart *part = g_mime_part_new_with_type(type, subtype);
	GMimeStream *ms = g_mime_stream_mem_new_with_buffer(text, strlen(text));
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(ms, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, w);
	g_object_unref(w);
	g_object_unref(ms);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "utf-8");
	/* 7-bit transfer encoding: survives every MTA, and no raw byte of
	 * program output can look like a boundary or a header */
	g_mime_part_set_content_encoding(part,
		g_mime_part_get_best_content_encoding(part, GMIME_ENCODING_CONSTRAINT_7BIT));
	if (filename) {
		g_mime_part_set_filename(part, filename);
		g_mime_object_set_disposition(GMIME_OBJECT(part), GMIME_DISPOSITION_ATTACHMENT);
		/* set_filename sets the disposition's filename param; the disposition
		 * reset above dropped it, set it again */
		g_mime_part_set_filename(part, filename);
	} else {
		g_mime_object_set_disposition(GMIME_OBJECT(part), GMIME_DISPOSITION_INLINE);
	}
	return part;
}

static void ensure_gmime(void)
{
	static gsize once = 0;
	if (g_once_init_enter(&once)) {
		g_mime_init();
		g_once_init_leave(&once, 1);
	}
}

/* The common headers of every message we send. */
static GMimeMessage *message_new(const struct sercom_conf *c, const char *to_addr, const char *subject,
                                 const char *auto_submitted)
{
	GMimeMessage *m = g_mime_message_new(TRUE);
	InternetAddressList *from = internet_address_list_parse(NULL, c->from);
	if (from && internet_address_list_length(from) > 0)
		internet_address_list_append(g_mime_message_get_from(m), from);
	if (from)
		g_object_unref(from);
	g_autofree char *to_clean = one_line(to_addr);
	InternetAddress *to = internet_address_mailbox_new(NULL, to_clean);
	internet_address_list_add(g_mime_message_get_to(m), to);
	g_object_unref(to);
	InternetAddressList *rt = internet_address_list_parse(NULL, c->admin);
	if (rt) {
		internet_address_list_append(g_mime_message_get_reply_to(m), rt);
		g_object_unref(rt);
	}
	g_autofree char *admin = conf_addr(c->admin);
	if (admin) {
		g_autofree char *rp = g_strdup_printf("<%s>", admin);
		g_mime_object_set_header(GMIME_OBJECT(m), "Return-Path", rp, NULL);
	}
	g_autofree char *subj = one_line(subject);
	g_mime_message_set_subject(m, subj, "utf-8");
	GDateTime *now = g_date_time_new_now_local();
	g_mime_message_set_date(m, now);
	g_date_time_unref(now);
	g_autofree char *fromaddr = conf_addr(c->from);
	const char *dom = fromaddr && strchr(fromaddr, '@') ? strchr(fromaddr, '@') + 1 : "localhost";
	g_autofree char *mid = g_mime_utils_generate_message_id(dom);
	g_mime_message_set_message_id(m, mid);
	g_mime_object_set_header(GMIME_OBJECT(m), "Auto-Submitted", auto_submitted, NULL);
	/* X-Loop: the filters (procmail, maildrop) recognise our own replies
	 * by it and never feed them back to the robot */
	g_mime_object_set_header(GMIME_OBJECT(m), "X-Loop", "sercom", NULL);
	/* keeps Exchange-style out-of-office robots from answering the answer */
	g_mime_object_set_header(GMIME_OBJECT(m), "X-Auto-Response-Suppress", "All", NULL);
	return m;
}

static GByteArray *message_bytes(GMimeMessage *m)
{
	GMimeStream *ms = g_mime_stream_mem_new();
	GMimeFormatOptions *fo = g_mime_format_options_clone(NULL);
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_UNIX);
	g_mime_object_write_to_stream(GMIME_OBJECT(m), fo, ms);
	g_mime_format_options_free(fo);
	GByteArray *src = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	GByteArray *out = g_byte_array_sized_new(src->len);
	g_byte_array_append(out, src->data, src->len);
	g_object_unref(ms);
	return out;
}

/* Reads report/NAME into an attachment capped at max bytes, with the
 * template's note where cut. NULL when absent or empty. */
static struct attachment *read_report_file(const struct tpl *t, const char *report_dir, const char *name,
                                           const char *type, uint64_t max, bool *cut)
{
	*cut = false;
	if (!report_name_ok(name))
		return NULL;
	/* component by component with O_NOFOLLOW: a symlink planted in
	 * report/ (file or directory) must not pull a host file into a reply */
	int fd = open(report_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g_auto(GStrv) comps = g_strsplit(name, "/", -1);
	for (char **p = comps; fd >= 0 && *p; p++) {
		int next = openat(fd, *p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (p[1] ? O_DIRECTORY : 0));
		close(fd);
		fd = next;
	}
	if (fd < 0)
		return NULL;
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
		close(fd);
		return NULL;
	}
	size_t want = (uint64_t)sb.st_size > max ? max : (size_t)sb.st_size;
	guint8 *buf = g_malloc(want + 1);
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(fd, buf + got, want - got, (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if ((uint64_t)sb.st_size > got) {
		*cut = true;
		/* cut at the last line end so the diff stays readable */
		size_t keep = got;
		while (keep > 0 && buf[keep - 1] != '\n')
			keep--;
		if (keep > got / 2)
			got = keep;
	}
	struct attachment *at = g_new0(struct attachment, 1);
	at->name = attachment_name(name);
	at->type = g_strdup(type);
	char *text = text_from_bytes(buf, got);
	g_free(buf);
	if (*cut) {
		g_autoptr(GHashTable) v = vars_new();
		g_autofree char *total = fmt_bytes((uint64_t)sb.st_size), *lim = fmt_bytes(max);
		var_set(v, "size", total);
		var_set(v, "limit", lim);
		g_autofree char *note = tpl_expand(t, "note", "attachment_cut", v);
		at->text = g_strconcat(text, got && text[strlen(text) - 1] != '\n' ? "\n" : "", "[", note, "]\n", NULL);
		g_free(text);
	} else {
		at->text = text;
	}
	return at;
}

/* Which first line of a rejection: "subject" (quotes the Subject),
 * "plain" (to an address not on the roster), "claimed" (to the roster
 * address of a mail refused as not authenticated: someone else may
 * have written it). */
static const char *reply_intro(const struct attempt_info *a)
{
	if (!g_strcmp0(a->reason, "unauthenticated"))
		return "claimed";
	return a->student ? "subject" : "plain";
}

/* The receipt (docs/ARCHITECTURE.md section 7): the Message-ID, the time received, each
 * file the mail brought with its size and SHA-256, and the SHA-256 of the
 * raw message as stored. `sercom verify` checks files against it. */
static char *receipt_text(const struct tpl *t, const struct attempt_info *a, const char *received)
{
	GString *o = g_string_new(NULL);
	g_autoptr(GHashTable) v = vars_new();
	g_autofree char *head = tpl_str(t, "receipt", "head");
	g_string_append_printf(o, "-- \n%s\n", head);
	if (a->message_id && msgid_ok(a->message_id)) {
		var_set(v, "message_id", a->message_id);
		g_autofree char *l = tpl_expand(t, "receipt", "message_id", v);
		g_string_append_printf(o, "%s\n", l);
	}
	var_set(v, "received", received);
	g_autofree char *rl = tpl_expand(t, "receipt", "received", v);
	g_string_append_printf(o, "%s\n", rl);
	for (guint i = 0; i < a->receipt->len; i++) {
		const struct receipt_row *r = a->receipt->pdata[i];
		/* names were cleaned at ingest (mime_clean_name, unpack.c) */
		g_autofree char *name = one_line(r->name);
		var_set(v, "name", name);
		var_setf(v, "size", "%lld", (long long)r->size);
		var_set(v, "sha256", r->sha256 ? r->sha256 : "?");
		g_autofree char *l = tpl_expand(t, "receipt", "file", v);
		g_string_append_printf(o, "%s\n", l);
	}
	if (!a->receipt->len) {
		g_autofree char *l = tpl_str(t, "receipt", "no_files");
		g_string_append_printf(o, "%s\n", l);
	}
	if (a->raw_sha256) {
		var_set(v, "sha256", a->raw_sha256);
		g_autofree char *l = tpl_expand(t, "receipt", "raw", v);
		g_string_append_printf(o, "%s\n", l);
	}
	return g_string_free(o, FALSE);
}

struct built {
	GByteArray *bytes;
	char *rcpt;
	char *subject;
};

/* Builds the reply of attempt a (not yet spooled). staff_note: the note of
 * an override, or NULL. */
/* The attachments of the reply, in order, within its budget: make.stderr,
 * each failing public case's diffs, report.html (only when something
 * failed); what does not fit gets a line in notes. */
static GPtrArray *reply_attachments(const struct sercom_conf *c, const struct tpl *t,
                                    const struct attempt_info *a, bool graded, GString *notes)
{
	GPtrArray *atts = g_ptr_array_new_with_free_func(attachment_free);
	g_autofree char *report_dir = g_strdup_printf("%s/%lld/report", c->attempts_dir, (long long)a->id);
	uint64_t budget = c->reply_max > 16384 ? c->reply_max - 16384 : c->reply_max / 2;
	uint64_t used = 0;

	/* wanted: make.stderr, then each failing public case's diffs, then report.html */
	GPtrArray *want = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *want_type = g_ptr_array_new();
	if (graded) {
		g_ptr_array_add(want, g_strdup("make.stderr"));
		g_ptr_array_add(want_type, "text/plain");
		for (guint i = 0; i < a->cases->len; i++) {
			const struct case_row *r = g_ptr_array_index(a->cases, i);
			if (r->is_private || !r->diffs || r->verdict == CASE_PASS)
				continue;
			g_auto(GStrv) files = g_strsplit(r->diffs, " ", -1);
			for (char **f = files; *f; f++) {
				/* private diffs live under private/: never attached */
				if (**f && !g_str_has_prefix(*f, "private/")) {
					g_ptr_array_add(want, g_strdup(*f));
					g_ptr_array_add(want_type, "text/x-diff");
				}
			}
		}
		g_ptr_array_add(want, g_strdup("report.html"));
		g_ptr_array_add(want_type, "text/html");
	}
	bool any_failing_public = false;
	for (guint i = 0; i < a->cases->len; i++) {
		const struct case_row *r = g_ptr_array_index(a->cases, i);
		if (!r->is_private && r->verdict != CASE_PASS)
			any_failing_public = true;
	}
	for (guint i = 0; i < want->len; i++) {
		const char *name = g_ptr_array_index(want, i);
		const char *type = g_ptr_array_index(want_type, i);
		bool is_html = !strcmp(type, "text/html");
		/* report.html only when something failed: nothing to show otherwise */
		if (is_html && !any_failing_public)
			continue;
		bool cut;
		struct attachment *at = read_report_file(t, report_dir, name, type,
		                                         is_html ? c->reply_max : c->diff_max, &cut);
		if (!at)
			continue;
		/* quoted-printable or base64: about 4/3 of the text */
		uint64_t cost = strlen(at->text) * 4 / 3 + 512;
		/* half a page is no page: report.html is whole or absent */
		if (used + cost > budget || (is_html && cut)) {
			g_autoptr(GHashTable) nv = vars_new();
			g_autofree char *lim = fmt_bytes(c->reply_max);
			var_set(nv, "file", at->name);
			var_set(nv, "limit", lim);
			g_autofree char *line = tpl_expand(t, "note", "not_attached", nv);
			g_string_append_printf(notes, "%s\n", line);
			attachment_free(at);
			continue;
		}
		if (cut) {
			g_autoptr(GHashTable) nv = vars_new();
			g_autofree char *lim = fmt_bytes(c->diff_max);
			var_set(nv, "file", at->name);
			var_set(nv, "limit", lim);
			g_autofree char *line = tpl_expand(t, "note", "cut", nv);
			g_string_append_printf(notes, "%s\n", line);
		}
		used += cost;
		g_ptr_array_add(atts, at);
	}
	g_ptr_array_free(want, TRUE);
	g_ptr_array_free(want_type, TRUE);
	return atts;
}


/* One line per public case (what failed and why); *private_n counts the
 * private ones, never shown. */
static char *case_lines(const struct sercom_conf *c, const struct tpl *t, const struct attempt_info *a,
                        const struct exercise *e, int *private_n)
{
	GString *cases = g_string_new(NULL);
	*private_n = 0;
	for (guint i = 0; i < a->cases->len; i++) {
		const struct case_row *r = g_ptr_array_index(a->cases, i);
		if (r->is_private) {
			(*private_n)++;
			continue;
		}
		g_autofree char *words = case_words(t, r, find_case(e, r->name), c);
		if (r->group && r->scored && r->earned == 0 && r->points > 0 && r->verdict == CASE_PASS) {
			/* it passed and earned nothing: say why (score.h, groups) */
			g_autoptr(GHashTable) gv = vars_new();
			g_autofree char *gn = one_line(r->group);
			var_set(gv, "group", gn);
			g_free(words);
			words = tpl_expand(t, "score", "group_zero", gv);
		}
		g_autofree char *cn = one_line(r->name);
		g_autoptr(GHashTable) lv = vars_new();
		var_set(lv, "case", cn);
		var_set(lv, "result", words);
		g_autofree char *line = tpl_expand(t, "case", "line", lv);
		g_string_append_printf(cases, "%s\n", line);
	}
	return g_string_free(cases, FALSE);
}

/* ---- score and feedback (README "The reply") ------------------------ */

/* Whether the reply's score includes the private cases: only when they
 * count toward the verdict (private_counts), which already tells how
 * they went; otherwise they stay hidden until the exercise reveals them. */
static bool private_shown(const struct exercise *e)
{
	return e && e->private_counts;
}

static void var_points(GHashTable *v, const char *k, double p)
{
	g_autofree char *s = score_format(p);
	var_set(v, k, s);
}

/* The score line: public points, and what the private cases are worth
 * (or the full score when they are shown). */
static char *score_line(const struct sercom_conf *c, const struct tpl *t, const struct attempt_info *a,
                        const struct exercise *e)
{
	g_autoptr(GHashTable) v = vars_new();
	var_points(v, "score", a->score);
	var_points(v, "max", a->max_score);
	var_points(v, "private_score", a->private_score);
	var_points(v, "private_max", a->private_max);
	const char *key = "score";
	if (a->private_max > 0 && private_shown(e)) {
		var_points(v, "total", a->score + a->private_score);
		var_points(v, "total_max", a->max_score + a->private_max);
		key = "full";
	} else if (a->private_max > 0 && e && e->reveal_after_close) {
		key = "public_later";
	} else if (a->private_max > 0 && c->show_private_count) {
		key = "public_hidden";
	}
	return tpl_expand(t, "score", key, v);
}

/* The score, the late penalty and the extension, one line each ("" when
 * the attempt was not scored: graded before points existed, or not
 * graded). */
static char *score_text(const struct sercom_conf *c, const struct tpl *t, const struct attempt_info *a,
                        const struct exercise *e)
{
	bool graded = verdict_graded(attempt_verdict(a));
	if (!graded || !a->scored)
		return g_strdup("");
	GString *o = g_string_new(NULL);
	g_autofree char *line = score_line(c, t, a, e);
	g_string_append(o, line);
	if (a->late_days > 0) {
		g_autoptr(GHashTable) v = vars_new();
		bool with_private = private_shown(e);
		var_setf(v, "days", "%d", a->late_days);
		var_points(v, "penalty", a->penalty);
		var_points(v, "grade", score_final(a->score, with_private ? a->private_score : 0, a->penalty));
		var_points(v, "max", a->max_score + (with_private ? a->private_max : 0));
		const char *key = a->penalty > 0 ? (a->late_days == 1 ? "late_one" : "late")
		                                 : (a->late_days == 1 ? "late_free_one" : "late_free");
		g_autofree char *l = tpl_expand(t, "score", key, v);
		g_string_append_printf(o, "\n%s", l);
	}
	if (a->ext_until > 0) {
		g_autoptr(GHashTable) v = vars_new();
		g_autofree char *d = util_format_date(a->ext_until);
		var_set(v, "date", d);
		g_autofree char *l = tpl_expand(t, "score", "extension", v);
		g_string_append_printf(o, "\n%s", l);
	}
	return g_string_free(o, FALSE);
}

/* most in/ files shown per case, and bytes of feedback per reply: a
 * case with fifty input files, or fifty failing cases, must not make a
 * reply no one reads (the rest is in report.html and the exercise) */
#define FEEDBACK_FILES_PER_CASE 5
#define FEEDBACK_BUDGET (64 * 1024)

/* One input (stdin or an in/ file): its heading and its first lines,
 * indented, or a line saying it is binary; a note where it was cut. */
static void feedback_input(const struct tpl *t, GString *o, const char *key, const char *name, const char *path)
{
	struct feedback_excerpt x;
	GError *e = NULL;
	if (!feedback_excerpt_read(path, FEEDBACK_MAX_LINES, FEEDBACK_MAX_BYTES, &x, &e)) {
		log_warn("feedback: %s", e->message);
		g_error_free(e);
		return;
	}
	g_autoptr(GHashTable) v = vars_new();
	g_autofree char *size = feedback_format_size(x.size);
	g_autofree char *clean = one_line(name);
	var_set(v, "name", clean);
	var_set(v, "size", size);
	var_setf(v, "lines", "%u", x.lines);
	g_autofree char *head = tpl_expand(t, "feedback", key, v);
	g_string_append_printf(o, "%s\n", head);
	if (x.binary) {
		g_autofree char *b = tpl_expand(t, "feedback", "binary", v);
		g_string_append_printf(o, "%s\n", b);
	} else {
		g_auto(GStrv) lines = g_strsplit(x.text, "\n", -1);
		for (char **l = lines; *l && l[1]; l++)
			g_string_append_printf(o, "    %s\n", *l);
		if (x.cut) {
			g_autofree char *cut = tpl_expand(t, "feedback", "cut", v);
			g_string_append_printf(o, "%s\n", cut);
		}
	}
	feedback_excerpt_clear(&x);
}

static void var_limit_ms(GHashTable *v, const char *k, uint64_t ms)
{
	g_autofree char *s = ms ? fmt_ms(ms) : g_strdup("-");
	var_set(v, k, s);
}

/* What the case used against its limits, and which limit stopped it. */
static void feedback_resources(const struct tpl *t, GString *o, const struct case_row *r,
                               const struct test_case *tc)
{
	g_autoptr(GHashTable) v = vars_new();
	g_autofree char *cpu = r->cpu_ms >= 0 ? feedback_format_ms((uint64_t)r->cpu_ms) : g_strdup("?");
	g_autofree char *wall = r->wall_ms >= 0 ? feedback_format_ms((uint64_t)r->wall_ms) : g_strdup("?");
	g_autofree char *mem = r->max_rss_kib >= 0 ? feedback_format_size((uint64_t)r->max_rss_kib * 1024) : g_strdup("?");
	g_autofree char *mem_l = tc->limits.memory ? fmt_bytes(tc->limits.memory) : g_strdup("-");
	g_autofree char *out_l = tc->limits.output ? fmt_bytes(tc->limits.output) : g_strdup("-");
	var_set(v, "cpu", cpu);
	var_set(v, "wall", wall);
	var_set(v, "memory", mem);
	var_limit_ms(v, "cpu_limit", tc->limits.cpu_ms);
	var_limit_ms(v, "wall_limit", tc->limits.wall_ms);
	var_set(v, "memory_limit", mem_l);
	if (r->cpu_ms >= 0 || r->wall_ms >= 0 || r->max_rss_kib >= 0) {
		g_autofree char *l = tpl_expand(t, "feedback", "used", v);
		g_string_append_printf(o, "%s\n", l);
	}
	static const char *const limit_verdicts[][2] = {
		{ "TIME_LIMIT", "cpu_limit" }, { "WALL_LIMIT", "wall_limit" },
		{ "MEMORY_LIMIT", "memory_limit" }, { "OUTPUT_LIMIT", NULL },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(limit_verdicts); i++) {
		if (strcmp(case_verdict_name(r->verdict), limit_verdicts[i][0]))
			continue;
		const char *k = limit_verdicts[i][1];
		var_set(v, "limit", k ? g_hash_table_lookup(v, k) : out_l);
		g_autofree char *key = g_strdup_printf("limit_%s", case_verdict_name(r->verdict));
		g_autofree char *l = tpl_expand(t, "feedback", key, v);
		g_string_append_printf(o, "%s\n", l);
	}
}

/* What a student needs to rerun one failing public case: the command
 * line, the beginning of stdin and of the in/ files, the resources. */
static void feedback_case(const struct exercise *e, const struct tpl *t, GString *o, const struct case_row *r,
                          const struct test_case *tc)
{
	g_autoptr(GHashTable) v = vars_new();
	g_autofree char *cn = one_line(r->name);
	g_autofree char *cmd = feedback_command_line(e->run, tc->args);
	var_set(v, "case", cn);
	var_set(v, "command", cmd);
	g_autofree char *head = tpl_expand(t, "feedback", "case", v);
	g_autofree char *cl = tpl_expand(t, "feedback", "command", v);
	g_string_append_printf(o, "\n%s\n%s\n", head, cl);
	if (tc->stdin_path) {
		feedback_input(t, o, "stdin", "stdin", tc->stdin_path);
	} else {
		g_autofree char *l = tpl_str(t, "feedback", "stdin_none");
		g_string_append_printf(o, "%s\n", l);
	}
	g_autoptr(GPtrArray) files = feedback_list_files(tc->in_dir);
	for (guint i = 0; i < files->len && i < FEEDBACK_FILES_PER_CASE; i++) {
		const char *rel = g_ptr_array_index(files, i);
		g_autofree char *path = g_build_filename(tc->in_dir, rel, NULL);
		g_autofree char *shown = g_strconcat("in/", rel, NULL);
		feedback_input(t, o, "file", shown, path);
	}
	if (files->len > FEEDBACK_FILES_PER_CASE) {
		var_setf(v, "count", "%u", files->len - FEEDBACK_FILES_PER_CASE);
		g_autofree char *l = tpl_expand(t, "feedback", "more_files", v);
		g_string_append_printf(o, "%s\n", l);
	}
	feedback_resources(t, o, r, tc);
}

/* The feedback of every failing public case the exercise still defines,
 * within FEEDBACK_BUDGET ("" when none failed). */
static char *feedback_text(const struct tpl *t, const struct attempt_info *a, const struct exercise *e)
{
	GString *o = g_string_new(NULL);
	unsigned omitted = 0;
	for (guint i = 0; e && i < a->cases->len; i++) {
		const struct case_row *r = g_ptr_array_index(a->cases, i);
		const struct test_case *tc = find_case(e, r->name);
		/* SANDBOX_ERROR is ours, not the student's to act on */
		if (r->is_private || !tc || r->verdict == CASE_PASS || r->verdict == CASE_SANDBOX_ERROR)
			continue;
		if (o->len >= FEEDBACK_BUDGET) {
			omitted++;
			continue;
		}
		feedback_case(e, t, o, r, tc);
	}
	if (o->len) {
		g_autofree char *head = tpl_str(t, "feedback", "head");
		g_string_prepend(o, "\n");
		g_string_prepend(o, head);
	}
	if (omitted) {
		g_autoptr(GHashTable) v = vars_new();
		var_setf(v, "count", "%u", omitted);
		g_autofree char *l = tpl_expand(t, "feedback", "omitted", v);
		g_string_append_printf(o, "\n%s\n", l);
	}
	return g_string_free(o, FALSE);
}

/* ---- results.json (results.h) --------------------------------------- */

/* Seconds the grading took: finished - started, or the cases' wall time
 * when those are not both known. */
static double execution_seconds(const struct attempt_info *a)
{
	if (a->started > 0 && a->finished >= a->started)
		return (double)(a->finished - a->started);
	int64_t ms = 0;
	for (guint i = 0; i < a->cases->len; i++) {
		const struct case_row *r = g_ptr_array_index(a->cases, i);
		ms += r->wall_ms > 0 ? r->wall_ms : 0;
	}
	return (double)ms / 1000;
}

static struct results_case results_case_of(const struct sercom_conf *c, const struct case_row *r,
                                           const struct test_case *tc, const char *words)
{
	const struct limits *l = tc ? &tc->limits : &c->limits;
	return (struct results_case){
		.name = r->name, .verdict = case_verdict_name(r->verdict), .output = words, .group = r->group,
		.is_private = r->is_private, .points = r->points, .earned = r->earned, .scored = r->scored,
		.cpu_ms = r->cpu_ms, .wall_ms = r->wall_ms, .max_rss_kib = r->max_rss_kib,
		.limit_cpu_ms = l->cpu_ms, .limit_wall_ms = l->wall_ms, .limit_memory_kib = l->memory / 1024,
	};
}

/* results.json of attempt a: the public cases (the reply's attachment),
 * or every case (include_private: `sercom show --format json`). */
static char *results_text(const struct sercom_conf *c, const struct tpl *t, const struct attempt_info *a,
                          const struct exercise *e, bool include_private)
{
	bool with_private = include_private || private_shown(e);
	g_autoptr(GArray) cases = g_array_new(FALSE, TRUE, sizeof(struct results_case));
	g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < a->cases->len; i++) {
		const struct case_row *r = g_ptr_array_index(a->cases, i);
		if (r->is_private && !include_private)
			continue;
		const struct test_case *tc = find_case(e, r->name);
		char *w = case_words(t, r, tc, c);
		g_ptr_array_add(words, w);
		struct results_case rc = results_case_of(c, r, tc, w);
		g_array_append_val(cases, rc);
	}
	const char *verdict = verdict_name(attempt_verdict(a));
	g_autofree char *vword = tpl_str(t, "verdict", verdict);
	g_autofree char *st = score_text(c, t, a, e);
	g_autofree char *output = *st ? g_strdup_printf("%s\n%s", vword, st) : g_strdup(vword);
	double priv = with_private ? a->private_score : 0;
	struct results_attempt ra = {
		.id = a->id, .number = a->number, .exercise = a->exercise, .student = a->student,
		.verdict = verdict, .output = output, .scored = a->scored,
		.score = a->score + priv, .max_score = a->max_score + (with_private ? a->private_max : 0),
		.private_included = with_private, .late_days = a->late_days, .penalty = a->penalty,
		.grade = score_final(a->score, priv, a->penalty), .execution_time = execution_seconds(a),
		.cases = (const struct results_case *)(void *)cases->data, .n_cases = cases->len,
	};
	return results_json(&ra);
}

/* results.json as an attachment of a graded reply. */
static struct attachment *results_attachment(const struct sercom_conf *c, const struct tpl *t,
                                             const struct attempt_info *a, const struct exercise *e)
{
	struct attachment *at = g_new0(struct attachment, 1);
	at->name = g_strdup("results.json");
	at->type = g_strdup("application/json");
	at->text = results_text(c, t, a, e, false);
	return at;
}

/* The notes under the summary: private cases, attempts left, what the
 * intake ignored, skipped or renamed, an unverified sender, the
 * attachments. */
static void reply_notes(const struct sercom_conf *c, const struct tpl *t, const struct attempt_info *a,
                        const struct exercise *e, int private_n, const char *admin, const GPtrArray *atts,
                        GString *notes)
{
	if (private_n > 0 && c->show_private_count) {
		g_autoptr(GHashTable) nv = vars_new();
		var_setf(nv, "count", "%d", private_n);
		g_autofree char *line = tpl_expand(t, "note", "private_count", nv);
		g_string_append_printf(notes, "%s\n", line);
	}
	/* an extension's budget replaces max_attempts (schema step 5) */
	int64_t max = a->ext_attempts > 0 ? a->ext_attempts : e ? e->max_attempts : 0;
	if (e && max > 0 && a->student && attempt_verdict(a) != VERDICT_REJECTED) {
		g_autoptr(GHashTable) nv = vars_new();
		int64_t left = max - a->used;
		var_setf(nv, "left", "%lld", (long long)(left > 0 ? left : 0));
		var_setf(nv, "max", "%lld", (long long)max);
		/* charge_build_failures = no: said, so the student knows it was free */
		g_autofree char *line = a->charged ? tpl_expand(t, "note", "attempts_left", nv)
		                                   : tpl_expand(t, "score", "attempts_left_free", nv);
		g_string_append_printf(notes, "%s\n", line);
	}
	/* the MDA's note: "ignored: FILES", "skipped: ENTRIES" and "renamed:
	 * OLD -> NEW; ..." lines (an
	 * override replaces it with the staff's note, mailed apart) */
	g_auto(GStrv) note_lines = a->note ? g_strsplit(a->note, "\n", -1) : NULL;
	for (char **l = note_lines; l && *l; l++) {
		/* line prefix, template key, its variable */
		static const char *const kinds[][3] = {
			{ "ignored: ", "ignored", "files" },
			{ "skipped: ", "skipped", "entries" },
			{ "renamed: ", "renamed", "names" },
		};
		for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
			if (!g_str_has_prefix(*l, kinds[k][0]))
				continue;
			g_autoptr(GHashTable) nv = vars_new();
			g_autofree char *what = one_line(*l + strlen(kinds[k][0]));
			var_set(nv, kinds[k][2], what);
			g_autofree char *line = tpl_expand(t, "note", kinds[k][1], nv);
			g_string_append_printf(notes, "%s\n", line);
		}
	}
	if (a->auth && g_str_has_prefix(a->auth, "fail:") && g_strcmp0(a->reason, "unauthenticated")) {
		/* [mail] authenticate = warn: graded, and said */
		g_autoptr(GHashTable) nv = vars_new();
		var_set(nv, "admin", admin);
		g_autofree char *line = tpl_expand(t, "note", "auth_warning", nv);
		g_string_append_printf(notes, "%s\n", line);
	}
	bool any_diff = false;
	for (guint i = 0; i < atts->len; i++)
		if (strcmp(((struct attachment *)g_ptr_array_index(atts, i))->name, "make.stderr"))
			any_diff = true;
	if (any_diff) {
		g_autofree char *line = tpl_str(t, "note", "attachments");
		g_string_append_printf(notes, "%s\n", line);
	}

}

/* A course's VERDICT.txt written before {score} and {feedback} existed
 * still shows them: the score above the notes, the feedback under the
 * cases. */
static void legacy_placeholders(const char *body_fmt, GHashTable *v)
{
	const char *score = g_hash_table_lookup(v, "score");
	if (!strstr(body_fmt, "{score}") && score && *score) {
		const char *notes = g_hash_table_lookup(v, "notes");
		var_setf(v, "notes", "%s\n%s", score, notes ? notes : "");
	}
	const char *fb = g_hash_table_lookup(v, "feedback");
	if (!strstr(body_fmt, "{feedback}") && fb && *fb) {
		const char *cases = g_hash_table_lookup(v, "cases");
		var_setf(v, "cases", "%s%s", cases ? cases : "", fb);
	}
}

/* The text part: the verdict's template expanded, runs of blank lines
 * squeezed, the staff's note, and the receipt last. */
static char *reply_body(const struct tpl *t, const struct attempt_info *a, GHashTable *v,
                        const char *received, const char *staff_note, GError **err)
{
	const char *verdict = verdict_name(attempt_verdict(a));
	g_autofree char *body_file = g_strdup_printf("%s/%s.txt", t->dir, verdict);
	g_autofree char *body_fmt = NULL;
	GError *fe = NULL;
	if (!g_file_get_contents(body_file, &body_fmt, NULL, &fe)) {
		g_set_error(err, SERCOM_ERROR, ENOENT, "template %s: %s", body_file, fe->message);
		g_error_free(fe);
		return NULL;
	}
	legacy_placeholders(body_fmt, v);
	g_autofree char *body0 = expand(body_fmt, v);
	/* empty placeholders leave runs of blank lines: keep at most one */
	GString *body = g_string_new(NULL);
	int nl = 0;
	for (const char *p = body0; *p; p++) {
		nl = *p == '\n' ? nl + 1 : 0;
		if (nl <= 2)
			g_string_append_c(body, *p);
	}
	/* every reply ends with the receipt, whatever the template */
	g_autofree char *rc = receipt_text(t, a, received);
	g_string_append_printf(body, "%s%s", body->len && body->str[body->len - 1] == '\n' ? "\n" : "\n\n", rc);
	if (staff_note && !strstr(body_fmt, "{staff_note}")) {
		/* a course template without the placeholder still shows the note */
		const char *sn = g_hash_table_lookup(v, "staff_note");
		g_string_prepend(body, "\n");
		g_string_prepend(body, sn);
	}

	return g_string_free(body, FALSE);
}

/* The reply itself: headers threading it under the submission, the text
 * part, the attachments. */
static GMimeMessage *reply_message(const struct sercom_conf *c, const struct attempt_info *a,
                                   const char *subject, const char *body, const GPtrArray *atts)
{
	const char *verdict = verdict_name(attempt_verdict(a));
	GMimeMessage *m = message_new(c, a->email, subject, "auto-replied");
	if (a->message_id && msgid_ok(a->message_id)) {
		g_autofree char *irt = g_strdup_printf("<%s>", a->message_id);
		g_mime_object_set_header(GMIME_OBJECT(m), "In-Reply-To", irt, NULL);
		/* RFC 5322 3.6.4: the parent's References + its Message-ID. The
		 * ingester stored them (trimmed) when it recorded the mail: no
		 * process of ours running as root parses student mail */
		GString *refs = g_string_new(NULL);
		g_auto(GStrv) ids = g_strsplit(a->refs ? a->refs : "", " ", -1);
		for (char **id = ids; *id; id++)
			if (msgid_ok(*id) && strcmp(*id, a->message_id))
				g_string_append_printf(refs, "<%s> ", *id);
		g_string_append(refs, irt);
		g_mime_object_set_header(GMIME_OBJECT(m), "References", refs->str, NULL);
		g_string_free(refs, TRUE);
	}
	g_autofree char *aid = g_strdup_printf("%lld", (long long)a->id);
	g_mime_object_set_header(GMIME_OBJECT(m), "X-Sercom-Attempt", aid, NULL);
	g_mime_object_set_header(GMIME_OBJECT(m), "X-Sercom-Verdict", verdict, NULL);

	GMimeMultipart *mp = g_mime_multipart_new_with_subtype("mixed");
	GMimePart *summary = text_part("text", "plain", body, NULL);
	g_mime_multipart_add(mp, GMIME_OBJECT(summary));
	g_object_unref(summary);
	for (guint i = 0; i < atts->len; i++) {
		const struct attachment *at = g_ptr_array_index(atts, i);
		g_auto(GStrv) ty = g_strsplit(at->type, "/", 2);
		GMimePart *p = text_part(ty[0], ty[1], at->text, at->name);
		g_mime_multipart_add(mp, GMIME_OBJECT(p));
		g_object_unref(p);
	}
	g_mime_message_set_mime_part(m, GMIME_OBJECT(mp));
	g_object_unref(mp);

	return m;
}

/* {staff_note}: the note of an override as a paragraph, or "". */
static void set_staff_note(const struct tpl *t, GHashTable *v, const char *staff_note)
{
	if (!staff_note) {
		var_set(v, "staff_note", "");
		return;
	}
	g_autoptr(GHashTable) nv = vars_new();
	/* the staff's note may span lines: it is body text */
	g_autofree char *sn = g_utf8_make_valid(staff_note, -1);
	var_set(nv, "note", sn);
	g_autofree char *para = tpl_expand(t, "note", "override", nv);
	var_setf(v, "staff_note", "%s\n", para);
}

static bool build_reply(const struct sercom_conf *c, const struct tpl *t, const struct attempt_info *a,
                        const char *staff_note, struct built *out, GError **err)
{
	const char *verdict = verdict_name(attempt_verdict(a));
	GError *ee = NULL;
	struct exercise *e = a->exercise ? exercise_find(c, a->exercise, &ee) : NULL;
	if (ee) {
		log_debug("attempt %lld: exercise %s: %s", (long long)a->id, a->exercise, ee->message);
		g_clear_error(&ee);
	}
	g_autoptr(GHashTable) v = vars_new();
	g_autofree char *exname = a->exercise ? one_line(a->exercise) : tpl_str(t, "subject", "no_exercise");
	g_autofree char *vword = tpl_str(t, "verdict", verdict);
	g_autofree char *admin = one_line(c->admin);
	g_autofree char *received = a->received ? util_format_date(a->received) : g_strdup("?");
	g_autofree char *subj_in = one_line(a->subject);
	var_set(v, "exercise", exname);
	var_set(v, "verdict", vword);
	var_set(v, "admin", admin);
	var_set(v, "received", received);
	/* Attack: a reply that quotes text the sender wrote mails that text,
	 * from the course's server, to whoever the From: names. The Subject
	 * is quoted only to a roster address whose mail was not refused as
	 * forged (reject_intro) */
	const char *intro = reply_intro(a);
	var_set(v, "your_subject", strcmp(intro, "subject") ? "-" : subj_in);
	g_autofree char *intro_text = tpl_expand(t, "intro", intro, v);
	var_set(v, "intro", intro_text);
	var_setf(v, "attempt", "%lld", (long long)a->id);
	if (a->number > 0)
		var_setf(v, "number", "%lld", (long long)a->number);
	else
		var_set(v, "number", "-");

	/* subject: prefix outside the template so every course's filter works */
	g_autofree char *subj_body = tpl_expand(t, "subject", a->number > 0 ? "numbered" : "unnumbered", v);
	g_autofree char *prefix = one_line(c->prefix);
	g_autofree char *subject = *prefix ? g_strdup_printf("[%s] %s", prefix, subj_body) : g_strdup(subj_body);

	bool graded = verdict_graded(attempt_verdict(a));
	g_autoptr(GString) notes = g_string_new(NULL);
	GPtrArray *atts = reply_attachments(c, t, a, graded, notes);
	int private_n;
	g_autofree char *cases = case_lines(c, t, a, e, &private_n);
	reply_notes(c, t, a, e, private_n, admin, atts, notes);
	/* after the notes: results.json is not one of "the attached files
	 * [that] show every difference" */
	if (graded && !g_strcmp0(a->state, "DONE"))
		g_ptr_array_add(atts, results_attachment(c, t, a, e));
	g_autofree char *score = score_text(c, t, a, e);
	g_autofree char *feedback = feedback_text(t, a, e);
	var_set(v, "score", score);
	var_set(v, "feedback", feedback);

	g_autofree char *build_line = NULL;
	if (graded)
		build_line = tpl_str(t, "build", a->build ? a->build : (attempt_verdict(a) == VERDICT_BUILD_FAILED ? "FAILED" : "OK"));
	var_set(v, "build", build_line ? build_line : "");
	var_set(v, "cases", cases);
	var_set(v, "notes", notes->str);
	if (attempt_verdict(a) == VERDICT_REJECTED) {
		g_autofree char *rt = reason_text(c, t, a, e);
		var_set(v, "reason", rt);
	}
	set_staff_note(t, v, staff_note);

	g_autofree char *body = reply_body(t, a, v, received, staff_note, err);
	exercise_free(e);
	if (!body) {
		g_ptr_array_free(atts, TRUE);
		return false;
	}
	GMimeMessage *m = reply_message(c, a, subject, body, atts);
	g_ptr_array_free(atts, TRUE);
	out->bytes = message_bytes(m);
	out->rcpt = one_line(a->email);
	out->subject = g_strdup(subject);
	g_object_unref(m);
	return true;
}

static void built_clear(struct built *b)
{
	if (b->bytes)
		g_byte_array_free(b->bytes, TRUE);
	g_free(b->rcpt);
	g_free(b->subject);
	memset(b, 0, sizeof *b);
}

/* Spools bytes into the outbox and inserts its row inside the caller's
 * transaction (or its own when own_tx). */
static bool outbox_spool(const struct sercom_conf *c, const GByteArray *bytes, char **path, GError **err)
{
	if (!spool_init(c->outbox_dir, err))
		return false;
	return spool_write(c->outbox_dir, bytes->data, bytes->len, path, err);
}

/* A reply's envelope sender names its row (bounce.h), so its bounce
 * finds it: set once the row has its id, in the same transaction. */
static bool outbox_bounce_sender(const struct sercom_conf *c, struct store *s, int64_t id, GError **err)
{
	g_autofree char *base = conf_addr(c->bounce_address);
	if (!base) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "%s: [mail] bounce_address: no address in \"%s\"",
		            c->path ? c->path : "config", c->bounce_address ? c->bounce_address : "");
		return false;
	}
	g_autofree char *secret = bounce_secret(c, err);
	if (!secret)
		return false;
	g_autofree char *verp = bounce_address_make(base, id, secret);
	return store_exec(s, err, "UPDATE outbox SET sender = %Q WHERE id = %lld", verp, (long long)id);
}

/* The row of a reply to a student (attempt_id > 0) or of a notice to
 * staff (0: its envelope sender stays the admin, so its bounce goes to
 * the staff). */
static bool outbox_insert(const struct sercom_conf *c, struct store *s, int64_t attempt_id, const char *path,
                          const char *sender, const char *rcpt, int64_t *id, GError **err)
{
	int64_t now = util_now();
	g_autofree char *aid = attempt_id > 0 ? g_strdup_printf("%lld", (long long)attempt_id) : g_strdup("NULL");
	if (!store_exec(s, err,
	                "INSERT INTO outbox (attempt, file, sender, recipients, state, created, next_try)"
	                " VALUES (%s, %Q, %Q, %Q, 'PENDING', %lld, %lld)",
	                aid, path, sender, rcpt, (long long)now, (long long)now))
		return false;
	int64_t row = sqlite3_last_insert_rowid(store_db(s));
	if (id)
		*id = row;
	return attempt_id <= 0 || outbox_bounce_sender(c, s, row, err);
}

/* ---- public ---------------------------------------------------------- */

/* What every mail to a student starts from: the attempt, its recipient
 * and the envelope sender (the admin; bounce.h makes it the row's own
 * address), and what composing it leaves to free. */
struct mail_job {
	struct attempt_info *a;
	char *sender, *rcpt;
	struct tpl *t;
	struct built b;
	char *path;          /* the spooled file, until its row is committed */
};

static bool job_open(struct store *s, const struct sercom_conf *c, int64_t attempt_id,
                     struct mail_job *j, GError **err)
{
	ensure_gmime();
	memset(j, 0, sizeof *j);
	if (!(j->a = attempt_read(s, attempt_id, err)))
		return false;
	j->sender = conf_addr(c->admin);
	j->rcpt = one_line(j->a->email);
	return true;
}

static void job_close(struct mail_job *j)
{
	built_clear(&j->b);
	tpl_free(j->t);
	attempt_info_free(j->a);
	g_free(j->sender);
	g_free(j->rcpt);
	g_free(j->path);
}

bool compose_reply(const struct sercom_conf *c, struct store *s, int64_t attempt_id,
                   int64_t *outbox_id, GError **err)
{
	int64_t dummy;
	if (!outbox_id)
		outbox_id = &dummy;
	*outbox_id = 0;
	struct mail_job j;
	if (!job_open(s, c, attempt_id, &j, err))
		return false;
	const struct attempt_info *a = j.a;
	const char *rcpt = j.rcpt;
	bool ok = false;

	if (a->answered) {
		ok = true;
		goto out;
	}
	if (!g_strcmp0(a->state, "QUEUED") || !g_strcmp0(a->state, "RUNNING")) {
		g_set_error(err, SERCOM_ERROR, EAGAIN, "attempt %lld is %s: nothing to answer yet",
		            (long long)attempt_id, a->state);
		goto out;
	}
	/* Defensive: the MDA never creates attempts for these, but an answer to
	 * a robot is how mail loops start. Marked answered so they are not
	 * looked at again. */
	if (!g_strcmp0(a->state, "SUPERSEDED") || !g_strcmp0(a->outcome, "duplicate") ||
	    !g_strcmp0(a->outcome, "automatic") || !g_strcmp0(a->outcome, "ignored") ||
	    mime_robot_address(rcpt) || !address_ok(rcpt)) {
		log_info("attempt %lld: no reply (%s, %s, %s address)", (long long)attempt_id, a->state,
		         a->outcome ? a->outcome : "no message", address_ok(rcpt) ? "a robot's" : "an invalid");
		ok = store_exec(s, err, "UPDATE attempts SET answered = 1 WHERE id = %lld", (long long)attempt_id);
		if (ok && !address_ok(rcpt))
			ok = unanswerable(c, s, attempt_id, rcpt, err);
		goto out;
	}
	/* Attack: backscatter (ingest.c decide_quiet). The ingester said
	 * whom not to answer; an address not on the roster is answered only
	 * when it passed authentication, whatever the row says */
	bool authenticated = a->auth && (g_str_has_prefix(a->auth, "pass:") || !strcmp(a->auth, "exempt"));
	if (a->quiet || (!a->student && !authenticated)) {
		log_info("attempt %lld: no reply to %s: %s", (long long)attempt_id, rcpt,
		         a->quiet ? a->quiet : "not a roster address and not authenticated");
		ok = store_exec(s, err, "UPDATE attempts SET answered = 1 WHERE id = %lld", (long long)attempt_id);
		goto out;
	}
	if (!j.sender) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "%s: [mail] admin: no address in \"%s\"",
		            c->path ? c->path : "config", c->admin);
		goto out;
	}
	if (!(j.t = tpl_load(c, err)) || !build_reply(c, j.t, a, NULL, &j.b, err) ||
	    !outbox_spool(c, j.b.bytes, &j.path, err))
		goto out;
	if (!store_begin(s, err))
		goto out_unlink;
	int64_t answered = 0;
	if (!store_query_int(s, &answered, 1, err, "SELECT answered FROM attempts WHERE id = %lld",
	                     (long long)attempt_id)) {
		store_rollback(s);
		goto out_unlink;
	}
	if (answered) { /* another composer won the race */
		store_rollback(s);
		unlink(j.path);
		ok = true;
		goto out;
	}
	if (!outbox_insert(c, s, attempt_id, j.path, j.sender, j.b.rcpt, outbox_id, err) ||
	    !store_exec(s, err, "UPDATE attempts SET answered = 1 WHERE id = %lld", (long long)attempt_id) ||
	    !store_commit(s, err)) {
		store_rollback(s);
		*outbox_id = 0;
		goto out_unlink;
	}
	log_info("attempt %lld: reply queued (outbox %lld, %u bytes) to %s: %s", (long long)attempt_id,
	         (long long)*outbox_id, j.b.bytes->len, j.b.rcpt, j.b.subject);
	ok = true;

	if (attempt_verdict(a) == VERDICT_INTERNAL_ERROR) {
		g_autofree char *subj = g_strdup_printf("internal error grading attempt %lld", (long long)attempt_id);
		g_autofree char *note = one_line(a->note);
		g_autofree char *body = g_strdup_printf(
			"Attempt %lld (exercise %s, student %s, address %s) ended in INTERNAL_ERROR.\n"
			"State: %s. Note: %s\n\nThe student was told the staff would look into it.\n"
			"Inspect it with: sercom show %lld\n",
			(long long)attempt_id, a->exercise ? a->exercise : "-", a->student ? a->student : "-", rcpt,
			a->state ? a->state : "-", *note ? note : "-", (long long)attempt_id);
		GError *ne = NULL;
		if (!compose_admin_notice(c, s, subj, body, &ne)) {
			log_warn("attempt %lld: admin notice: %s", (long long)attempt_id, ne->message);
			g_error_free(ne);
		}
	}
	goto out;
out_unlink:
	if (j.path)
		unlink(j.path);
out:
	job_close(&j);
	return ok;
}

int compose_pending(const struct sercom_conf *c, struct store *s, GError **err)
{
	sqlite3_stmt *st = store_prepare(s,
		"SELECT id FROM attempts WHERE state IN ('DONE','REJECTED','ERROR') AND answered = 0 ORDER BY id", err);
	if (!st)
		return -1;
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		g_array_append_val(ids, id);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_set_error(s, err, "listing unanswered attempts");
		g_array_free(ids, TRUE);
		return -1;
	}
	int n = 0;
	for (guint i = 0; i < ids->len; i++) {
		int64_t id = g_array_index(ids, int64_t, i), ob = 0;
		GError *e = NULL;
		/* one broken attempt (a bad template, a vanished report) must not
		 * hold back the replies of everyone else: log, go on, retry later */
		if (!compose_reply(c, s, id, &ob, &e)) {
			log_error("attempt %lld: composing the reply: %s", (long long)id, e->message);
			g_error_free(e);
			continue;
		}
		if (ob > 0)
			n++;
	}
	g_array_free(ids, TRUE);
	return n;
}

bool compose_override(const struct sercom_conf *c, struct store *s, int64_t attempt_id,
                      const char *note, GError **err)
{
	ensure_gmime();
	struct attempt_info *a = attempt_read(s, attempt_id, err);
	if (!a)
		return false;
	bool ok = false;
	struct tpl *t = NULL;
	struct built b = {0};
	g_autofree char *path = NULL;
	g_autofree char *sender = conf_addr(c->admin);
	g_autofree char *rcpt = one_line(a->email);
	if (mime_robot_address(rcpt) || !address_ok(rcpt)) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "attempt %lld: %s is not an address to answer",
		            (long long)attempt_id, rcpt);
		goto out;
	}
	if (!sender) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "[mail] admin: no address");
		goto out;
	}
	if (!(t = tpl_load(c, err)) || !build_reply(c, t, a, note ? note : "", &b, err) ||
	    !outbox_spool(c, b.bytes, &path, err))
		goto out;
	if (!store_begin(s, err) || !outbox_insert(c, s, attempt_id, path, sender, b.rcpt, NULL, err) ||
	    !store_exec(s, err, "UPDATE attempts SET answered = 1 WHERE id = %lld", (long long)attempt_id) ||
	    !store_commit(s, err)) {
		store_rollback(s);
		unlink(path);
		goto out;
	}
	ok = true;
out:
	built_clear(&b);
	tpl_free(t);
	attempt_info_free(a);
	return ok;
}

/* ---- the final mail (reveal_private = after_close) -------------------- */

/* What the final mail says of the attempt's points (schema step 5). */
struct final_score {
	bool known;            /* attempts.score set (graded since step 5) */
	double score, max_score, private_score, private_max, penalty;
	int64_t late_days;
	GHashTable *points;    /* case name -> "EARNED of POINTS" (g_free) */
};

static bool final_score_read(struct store *s, int64_t id, int64_t grading, struct final_score *f, GError **err)
{
	f->points = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	sqlite3_stmt *st = store_prepare(s,
		"SELECT score, coalesce(max_score, 0), coalesce(private_score, 0), coalesce(private_max, 0),"
		" penalty, late_days FROM attempts WHERE id = ?", err);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		f->known = sqlite3_column_type(st, 0) != SQLITE_NULL;
		f->score = sqlite3_column_double(st, 0);
		f->max_score = sqlite3_column_double(st, 1);
		f->private_score = sqlite3_column_double(st, 2);
		f->private_max = sqlite3_column_double(st, 3);
		f->penalty = sqlite3_column_double(st, 4);
		f->late_days = sqlite3_column_int64(st, 5);
	}
	sqlite3_finalize(st);
	st = store_prepare(s, "SELECT case_name, coalesce(score, 0), points FROM results"
	                      " WHERE attempt = ? AND grading = ? AND points IS NOT NULL", err);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, grading);
	while (sqlite3_step(st) == SQLITE_ROW) {
		g_autofree char *earned = score_format(sqlite3_column_double(st, 1));
		g_autofree char *worth = score_format(sqlite3_column_double(st, 2));
		g_hash_table_replace(f->points, col_text(st, 0), g_strdup_printf("%s/%s", earned, worth));
	}
	sqlite3_finalize(st);
	return true;
}

/* Every case, public then private, each with its points: the private
 * cases' lines name their diffs by the attachment's name. */
static void final_cases(const struct sercom_conf *c, const struct tpl *t, const struct attempt_info *a,
                        const struct exercise *e, const struct final_score *f, GString *o)
{
	for (int priv = 0; priv < 2; priv++) {
		bool any = false;
		for (guint i = 0; i < a->cases->len; i++) {
			const struct case_row *r = g_ptr_array_index(a->cases, i);
			if (r->is_private != (priv == 1))
				continue;
			if (!any) {
				g_autofree char *head = tpl_str(t, "reveal", priv ? "private" : "public");
				g_string_append_printf(o, "%s\n", head);
				any = true;
			}
			struct case_row shown = *r;
			g_autofree char *diffs = NULL;
			if (r->diffs) {
				g_autoptr(GRegex) re = g_regex_new("(^| )private/", 0, 0, NULL);
				diffs = g_regex_replace(re, r->diffs, -1, 0, "\\1", 0, NULL);
				shown.diffs = diffs;
			}
			g_autofree char *words = case_words(t, &shown, find_case(e, r->name), c);
			g_autofree char *cn = one_line(r->name);
			const char *pts = g_hash_table_lookup(f->points, r->name);
			g_autoptr(GHashTable) lv = vars_new();
			var_set(lv, "case", cn);
			var_set(lv, "result", words);
			g_autofree char *earned = pts ? g_strndup(pts, strcspn(pts, "/")) : NULL;
			var_set(lv, "earned", earned);
			var_set(lv, "points", pts ? strchr(pts, '/') + 1 : "");
			g_autofree char *line = tpl_expand(t, "reveal", pts ? "case_points" : "case", lv);
			g_string_append_printf(o, "%s\n", line);
		}
		if (any)
			g_string_append_c(o, '\n');
	}
}

/* The score paragraph: public and private points, the late penalty, the
 * final score (score_final, the one rule). */
static void final_score_text(const struct tpl *t, const struct final_score *f, GString *o)
{
	if (!f->known)
		return;
	g_autoptr(GHashTable) v = vars_new();
	g_autofree char *sc = score_format(f->score), *mx = score_format(f->max_score),
	                *ps = score_format(f->private_score), *pm = score_format(f->private_max),
	                *tm = score_format(f->max_score + f->private_max),
	                *fin = score_format(score_final(f->score, f->private_score, f->penalty)),
	                *pen = score_format(f->penalty);
	var_set(v, "score", sc);
	var_set(v, "max_score", mx);
	var_set(v, "private_score", ps);
	var_set(v, "private_max", pm);
	var_set(v, "max", tm);
	var_set(v, "final", fin);
	var_set(v, "penalty", pen);
	var_setf(v, "days", "%lld", (long long)f->late_days);
	g_autofree char *l1 = tpl_expand(t, "reveal", "score", v);
	g_string_append_printf(o, "%s\n", l1);
	if (f->penalty > 0) {
		g_autofree char *l2 = tpl_expand(t, "reveal", "late", v);
		g_string_append_printf(o, "%s\n", l2);
	}
	g_autofree char *l3 = tpl_expand(t, "reveal", "final", v);
	g_string_append_printf(o, "%s\n", l3);
}

/* The diffs of every failing case, private ones included (the exercise has
 * closed: they are no longer secret), within the reply's budget. */
static GPtrArray *final_attachments(const struct sercom_conf *c, const struct tpl *t,
                                    const struct attempt_info *a, GString *notes)
{
	GPtrArray *atts = g_ptr_array_new_with_free_func(attachment_free);
	g_autofree char *report_dir = g_strdup_printf("%s/%lld/report", c->attempts_dir, (long long)a->id);
	uint64_t budget = c->reply_max > 16384 ? c->reply_max - 16384 : c->reply_max / 2, used = 0;
	for (guint i = 0; i < a->cases->len; i++) {
		const struct case_row *r = g_ptr_array_index(a->cases, i);
		if (!r->diffs || r->verdict == CASE_PASS)
			continue;
		g_auto(GStrv) files = g_strsplit(r->diffs, " ", -1);
		for (char **f = files; *f; f++) {
			bool cut;
			/* read_report_file refuses "..", absolute names and symlinks */
			struct attachment *at = **f ? read_report_file(t, report_dir, *f, "text/x-diff", c->diff_max, &cut) : NULL;
			if (!at)
				continue;
			uint64_t cost = strlen(at->text) * 4 / 3 + 512;
			g_autoptr(GHashTable) nv = vars_new();
			var_set(nv, "file", at->name);
			g_autofree char *lim = fmt_bytes(used + cost > budget ? c->reply_max : c->diff_max);
			var_set(nv, "limit", lim);
			if (used + cost > budget || cut) {
				g_autofree char *line = tpl_expand(t, "note", used + cost > budget ? "not_attached" : "cut", nv);
				g_string_append_printf(notes, "%s\n", line);
			}
			if (used + cost > budget) {
				attachment_free(at);
				continue;
			}
			used += cost;
			g_ptr_array_add(atts, at);
		}
	}
	return atts;
}

/* The final mail of attempt a: [reveal] intro, every case with its points,
 * the score and the final score; threaded under the submission. */
static bool build_final(const struct sercom_conf *c, const struct tpl *t, struct store *s,
                        const struct attempt_info *a, struct built *out, GError **err)
{
	struct final_score f = {0};
	if (!final_score_read(s, a->id, a->grading, &f, err)) {
		g_hash_table_unref(f.points);
		return false;
	}
	GError *ee = NULL;
	struct exercise *e = exercise_find(c, a->exercise, &ee);
	g_clear_error(&ee);
	g_autoptr(GHashTable) v = vars_new();
	g_autofree char *exname = one_line(a->exercise);
	g_autofree char *vword = tpl_str(t, "verdict", verdict_name(attempt_verdict(a)));
	g_autofree char *received = a->received ? util_format_date(a->received) : g_strdup("?");
	g_autofree char *closes = e && e->closes ? util_format_date(e->closes) : g_strdup("-");
	g_autofree char *which = tpl_str(t, "reveal", c->grade_pick == GRADE_BEST ? "best" : "last");
	g_autofree char *fin = score_format(score_final(f.score, f.private_score, f.penalty));
	g_autofree char *tmax = score_format(f.max_score + f.private_max);
	var_set(v, "exercise", exname);
	var_set(v, "verdict", vword);
	var_set(v, "received", received);
	var_set(v, "closes", closes);
	var_set(v, "which", which);
	var_set(v, "final", f.known ? fin : "-");
	var_set(v, "max", f.known ? tmax : "-");
	var_setf(v, "number", "%lld", (long long)a->number);
	var_setf(v, "attempt", "%lld", (long long)a->id);

	GString *body = g_string_new(NULL);
	g_autofree char *intro = tpl_expand(t, "reveal", "intro", v);
	g_autofree char *vline = tpl_expand(t, "reveal", "verdict", v);
	g_string_append_printf(body, "%s\n\n%s\n", intro, vline);
	if (a->build) {
		g_autofree char *bl = tpl_str(t, "build", a->build);
		g_string_append_printf(body, "%s\n", bl);
	}
	g_string_append_c(body, '\n');
	final_cases(c, t, a, e, &f, body);
	final_score_text(t, &f, body);
	g_autoptr(GString) notes = g_string_new(NULL);
	GPtrArray *atts = final_attachments(c, t, a, notes);
	if (notes->len)
		g_string_append_printf(body, "\n%s", notes->str);

	g_autofree char *subj_body = tpl_expand(t, "reveal", f.known ? "subject" : "subject_unscored", v);
	g_autofree char *prefix = one_line(c->prefix);
	g_autofree char *subject = *prefix ? g_strdup_printf("[%s] %s", prefix, subj_body) : g_strdup(subj_body);
	GMimeMessage *m = reply_message(c, a, subject, body->str, atts);
	out->bytes = message_bytes(m);
	out->rcpt = one_line(a->email);
	out->subject = g_strdup(subject);
	g_object_unref(m);
	g_ptr_array_free(atts, TRUE);
	g_string_free(body, TRUE);
	g_hash_table_unref(f.points);
	exercise_free(e);
	return true;
}

/* Queues the outbox row and the reveals row in one transaction: the
 * mail is sent once, whatever crashes or restarts come between. */
static bool final_commit(const struct sercom_conf *c, struct store *s, const struct attempt_info *a, const char *path, const char *sender,
                         const char *rcpt, int64_t *outbox_id, GError **err)
{
	int64_t done = 0;
	if (!store_begin(s, err))
		return false;
	if (!store_query_int(s, &done, 0, err, "SELECT count(*) FROM reveals WHERE student = %Q AND exercise = %Q",
	                     a->student, a->exercise)) {
		store_rollback(s);
		return false;
	}
	if (done) { /* another runner, or `sercom reveal`, was first */
		store_rollback(s);
		*outbox_id = 0;
		return true;
	}
	if (!outbox_insert(c, s, a->id, path, sender, rcpt, outbox_id, err) ||
	    !store_exec(s, err, "INSERT INTO reveals (student, exercise, attempt, outbox, at) VALUES (%Q, %Q, %lld, %lld, %lld)",
	                a->student, a->exercise, (long long)a->id, (long long)*outbox_id, (long long)util_now()) ||
	    !store_commit(s, err)) {
		store_rollback(s);
		*outbox_id = 0;
		return false;
	}
	return true;
}

bool compose_final(const struct sercom_conf *c, struct store *s, int64_t attempt_id, int64_t *outbox_id,
                   GError **err)
{
	int64_t dummy;
	if (!outbox_id)
		outbox_id = &dummy;
	*outbox_id = 0;
	struct mail_job j;
	if (!job_open(s, c, attempt_id, &j, err))
		return false;
	const struct attempt_info *a = j.a;
	const char *rcpt = j.rcpt;
	bool ok = false;
	if (!a->student || !a->exercise || g_strcmp0(a->state, "DONE")) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "attempt %lld: not a graded attempt of a roster student",
		            (long long)attempt_id);
		goto out;
	}
	/* the same defence as every reply: never mail a robot (mail loops) */
	if (mime_robot_address(rcpt) || !address_ok(rcpt)) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "attempt %lld: %s is not an address to answer",
		            (long long)attempt_id, rcpt);
		goto out;
	}
	if (!j.sender) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "[mail] admin: no address");
		goto out;
	}
	if (!(j.t = tpl_load(c, err)) || !build_final(c, j.t, s, a, &j.b, err) ||
	    !outbox_spool(c, j.b.bytes, &j.path, err))
		goto out;
	ok = final_commit(c, s, a, j.path, j.sender, j.b.rcpt, outbox_id, err);
	if (!ok || !*outbox_id)
		unlink(j.path);
	else
		log_info("attempt %lld: final result queued (outbox %lld) to %s: %s", (long long)attempt_id,
		         (long long)*outbox_id, j.b.rcpt, j.b.subject);
out:
	job_close(&j);
	return ok;
}

bool compose_admin_notice(const struct sercom_conf *c, struct store *s, const char *subject,
                          const char *body, GError **err)
{
	ensure_gmime();
	g_autofree char *admin = conf_addr(c->admin);
	if (!admin) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "[mail] admin: no address in \"%s\"", c->admin);
		return false;
	}
	g_autofree char *prefix = one_line(c->prefix);
	g_autofree char *subj = g_strdup_printf("[%s] %s", prefix, subject ? subject : "notice");
	GMimeMessage *m = message_new(c, admin, subj, "auto-generated");
	g_autofree char *text = g_utf8_make_valid(body ? body : "", -1);
	GMimePart *p = text_part("text", "plain", text, NULL);
	g_mime_message_set_mime_part(m, GMIME_OBJECT(p));
	g_object_unref(p);
	GByteArray *bytes = message_bytes(m);
	g_object_unref(m);
	g_autofree char *path = NULL;
	bool ok = outbox_spool(c, bytes, &path, err);
	g_byte_array_free(bytes, TRUE);
	if (!ok)
		return false;
	/* the envelope sender of a notice is the admin too: a bounce of it
	 * comes back to the staff, never to a student */
	if (!outbox_insert(c, s, 0, path, admin, admin, NULL, err)) {
		unlink(path);
		return false;
	}
	return true;
}

char *compose_results_json(const struct sercom_conf *c, struct store *s, int64_t attempt_id,
                           bool include_private, GError **err)
{
	struct attempt_info *a = attempt_read(s, attempt_id, err);
	if (!a)
		return NULL;
	struct tpl *t = tpl_load(c, err);
	char *json = NULL;
	if (t) {
		GError *ee = NULL;
		struct exercise *e = a->exercise ? exercise_find(c, a->exercise, &ee) : NULL;
		if (ee) {
			/* as in the reply: the cases' limits fall back on the instance's */
			log_debug("attempt %lld: exercise %s: %s", (long long)a->id, a->exercise, ee->message);
			g_clear_error(&ee);
		}
		json = results_text(c, t, a, e, include_private);
		exercise_free(e);
	}
	tpl_free(t);
	attempt_info_free(a);
	return json;
}
