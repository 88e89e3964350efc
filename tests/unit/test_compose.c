/* Unit and golden tests of compose: every outcome in English and Spanish,
 * parsed back with GMime and compared with tests/golden/compose/LANG/NAME.txt
 * (a digest: the headers that do not change between runs, the MIME
 * structure with attachment names, and every text). Plus the attacks of
 * issue 5 (header injection, hostile file names, NUL and invalid UTF-8 in
 * program output, robots) and the size caps.
 *
 * SERCOM_GOLDEN_UPDATE=1 rewrites the golden files and fails: review the
 * diff, then run again. */
#include "compose.h"
#include "feedback.h"
#include "conf.h"
#include "spool.h"
#include "store.h"
#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

static char *top;      /* checkout root */
static char *tmp;      /* this run's instance dir */

static void write_file(const char *path, const char *data, gssize len)
{
	g_autofree char *dir = g_path_get_dirname(path);
	assert_int_equal(util_mkdir_p(dir, 0755), 0);
	assert_true(g_file_set_contents(path, data, len < 0 ? (gssize)strlen(data) : len, NULL));
}

static void writef(const char *content, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *p = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	write_file(p, content, -1);
}

/* The instance: config per language, exercise tp1, roster. */
static struct sercom_conf *load_conf(const char *lang, const char *extra)
{
	g_autofree char *path = g_strdup_printf("%s/sercom-%s.conf", tmp, lang);
	g_autofree char *text = g_strdup_printf(
		"[general]\nvar = var\nexercises = exercises\ntemplates = %s/conf/templates\nlanguage = %s\n"
		"[mail]\nfrom = Course Grader <grader@example.edu>\nadmin = Staff <staff@example.edu>\n"
		"prefix = algo1\ntransport = maildir:replies\n%s\n",
		top, lang, extra ? extra : "");
	write_file(path, text, -1);
	GError *e = NULL;
	struct sercom_conf *c = conf_load(path, &e);
	if (!c)
		fail_msg("conf: %s", e->message);
	return c;
}

/* tp3: points, a group, stdin, in/ files (one binary), args, a late
 * penalty, free build failures and private cases revealed after the
 * close (issue 15). Public: 01-sum 2 points, 02-big 3, the group edge
 * (03-edge-a, 04-edge-b) 2 + 2; private: 05-hidden 5. */
static void make_exercise_points(void)
{
	writef("[exercise]\ntitle = Lists\nmax_attempts = 5\ncloses = 2025-12-30 00:00\n"
	       "late = penalty 10 per day max 3\ncharge_build_failures = no\nreveal_private = after_close\n"
	       "run = ./tp --verbose\n[limits]\ncpu = 1s\nmemory = 64M\n",
	       "%s/exercises/tp3/exercise.conf", tmp);
	writef("[case]\nargs = -n \"a b\" \"it's\" tab\\there\npoints = 2\n", "%s/exercises/tp3/tests/01-sum/case.conf", tmp);
	writef("1\n2\n", "%s/exercises/tp3/tests/01-sum/stdin", tmp);
	writef("3\n", "%s/exercises/tp3/tests/01-sum/stdout", tmp);
	writef("[case]\npoints = 3\n", "%s/exercises/tp3/tests/02-big/case.conf", tmp);
	GString *big = g_string_new(NULL);
	for (int i = 1; i <= 100; i++)
		g_string_append_printf(big, "line %d\n", i);
	writef(big->str, "%s/exercises/tp3/tests/02-big/stdin", tmp);
	g_string_free(big, TRUE);
	writef("5050\n", "%s/exercises/tp3/tests/02-big/stdout", tmp);
	writef("alpha\nbeta", "%s/exercises/tp3/tests/02-big/in/data.txt", tmp);
	g_autofree char *bin = g_strdup_printf("%s/exercises/tp3/tests/02-big/in/sub/blob.bin", tmp);
	write_file(bin, "\x7f" "ELF\0\1\2", 7);
	writef("[case]\ngroup = edge\npoints = 2\n", "%s/exercises/tp3/tests/03-edge-a/case.conf", tmp);
	writef("[case]\ngroup = edge\npoints = 2\n[limits]\ncpu = 500ms\n",
	       "%s/exercises/tp3/tests/04-edge-b/case.conf", tmp);
	writef("[case]\nprivate = true\npoints = 5\n", "%s/exercises/tp3/tests/05-hidden/case.conf", tmp);
}

static void make_exercise(void)
{
	writef("[exercise]\ntitle = Sum\nmax_attempts = 10\nfiles = *.c *.h\nrequired = tp.c\n[limits]\ncpu = 2s\n",
	       "%s/exercises/tp1/exercise.conf", tmp);
	const char *cases[] = {"01-basic", "02-negative", "03-crash", "04-slow", "05-exit", "06-private"};
	for (int i = 0; i < 6; i++)
		writef(i == 5 ? "[case]\nexit = 0\nprivate = true\n" : "[case]\nexit = 0\n",
		       "%s/exercises/tp1/tests/%s/case.conf", tmp, cases[i]);
	writef("[exercise]\ntitle = Other\n", "%s/exercises/tp2/exercise.conf", tmp);
	make_exercise_points();
}

static struct store *open_db(const struct sercom_conf *c)
{
	assert_int_equal(util_mkdir_p(c->var, 0755), 0);
	GError *e = NULL;
	struct store *s = store_open(c->db_path, 5000, &e);
	if (!s)
		fail_msg("store: %s", e->message);
	return s;
}

static void exec(struct store *s, const char *sql)
{
	GError *e = NULL;
	if (!store_exec(s, &e, "%s", sql))
		fail_msg("%s: %s", sql, e->message);
}

/* A message row + attempt row; returns the attempt id. */
static int64_t add_attempt(struct store *s, const char *email, const char *exercise, int number,
                           const char *state, const char *verdict, const char *build, const char *reason,
                           const char *detail, const char *subject, const char *refs)
{
	static int seq = 0;
	seq++;
	GError *e = NULL;
	/* refs: the thread's ids, as the ingester stores them (ingest.c) */
	assert_true(store_exec(s, &e,
		"INSERT INTO messages (message_id, spool_file, sender, subject, received, outcome, refs)"
		" VALUES ('sub%d.%d@student.example', '/nonexistent', %Q, %Q, 1767225600, %Q, %Q)",
		seq, (int)getpid(), email, subject ? subject : "tp1",
		!strcmp(state, "REJECTED") ? "rejected" : "queued", refs));
	int64_t mid = sqlite3_last_insert_rowid(store_db(s));
	g_autofree char *num = number > 0 ? g_strdup_printf("%d", number) : g_strdup("NULL");
	assert_true(store_exec(s, &e,
		"INSERT INTO attempts (student, email, exercise, number, message, state, reason, detail, verdict,"
		" build, grading, queued, finished) VALUES (%Q, %Q, %Q, %s, %lld, %Q, %Q, %Q, %Q, %Q, 1, 1767225600, 1767225660)",
		!strcmp(email, "ana@example.edu") ? "s001" : NULL, email, exercise, num, (long long)mid, state,
		reason, detail, verdict, build));
	return sqlite3_last_insert_rowid(store_db(s));
}

static void add_result(struct store *s, int64_t a, int seqn, const char *name, const char *verdict, int exit_code,
                       int sig, const char *note, const char *diffs, int priv)
{
	GError *e = NULL;
	assert_true(store_exec(s, &e,
		"INSERT INTO results (attempt, grading, seq, case_name, verdict, exit_code, signal, note, diffs, private)"
		" VALUES (%lld, 1, %d, %Q, %Q, %d, %d, %Q, %Q, %d)",
		(long long)a, seqn, name, verdict, exit_code, sig, note, diffs, priv));
}

static void report(const struct sercom_conf *c, int64_t a, const char *name, const char *data, gssize len)
{
	g_autofree char *p = g_strdup_printf("%s/%lld/report/%s", c->attempts_dir, (long long)a, name);
	write_file(p, data, len);
}

/* ---- reading a reply back -------------------------------------------- */

static char *outbox_file(struct store *s, int64_t ob)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT file FROM outbox WHERE id = ?", NULL);
	sqlite3_bind_int64(st, 1, ob);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	char *f = g_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return f;
}

static GMimeMessage *parse_file(const char *path)
{
	GMimeStream *fs = g_mime_stream_fs_open(path, O_RDONLY, 0, NULL);
	assert_non_null(fs);
	GMimeParser *p = g_mime_parser_new_with_stream(fs);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(fs);
	assert_non_null(m);
	return m;
}

static char *part_text(GMimeObject *o)
{
	GMimePart *p = GMIME_PART(o);
	GMimeDataWrapper *w = g_mime_part_get_content(p);
	GMimeStream *ms = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, ms);
	GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	char *t = g_strndup((const char *)b->data, b->len);
	g_object_unref(ms);
	return t;
}

static void hdr(GString *d, GMimeMessage *m, const char *name)
{
	const char *v = g_mime_object_get_header(GMIME_OBJECT(m), name);
	if (!v)
		return;
	g_autofree char *dec = g_mime_utils_header_decode_text(NULL, v);
	g_autofree char *unf = g_mime_utils_header_unfold(dec);
	g_string_append_printf(d, "%s: %s\n", name, unf);
}

/* The digest compared with a golden file. */
static char *digest(GMimeMessage *m)
{
	GString *d = g_string_new(NULL);
	static const char *const h[] = {"From", "To", "Reply-To", "Return-Path", "Subject", "In-Reply-To",
	                                "References", "Auto-Submitted", "X-Sercom-Attempt", NULL};
	for (int i = 0; h[i]; i++) {
		if (!strcmp(h[i], "In-Reply-To") || !strcmp(h[i], "References")) {
			/* ids carry the pid: show their shape only */
			const char *v = g_mime_object_get_header(GMIME_OBJECT(m), h[i]);
			if (v) {
				int n = 0;
				for (const char *p = v; *p; p++)
					n += *p == '<';
				g_string_append_printf(d, "%s: %d id(s)\n", h[i], n);
			}
			continue;
		}
		hdr(d, m, h[i]);
	}
	assert_non_null(g_mime_object_get_header(GMIME_OBJECT(m), "Message-Id"));
	assert_non_null(g_mime_object_get_header(GMIME_OBJECT(m), "Date"));
	GMimeObject *body = g_mime_message_get_mime_part(m);
	GPtrArray *parts = g_ptr_array_new();
	if (GMIME_IS_MULTIPART(body)) {
		g_autofree char *ct = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(body));
		g_string_append_printf(d, "%s\n", ct);
		for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(body)); i++)
			g_ptr_array_add(parts, g_mime_multipart_get_part(GMIME_MULTIPART(body), i));
	} else {
		g_ptr_array_add(parts, body);
	}
	for (guint i = 0; i < parts->len; i++) {
		GMimeObject *o = g_ptr_array_index(parts, i);
		GMimeContentType *ct = g_mime_object_get_content_type(o);
		g_autofree char *mt = g_mime_content_type_get_mime_type(ct);
		const char *cs = g_mime_content_type_get_parameter(ct, "charset");
		const char *fn = g_mime_part_get_filename(GMIME_PART(o));
		const char *disp = g_mime_object_get_disposition(o);
		g_string_append_printf(d, "part %u: %s; charset=%s; %s%s%s%s\n", i, mt, cs ? cs : "-", disp ? disp : "-",
		                       fn ? " \"" : "", fn ? fn : "", fn ? "\"" : "");
		/* every decoded text, report.html's too: a golden is reviewed as
		 * text, and a size says nothing of what the student sees */
		g_autofree char *t = part_text(o);
		g_string_append_printf(d, "---8<---\n%s---8<---\n", t);
	}
	g_ptr_array_free(parts, TRUE);
	/* the receipt's Message-ID carries the pid too */
	g_autoptr(GRegex) pid = g_regex_new("(<sub[0-9]+)\\.[0-9]+@", 0, 0, NULL);
	g_autofree char *text = g_string_free(d, FALSE);
	return g_regex_replace(pid, text, -1, 0, "\\1.PID@", 0, NULL);
}

static int golden_rewritten; /* files SERCOM_GOLDEN_UPDATE rewrote */

/* file: NAME.txt (a reply's digest) or NAME.results.json */
static void golden_file(const char *lang, const char *file, const char *got)
{
	const char *name = file;
	g_autofree char *path = g_strdup_printf("%s/tests/golden/compose/%s/%s", top, lang, file);
	g_autofree char *want = NULL;
	bool have = g_file_get_contents(path, &want, NULL, NULL);
	/* an update is never a green run: what differs is rewritten and the
	 * program fails (main), so only a run after the review of `git diff`
	 * passes */
	if (getenv("SERCOM_GOLDEN_UPDATE")) {
		if (!have || strcmp(want, got)) {
			write_file(path, got, -1);
			golden_rewritten++;
		}
		return;
	}
	if (!have)
		fail_msg("golden file %s missing (SERCOM_GOLDEN_UPDATE=1 writes it); got:\n%s", path, got);
	if (strcmp(want, got)) {
		g_autofree char *out = g_strdup_printf("%s/%s-%s.got", tmp, lang, name);
		g_file_set_contents(out, got, -1, NULL);
		fail_msg("%s differs from %s (diff -u %s %s)", name, path, path, out);
	}
}

static void golden(const char *lang, const char *name, const char *got)
{
	g_autofree char *file = g_strdup_printf("%s.txt", name);
	golden_file(lang, file, got);
}

/* The text of the reply's attachment named name, or NULL. */
static char *attachment_text(GMimeMessage *m, const char *name)
{
	GMimeObject *body = g_mime_message_get_mime_part(m);
	if (!GMIME_IS_MULTIPART(body))
		return NULL;
	for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(body)); i++) {
		GMimeObject *o = g_mime_multipart_get_part(GMIME_MULTIPART(body), i);
		if (!g_strcmp0(g_mime_part_get_filename(GMIME_PART(o)), name))
			return part_text(o);
	}
	return NULL;
}

/* compose attempt a; returns the parsed reply (or NULL when none) */
static GMimeMessage *compose(const struct sercom_conf *c, struct store *s, int64_t a, char **raw)
{
	GError *e = NULL;
	int64_t ob = -1;
	exec(s, "UPDATE attempts SET answered = 0");
	if (!compose_reply(c, s, a, &ob, &e))
		fail_msg("compose_reply(%lld): %s", (long long)a, e->message);
	if (ob == 0)
		return NULL;
	int64_t answered;
	assert_true(store_query_int(s, &answered, -1, NULL, "SELECT answered FROM attempts WHERE id = %lld", (long long)a));
	assert_int_equal(answered, 1);
	g_autofree char *f = outbox_file(s, ob);
	if (raw) {
		g_free(*raw);
		assert_true(g_file_get_contents(f, raw, NULL, NULL));
	}
	return parse_file(f);
}

/* The header block of a raw message. */
static char *raw_headers(const char *raw)
{
	const char *end = strstr(raw, "\n\n");
	return g_strndup(raw, end ? (gsize)(end - raw + 1) : strlen(raw));
}

/* ---- the scenarios --------------------------------------------------- */

struct scenario {
	const char *name;
	int64_t id;
};
static struct scenario scen[32];
static int nscen;
static struct store *db;
static struct sercom_conf *conf_en, *conf_es;

static void add_scen(const char *name, int64_t id)
{
	scen[nscen].name = name;
	scen[nscen].id = id;
	nscen++;
}

/* A results row with the points of schema step 5 and the resources. */
static void add_scored(struct store *s, int64_t a, int seqn, const char *name, const char *verdict, double points,
                       double earned, const char *grp, int priv, int64_t cpu_ms, int64_t wall_ms, int64_t rss_kib)
{
	GError *e = NULL;
	g_autofree char *diffs = strcmp(verdict, "WRONG_OUTPUT") ? NULL : g_strdup_printf("%s.stdout.diff", name);
	assert_true(store_exec(s, &e,
		"INSERT INTO results (attempt, grading, seq, case_name, verdict, exit_code, signal, note, diffs, private,"
		" points, score, grp, cpu_ms, wall_ms, max_rss_kib) VALUES (%lld, 1, %d, %Q, %Q, 0, 0, NULL, %Q, %d,"
		" %g, %g, %Q, %lld, %lld, %lld)",
		(long long)a, seqn, name, verdict,
		diffs, priv,
		points, earned, grp, (long long)cpu_ms, (long long)wall_ms, (long long)rss_kib));
}

/* The grade columns as grading (score) and the intake (late_days,
 * penalty, received) would have set them. */
static void set_grade(struct store *s, int64_t a, double score, double max, double pscore, double pmax, int late_days,
                      double penalty, int charged, int64_t received)
{
	GError *e = NULL;
	assert_true(store_exec(s, &e,
		"UPDATE attempts SET score = %g, max_score = %g, private_score = %g, private_max = %g, late_days = %d,"
		" penalty = %g, charged = %d, started = 1767225600, finished = 1767225603 WHERE id = %lld;"
		"UPDATE messages SET received = %lld WHERE id = (SELECT message FROM attempts WHERE id = %lld)",
		score, max, pscore, pmax, late_days, penalty, charged, (long long)a, (long long)received, (long long)a));
}

/* The five cases of tp3 with the given verdicts of 02-big and 04-edge-b;
 * the group edge earns only when both pass. */
static void add_tp3_results(struct store *s, int64_t a, const char *sum, const char *big, const char *edge_b)
{
	bool edge = !strcmp(edge_b, "PASS");
	add_scored(s, a, 1, "01-sum", sum, 2, strcmp(sum, "PASS") ? 0 : 2, NULL, 0, 12, 30, 1536);
	add_scored(s, a, 2, "02-big", big, 3, strcmp(big, "PASS") ? 0 : 3, NULL, 0, 15, 41, 1600);
	add_scored(s, a, 3, "03-edge-a", "PASS", 2, edge ? 2 : 0, "edge", 0, 10, 25, 1500);
	add_scored(s, a, 4, "04-edge-b", edge_b, 2, edge ? 2 : 0, "edge", 0, edge ? 11 : 500, edge ? 20 : 512,
	           2048);
	add_scored(s, a, 5, "05-hidden", "WRONG_OUTPUT", 5, 0, NULL, 1, 9, 22, 1400);
}

/* Issue 15's scenarios: points, a group, late, an extension, a free
 * build failure (tp3). Times: tp3 closes 2025-12-30 00:00 UTC. */
static void add_grade_scenarios(struct store *s)
{
	const int64_t on_time = 1766966400;      /* 2025-12-29 */
	const int64_t two_days = 1767225600;     /* 2026-01-01: 2 days late */
	const int64_t five_days = 1767484800;    /* 2026-01-04: past "max 3" */
	int64_t a = add_attempt(s, "ana@example.edu", "tp3", 1, "DONE", "TESTS_FAILED", "OK", NULL, NULL, "tp3", NULL);
	add_tp3_results(s, a, "PASS", "WRONG_OUTPUT", "PASS");
	set_grade(s, a, 6, 9, 0, 5, 0, 0, 1, on_time);
	report(conf_en, a, "02-big.stdout.diff", "--- expected\n+++ yours\n@@ -1 +1 @@\n-5050\n+5049\n", -1);
	add_scen("SCORE-partial", a);

	a = add_attempt(s, "ana@example.edu", "tp3", 2, "DONE", "TESTS_FAILED", "OK", NULL, NULL, "tp3", NULL);
	add_tp3_results(s, a, "PASS", "PASS", "TIME_LIMIT");
	set_grade(s, a, 5, 9, 0, 5, 0, 0, 1, on_time);
	add_scen("SCORE-group_zero", a);

	a = add_attempt(s, "ana@example.edu", "tp3", 3, "DONE", "TESTS_FAILED", "OK", NULL, NULL, "tp3", NULL);
	add_tp3_results(s, a, "WRONG_OUTPUT", "WRONG_OUTPUT", "PASS");
	set_grade(s, a, 4, 9, 0, 5, 2, 20, 1, two_days);
	report(conf_en, a, "01-sum.stdout.diff", "--- expected\n+++ yours\n@@ -1 +1 @@\n-3\n+12\n", -1);
	report(conf_en, a, "02-big.stdout.diff", "--- expected\n+++ yours\n@@ -1 +1 @@\n-5050\n+5049\n", -1);
	add_scen("SCORE-late", a);

	/* bea: 5 days late is past "max 3" (the intake's `closed`), but her
	 * extension to 2026-01-03 makes it 1 day late: graded, 10% off */
	exec(s, "INSERT INTO students (id, name) VALUES ('s002', 'Bea')");
	exec(s, "INSERT INTO student_emails VALUES ('bea@example.edu', 's002')");
	exec(s, "INSERT INTO extensions (student, exercise, until, attempts, note, granted_by, granted_at)"
	        " VALUES ('s002', 'tp3', 1767398400, 7, 'medical certificate', 'staff', 1767000000)");
	a = add_attempt(s, "bea@example.edu", "tp3", 1, "DONE", "ACCEPTED", "OK", NULL, NULL, "tp3", NULL);
	exec(s, "UPDATE attempts SET student = 's002' WHERE id = (SELECT max(id) FROM attempts)");
	add_tp3_results(s, a, "PASS", "PASS", "PASS");
	set_grade(s, a, 9, 9, 0, 5, 1, 10, 1, five_days);
	add_scen("SCORE-extension", a);

	/* charge_build_failures = no: charged = 0, and the reply says so */
	a = add_attempt(s, "ana@example.edu", "tp3", 4, "DONE", "BUILD_FAILED", "FAILED", NULL, NULL, "tp3", NULL);
	set_grade(s, a, 0, 9, 0, 5, 0, 0, 0, on_time);
	report(conf_en, a, "make.stderr", "tp.c:1:1: error: expected ';' before '}' token\n", -1);
	add_scen("BUILD_FAILED-free", a);
}


static int setup(void **state)
{
	setenv("TZ", "UTC", 1);
	tzset();
	g_mime_init();
	const char *t = getenv("SERCOM_TOP");
	top = g_canonicalize_filename(t ? t : ".", NULL);
	tmp = g_dir_make_tmp("sercom-compose-XXXXXX", NULL);
	make_exercise();
	conf_en = load_conf("en", NULL);
	conf_es = load_conf("es", NULL);
	db = open_db(conf_en);
	exec(db, "INSERT INTO students (id, name) VALUES ('s001', 'Ana')");
	exec(db, "INSERT INTO student_emails VALUES ('ana@example.edu', 's001')");

	/* the submission's References, for the In-Reply-To tests */
	const char *refs = "root@student.example mid@student.example";

	int64_t a = add_attempt(db, "ana@example.edu", "tp1", 1, "DONE", "ACCEPTED", "OK", NULL, NULL, "tp1", refs);
	for (int i = 0; i < 5; i++) {
		const char *n[] = {"01-basic", "02-negative", "03-crash", "04-slow", "05-exit"};
		add_result(db, a, i + 1, n[i], "PASS", 0, 0, NULL, NULL, 0);
	}
	add_result(db, a, 6, "06-private", "PASS", 0, 0, NULL, NULL, 1);
	add_scen("ACCEPTED", a);

	a = add_attempt(db, "ana@example.edu", "tp1", 2, "DONE", "TESTS_FAILED", "WARNINGS", NULL, NULL, "tp1", refs);
	add_result(db, a, 1, "01-basic", "PASS", 0, 0, NULL, NULL, 0);
	add_result(db, a, 2, "02-negative", "WRONG_OUTPUT", 0, 0, "stdout differs at line 1; out.txt differs",
	           "02-negative.stdout.diff 02-negative.file.out.txt.diff", 0);
	add_result(db, a, 3, "03-crash", "SIGNAL", 0, 11, NULL, NULL, 0);
	add_result(db, a, 4, "04-slow", "TIME_LIMIT", 0, 0, NULL, NULL, 0);
	add_result(db, a, 5, "05-exit", "WRONG_EXIT", 3, 0, NULL, NULL, 0);
	add_result(db, a, 6, "06-private", "WRONG_OUTPUT", 0, 0, "secret differs", "private/06-private.stdout.diff", 1);
	report(conf_en, a, "make.stderr", "tp.c:3:9: warning: unused variable 'x' [-Wunused-variable]\n", -1);
	report(conf_en, a, "02-negative.stdout.diff",
	       "--- expected\n+++ yours\n@@ -1 +1 @@\n--3\n+3\n", -1);
	report(conf_en, a, "02-negative.file.out.txt.diff", "--- expected\n+++ yours\n@@ -1 +1 @@\n-a\n+b\n", -1);
	report(conf_en, a, "report.html", "<!doctype html><html><body><table><tr><td>-3</td><td>3</td></tr></table></body></html>\n", -1);
	report(conf_en, a, "private/06-private.stdout.diff", "--- expected\n+++ yours\n-SECRET-EXPECTED\n", -1);
	add_scen("TESTS_FAILED", a);

	a = add_attempt(db, "ana@example.edu", "tp1", 3, "DONE", "BUILD_FAILED", "FAILED", NULL, NULL, "tp1", refs);
	report(conf_en, a, "make.stderr", "tp.c:1:1: error: expected ';' before '}' token\nmake: *** [Makefile:2: tp] Error 1\n", -1);
	add_scen("BUILD_FAILED", a);

	a = add_attempt(db, "ana@example.edu", "tp1", 4, "ERROR", "INTERNAL_ERROR", NULL, NULL, NULL, "tp1", refs);
	exec(db, "UPDATE attempts SET note = 'sandbox: clone: EPERM' WHERE id = (SELECT max(id) FROM attempts)");
	add_scen("INTERNAL_ERROR", a);

	/* the receipt: ACCEPTED's mail brought two files (test_receipt
	 * checks its lines against sha256sum) */
	writef("int main(void) { return 0; }\n", "%s/files/tp.c", tmp);
	writef("#define N 3\n", "%s/files/tp.h", tmp);
	for (int i = 0; i < 2; i++) {
		const char *n = i ? "tp.h" : "tp.c";
		g_autofree char *p = g_strdup_printf("%s/files/%s", tmp, n), *data = NULL;
		gsize len;
		assert_true(g_file_get_contents(p, &data, &len, NULL));
		g_autofree char *h = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
		GError *e = NULL;
		assert_true(store_exec(db, &e, "INSERT INTO receipts (message, name, size, sha256) VALUES "
		                       "((SELECT message FROM attempts WHERE id = %lld), %Q, %lld, %Q)",
		                       (long long)scen[0].id, n, (long long)len, h));
	}
	exec(db, "UPDATE messages SET raw_sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'");

	/* [mail] authenticate = warn: graded, and the reply says so */
	a = add_attempt(db, "ana@example.edu", "tp1", 5, "DONE", "ACCEPTED", "OK", NULL, NULL, "tp1", refs);
	exec(db, "UPDATE messages SET auth = 'fail: dkim=fail header.d=example.edu' WHERE id = (SELECT max(id) FROM messages)");
	add_scen("ACCEPTED-auth_warn", a);

	static const char *const reasons[][3] = {
		{"unknown_sender", "stranger@example.org", "tp1"},
		{"unauthenticated", "dkim=fail header.d=example.edu", "tp1"},
		{"unknown_exercise", "tp9", NULL},
		{"unknown_exercise", "", NULL},
		{"not_open", "1798761600", "tp1"},
		{"closed", "1767225600", "tp1"},
		{"attempts_exhausted", "10", "tp1"},
		{"no_files", "", "tp1"},
		{"missing_required", "tp.c Makefile", "tp1"},
		{"bad_archive", "tp.zip: Truncated ZIP file header", "tp1"},
		{"too_large", "message:10485760", "tp1"},
		{"rate_limited", "interval:60:1767225660", "tp1"},
		{"rate_limited", "day:5:1767312000", "tp1"},
	};
	static const char *const names[] = {"REJECTED-unknown_sender", "REJECTED-unauthenticated",
	                                    "REJECTED-unknown_exercise", "REJECTED-unknown_exercise_none",
	                                    "REJECTED-not_open", "REJECTED-closed", "REJECTED-attempts_exhausted",
	                                    "REJECTED-no_files", "REJECTED-missing_required",
	                                    "REJECTED-bad_archive", "REJECTED-too_large",
	                                    "REJECTED-rate_limited", "REJECTED-rate_limited_day"};
	for (unsigned i = 0; i < G_N_ELEMENTS(reasons); i++) {
		const char *email = i == 0 ? "stranger@example.org" : "ana@example.edu";
		/* Subjects the sender wrote, never to be quoted to a stranger
		 * nor in the refusal of a mail that may be forged */
		a = add_attempt(db, email, reasons[i][2], 0, "REJECTED", "REJECTED", NULL, reasons[i][0], reasons[i][1],
		                i == 2 ? "tp9 please" : i < 2 ? "FORGED-SUBJECT visit evil.example" : "tp1", refs);
		if (i == 8)
			exec(db, "UPDATE attempts SET note = 'ignored: notes.txt a.out' WHERE id = (SELECT max(id) FROM attempts)");
		/* a stranger is answered only when authenticated (and matching
		 * trusted: the ingester's part, test 18-deliver-auth.t) */
		if (i == 0)
			exec(db, "UPDATE messages SET auth = 'pass: dkim=pass header.d=example.org' WHERE id = (SELECT max(id) FROM messages)");
		if (i == 1)
			exec(db, "UPDATE messages SET auth = 'fail: dkim=fail header.d=example.edu' WHERE id = (SELECT max(id) FROM messages)");
		add_scen(names[i], a);
	}
	/* last: the ids of the scenarios above stay as their goldens say */
	add_grade_scenarios(db);
	*state = NULL;
	return 0;
}

static int teardown(void **state)
{
	store_close(db);
	conf_free(conf_en);
	conf_free(conf_es);
	if (!getenv("SERCOM_KEEP"))
		util_rm_rf(tmp);
	return 0;
}

static void test_golden_lang(const struct sercom_conf *c, const char *lang)
{
	for (int i = 0; i < nscen; i++) {
		g_autofree char *raw = NULL;
		GMimeMessage *m = compose(c, db, scen[i].id, &raw);
		assert_non_null(m);
		g_autofree char *d = digest(m);
		golden(lang, scen[i].name, d);
		/* results.json on its own too: tests/t/56-results-json.t
		 * validates these files against tests/results.schema.json */
		g_autofree char *rj = attachment_text(m, "results.json");
		if (rj) {
			g_autofree char *f = g_strdup_printf("%s.results.json", scen[i].name);
			golden_file(lang, f, rj);
			/* the reply never lists a private case */
			assert_null(strstr(rj, "06-private"));
			assert_null(strstr(rj, "05-hidden"));
			assert_null(strstr(rj, "\"hidden\""));
		}
		/* headers: never the student's subject; one Subject; Auto-Submitted */
		g_autofree char *h = raw_headers(raw);
		assert_null(strstr(h, "please"));
		assert_non_null(strstr(h, "\nAuto-Submitted: auto-replied\n"));
		assert_null(strstr(d, "FORGED-SUBJECT"));
		/* every reply ends with the receipt */
		assert_non_null(strstr(d, lang[0] == 'e' && lang[1] == 'n' ? "Receipt: what was received" : "Comprobante: "));
		g_object_unref(m);
	}
}

static void test_golden_en(void **state) { test_golden_lang(conf_en, "en"); }
static void test_golden_es(void **state) { test_golden_lang(conf_es, "es"); }

/* structure checks that do not depend on the golden files */
static void test_structure(void **state)
{
	g_autofree char *raw = NULL;
	GMimeMessage *m = compose(conf_en, db, scen[1].id, &raw);
	const char *subj = g_mime_message_get_subject(m);
	assert_string_equal(subj, "[algo1] Result of attempt 2 (exercise tp1): TESTS FAILED");
	GMimeObject *body = g_mime_message_get_mime_part(m);
	assert_true(GMIME_IS_MULTIPART(body));
	GMimeMultipart *mp = GMIME_MULTIPART(body);
	/* summary, make.stderr, 2 diffs, report.html, results.json; no private diff */
	assert_int_equal(g_mime_multipart_get_count(mp), 6);
	assert_string_equal(g_mime_part_get_filename(GMIME_PART(g_mime_multipart_get_part(mp, 5))), "results.json");
	assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(g_mime_multipart_get_part(mp, 5)),
	                                        "application", "json"));
	assert_string_equal(g_mime_part_get_filename(GMIME_PART(g_mime_multipart_get_part(mp, 1))), "make.stderr");
	assert_string_equal(g_mime_part_get_filename(GMIME_PART(g_mime_multipart_get_part(mp, 2))), "02-negative.stdout.diff");
	assert_string_equal(g_mime_part_get_filename(GMIME_PART(g_mime_multipart_get_part(mp, 4))), "report.html");
	GMimeContentType *ct = g_mime_object_get_content_type(g_mime_multipart_get_part(mp, 2));
	assert_true(g_mime_content_type_is_type(ct, "text", "x-diff"));
	g_autofree char *text = part_text(g_mime_multipart_get_part(mp, 0));
	assert_non_null(strstr(text, "02-negative: stdout differs (see 02-negative.stdout.diff); output file out.txt differs (see 02-negative.file.out.txt.diff)"));
	assert_non_null(strstr(text, "03-crash: killed by SIGSEGV (segmentation fault)"));
	assert_non_null(strstr(text, "04-slow: CPU time limit of 2 s exceeded"));
	assert_non_null(strstr(text, "05-exit: exit code 3, expected 0"));
	assert_non_null(strstr(text, "Test cases run but not shown here: 1."));
	assert_non_null(strstr(text, "Attempts left for this exercise: 8 of 10"));
	/* private cases never appear */
	assert_null(strstr(raw, "06-private"));
	assert_null(strstr(raw, "SECRET"));
	assert_null(strstr(raw, "secret differs"));
	/* threading: RFC 5322 3.6.4 */
	const char *irt = g_mime_object_get_header(GMIME_OBJECT(m), "In-Reply-To");
	assert_non_null(irt);
	assert_non_null(strstr(irt, "@student.example>"));
	g_autofree char *refs = g_mime_utils_header_unfold(g_mime_object_get_header(GMIME_OBJECT(m), "References"));
	g_strdelimit(refs, "\t", ' ');
	assert_true(g_str_has_prefix(refs, "<root@student.example> <mid@student.example> <sub"));
	assert_non_null(g_mime_object_get_header(GMIME_OBJECT(m), "X-Sercom-Attempt"));
	g_object_unref(m);

	/* show_private_count = no: not even the count */
	struct sercom_conf *c = load_conf("en", "show_private_count = no");
	m = compose(c, db, scen[1].id, &raw);
	g_autofree char *t2 = part_text(g_mime_multipart_get_part(GMIME_MULTIPART(g_mime_message_get_mime_part(m)), 0));
	assert_null(strstr(t2, "not shown here"));
	g_object_unref(m);
	conf_free(c);
}

/* sercom show --format json: the reply's results.json plus the private
 * cases, their points in the score. */
static void test_results_json_private(void **state)
{
	int64_t id = 0;
	for (int i = 0; i < nscen; i++)
		if (!strcmp(scen[i].name, "SCORE-partial"))
			id = scen[i].id;
	assert_true(id > 0);
	GError *e = NULL;
	g_autofree char *all = compose_results_json(conf_en, db, id, true, &e);
	if (!all)
		fail_msg("%s", e->message);
	assert_non_null(strstr(all, "\"name\": \"05-hidden\""));
	assert_non_null(strstr(all, "\"visibility\": \"hidden\""));
	assert_non_null(strstr(all, "\"private_included\": true"));
	/* 6 of 9 public, 0 of 5 private */
	assert_true(g_str_has_prefix(all, "{\n  \"score\": 6,\n  \"max_score\": 14,\n"));
	g_autofree char *pub = compose_results_json(conf_en, db, id, false, &e);
	assert_null(strstr(pub, "05-hidden"));
	assert_true(g_str_has_prefix(pub, "{\n  \"score\": 6,\n  \"max_score\": 9,\n"));
	assert_null(compose_results_json(conf_en, db, 999999, true, &e));
	g_clear_error(&e);
}

static int64_t scen_id(const char *name)
{
	for (int i = 0; i < nscen; i++)
		if (!strcmp(scen[i].name, name))
			return scen[i].id;
	fail_msg("no scenario %s", name);
	return 0;
}

/* The summary text of attempt a's reply under conf c. */
static char *summary_of(const struct sercom_conf *c, int64_t a)
{
	GMimeMessage *m = compose(c, db, a, NULL);
	GMimeObject *b = g_mime_message_get_mime_part(m);
	char *t = part_text(GMIME_IS_MULTIPART(b) ? g_mime_multipart_get_part(GMIME_MULTIPART(b), 0) : b);
	g_object_unref(m);
	return t;
}

/* The score line follows the exercise: private cases that count are in
 * the score; without reveal_private, and with show_private_count = no,
 * nothing is said of them. */
static void test_score_variants(void **state)
{
	int64_t a = scen_id("SCORE-partial");
	g_autofree char *conf_path = g_strdup_printf("%s/exercises/tp3/exercise.conf", tmp);
	g_autofree char *orig = NULL;
	assert_true(g_file_get_contents(conf_path, &orig, NULL, NULL));
	/* private_counts = true, in [exercise] (before [limits]) */
	g_autofree char *pc = g_strdup(orig);
	char *lim = strstr(pc, "[limits]");
	assert_non_null(lim);
	*lim = 0;
	g_autofree char *with_pc = g_strconcat(pc, "private_counts = true\n", strstr(orig, "[limits]"), NULL);
	write_file(conf_path, with_pc, -1);
	g_autofree char *t1 = summary_of(conf_en, a);
	assert_non_null(strstr(t1, "\nScore: 6 of 14 (public cases 6 of 9, private cases 0 of 5).\n"));
	/* reveal_private = never */
	g_autofree char *never = g_strdup(orig);
	char *rv = strstr(never, "reveal_private = after_close");
	assert_non_null(rv);
	memcpy(rv, "reveal_private = never      ", strlen("reveal_private = after_close"));
	write_file(conf_path, never, -1);
	g_autofree char *t2 = summary_of(conf_en, a);
	assert_non_null(strstr(t2, "\nScore: 6 of 9 (public cases); the private cases count 5 more points, not shown here.\n"));
	struct sercom_conf *c = load_conf("en", "show_private_count = no");
	g_autofree char *t3 = summary_of(c, a);
	conf_free(c);
	assert_non_null(strstr(t3, "\nScore: 6 of 9.\n"));
	assert_null(strstr(t3, "private"));
	write_file(conf_path, orig, -1);
}

/* feedback.c: a command line a shell reads back as the same words, and
 * an input of one long line cut by bytes at a character boundary. */
static void test_feedback_helpers(void **state)
{
	char *run[] = {"./tp", NULL};
	char *args[] = {"-n", "a b", "it's", "x\ny", "", "$HOME", "ñandú", NULL};
	g_autofree char *cl = feedback_command_line(run, args);
	assert_string_equal(cl, "./tp -n 'a b' 'it'\\''s' $'x\\ny' '' '$HOME' ñandú");
	g_autofree char *p = g_strdup_printf("%s/long.txt", tmp);
	GString *l = g_string_new(NULL);
	while (l->len < 10000)
		g_string_append(l, "\xc3\xb1");   /* ñ: two bytes */
	write_file(p, l->str, (gssize)l->len);
	struct feedback_excerpt x;
	assert_true(feedback_excerpt_read(p, FEEDBACK_MAX_LINES, FEEDBACK_MAX_BYTES, &x, NULL));
	assert_false(x.binary);
	assert_true(x.cut);
	assert_true(g_utf8_validate(x.text, -1, NULL));
	assert_true(strlen(x.text) <= FEEDBACK_MAX_BYTES + 1);
	assert_int_equal(x.size, l->len);
	feedback_excerpt_clear(&x);
	g_string_free(l, TRUE);
	/* a symlink is not followed (an in/ file is never one: exercise.c) */
	g_autofree char *ln = g_strdup_printf("%s/link.txt", tmp);
	assert_int_equal(symlink("/etc/passwd", ln), 0);
	GError *e = NULL;
	assert_false(feedback_excerpt_read(ln, 40, 4096, &x, &e));
	g_clear_error(&e);
}

static void test_internal_error_notifies_admin(void **state)
{
	int64_t before, after;
	assert_true(store_query_int(db, &before, 0, NULL, "SELECT count(*) FROM outbox WHERE attempt IS NULL AND recipients = 'staff@example.edu'"));
	GMimeMessage *m = compose(conf_en, db, scen[3].id, NULL);
	g_object_unref(m);
	assert_true(store_query_int(db, &after, 0, NULL, "SELECT count(*) FROM outbox WHERE attempt IS NULL AND recipients = 'staff@example.edu'"));
	assert_int_equal(after, before + 1);
}

static void test_caps(void **state)
{
	int64_t a = add_attempt(db, "ana@example.edu", "tp1", 7, "DONE", "TESTS_FAILED", "OK", NULL, NULL, "tp1", NULL);
	add_result(db, a, 1, "01-basic", "WRONG_OUTPUT", 0, 0, NULL, "01-basic.stdout.diff", 0);
	add_result(db, a, 2, "02-negative", "WRONG_OUTPUT", 0, 0, NULL, "02-negative.stdout.diff", 0);
	GString *big = g_string_new(NULL);
	for (int i = 0; i < 20000; i++)
		g_string_append_printf(big, "-expected line %d\n+actual line %d\n", i, i);
	report(conf_en, a, "01-basic.stdout.diff", big->str, (gssize)big->len);
	report(conf_en, a, "02-negative.stdout.diff", big->str, (gssize)big->len);
	report(conf_en, a, "report.html", big->str, (gssize)big->len);
	g_string_free(big, TRUE);
	struct sercom_conf *c = load_conf("en", "diff_max = 8K\nreply_max = 40K");
	g_autofree char *raw = NULL;
	GMimeMessage *m = compose(c, db, a, &raw);
	assert_true(strlen(raw) < 40 * 1024);
	GMimeMultipart *mp = GMIME_MULTIPART(g_mime_message_get_mime_part(m));
	g_autofree char *text = part_text(g_mime_multipart_get_part(mp, 0));
	assert_non_null(strstr(text, "01-basic.stdout.diff was cut at 8 KiB."));
	assert_non_null(strstr(text, "report.html is not attached: the reply would be larger than 40 KiB."));
	g_autofree char *d1 = part_text(g_mime_multipart_get_part(mp, 1));
	assert_true(strlen(d1) < 8 * 1024 + 200);
	assert_non_null(strstr(d1, "[cut here: the file has"));
	g_object_unref(m);
	conf_free(c);
}

/* Issue 5's attacks. */
static void test_attacks(void **state)
{
	/* 1. Subject with CR/LF and a fake Bcc: never reaches a header */
	int64_t a = add_attempt(db, "ana@example.edu", NULL, 0, "REJECTED", "REJECTED", NULL, "unknown_exercise",
	                        "tp9\r\nBcc: victim@evil.example", "tp9\r\nBcc: victim@evil.example\r\n", NULL);
	g_autofree char *raw = NULL;
	GMimeMessage *m = compose(conf_en, db, a, &raw);
	g_autofree char *h = raw_headers(raw);
	assert_null(strstr(h, "Bcc"));
	assert_null(strstr(h, "evil"));
	assert_null(g_mime_object_get_header(GMIME_OBJECT(m), "Bcc"));
	InternetAddressList *bcc = g_mime_message_get_bcc(m);
	assert_int_equal(internet_address_list_length(bcc), 0);
	g_object_unref(m);

	/* 2. a To: address with CR/LF or a list: no reply at all (it would be
	 * a second recipient for sendmail), marked answered */
	const char *bad_to[] = {"ana@example.edu\r\nBcc: victim@evil.example", "ana@example.edu, victim@evil.example",
	                        "-oQ/tmp@example.edu", "\"a b\"@example.edu"};
	for (int i = 0; i < 4; i++) {
		a = add_attempt(db, bad_to[i], "tp1", 0, "REJECTED", "REJECTED", NULL, "no_files", "", "x", NULL);
		exec(db, "UPDATE attempts SET answered = 0");
		int64_t ob0 = -1;
		assert_true(compose_reply(conf_en, db, a, &ob0, NULL));
		assert_int_equal(ob0, 0);
	}

	/* 3. file name with quotes, slashes and 300 characters; NUL bytes and
	 * invalid UTF-8 in program output; a path escaping report/ */
	GString *name = g_string_new("01-basic.file.\"q'uo\"te;\\_x/\"y\"/");
	while (name->len < 295)
		g_string_append_c(name, name->len == 150 ? '/' : 'n');
	g_string_append(name, ".diff");
	assert_true(name->len == 300);
	a = add_attempt(db, "ana@example.edu", "tp1", 8, "DONE", "TESTS_FAILED", "OK", NULL, NULL, "tp1", NULL);
	g_autofree char *note = g_strdup_printf("ignored: %s\r\nBcc: victim@evil.example", name->str);
	exec(db, "UPDATE attempts SET note = 'x' WHERE id = (SELECT max(id) FROM attempts)");
	GError *ue = NULL;
	assert_true(store_exec(db, &ue, "UPDATE attempts SET note = %Q WHERE id = %lld", note, (long long)a));
	g_autofree char *diffs = g_strdup_printf("%s ../../../../etc/passwd /etc/passwd 01-basic.stdout.diff", name->str);
	add_result(db, a, 1, "01-basic", "WRONG_OUTPUT", 0, 0, NULL, diffs, 0);
	report(conf_en, a, name->str, "-x\n+y\n", -1);
	report(conf_en, a, "01-basic.stdout.diff", "-ok\n+o\0k\xff\xfe\xc3(\n\r\nFrom: x\n", 22);
	/* symlinks planted in report/, as a file and as a directory */
	g_autofree char *rdir = g_strdup_printf("%s/%lld/report", conf_en->attempts_dir, (long long)a);
	g_autofree char *l1 = g_strdup_printf("%s/01-basic.stderr.diff", rdir);
	g_autofree char *l2 = g_strdup_printf("%s/etc", rdir);
	assert_int_equal(symlink("/etc/passwd", l1), 0);
	assert_int_equal(symlink("/etc", l2), 0);
	g_autofree char *diffs2 = g_strdup_printf("%s 01-basic.stderr.diff etc/passwd", diffs);
	GError *se = NULL;
	assert_true(store_exec(db, &se, "UPDATE results SET diffs = %Q WHERE attempt = %lld", diffs2, (long long)a));
	m = compose(conf_en, db, a, &raw);
	g_free(h);
	h = raw_headers(raw);
	assert_null(strstr(raw, "root:x:0"));
	assert_null(strstr(raw, "cm9vdDp4OjA6")); /* "root:x:0:" in base64 */
	assert_null(strstr(h, "Bcc"));
	assert_null(strstr(h, "nnnnnnnnnn"));
	GMimeMultipart *mp = GMIME_MULTIPART(g_mime_message_get_mime_part(m));
	/* summary, the long-named diff, 01-basic.stdout.diff, results.json */
	assert_int_equal(g_mime_multipart_get_count(mp), 4);
	const char *fn = g_mime_part_get_filename(GMIME_PART(g_mime_multipart_get_part(mp, 1)));
	assert_non_null(fn);
	assert_true(strlen(fn) <= 125);
	assert_null(strchr(fn, '/'));
	assert_true(g_str_has_prefix(fn, "nnnn"));
	assert_true(g_str_has_suffix(fn, "....diff"));
	/* the summary names it in the body, on one line */
	g_autofree char *sum = part_text(g_mime_multipart_get_part(mp, 0));
	assert_non_null(strstr(sum, "output file \"q'uo\"te;\\_x/\"y\"/nnn"));
	assert_non_null(strstr(sum, "Ignored (not accepted for this exercise): 01-basic.file."));
	g_autofree char *d = part_text(g_mime_multipart_get_part(mp, 2));
	assert_true(g_utf8_validate(d, -1, NULL));
	assert_non_null(strstr(d, "o\xe2\x90\x80k"));   /* NUL shown as U+2400 */
	assert_non_null(strstr(d, "\xef\xbf\xbd"));    /* invalid bytes as U+FFFD */
	/* every line of the raw message is 7-bit and no raw part header leaked */
	for (const char *p = raw; *p; p++)
		assert_true((unsigned char)*p < 0x80 && *p != 0);
	g_object_unref(m);
	g_string_free(name, TRUE);

	/* 3b. the MDA's note lines: files set aside, archive entries left out */
	a = add_attempt(db, "ana@example.edu", "tp1", 38, "DONE", "ACCEPTED", "OK", NULL, NULL, "tp1", NULL);
	assert_true(store_exec(db, &ue, "UPDATE attempts SET note = %Q WHERE id = %lld",
	                       "ignored: notes.txt\nskipped: tp.zip: symbolic link up skipped\nBcc: x@evil.example",
	                       (long long)a));
	m = compose(conf_en, db, a, &raw);
	mp = GMIME_MULTIPART(g_mime_message_get_mime_part(m));
	g_autofree char *sum2 = part_text(g_mime_multipart_get_part(mp, 0));
	assert_non_null(strstr(sum2, "Ignored (not accepted for this exercise): notes.txt\n"));
	assert_non_null(strstr(sum2, "Left out of the archives (unsafe, or not a plain file): tp.zip: symbolic link up skipped\n"));
	assert_null(strstr(sum2, "Bcc"));
	g_object_unref(m);

	/* 3c. renamed files: one line, the names as they came (a name the
	 * shell would run is text here, and its newline was never kept) */
	a = add_attempt(db, "ana@example.edu", "tp1", 39, "DONE", "ACCEPTED", "OK", NULL, NULL, "tp1", NULL);
	assert_true(store_exec(db, &ue, "UPDATE attempts SET note = %Q WHERE id = %lld",
	                       "renamed: @x.c -> _x.c; a`sh<e.h`.c -> a_sh_e.h_.c; {admin}.c -> _admin_.c",
	                       (long long)a));
	m = compose(conf_en, db, a, &raw);
	mp = GMIME_MULTIPART(g_mime_message_get_mime_part(m));
	g_autofree char *sum3 = part_text(g_mime_multipart_get_part(mp, 0));
	assert_non_null(strstr(sum3, "\nRenamed (a shell or make would misread these names): "
	                             "@x.c -> _x.c; a`sh<e.h`.c -> a_sh_e.h_.c; {admin}.c -> _admin_.c\n"));
	g_object_unref(m);

	/* 3d. a mail over message_size: the reply says its size */
	a = add_attempt(db, "ana@example.edu", "tp1", 0, "REJECTED", "REJECTED", NULL, "too_large",
	                "message:10485760:147316037", "tp1", NULL);
	m = compose(conf_en, db, a, &raw);
	GMimeObject *body0 = g_mime_message_get_mime_part(m);
	g_autofree char *sum4 = part_text(GMIME_IS_MULTIPART(body0) ? g_mime_multipart_get_part(GMIME_MULTIPART(body0), 0) : body0);
	assert_non_null(strstr(sum4, "Your mail is too large: 140.5 MiB, the limit is 10 MiB."));
	g_object_unref(m);
	m = compose(conf_es, db, a, &raw);
	body0 = g_mime_message_get_mime_part(m);
	g_autofree char *sum5 = part_text(GMIME_IS_MULTIPART(body0) ? g_mime_multipart_get_part(GMIME_MULTIPART(body0), 0) : body0);
	assert_non_null(strstr(sum5, "Tu mail es demasiado grande: 140.5 MiB, el l\xc3\xadmite es 10 MiB."));
	g_object_unref(m);

	/* 4. robots never get an answer (mail loops), and are marked answered */
	const char *robots[] = {"MAILER-DAEMON@example.edu", "", "owner-list@example.edu", "list-request@example.edu",
	                        "donotreply@example.edu", "uucp@example.edu"};
	for (size_t i = 0; i < G_N_ELEMENTS(robots); i++) {
		a = add_attempt(db, robots[i], "tp1", 0, "REJECTED", "REJECTED", NULL, "unknown_sender", robots[i], "x", NULL);
		/* authenticated: not silenced as a stranger, as a robot */
		exec(db, "UPDATE messages SET auth = 'pass: dkim=pass header.d=example.edu' WHERE id = (SELECT max(id) FROM messages)");
		exec(db, "UPDATE attempts SET answered = 0");
		int64_t ob = -1;
		GError *e = NULL;
		assert_true(compose_reply(conf_en, db, a, &ob, &e));
		assert_int_equal(ob, 0);
		int64_t ans;
		assert_true(store_query_int(db, &ans, -1, NULL, "SELECT answered FROM attempts WHERE id = %lld", (long long)a));
		assert_int_equal(ans, 1);
	}
	/* automatic message outcome: defensive no answer */
	a = add_attempt(db, "ana@example.edu", "tp1", 0, "REJECTED", "REJECTED", NULL, "no_files", "", "x", NULL);
	exec(db, "UPDATE messages SET outcome = 'automatic' WHERE id = (SELECT message FROM attempts ORDER BY id DESC LIMIT 1)");
	exec(db, "UPDATE attempts SET answered = 0");
	int64_t ob = -1;
	assert_true(compose_reply(conf_en, db, a, &ob, NULL));
	assert_int_equal(ob, 0);
}

/* The receipt's lines match what sha256sum says of the files the mail
 * brought, and the raw message's hash is there. */
static void test_receipt(void **state)
{
	g_autofree char *raw = NULL;
	GMimeMessage *m = compose(conf_en, db, scen[0].id, &raw);
	GMimeObject *body = g_mime_message_get_mime_part(m);
	g_autofree char *text = part_text(GMIME_IS_MULTIPART(body) ? g_mime_multipart_get_part(GMIME_MULTIPART(body), 0) : body);
	for (int i = 0; i < 2; i++) {
		const char *n = i ? "tp.h" : "tp.c";
		g_autofree char *cmd = g_strdup_printf("sha256sum %s/files/%s", tmp, n), *out = NULL;
		int status;
		assert_true(g_spawn_command_line_sync(cmd, &out, NULL, &status, NULL));
		assert_int_equal(status, 0);
		out[64] = 0;
		struct stat st;
		g_autofree char *p = g_strdup_printf("%s/files/%s", tmp, n);
		assert_int_equal(stat(p, &st), 0);
		g_autofree char *line = g_strdup_printf("\n  %s: %lld bytes, SHA-256 %s\n", n, (long long)st.st_size, out);
		if (!strstr(text, line))
			fail_msg("receipt line '%s' not in:\n%s", line, text);
	}
	assert_non_null(strstr(text, "\nThe mail as stored: SHA-256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"));
	/* the receipt is the end of the text */
	assert_true(g_str_has_suffix(text, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"));
	g_object_unref(m);
}

/* Backscatter: a stranger's mail is not answered unless authenticated; an
 * attempt the ingester marked quiet is never answered; both are marked
 * answered so they are not looked at again. */
static void test_no_backscatter(void **state)
{
	struct { const char *email, *reason, *auth, *quiet; } cases[] = {
		{ "victim@external.example", "untrusted_sender", NULL, NULL },
		{ "victim@external.example", "unknown_sender", "fail: no Authentication-Results", NULL },
		{ "stranger@example.org", "unknown_sender", "pass: dkim=pass header.d=example.org",
		  "unknown address: answered once a day" },
		{ "ana@example.edu", "rate_limited", NULL, "rate_limited: answered once per interval" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		int64_t a = add_attempt(db, cases[i].email, "tp1", 0, "REJECTED", "REJECTED", NULL, cases[i].reason,
		                        "interval:60:1767225660", "x", NULL);
		GError *e = NULL;
		assert_true(store_exec(db, &e, "UPDATE messages SET auth = %Q WHERE id = (SELECT message FROM attempts WHERE id = %lld);"
		                       "UPDATE attempts SET quiet = %Q, answered = 0 WHERE id = %lld",
		                       cases[i].auth, (long long)a, cases[i].quiet, (long long)a));
		int64_t ob = -1, ans = 0;
		assert_true(compose_reply(conf_en, db, a, &ob, &e));
		assert_int_equal(ob, 0);
		assert_true(store_query_int(db, &ans, -1, NULL, "SELECT answered FROM attempts WHERE id = %lld", (long long)a));
		assert_int_equal(ans, 1);
	}
}

/* RFC 5322 3.6.4: a parent with In-Reply-To (one id) and no References */
static void test_in_reply_to_only(void **state)
{
	/* the ingester stores the one In-Reply-To id when there are no References */
	int64_t a = add_attempt(db, "ana@example.edu", "tp1", 11, "DONE", "ACCEPTED", "OK", NULL, NULL, "tp1",
	                        "prev@example.edu");
	GMimeMessage *m = compose(conf_en, db, a, NULL);
	g_autofree char *refs = g_mime_utils_header_unfold(g_mime_object_get_header(GMIME_OBJECT(m), "References"));
	g_strdelimit(refs, "\t", ' ');
	assert_true(g_str_has_prefix(refs, "<prev@example.edu> <sub"));
	g_object_unref(m);
}

static void test_pending_and_once(void **state)
{
	exec(db, "UPDATE attempts SET answered = 1");
	int64_t a = add_attempt(db, "ana@example.edu", "tp1", 9, "DONE", "ACCEPTED", "OK", NULL, NULL, "tp1", NULL);
	add_attempt(db, "ana@example.edu", "tp1", 10, "QUEUED", NULL, NULL, NULL, NULL, "tp1", NULL);
	GError *e = NULL;
	assert_int_equal(compose_pending(conf_en, db, &e), 1);
	/* answered: a second call composes nothing, and compose_reply says 0 */
	assert_int_equal(compose_pending(conf_en, db, &e), 0);
	int64_t ob = -1;
	assert_true(compose_reply(conf_en, db, a, &ob, &e));
	assert_int_equal(ob, 0);
	int64_t rows;
	assert_true(store_query_int(db, &rows, 0, NULL, "SELECT count(*) FROM outbox WHERE attempt = %lld", (long long)a));
	assert_int_equal(rows, 1);
	/* QUEUED: not yet */
	assert_false(compose_reply(conf_en, db, a + 1, &ob, &e));
	g_clear_error(&e);
	/* override: a new reply with the staff's note */
	assert_true(compose_override(conf_en, db, a, "Late penalty waived.\nSee you.", &e));
	assert_true(store_query_int(db, &rows, 0, NULL, "SELECT count(*) FROM outbox WHERE attempt = %lld", (long long)a));
	assert_int_equal(rows, 2);
	/* the note is in the body; an override to REJECTED says so */
	g_autofree char *sql = g_strdup_printf("UPDATE attempts SET verdict = 'REJECTED' WHERE id = %lld", (long long)a);
	exec(db, sql);
	assert_true(compose_override(conf_en, db, a, "Copied from a classmate.", &e));
	sqlite3_stmt *st = store_prepare(db, "SELECT file FROM outbox WHERE attempt = ? ORDER BY id DESC LIMIT 1", NULL);
	sqlite3_bind_int64(st, 1, a);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	GMimeMessage *m = parse_file((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_string_equal(g_mime_message_get_subject(m), "[algo1] Result of attempt 9 (exercise tp1): REJECTED");
	g_autofree char *text = part_text(g_mime_multipart_get_part(GMIME_MULTIPART(g_mime_message_get_mime_part(m)), 0));
	assert_non_null(strstr(text, "A note from the staff: Copied from a classmate."));
	assert_non_null(strstr(text, "The staff rejected this submission."));
	g_object_unref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_en),
		cmocka_unit_test(test_golden_es),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_results_json_private),
		cmocka_unit_test(test_score_variants),
		cmocka_unit_test(test_feedback_helpers),
		cmocka_unit_test(test_internal_error_notifies_admin),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_attacks),
		cmocka_unit_test(test_in_reply_to_only),
		cmocka_unit_test(test_receipt),
		cmocka_unit_test(test_no_backscatter),
		cmocka_unit_test(test_pending_and_once),
	};
	int failed = cmocka_run_group_tests(tests, setup, teardown);
	if (golden_rewritten) {
		fprintf(stderr, "%d golden file(s) rewritten: review git diff tests/golden, then run "
		        "again without SERCOM_GOLDEN_UPDATE\n", golden_rewritten);
		return 1;
	}
	return failed;
}
