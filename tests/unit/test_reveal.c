/* Tests of the after-close final mail (reveal.c, compose_final): the mail
 * in English and Spanish against tests/golden/compose/LANG/FINAL-*.txt
 * (the digest of test_compose.c), sent once, the attempt that counts
 * ([mail] grade = best | last), and who waits (an attempt not graded, an
 * extension, a late window, an exercise not closed or never revealing).
 * The clock is the `now` argument: dates are chosen, nothing sleeps.
 *
 * SERCOM_GOLDEN_UPDATE=1 rewrites the golden files and fails. */
#include "compose.h"
#include "conf.h"
#include "reveal.h"
#include "store.h"
#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JAN1 1767225600     /* 2026-01-01 00:00 UTC */
#define CLOSES 1768003200   /* 2026-01-10 00:00 UTC, tp1 and tp3 close */
#define DAY 86400

static char *top, *tmp;
static struct sercom_conf *conf_en, *conf_es;
static struct store *db;
static int golden_rewritten;

static void writef(const char *content, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *p = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_autofree char *dir = g_path_get_dirname(p);
	assert_int_equal(util_mkdir_p(dir, 0755), 0);
	assert_true(g_file_set_contents(p, content, -1, NULL));
}

static struct sercom_conf *load_conf(const char *lang, const char *extra)
{
	g_autofree char *text = g_strdup_printf(
		"[general]\nvar = var\nexercises = exercises\ntemplates = %s/conf/templates\nlanguage = %s\n"
		"[mail]\nfrom = Course Grader <grader@example.edu>\nadmin = Staff <staff@example.edu>\n"
		"prefix = algo1\ntransport = maildir:replies\n%s\n", top, lang, extra ? extra : "");
	writef(text, "%s/sercom-%s.conf", tmp, lang);
	g_autofree char *path = g_strdup_printf("%s/sercom-%s.conf", tmp, lang);
	GError *e = NULL;
	struct sercom_conf *c = conf_load(path, &e);
	if (!c)
		fail_msg("conf: %s", e->message);
	return c;
}

static void exec(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *sql = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	GError *e = NULL;
	if (!store_exec(db, &e, "%s", sql))
		fail_msg("%s: %s", sql, e->message);
}

static int64_t count(const char *sql)
{
	int64_t n = -1;
	assert_true(store_query_int(db, &n, -1, NULL, "%s", sql));
	return n;
}

/* An attempt as the runner leaves it graded and answered (schema step 5
 * columns included). */
static int64_t attempt(const char *student, const char *exercise, int number, const char *state,
                       const char *verdict, double score, double priv, double penalty, int late_days)
{
	exec("INSERT INTO messages (message_id, spool_file, sender, subject, received, outcome)"
	     " VALUES ('%s.%s.%d@student.example', '/nonexistent', '%s@example.edu', '%s', %d, 'queued')",
	     student, exercise, number, student, exercise, JAN1 + number * 3600);
	exec("INSERT INTO attempts (student, email, exercise, number, message, state, verdict, build, grading,"
	     " queued, finished, answered, score, max_score, private_score, private_max, penalty, late_days)"
	     " VALUES ('%s', '%s@example.edu', '%s', %d, last_insert_rowid(), '%s', %s%s%s, 'OK', 1, %d, %d,"
	     " %d, %g, 4, %g, 3, %g, %d)",
	     student, student, exercise, number, state, verdict ? "'" : "", verdict ? verdict : "NULL",
	     verdict ? "'" : "", JAN1, JAN1 + 60, strcmp(state, "DONE") == 0, score, priv, penalty, late_days);
	return sqlite3_last_insert_rowid(store_db(db));
}

static void result(int64_t a, int seq, const char *name, const char *verdict, const char *diffs, int priv,
                   double points, double earned, const char *grp)
{
	exec("INSERT INTO results (attempt, grading, seq, case_name, verdict, exit_code, note, diffs, private,"
	     " points, score, grp) VALUES (%lld, 1, %d, '%s', '%s', 0, NULL, %s%s%s, %d, %g, %g, %s%s%s)",
	     (long long)a, seq, name, verdict, diffs ? "'" : "", diffs ? diffs : "NULL", diffs ? "'" : "",
	     priv, points, earned, grp ? "'" : "", grp ? grp : "NULL", grp ? "'" : "");
}

static int64_t ana_final; /* Ana's attempt that counts under grade = best */

static int setup(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	g_mime_init();
	const char *t = getenv("SERCOM_TOP");
	top = g_canonicalize_filename(t ? t : ".", NULL);
	tmp = g_dir_make_tmp("sercom-reveal-XXXXXX", NULL);
	/* tp1: closes 2026-01-10, late = reject; tp2: never reveals; tp3:
	 * late penalty with max 2 days; tp4: no closes */
	writef("[exercise]\ntitle = Sum\nmax_attempts = 5\ncloses = 2026-01-10 00:00\nreveal_private = after_close\n",
	       "%s/exercises/tp1/exercise.conf", tmp);
	writef("[case]\npoints = 2\n", "%s/exercises/tp1/tests/01-basic/case.conf", tmp);
	writef("[case]\npoints = 2\n", "%s/exercises/tp1/tests/02-negative/case.conf", tmp);
	writef("[case]\nprivate = true\npoints = 3\n", "%s/exercises/tp1/tests/03-big/case.conf", tmp);
	writef("[exercise]\ncloses = 2026-01-10 00:00\n", "%s/exercises/tp2/exercise.conf", tmp);
	writef("[exercise]\ncloses = 2026-01-10 00:00\nreveal_private = after_close\nlate = penalty 10 per day max 2\n",
	       "%s/exercises/tp3/exercise.conf", tmp);
	writef("[exercise]\nreveal_private = after_close\n", "%s/exercises/tp4/exercise.conf", tmp);
	conf_en = load_conf("en", NULL);
	conf_es = load_conf("es", NULL);
	assert_int_equal(util_mkdir_p(conf_en->var, 0755), 0);
	GError *e = NULL;
	db = store_open(conf_en->db_path, 5000, &e);
	if (!db)
		fail_msg("store: %s", e->message);
	exec("INSERT INTO students (id, name) VALUES ('ana', 'Ana'), ('beto', 'Beto'), ('carla', 'Carla'),"
	     " ('dani', 'Dani')");

	/* Ana: three graded attempts; the best is #2 (2 + 3 less 10% = 4.5),
	 * the last #3 (4 + 0 = 4) */
	int64_t a = attempt("ana", "tp1", 1, "DONE", "TESTS_FAILED", 2, 0, 0, 0);
	result(a, 1, "01-basic", "PASS", NULL, 0, 2, 2, NULL);
	a = attempt("ana", "tp1", 2, "DONE", "TESTS_FAILED", 2, 3, 10, 1);
	result(a, 1, "01-basic", "PASS", NULL, 0, 2, 2, NULL);
	result(a, 2, "02-negative", "WRONG_OUTPUT", "02-negative.stdout.diff", 0, 2, 0, NULL);
	result(a, 3, "03-big", "PASS", NULL, 1, 3, 3, NULL);
	g_autofree char *rep = g_strdup_printf("%s/%lld/report", conf_en->attempts_dir, (long long)a);
	writef("--- expected\n+++ yours\n@@ -1 +1 @@\n--3\n+3\n", "%s/02-negative.stdout.diff", rep);
	ana_final = a;
	a = attempt("ana", "tp1", 3, "DONE", "TESTS_FAILED", 4, 0, 0, 0);
	result(a, 1, "01-basic", "PASS", NULL, 0, 2, 2, NULL);
	result(a, 2, "02-negative", "PASS", NULL, 0, 2, 2, NULL);
	result(a, 3, "03-big", "WRONG_OUTPUT", "private/03-big.stdout.diff", 1, 3, 0, NULL);
	rep = (g_free(rep), g_strdup_printf("%s/%lld/report", conf_en->attempts_dir, (long long)a));
	writef("--- expected\n+++ yours\n@@ -1 +1 @@\n-SECRET-EXPECTED\n+0\n", "%s/private/03-big.stdout.diff", rep);
	/* Beto: one ACCEPTED */
	a = attempt("beto", "tp1", 1, "DONE", "ACCEPTED", 4, 3, 0, 0);
	result(a, 1, "01-basic", "PASS", NULL, 0, 2, 2, NULL);
	result(a, 2, "02-negative", "PASS", NULL, 0, 2, 2, NULL);
	result(a, 3, "03-big", "PASS", NULL, 1, 3, 3, NULL);
	/* Carla: graded, with an extension to 2026-01-15 */
	attempt("carla", "tp1", 1, "DONE", "ACCEPTED", 4, 3, 0, 0);
	exec("INSERT INTO extensions (student, exercise, until, granted_by, granted_at)"
	     " VALUES ('carla', 'tp1', %d, 'staff', %d)", CLOSES + 5 * DAY, JAN1);
	/* Dani: graded, and a second attempt still queued */
	attempt("dani", "tp1", 1, "DONE", "ACCEPTED", 4, 3, 0, 0);
	attempt("dani", "tp1", 2, "QUEUED", NULL, 0, 0, 0, 0);
	/* tp2 (never), tp3 (late window), tp4 (no closes): one attempt each */
	attempt("beto", "tp2", 1, "DONE", "ACCEPTED", 4, 3, 0, 0);
	attempt("beto", "tp3", 1, "DONE", "ACCEPTED", 4, 3, 0, 0);
	attempt("beto", "tp4", 1, "DONE", "ACCEPTED", 4, 3, 0, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(db);
	conf_free(conf_en);
	conf_free(conf_es);
	if (!getenv("SERCOM_KEEP"))
		util_rm_rf(tmp);
	return 0;
}

/* ---- the mail ------------------------------------------------------------ */

static GMimeMessage *outbox_message(int64_t ob, char **raw)
{
	sqlite3_stmt *st = store_prepare(db, "SELECT file FROM outbox WHERE id = ?", NULL);
	sqlite3_bind_int64(st, 1, ob);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	g_autofree char *f = g_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_true(g_file_get_contents(f, raw, NULL, NULL));
	GMimeStream *fs = g_mime_stream_fs_open(f, O_RDONLY, 0, NULL);
	GMimeParser *p = g_mime_parser_new_with_stream(fs);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(fs);
	assert_non_null(m);
	return m;
}

static char *part_text(GMimeObject *o)
{
	GMimeStream *ms = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(GMIME_PART(o)), ms);
	GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	char *t = g_strndup((const char *)b->data, b->len);
	g_object_unref(ms);
	return t;
}

/* The digest of test_compose.c: stable headers, MIME structure, texts. */
static char *digest(GMimeMessage *m)
{
	GString *d = g_string_new(NULL);
	static const char *const h[] = {"From", "To", "Reply-To", "Subject", "Auto-Submitted", "X-Sercom-Attempt", NULL};
	for (int i = 0; h[i]; i++) {
		const char *v = g_mime_object_get_header(GMIME_OBJECT(m), h[i]);
		if (!v)
			continue;
		g_autofree char *dec = g_mime_utils_header_decode_text(NULL, v);
		g_autofree char *unf = g_mime_utils_header_unfold(dec);
		g_string_append_printf(d, "%s: %s\n", h[i], unf);
	}
	const char *irt = g_mime_object_get_header(GMIME_OBJECT(m), "In-Reply-To");
	g_string_append_printf(d, "In-Reply-To: %s\n", irt ? "yes" : "no");
	GMimeObject *body = g_mime_message_get_mime_part(m);
	assert_true(GMIME_IS_MULTIPART(body));
	for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(body)); i++) {
		GMimeObject *o = g_mime_multipart_get_part(GMIME_MULTIPART(body), i);
		g_autofree char *mt = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(o));
		const char *fn = g_mime_part_get_filename(GMIME_PART(o));
		g_autofree char *t = part_text(o);
		g_string_append_printf(d, "part %d: %s%s%s%s\n---8<---\n%s---8<---\n", i, mt, fn ? " \"" : "",
		                       fn ? fn : "", fn ? "\"" : "", t);
	}
	return g_string_free(d, FALSE);
}

static void golden(const char *lang, const char *name, const char *got)
{
	g_autofree char *path = g_strdup_printf("%s/tests/golden/compose/%s/%s.txt", top, lang, name);
	g_autofree char *want = NULL;
	bool have = g_file_get_contents(path, &want, NULL, NULL);
	if (getenv("SERCOM_GOLDEN_UPDATE")) {
		if (!have || strcmp(want, got)) {
			assert_true(g_file_set_contents(path, got, -1, NULL));
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

/* The final mail of Ana's best attempt: private cases and their diffs,
 * points per case, the score, the late penalty and the final score. */
static void final_lang(struct sercom_conf *c, const char *lang)
{
	exec("DELETE FROM reveals");
	GError *e = NULL;
	int64_t ob = 0;
	if (!compose_final(c, db, ana_final, &ob, &e))
		fail_msg("compose_final: %s", e->message);
	assert_true(ob > 0);
	g_autofree char *raw = NULL;
	GMimeMessage *m = outbox_message(ob, &raw);
	g_autofree char *d = digest(m);
	golden(lang, "FINAL-penalty", d);
	g_object_unref(m);
	/* recorded with the outbox row */
	g_autofree char *q = g_strdup_printf("SELECT count(*) FROM reveals WHERE student = 'ana' AND exercise = 'tp1'"
	                                     " AND attempt = %lld AND outbox = %lld", (long long)ana_final, (long long)ob);
	assert_int_equal(count(q), 1);
	/* a second compose of the same student and exercise queues nothing */
	int64_t before = count("SELECT count(*) FROM outbox"), ob2 = -1;
	assert_true(compose_final(c, db, ana_final, &ob2, &e));
	assert_int_equal(ob2, 0);
	assert_int_equal(count("SELECT count(*) FROM outbox"), before);
}

static void test_final_en(void **state)
{
	(void)state;
	final_lang(conf_en, "en");
}

static void test_final_es(void **state)
{
	(void)state;
	final_lang(conf_es, "es");
}

static void test_final_shows_private(void **state)
{
	(void)state;
	exec("DELETE FROM reveals");
	int64_t last = ana_final + 1, ob = 0; /* Ana's #3: a private case failed */
	GError *e = NULL;
	assert_true(compose_final(conf_en, db, last, &ob, &e));
	g_autofree char *raw = NULL;
	GMimeMessage *m = outbox_message(ob, &raw);
	g_autofree char *d = digest(m);
	assert_non_null(strstr(d, "Private test cases:\n  03-big: stdout differs (see 03-big.stdout.diff) (0 of 3 points)"));
	assert_non_null(strstr(d, "part 1: text/x-diff \"03-big.stdout.diff\""));
	assert_non_null(strstr(d, "SECRET-EXPECTED"));
	assert_non_null(strstr(d, "Final score: 4 of 7 points."));
	assert_null(strstr(d, "days late"));
	g_object_unref(m);
	exec("DELETE FROM reveals");
}

/* ---- who, when, once -------------------------------------------------------- */

struct seen {
	GString *s;
};

static void collect(const struct reveal_row *r, void *data)
{
	static const char *const st[] = {"queued", "would", "wait-grading", "wait-window", "failed"};
	g_string_append_printf(((struct seen *)data)->s, "%s:%s:%lld ", r->student, st[r->status], (long long)r->number);
}

static char *dry(struct sercom_conf *c, const char *ex, int64_t now, unsigned flags)
{
	struct seen s = { g_string_new(NULL) };
	GError *e = NULL;
	int n = reveal_exercise(c, db, ex, now, flags | REVEAL_DRY_RUN, collect, &s, &e);
	if (n < 0)
		fail_msg("reveal_exercise: %s", e->message);
	assert_int_equal(n, 0);
	return g_string_free(s.s, FALSE);
}

static void test_counting_attempt(void **state)
{
	(void)state;
	exec("DELETE FROM reveals");
	g_autofree char *best = dry(conf_en, "tp1", CLOSES + DAY, 0);
	assert_string_equal(best, "ana:would:2 beto:would:1 carla:wait-window:0 dani:wait-grading:0 ");
	struct sercom_conf *last = load_conf("en", "grade = last");
	g_autofree char *l = dry(last, "tp1", CLOSES + DAY, 0);
	assert_string_equal(l, "ana:would:3 beto:would:1 carla:wait-window:0 dani:wait-grading:0 ");
	conf_free(last);
	/* --force: the extension no longer holds it; the queued attempt still does */
	g_autofree char *f = dry(conf_en, "tp1", CLOSES + DAY, REVEAL_FORCE);
	assert_string_equal(f, "ana:would:2 beto:would:1 carla:would:1 dani:wait-grading:0 ");
	/* dry runs queue nothing */
	assert_int_equal(count("SELECT count(*) FROM reveals"), 0);
}

static void test_timer_sent_once(void **state)
{
	(void)state;
	exec("DELETE FROM reveals");
	int64_t ob0 = count("SELECT count(*) FROM outbox");
	GError *e = NULL;
	/* before closes: nothing */
	assert_int_equal(reveal_due(conf_en, db, CLOSES - 1, &e), 0);
	/* closed: Ana and Beto (Carla's extension runs, Dani is being graded;
	 * tp2 never reveals, tp3's late window is open, tp4 has no closes) */
	assert_int_equal(reveal_due(conf_en, db, CLOSES + 60, &e), 2);
	assert_int_equal(count("SELECT count(*) FROM outbox"), ob0 + 2);
	assert_int_equal(count("SELECT count(*) FROM reveals WHERE exercise = 'tp1' AND student IN ('ana','beto')"), 2);
	/* the timer again, and again later: nothing more */
	assert_int_equal(reveal_due(conf_en, db, CLOSES + 120, &e), 0);
	assert_int_equal(reveal_due(conf_en, db, CLOSES + DAY, &e), 0);
	assert_int_equal(count("SELECT count(*) FROM outbox"), ob0 + 2);
	/* tp3: late = penalty 10 per day max 2: due two days after closes */
	assert_int_equal(reveal_due(conf_en, db, CLOSES + 2 * DAY, &e), 1);
	assert_int_equal(count("SELECT count(*) FROM reveals WHERE exercise = 'tp3'"), 1);
	/* Dani's attempt graded and answered: due */
	exec("UPDATE attempts SET state = 'DONE', verdict = 'ACCEPTED', answered = 1 WHERE student = 'dani' AND number = 2");
	assert_int_equal(reveal_due(conf_en, db, CLOSES + 2 * DAY + 60, &e), 1);
	/* Carla: when her extension ends */
	assert_int_equal(reveal_due(conf_en, db, CLOSES + 5 * DAY - 1, &e), 0);
	assert_int_equal(reveal_due(conf_en, db, CLOSES + 5 * DAY, &e), 1);
	/* tp2 (reveal_private = never) and tp4 (no closes): never by timer */
	assert_int_equal(reveal_due(conf_en, db, CLOSES + 400 * DAY, &e), 0);
	assert_int_equal(count("SELECT count(*) FROM reveals WHERE exercise IN ('tp2','tp4')"), 0);
	assert_int_equal(count("SELECT count(*) FROM reveals"), 5);
	assert_int_equal(count("SELECT count(*) FROM outbox"), ob0 + 5);
	/* by hand: tp4 (no closes) reveals; tp2 refuses without --force */
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(reveal_command(conf_en, db, "tp2", CLOSES + DAY, false, false, devnull), 64);
	assert_int_equal(reveal_command(conf_en, db, "tp4", CLOSES + DAY, false, false, devnull), 0);
	assert_int_equal(reveal_command(conf_en, db, "nope", CLOSES + DAY, false, false, devnull), 65);
	fclose(devnull);
	assert_int_equal(count("SELECT count(*) FROM reveals WHERE exercise = 'tp4'"), 1);
	assert_int_equal(count("SELECT count(*) FROM reveals WHERE exercise = 'tp2'"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_final_en),
		cmocka_unit_test(test_final_es),
		cmocka_unit_test(test_final_shows_private),
		cmocka_unit_test(test_counting_attempt),
		cmocka_unit_test(test_timer_sent_once),
	};
	int r = cmocka_run_group_tests(tests, setup, teardown);
	if (golden_rewritten) {
		fprintf(stderr, "%d golden file(s) rewritten: review git diff tests/golden, then run again without "
		        "SERCOM_GOLDEN_UPDATE\n", golden_rewritten);
		return 1;
	}
	return r;
}
