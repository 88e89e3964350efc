/* grades: the attempt that counts, extensions, the grade export. See
 * grades.h. Every grade is score_final() of an attempt's stored score
 * columns (score.h): the export never recomputes points another way. */
#include "grades.h"
#include "exercise.h"
#include "score.h"
#include "table.h"
#include "util.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* ---- the attempt that counts ------------------------------------------- */

/* One graded attempt as the export shows it. */
struct graded {
	int64_t id, number;
	char *verdict;
	double score, max_score, private_score, private_max, penalty;
	int64_t late_days;
	double grade;   /* score_final(score, private_score, penalty) */
};

static void graded_clear(struct graded *g)
{
	g_free(g->verdict);
	memset(g, 0, sizeof *g);
}

/* Fills *out with the attempt that counts (out->id = 0: none). */
static bool counting_row(struct store *s, enum grade_pick pick, const char *student, const char *exercise,
                         struct graded *out, GError **err)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = store_prepare(s,
		"SELECT id, number, verdict, coalesce(score, 0), coalesce(max_score, 0), coalesce(private_score, 0), "
		"coalesce(private_max, 0), penalty, late_days FROM attempts "
		"WHERE student = ?1 AND exercise = ?2 AND state = 'DONE' "
		"AND verdict IN ('ACCEPTED', 'TESTS_FAILED', 'BUILD_FAILED') ORDER BY number, id", err);
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, student, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, exercise, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct graded g = {
			.id = sqlite3_column_int64(st, 0), .number = sqlite3_column_int64(st, 1),
			.score = sqlite3_column_double(st, 3), .max_score = sqlite3_column_double(st, 4),
			.private_score = sqlite3_column_double(st, 5), .private_max = sqlite3_column_double(st, 6),
			.penalty = sqlite3_column_double(st, 7), .late_days = sqlite3_column_int64(st, 8),
		};
		g.grade = score_final(g.score, g.private_score, g.penalty);
		/* in attempt order: the last row wins under "last", and a later
		 * attempt of the same grade wins under "best" */
		if (out->id && pick == GRADE_BEST && g.grade < out->grade)
			continue;
		graded_clear(out);
		*out = g;
		out->verdict = g_strdup((const char *)sqlite3_column_text(st, 2));
	}
	if (rc != SQLITE_DONE)
		store_set_error(s, err, "graded attempts");
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		graded_clear(out);
	return rc == SQLITE_DONE;
}

bool grades_counting_attempt_pick(struct store *s, enum grade_pick pick, const char *student,
                                  const char *exercise, int64_t *attempt_id, GError **err)
{
	struct graded g;
	*attempt_id = 0;
	if (!counting_row(s, pick, student, exercise, &g, err))
		return false;
	*attempt_id = g.id;
	graded_clear(&g);
	return true;
}

bool grades_counting_attempt(struct store *s, const struct sercom_conf *c, const char *student,
                             const char *exercise, int64_t *attempt_id, GError **err)
{
	return grades_counting_attempt_pick(s, c->grade_pick, student, exercise, attempt_id, err);
}

/* ---- SQL functions -------------------------------------------------------- */

static void sql_points(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
	if (sqlite3_value_type(v[0]) == SQLITE_NULL)
		return;
	sqlite3_result_text(ctx, score_format(sqlite3_value_double(v[0])), -1, g_free);
}

static void sql_grade(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
	if (sqlite3_value_type(v[0]) == SQLITE_NULL)
		return;
	double g = score_final(sqlite3_value_double(v[0]), sqlite3_value_double(v[1]), sqlite3_value_double(v[2]));
	sqlite3_result_text(ctx, score_format(g), -1, g_free);
}

static void sql_score_text(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
	if (sqlite3_value_type(v[0]) == SQLITE_NULL)
		return;
	g_autofree char *sc = score_format(sqlite3_value_double(v[0]));
	g_autofree char *max = score_format(sqlite3_value_double(v[1]));
	GString *t = g_string_new(NULL);
	g_string_printf(t, "%s/%s", sc, max);
	if (sqlite3_value_double(v[3]) > 0) {
		g_autofree char *ps = score_format(sqlite3_value_double(v[2]));
		g_autofree char *pm = score_format(sqlite3_value_double(v[3]));
		g_string_append_printf(t, " +%s/%s private", ps, pm);
	}
	if (sqlite3_value_double(v[4]) > 0) {
		g_autofree char *pen = score_format(sqlite3_value_double(v[4]));
		g_string_append_printf(t, " -%s%% late", pen);
	}
	sqlite3_result_text(ctx, g_string_free(t, FALSE), -1, g_free);
}

bool grades_sql_functions(struct store *s, GError **err)
{
	sqlite3 *db = store_db(s);
	int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
	if (sqlite3_create_function(db, "points", 1, flags, NULL, sql_points, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db, "grade", 3, flags, NULL, sql_grade, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db, "score_text", 5, flags, NULL, sql_score_text, NULL, NULL) != SQLITE_OK) {
		store_set_error(s, err, "SQL functions");
		return false;
	}
	return true;
}

/* ---- helpers of the commands ---------------------------------------------- */

static int store_fail(GError *err)
{
	fprintf(stderr, "sercom: %s\n", err->message);
	g_error_free(err);
	return EX_TEMPFAIL;
}

/* The roster id of a student named by id or by one of their addresses;
 * NULL (after saying so) when the roster has no such student. */
static char *roster_student(struct store *s, const char *who, int *rc)
{
	GError *err = NULL;
	int64_t n = 0;
	char *q = sqlite3_mprintf("%Q", who);
	bool ok = store_query_int(s, &n, 0, &err, "SELECT count(*) FROM students WHERE id = %s", q);
	sqlite3_free(q);
	if (!ok) {
		*rc = store_fail(err);
		return NULL;
	}
	if (n)
		return g_strdup(who);
	char *id = store_student_by_email(s, who, &err);
	if (err) {
		*rc = store_fail(err);
		return NULL;
	}
	if (!id) {
		fprintf(stderr, "sercom: no student '%s' in the roster (an id or an address; see sercom roster)\n", who);
		*rc = EX_DATAERR;
	}
	return id;
}

/* The canonical name of an exercise (matched case-insensitively). */
static char *known_exercise(const struct sercom_conf *c, const char *name, int *rc)
{
	GError *err = NULL;
	struct exercise *e = exercise_find(c, name, &err);
	if (!e) {
		fprintf(stderr, "sercom: %s\n", err->message);
		*rc = err->code == ENOENT ? EX_DATAERR : EX_CONFIG;
		g_error_free(err);
		return NULL;
	}
	char *n = g_strdup(e->name);
	exercise_free(e);
	return n;
}

/* Who runs the command: the person behind sudo, else the login name. */
static char *caller_name(void)
{
	const char *sudo = getenv("SUDO_USER");
	if (sudo && *sudo)
		return g_strdup(sudo);
	struct passwd *pw = getpwuid(getuid());
	return pw ? g_strdup(pw->pw_name) : g_strdup_printf("uid %u", (unsigned)getuid());
}

static char *opt_format;   /* --format of extensions and export */

static bool parse_format(enum table_format *f, const char *def)
{
	if (table_format_parse(opt_format ? opt_format : def, f))
		return true;
	fprintf(stderr, "sercom: --format must be text, csv or json (got '%s')\n", opt_format);
	return false;
}

/* ---- extend, extensions -------------------------------------------------- */

static char *opt_until, *opt_note;
static int opt_attempts = -1;

GOptionEntry grades_extend_options[] = {
	{ "until", 0, 0, G_OPTION_ARG_STRING, &opt_until, "the student's own deadline (\"YYYY-MM-DD HH:MM\", server local time)", "DATE" },
	{ "attempts", 0, 0, G_OPTION_ARG_INT, &opt_attempts, "the student's own max_attempts", "N" },
	{ "note", 0, 0, G_OPTION_ARG_STRING, &opt_note, "why (kept with the extension)", "TEXT" },
	{ NULL },
};

/* Says what an existing extension was before it is replaced. */
static bool say_replaced(struct store *s, const char *student, const char *exercise, GError **err)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT until, attempts, note, granted_by, granted_at FROM extensions "
	                                 "WHERE student = ?1 AND exercise = ?2", err);
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, student, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, exercise, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		g_autofree char *until = util_format_date(sqlite3_column_int64(st, 0));
		g_autofree char *at = util_format_date(sqlite3_column_int64(st, 4));
		g_autofree char *att = sqlite3_column_type(st, 1) == SQLITE_NULL ? g_strdup("")
			: g_strdup_printf(", %lld attempts", (long long)sqlite3_column_int64(st, 1));
		const char *note = (const char *)sqlite3_column_text(st, 2);
		printf("replaced: until %s%s%s%s (granted by %s on %s)\n", until, att, note ? ", note: " : "",
		       note ? note : "", (const char *)sqlite3_column_text(st, 3), at);
	}
	sqlite3_finalize(st);
	return true;
}

int grades_cmd_extend(const struct sercom_conf *c, struct store *s, int argc, char **argv)
{
	static const char usage[] = "usage: sercom extend STUDENT EXERCISE --until DATE [--attempts N] [--note TEXT]\n";
	int64_t until;
	if (argc != 3 || !opt_until) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	if (!util_parse_date(opt_until, &until)) {
		fprintf(stderr, "sercom: --until: '%s' is not a date (\"YYYY-MM-DD HH:MM\", server local time)\n", opt_until);
		return EX_USAGE;
	}
	if (opt_attempts == 0 || opt_attempts < -1) {
		fprintf(stderr, "sercom: --attempts must be a positive number\n");
		return EX_USAGE;
	}
	int rc = 0;
	g_autofree char *student = roster_student(s, argv[1], &rc);
	if (!student)
		return rc;
	g_autofree char *exercise = known_exercise(c, argv[2], &rc);
	if (!exercise)
		return rc;
	g_autofree char *who = caller_name();
	GError *err = NULL;
	int64_t now = util_now();
	char *att = opt_attempts > 0 ? sqlite3_mprintf("%d", opt_attempts) : sqlite3_mprintf("NULL");
	bool ok = store_begin(s, &err) && say_replaced(s, student, exercise, &err) &&
	          store_exec(s, &err, "INSERT OR REPLACE INTO extensions (student, exercise, until, attempts, note, "
	                     "granted_by, granted_at) VALUES (%Q, %Q, %lld, %s, %Q, %Q, %lld)", student, exercise,
	                     (long long)until, att, opt_note, who, (long long)now) &&
	          store_commit(s, &err);
	sqlite3_free(att);
	if (!ok) {
		store_rollback(s);
		return store_fail(err);
	}
	g_autofree char *when = util_format_date(until);
	g_autofree char *budget = opt_attempts > 0 ? g_strdup_printf(", %d attempts", opt_attempts) : g_strdup("");
	printf("extension: %s may submit %s until %s%s (granted by %s)\n", student, exercise, when, budget, who);
	if (until < now)
		fprintf(stderr, "sercom: note: %s is in the past\n", when);
	return 0;
}

static char *opt_student, *opt_exercise;

GOptionEntry grades_extensions_options[] = {
	{ "exercise", 'e', 0, G_OPTION_ARG_STRING, &opt_exercise, "only this exercise", "E" },
	{ "student", 's', 0, G_OPTION_ARG_STRING, &opt_student, "only this student (id or address)", "S" },
	{ "format", 0, 0, G_OPTION_ARG_STRING, &opt_format, "text (default), csv or json", "F" },
	{ NULL },
};

static char *col_text(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : g_strdup((const char *)sqlite3_column_text(st, i));
}

int grades_cmd_extensions(const struct sercom_conf *c, struct store *s, int argc, char **argv)
{
	enum table_format fmt;
	if (argc != 1) {
		fputs("usage: sercom extensions [--exercise E] [--student S] [--format F]\n", stderr);
		return EX_USAGE;
	}
	if (!parse_format(&fmt, "text"))
		return EX_USAGE;
	GError *err = NULL;
	sqlite3_stmt *st = store_prepare(s,
		"SELECT x.student, s.name, x.exercise, x.until, x.attempts, x.note, x.granted_by, x.granted_at "
		"FROM extensions x LEFT JOIN students s ON s.id = x.student "
		"WHERE (?1 IS NULL OR x.student = ?1 OR x.student = "
		"       (SELECT student FROM student_emails WHERE email = ?1)) "
		"AND (?2 IS NULL OR x.exercise = ?2 COLLATE NOCASE) ORDER BY x.exercise, x.student", &err);
	if (!st)
		return store_fail(err);
	sqlite3_bind_text(st, 1, opt_student, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, opt_exercise, -1, SQLITE_STATIC);
	struct table *t = table_new((const char *const[]){ "student", "name", "exercise", "until", "attempts",
	                                                    "note", "granted_by", "granted_at", NULL });
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *cells[8];
		for (int i = 0; i < 8; i++)
			cells[i] = (i == 3 || i == 7) ? util_format_date(sqlite3_column_int64(st, i)) : col_text(st, i);
		table_add(t, (const char *const *)cells);
		for (int i = 0; i < 8; i++)
			g_free(cells[i]);
	}
	if (rc != SQLITE_DONE)
		store_set_error(s, &err, "extensions");
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		table_print(t, stdout, fmt);
	table_free(t);
	return rc == SQLITE_DONE ? 0 : store_fail(err);
}

/* ---- export grades ------------------------------------------------------- */

static char *opt_policy;

GOptionEntry grades_export_options[] = {
	{ "format", 0, 0, G_OPTION_ARG_STRING, &opt_format, "csv (default), json or text", "F" },
	{ "policy", 0, 0, G_OPTION_ARG_STRING, &opt_policy, "best or last attempt (default: [mail] grade)", "P" },
	{ NULL },
};

/* One student's row: the attempt that counts per exercise. */
struct student_grades {
	char *id, *name, *email;
	struct graded *ex;   /* one per exercise; ex[i].id = 0: none */
	double total;
};

static void student_grades_free(struct student_grades *g, guint nex)
{
	for (guint i = 0; i < nex; i++)
		graded_clear(&g->ex[i]);
	g_free(g->ex);
	g_free(g->id);
	g_free(g->name);
	g_free(g->email);
}

static void json_number(FILE *f, const char *key, double v)
{
	g_autofree char *n = score_format(v);
	fprintf(f, ", \"%s\": %s", key, n);
}

/* The JSON export: the CSV's row as an object, plus what each grade is
 * made of under "attempts" (null: no graded attempt). */
static void print_json_row(FILE *f, const struct student_grades *g, char **ex, bool first)
{
	fputs(first ? "\n {\"id\": " : ",\n {\"id\": ", f);
	table_json_string(f, g->id);
	fputs(", \"name\": ", f);
	table_json_string(f, g->name);
	fputs(", \"email\": ", f);
	table_json_string(f, g->email);
	for (guint i = 0; ex[i]; i++) {
		fputs(", ", f);
		table_json_string(f, ex[i]);
		if (g->ex[i].id) {
			g_autofree char *n = score_format(g->ex[i].grade);
			fprintf(f, ": %s", n);
		} else
			fputs(": null", f);
	}
	json_number(f, "total", g->total);
	fputs(", \"attempts\": {", f);
	for (guint i = 0; ex[i]; i++) {
		const struct graded *a = &g->ex[i];
		fputs(i ? ", " : "", f);
		table_json_string(f, ex[i]);
		if (!a->id) {
			fputs(": null", f);
			continue;
		}
		fprintf(f, ": {\"attempt\": %lld, \"number\": %lld, \"verdict\": ", (long long)a->id, (long long)a->number);
		table_json_string(f, a->verdict);
		json_number(f, "score", a->score);
		json_number(f, "max_score", a->max_score);
		json_number(f, "private_score", a->private_score);
		json_number(f, "private_max", a->private_max);
		fprintf(f, ", \"late_days\": %lld", (long long)a->late_days);
		json_number(f, "penalty", a->penalty);
		json_number(f, "grade", a->grade);
		fputs("}", f);
	}
	fputs("}}", f);
}

/* The CSV and text export: id, name, email, a grade per exercise (empty:
 * no graded attempt), total. */
static void table_row(struct table *t, const struct student_grades *g, guint nex)
{
	char **cells = g_new0(char *, nex + 5);
	cells[0] = g->id;
	cells[1] = g->name;
	cells[2] = g->email;
	for (guint i = 0; i < nex; i++)
		cells[3 + i] = g->ex[i].id ? score_format(g->ex[i].grade) : g_strdup("");
	cells[3 + nex] = score_format(g->total);
	table_add(t, (const char *const *)cells);
	for (guint i = 3; i < nex + 4; i++)
		g_free(cells[i]);
	g_free(cells);
}

static bool parse_policy(const struct sercom_conf *c, enum grade_pick *pick)
{
	*pick = c->grade_pick;
	if (!opt_policy)
		return true;
	if (!strcmp(opt_policy, "best"))
		*pick = GRADE_BEST;
	else if (!strcmp(opt_policy, "last"))
		*pick = GRADE_LAST;
	else {
		fprintf(stderr, "sercom: --policy must be best or last (got '%s')\n", opt_policy);
		return false;
	}
	return true;
}

/* Reads one student's grades; false on a database error. */
static bool read_student(struct store *s, enum grade_pick pick, sqlite3_stmt *st, char **ex, guint nex,
                         struct student_grades *g, GError **err)
{
	*g = (struct student_grades){ .id = col_text(st, 0), .name = col_text(st, 1), .email = col_text(st, 2),
	                              .ex = g_new0(struct graded, nex) };
	for (guint i = 0; i < nex; i++) {
		if (!counting_row(s, pick, g->id, ex[i], &g->ex[i], err))
			return false;
		if (g->ex[i].id)
			g->total += g->ex[i].grade;
	}
	return true;
}

int grades_cmd_export(const struct sercom_conf *c, struct store *s, int argc, char **argv)
{
	enum table_format fmt;
	enum grade_pick pick;
	if (argc != 2 || strcmp(argv[1], "grades")) {
		fputs("usage: sercom export grades [--format csv|json|text] [--policy best|last]\n", stderr);
		return EX_USAGE;
	}
	if (!parse_format(&fmt, "csv") || !parse_policy(c, &pick))
		return EX_USAGE;
	GError *err = NULL;
	sqlite3_stmt *st = store_prepare(s, "SELECT s.id, s.name, (SELECT min(email) FROM student_emails e "
	                                 "WHERE e.student = s.id) FROM students s ORDER BY s.id", &err);
	if (!st)
		return store_fail(err);
	g_auto(GStrv) ex = exercise_list_names(c);
	guint nex = g_strv_length(ex);
	g_autoptr(GPtrArray) cols = g_ptr_array_new();
	g_ptr_array_add(cols, "id");
	g_ptr_array_add(cols, "name");
	g_ptr_array_add(cols, "email");
	for (guint i = 0; i < nex; i++)
		g_ptr_array_add(cols, ex[i]);
	g_ptr_array_add(cols, "total");
	g_ptr_array_add(cols, NULL);
	struct table *t = table_new((const char *const *)cols->pdata);
	bool first = true, ok = true;
	int rc;
	if (fmt == TABLE_JSON)
		fputs("[", stdout);
	while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct student_grades g;
		ok = read_student(s, pick, st, ex, nex, &g, &err);
		if (ok && fmt == TABLE_JSON)
			print_json_row(stdout, &g, ex, first);
		else if (ok)
			table_row(t, &g, nex);
		first = false;
		student_grades_free(&g, nex);
	}
	if (ok && rc != SQLITE_DONE) {
		store_set_error(s, &err, "students");
		ok = false;
	}
	sqlite3_finalize(st);
	if (fmt == TABLE_JSON)
		fputs(first ? "]\n" : "\n]\n", stdout);
	else if (ok)
		table_print(t, stdout, fmt);
	table_free(t);
	return ok ? 0 : store_fail(err);
}
