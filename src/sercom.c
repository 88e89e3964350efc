/* sercom: the admin command (docs/ARCHITECTURE.md section 2). `sercom [-c CONF] [-v]
 * COMMAND ARGS...`: one function per command over the library; each
 * parses its own options with GOptionContext and has --help. Exit status:
 * 0 done, 1 failed (message on stderr), 64 usage. */
#include "bounce.h"
#include "doctor.h"
#include "grade.h"
#include "grades.h"
#include "compose.h"
#include "conf.h"
#include "envelope.h"
#include "exercise.h"
#include "intake.h"
#include "log.h"
#include "mime.h"
#include "queue.h"
#include "reveal.h"
#include "spool.h"
#include "store.h"
#include "table.h"
#include "transport.h"
#include "util.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

struct admin {
	const char *conf_path;
	struct sercom_conf *conf;
	struct store *store;
};

struct command {
	const char *name;
	int (*run)(struct admin *a, int argc, char **argv);
	const char *args;
	const char *help;
	GOptionEntry *options; /* the command's own options (static storage) */
};

static int fail(GError *err)
{
	fprintf(stderr, "sercom: %s\n", err->message);
	g_error_free(err);
	return EXIT_FAILURE;
}

/* Parses a command's options; false (after printing why) on a usage error. */
static bool parse_options(const struct command *cmd, GOptionEntry *entries, int *argc, char ***argv)
{
	g_autofree char *prg = g_strdup_printf("sercom %s", cmd->name);
	g_set_prgname(prg);
	GOptionContext *ctx = g_option_context_new(cmd->args);
	g_option_context_set_summary(ctx, cmd->help);
	if (entries)
		g_option_context_add_main_entries(ctx, entries, NULL);
	GError *err = NULL;
	bool ok = g_option_context_parse(ctx, argc, argv, &err);
	if (!ok) {
		fprintf(stderr, "sercom %s: %s (see sercom %s --help)\n", cmd->name, err->message, cmd->name);
		g_error_free(err);
	}
	g_option_context_free(ctx);
	return ok;
}

static struct store *open_store(struct admin *a, GError **err)
{
	/* var/ is private (README "Installing for a real course"): say so
	 * plainly, not SQLite's "unable to open database file" */
	if (!a->store && access(a->conf->db_path, R_OK) < 0 && errno == EACCES) {
		g_set_error(err, SERCOM_ERROR, EACCES, "%s: %s (the instance belongs to its owner and group; "
		            "run as one of them)", a->conf->db_path, g_strerror(EACCES));
		return NULL;
	}
	if (!a->store)
		a->store = store_open(a->conf->db_path, 10000, err);
	return a->store;
}

static int cmd_init(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	const struct sercom_conf *c = a->conf;
	if (argc > 1) {
		fprintf(stderr, "usage: sercom init\n");
		return EX_USAGE;
	}
	/* a course without its reply texts would answer no one: said now,
	 * not once per reply in the log */
	if (!conf_check_templates(c, &err))
		return fail(err);
	int r;
	if ((r = util_mkdir_p(c->var, 0750)) < 0 || (r = util_mkdir_p(c->attempts_dir, 0750)) < 0) {
		fprintf(stderr, "sercom init: %s: %s\n", c->var, g_strerror(-r));
		return EXIT_FAILURE;
	}
	/* students' code, the database: for the instance's owner and group
	 * only, whatever made var/ before (a mkdir -p under umask 022) */
	struct stat vst;
	if (stat(c->var, &vst) == 0 && (vst.st_mode & 0007) && chmod(c->var, vst.st_mode & 07770) == 0)
		printf("%s: made private (mode %04o)\n", c->var, (unsigned)(vst.st_mode & 07770));
	g_autofree char *exposed = doctor_world_readable(c->exercises);
	g_autofree char *fix = exposed ? doctor_fix_world_readable(c) : NULL;
	if (exposed)
		fprintf(stderr, "sercom init: warning: %s can be read by every user of this machine "
		        "(reference solutions, private tests): %s\n", exposed, fix);
	if (!spool_init(c->mail_dir, &err) || !spool_init(c->outbox_dir, &err))
		return fail(err);
	/* the MDA may run as the MTA's user: it needs to write the FIFO */
	if ((mkfifo(c->fifo_path, 0620) < 0 && errno != EEXIST) || chmod(c->fifo_path, 0622) < 0) {
		fprintf(stderr, "sercom init: %s: %s\n", c->fifo_path, g_strerror(errno));
		return EXIT_FAILURE;
	}
	/* the replies' bounce addresses are signed with it (bounce.h) */
	g_autofree char *bounce_key = bounce_secret(c, &err);
	if (!bounce_key || !open_store(a, &err))
		return fail(err);
	printf("instance ready: %s (database %s, schema version %d)\n", c->var, c->db_path,
	       store_schema_version());
	return EXIT_SUCCESS;
}

static int cmd_roster(struct admin *a, int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "import")) {
		fprintf(stderr, "usage: sercom roster import FILE.csv\n");
		return EX_USAGE;
	}
	GError *err = NULL;
	struct store *s = open_store(a, &err);
	if (!s)
		return fail(err);
	int n = store_roster_import(s, argv[2], &err);
	if (n < 0)
		return fail(err);
	printf("imported %d students from %s\n", n, argv[2]);
	return EXIT_SUCCESS;
}

/* ---- listing helpers ------------------------------------------------ */

static char *format_opt;       /* --format of the listing commands */

static bool output_format(enum table_format *f)
{
	if (table_format_parse(format_opt, f))
		return true;
	fprintf(stderr, "sercom: --format must be text, csv or json (got '%s')\n", format_opt);
	return false;
}

static char *col_text(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : g_strdup((const char *)sqlite3_column_text(st, i));
}

static char *col_date(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : util_format_date(sqlite3_column_int64(st, i));
}

/* Runs a query and prints its rows as a table; date_cols: columns holding
 * unix times (bit i set = column i). */
static int print_query(struct admin *a, sqlite3_stmt *st, unsigned date_cols)
{
	enum table_format fmt;
	if (!output_format(&fmt)) {
		sqlite3_finalize(st);
		return EX_USAGE;
	}
	int n = sqlite3_column_count(st);
	const char **cols = g_new0(const char *, n + 1);
	for (int i = 0; i < n; i++)
		cols[i] = sqlite3_column_name(st, i);
	struct table *t = table_new(cols);
	char **cells = g_new0(char *, n + 1);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < n; i++)
			cells[i] = (date_cols >> i) & 1 ? col_date(st, i) : col_text(st, i);
		table_add(t, (const char *const *)cells);
		for (int i = 0; i < n; i++)
			g_clear_pointer(&cells[i], g_free);
	}
	g_free(cells);
	g_free(cols);
	int r = 0;
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "sercom: %s: %s\n", a->conf->db_path, sqlite3_errmsg(store_db(a->store)));
		r = 1;
	} else
		table_print(t, stdout, fmt);
	table_free(t);
	sqlite3_finalize(st);
	return r;
}

static bool parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v = s ? strtoll(s, &end, 10) : 0;
	if (!s || !*s || *end || v <= 0) {
		fprintf(stderr, "sercom: '%s' is not an attempt number (see sercom attempts)\n", s ? s : "");
		return false;
	}
	*id = v;
	return true;
}

static bool attempt_exists(struct admin *a, int64_t id)
{
	int64_t n = 0;
	store_query_int(a->store, &n, 0, NULL, "SELECT count(*) FROM attempts WHERE id = %lld", (long long)id);
	if (!n)
		fprintf(stderr, "sercom: no attempt %lld in %s\n", (long long)id, a->conf->db_path);
	return n > 0;
}

/* The attempt named by the command's one argument, in an open store:
 * 0 and *id, or the exit status (64 usage, 1 no such attempt). */
static int attempt_arg(struct admin *a, int argc, char **argv, const char *usage, int64_t *id)
{
	GError *err = NULL;
	if (argc != 2) {
		fprintf(stderr, "usage: %s\n", usage);
		return EX_USAGE;
	}
	if (!parse_id(argv[1], id))
		return EX_USAGE;
	if (!open_store(a, &err))
		return fail(err);
	return attempt_exists(a, *id) ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- exercise ----------------------------------------------------------- */

/* Validates the definition in dir and grades its solution/ with the real
 * pipeline (sandboxed build and runs) in a temporary attempt directory. */
static int exercise_check(const struct sercom_conf *c, const char *dir)
{
	GError *err = NULL;
	g_autofree char *abs = g_canonicalize_filename(dir, NULL);
	struct exercise *e = exercise_load(c, abs, &err);
	if (!e)
		return fail(err);
	printf("%s: definition valid: %u cases, build '%s', run '%s'\n", e->name, e->cases->len,
	       e->build && e->build[0] ? e->build[0] : "make", e->run && e->run[0] ? e->run[0] : "./tp");
	if (!e->solution_dir) {
		fprintf(stderr, "sercom: %s: no solution/ directory to grade\n", abs);
		exercise_free(e);
		return EXIT_FAILURE;
	}
	/* $TMPDIR honoured (GLib): nothing of the check is left there, the
	 * build and cases run in tmpfs areas mounted under it */
	g_autofree char *tmpl = g_dir_make_tmp("sercom-check.XXXXXX", &err);
	if (!tmpl) {
		exercise_free(e);
		return fail(err);
	}
	chmod(tmpl, 0755);
	g_autofree char *sub = g_build_filename(tmpl, "submitted", NULL);
	int r = util_copy_tree(e->solution_dir, sub);
	if (r < 0) {
		fprintf(stderr, "sercom: %s: %s\n", e->solution_dir, g_strerror(-r));
		util_rm_rf(tmpl);
		exercise_free(e);
		return EXIT_FAILURE;
	}
	/* the build and the cases in tmpfs areas as the runner's are: a
	 * solution that writes without end fills its cap, not /tmp */
	g_autofree char *scratch = g_build_filename(tmpl, "scratch", NULL);
	if (mkdir(scratch, 0700) < 0 || !grade_scratch_mount(scratch, &err)) {
		if (!err)
			g_set_error(&err, SERCOM_ERROR, errno, "%s: %s", scratch, g_strerror(errno));
		util_rm_rf(tmpl);
		exercise_free(e);
		return fail(err);
	}
	struct grade_ctx g = { .conf = c, .slot = 0, .scratch = scratch };
	struct queue_outcome out = { 0 };
	bool graded = grade_dir(&g, e, tmpl, &out, &err);
	/* the scratch is this process's mount (its own namespace) */
	umount2(scratch, MNT_DETACH);
	rmdir(scratch);
	if (!graded) {
		util_rm_rf(tmpl);
		exercise_free(e);
		return fail(err);
	}
	struct table *t = table_new((const char *const[]){ "case", "verdict", "shown", "points", "exit", "cpu_ms", "wall_ms", "note", NULL });
	for (guint i = 0; i < out.results->len; i++) {
		struct queue_result *q = out.results->pdata[i];
		g_autofree char *ex = g_strdup_printf("%lld", (long long)q->exit_code);
		g_autofree char *cpu = g_strdup_printf("%lld", (long long)q->cpu_ms);
		g_autofree char *wall = g_strdup_printf("%lld", (long long)q->wall_ms);
		g_autofree char *earned = score_format(q->earned), *worth = score_format(q->points);
		g_autofree char *pts = g_strdup_printf("%s/%s%s%s", earned, worth, q->group ? " " : "", q->group ? q->group : "");
		table_add(t, (const char *const[]){ q->case_name, case_verdict_name(q->verdict), q->is_private ? "private" : "public",
		                                    pts, ex, cpu, wall, q->note });
	}
	table_print(t, stdout, TABLE_TEXT);
	table_free(t);
	bool accepted = out.verdict == VERDICT_ACCEPTED;
	g_autofree char *sc = score_format(out.score.score), *max = score_format(out.score.max_score);
	g_autofree char *psc = score_format(out.score.private_score), *pmax = score_format(out.score.private_max);
	printf("solution: %s (build %s), score %s/%s public, %s/%s private%s%s\n", verdict_name(out.verdict),
	       out.build ? out.build : "-", sc, max, psc, pmax,
	       accepted ? "" : "; artifacts kept in ", accepted ? "" : tmpl);
	if (accepted)
		util_rm_rf(tmpl);
	queue_outcome_clear(&out);
	exercise_free(e);
	return accepted ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* check's argument: a path (it has a '/', or a directory of that name
 * exists here) is the definition's directory; a bare name is an exercise
 * of [general] exercises, as students name it. */
static char *exercise_arg_dir(const struct sercom_conf *c, const char *arg)
{
	if (strchr(arg, '/') || g_file_test(arg, G_FILE_TEST_IS_DIR))
		return g_strdup(arg);
	return g_build_filename(c->exercises, arg, NULL);
}

static int cmd_exercise(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	if (argc >= 2 && !strcmp(argv[1], "list")) {
		enum table_format fmt;
		if (!output_format(&fmt))
			return EX_USAGE;
		if (!open_store(a, &err))
			return fail(err);
		struct table *t = table_new((const char *const[]){ "exercise", "title", "opens", "closes",
			"max_attempts", "cases", "private", "attempts", NULL });
		char **names = exercise_list_names(a->conf);
		int r = 0;
		for (char **n = names; *n; n++) {
			struct exercise *e = exercise_find(a->conf, *n, &err);
			if (!e) {
				fprintf(stderr, "sercom: %s\n", err->message);
				g_clear_error(&err);
				r = 1;
				continue;
			}
			int priv = 0;
			for (guint i = 0; i < e->cases->len; i++)
				priv += ((struct test_case *)e->cases->pdata[i])->is_private;
			int64_t attempts = 0;
			store_query_int(a->store, &attempts, 0, NULL,
			                "SELECT count(*) FROM attempts WHERE exercise = %Q", e->name);
			g_autofree char *opens = e->opens ? util_format_date(e->opens) : g_strdup("-");
			g_autofree char *closes = e->closes ? util_format_date(e->closes) : g_strdup("-");
			g_autofree char *max = e->max_attempts ? g_strdup_printf("%d", e->max_attempts) : g_strdup("-");
			g_autofree char *cases = g_strdup_printf("%u", e->cases->len);
			g_autofree char *privs = g_strdup_printf("%d", priv);
			g_autofree char *att = g_strdup_printf("%lld", (long long)attempts);
			table_add(t, (const char *const[]){ e->name, e->title, opens, closes, max, cases, privs, att });
			exercise_free(e);
		}
		g_strfreev(names);
		table_print(t, stdout, fmt);
		table_free(t);
		return r;
	}
	if (argc == 3 && !strcmp(argv[1], "check")) {
		g_autofree char *dir = exercise_arg_dir(a->conf, argv[2]);
		return exercise_check(a->conf, dir);
	}
	fprintf(stderr, "usage: sercom exercise list | sercom exercise check NAME|DIR\n");
	return EX_USAGE;
}

/* ---- attempts, show ----------------------------------------------------- */

static char *opt_student, *opt_exercise, *opt_state;

static int cmd_attempts(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	if (argc != 1) {
		fprintf(stderr, "usage: sercom attempts [--student S] [--exercise E] [--state X] [--format F]\n");
		return EX_USAGE;
	}
	if (!open_store(a, &err) || !grades_sql_functions(a->store, &err))
		return fail(err);
	sqlite3_stmt *st = store_prepare(a->store,
		"SELECT a.id, coalesce(a.student, '-') AS student, a.email, coalesce(a.exercise, '-') AS exercise, "
		"a.number AS n, a.state, coalesce(a.verdict, '') || "
		"  CASE WHEN a.reason IS NOT NULL THEN '(' || a.reason || ')' ELSE '' END AS verdict, "
		"score_text(a.score, a.max_score, a.private_score, a.private_max, a.penalty) AS score, "
		"grade(a.score, a.private_score, a.penalty) AS grade, "
		"a.queued, a.finished, "
		/* an attempt answered by no mail says so, with why (quiet) */
		"CASE WHEN a.answered THEN coalesce((SELECT o.state FROM outbox o WHERE o.attempt = a.id ORDER BY o.id DESC LIMIT 1), "
		"  CASE WHEN a.quiet IS NOT NULL THEN 'no (' || a.quiet || ')' ELSE 'yes' END) ELSE 'no' END AS reply "
		"FROM attempts a LEFT JOIN students s ON s.id = a.student "
		"WHERE (?1 IS NULL OR a.student = ?1 OR a.email = lower(?1)) AND (?2 IS NULL OR a.exercise = ?2 COLLATE NOCASE) "
		"AND (?3 IS NULL OR a.state = upper(?3)) ORDER BY a.id", &err);
	if (!st)
		return fail(err);
	sqlite3_bind_text(st, 1, opt_student, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, opt_exercise, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, opt_state, -1, SQLITE_STATIC);
	int r = print_query(a, st, 1u << 9 | 1u << 10);
	/* on stderr: the table stays parseable (csv, json) */
	g_auto(GStrv) waiting = intake_list(a->conf, "new");
	if (*waiting)
		fprintf(stderr, "sercom: %u mail(s) in %s/new wait to be recorded (by the runner, or sercom-runner --once)\n",
		        g_strv_length(waiting), a->conf->mail_dir);
	return r;
}

/* STUDENT EXERCISE N: the attempt a student calls N (the number in the
 * Subject of the reply; STUDENT is the roster id or an address): 0 and
 * *id, or the exit status. */
static int attempt_by_number(struct admin *a, char **args, int64_t *id)
{
	GError *err = NULL;
	char *end;
	long long n = strtoll(args[2], &end, 10);
	if (!*args[2] || *end || n <= 0) {
		fprintf(stderr, "sercom: '%s' is not an attempt number (the N of \"attempt N\" in the Subject)\n", args[2]);
		return EX_USAGE;
	}
	if (!open_store(a, &err))
		return fail(err);
	sqlite3_stmt *st = store_prepare(a->store,
		"SELECT id FROM attempts WHERE (student = ?1 OR email = lower(?1)) "
		"AND exercise = ?2 COLLATE NOCASE AND number = ?3 ORDER BY id LIMIT 1", &err);
	if (!st)
		return fail(err);
	sqlite3_bind_text(st, 1, args[0], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, args[1], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	if (found)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (!found)
		fprintf(stderr, "sercom: %s has no attempt %lld of %s (see sercom attempts --student %s)\n",
		        args[0], n, args[1], args[0]);
	return found ? EXIT_SUCCESS : EXIT_FAILURE;
}
/* what `sercom outbox` and `show` say of a row beyond its state */
/* a hold older than the claim lease (transport.c, 10 minutes at least) is
 * a sender killed mid-send: the reply may have reached the server */
#define OUTBOX_HELD "(state = 'PENDING' AND sending IS NOT NULL)"
#define OUTBOX_CUT "(sending < strftime('%s', 'now') - 600)"
#define OUTBOX_NOTE                                                                                     \
	"ltrim(CASE WHEN " OUTBOX_HELD " AND NOT " OUTBOX_CUT " THEN ' being sent' ELSE '' END || "        \
	"CASE WHEN maybe_sent OR (" OUTBOX_HELD " AND " OUTBOX_CUT ") "                                   \
	"  THEN ' may already have been sent (a send was cut off)' ELSE '' END || "                      \
	"CASE WHEN state = 'PENDING' AND server_error THEN ' mail server problem' ELSE '' END)"

static int cmd_show(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	int64_t id;
	int r0 = argc == 4 ? attempt_by_number(a, argv + 1, &id)
	                   : attempt_arg(a, argc, argv, "sercom show ID | sercom show STUDENT EXERCISE N", &id);
	if (r0)
		return r0;
	if (format_opt && !strcmp(format_opt, "json")) {
		/* results.json as the reply attaches it, private cases included
		 * (README "results.json") */
		g_autofree char *json = compose_results_json(a->conf, a->store, id, true, &err);
		if (!json)
			return fail(err);
		fputs(json, stdout);
		return EXIT_SUCCESS;
	}
	if (!grades_sql_functions(a->store, &err))
		return fail(err);
	sqlite3_stmt *st = store_prepare(a->store,
		"SELECT a.student, s.name, a.email, a.exercise, a.number, a.state, a.reason, a.detail, a.verdict, "
		"a.build, a.grading, a.tries, a.queued, a.started, a.finished, a.answered, a.note, "
		"m.message_id, m.spool_file, m.subject, m.sender, m.envelope_sender, m.auth, a.quiet, m.raw_sha256, "
		"score_text(a.score, a.max_score, a.private_score, a.private_max, a.penalty), "
		"grade(a.score, a.private_score, a.penalty), "
		"CASE WHEN a.late_days > 0 THEN a.late_days || ' day(s) after the deadline' END, "
		"CASE WHEN a.charged = 0 THEN 'no (does not count against max_attempts)' END, "
		"a.message "
		"FROM attempts a JOIN messages m ON m.id = a.message LEFT JOIN students s ON s.id = a.student "
		"WHERE a.id = ?1", &err);
	if (!st)
		return fail(err);
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		fprintf(stderr, "sercom: no attempt %lld\n", (long long)id);
		return EXIT_FAILURE;
	}
	static const char *const labels[] = { "student", "name", "email", "exercise", "number", "state",
		"reason", "detail", "verdict", "build", "grading", "tries", "queued", "started", "finished",
		"answered", "note", "message-id", "raw mail", "subject", "sender", "envelope", "auth", "no reply",
		"raw sha256", "score", "grade", "late", "charged" };
	printf("attempt %lld\n", (long long)id);
	int64_t grading = sqlite3_column_int64(st, 10);
	int64_t message = sqlite3_column_int64(st, (int)G_N_ELEMENTS(labels));
	for (int i = 0; i < (int)G_N_ELEMENTS(labels); i++) {
		if (sqlite3_column_type(st, i) == SQLITE_NULL)
			continue;
		g_autofree char *v = (i >= 12 && i <= 14) ? col_date(st, i) : col_text(st, i);
		printf("  %-11s %s\n", labels[i], v);
	}
	sqlite3_finalize(st);
	g_autofree char *dir = g_strdup_printf("%s/%lld", a->conf->attempts_dir, (long long)id);
	printf("  %-11s %s/submitted\n", "files", dir);
	printf("  %-11s %s/report (private cases under report/private)\n", "report", dir);

	/* the receipt the student got: what `sercom verify` checks against */
	printf("\nreceipt (files the mail brought):\n");
	st = store_prepare(a->store, "SELECT name, size, sha256 FROM receipts WHERE message = ?1 ORDER BY name, rowid", &err);
	if (!st)
		return fail(err);
	sqlite3_bind_int64(st, 1, message);
	int r = print_query(a, st, 0);

	printf("\nresults of grading %lld (private cases included):\n", (long long)grading);
	st = store_prepare(a->store,
		"SELECT case_name AS \"case\", verdict, CASE private WHEN 1 THEN 'private' ELSE 'public' END AS shown, "
		"points(score) || '/' || points(points) AS points, grp AS \"group\", "
		"exit_code AS exit, signal, cpu_ms, wall_ms, max_rss_kib AS rss_kib, note, diffs "
		"FROM results WHERE attempt = ?1 AND grading = ?2 ORDER BY seq", &err);
	if (!st)
		return fail(err);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, grading);
	r |= print_query(a, st, 0);
	st = store_prepare(a->store, "SELECT at, what, verdict, note FROM history WHERE attempt = ?1 ORDER BY rowid", &err);
	if (!st)
		return fail(err);
	sqlite3_bind_int64(st, 1, id);
	printf("\nhistory:\n");
	r |= print_query(a, st, 1u);
	st = store_prepare(a->store, "SELECT id, state, tries, created, sent, last_error, file, " OUTBOX_NOTE " AS note "
	                   "FROM outbox WHERE attempt = ?1 ORDER BY id", &err);
	if (!st)
		return fail(err);
	sqlite3_bind_int64(st, 1, id);
	printf("\nreplies:\n");
	r |= print_query(a, st, 1u << 3 | 1u << 4);
	return r;
}

/* sercom verify ID FILE...: whether each file is one the attempt's mail
 * brought (same SHA-256 and size as a line of its receipt). For a
 * dispute: "I sent the right file". Exit 0 when every file matches. */
static int cmd_verify(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	int64_t id;
	if (argc < 3) {
		fprintf(stderr, "usage: sercom verify ID FILE...\n");
		return EX_USAGE;
	}
	int r0 = attempt_arg(a, 2, argv, "sercom verify ID FILE...", &id);
	if (r0)
		return r0;
	int bad = 0;
	for (int i = 2; i < argc; i++) {
		g_autofree char *data = NULL;
		gsize len;
		if (!g_file_get_contents(argv[i], &data, &len, &err)) {
			fprintf(stderr, "sercom: %s\n", err->message);
			g_clear_error(&err);
			bad = 1;
			continue;
		}
		g_autofree char *h = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
		sqlite3_stmt *st = store_prepare(a->store,
			"SELECT r.name, m.received FROM receipts r JOIN attempts t ON t.message = r.message "
			"JOIN messages m ON m.id = r.message WHERE t.id = ?1 AND r.sha256 = ?2 AND r.size = ?3 "
			"ORDER BY r.name LIMIT 1", &err);
		if (!st)
			return fail(err);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, h, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)len);
		if (sqlite3_step(st) == SQLITE_ROW) {
			g_autofree char *when = util_format_date(sqlite3_column_int64(st, 1));
			printf("%s: matches %s of attempt %lld (received %s), SHA-256 %s\n", argv[i],
			       (const char *)sqlite3_column_text(st, 0), (long long)id, when, h);
		} else {
			printf("%s: DOES NOT MATCH any file attempt %lld received (SHA-256 %s, %zu bytes)\n", argv[i],
			       (long long)id, h, (size_t)len);
			bad = 1;
		}
		sqlite3_finalize(st);
	}
	return bad;
}

/* ---- regrade, resend, override ------------------------------------------- */

static int cmd_regrade(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	int64_t id = 0;
	if (!((argc == 2 && !opt_exercise) || (argc == 1 && opt_exercise))) {
		fprintf(stderr, "usage: sercom regrade ID | sercom regrade --exercise E\n");
		return EX_USAGE;
	}
	if (argc == 2 && !parse_id(argv[1], &id))
		return EX_USAGE;
	if (!open_store(a, &err))
		return fail(err);
	if (id && !attempt_exists(a, id))
		return EXIT_FAILURE;
	/* the old verdict goes to history; results rows stay under their
	 * grading number, so nothing is lost */
	char *quoted = sqlite3_mprintf("%Q", opt_exercise);
	g_autofree char *cond = id ? g_strdup_printf("id = %lld", (long long)id)
	                           : g_strdup_printf("exercise = %s COLLATE NOCASE", quoted);
	sqlite3_free(quoted);
	int64_t n = 0;
	if (!store_begin(a->store, &err) ||
	    !store_query_int(a->store, &n, 0, &err, "SELECT count(*) FROM attempts WHERE %s AND state IN ('DONE', 'ERROR')", cond) ||
	    !store_exec(a->store, &err, "INSERT INTO history(attempt, at, what, verdict, note) "
	                "SELECT id, %lld, 'regrade', verdict, note FROM attempts WHERE %s AND state IN ('DONE', 'ERROR')",
	                (long long)util_now(), cond) ||
	    !store_exec(a->store, &err, "UPDATE attempts SET state = 'QUEUED', queued = %lld, started = NULL, "
	                "finished = NULL, lease_until = NULL, worker = NULL, tries = 0, answered = 0 "
	                "WHERE %s AND state IN ('DONE', 'ERROR')", (long long)util_now(), cond) ||
	    !store_commit(a->store, &err)) {
		store_rollback(a->store);
		return fail(err);
	}
	if (id && !n) {
		fprintf(stderr, "sercom: attempt %lld is not graded (only DONE or ERROR attempts are regraded)\n", (long long)id);
		return EXIT_FAILURE;
	}
	ingest_wake_runner(a->conf);
	printf("%lld attempt%s queued for regrading\n", (long long)n, n == 1 ? "" : "s");
	return EXIT_SUCCESS;
}

static int cmd_resend(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	int64_t id, outbox = 0;
	int r0 = attempt_arg(a, argc, argv, "sercom resend ID", &id);
	if (r0)
		return r0;
	if (!store_exec(a->store, &err, "UPDATE attempts SET answered = 0 WHERE id = %lld", (long long)id) ||
	    !compose_reply(a->conf, a->store, id, &outbox, &err))
		return fail(err);
	if (!outbox) {
		fprintf(stderr, "sercom: attempt %lld has nothing to answer yet (state QUEUED or RUNNING, or superseded)\n", (long long)id);
		return EXIT_FAILURE;
	}
	int sent = transport_flush(a->conf, a->store, &err);
	if (sent < 0)
		return fail(err);
	printf("reply %lld to attempt %lld queued; %d sent now\n", (long long)outbox, (long long)id, sent);
	return EXIT_SUCCESS;
}

static char *opt_verdict, *opt_note;

/* A dispute settled as ACCEPTED says every case is right: the attempt
 * gets all its points (README "Grades"), the score it had goes to the
 * history. Other verdicts keep the graded score. */
static bool override_score(struct admin *a, int64_t id, enum verdict verdict, GError **err)
{
	if (verdict != VERDICT_ACCEPTED)
		return true;
	return grades_sql_functions(a->store, err) &&
	       store_exec(a->store, err, "INSERT INTO history(attempt, at, what, verdict, note) "
	                  "SELECT id, %lld, 'override score', verdict, 'score was ' || "
	                  "score_text(score, max_score, private_score, private_max, penalty) "
	                  "FROM attempts WHERE id = %lld AND score IS NOT NULL AND "
	                  "(score < max_score OR private_score < private_max)",
	                  (long long)util_now(), (long long)id) &&
	       store_exec(a->store, err, "UPDATE attempts SET score = max_score, private_score = private_max "
	                  "WHERE id = %lld AND score IS NOT NULL", (long long)id);
}

static int cmd_override(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	int64_t id;
	static const char usage[] = "sercom override ID --verdict V --note TEXT";
	if (!opt_verdict || !opt_note) {
		fprintf(stderr, "usage: %s\n", usage);
		return EX_USAGE;
	}
	g_autofree char *v = g_ascii_strup(opt_verdict, -1);
	enum verdict verdict;
	if (!verdict_parse(v, &verdict)) {
		fprintf(stderr, "sercom: --verdict must be one of ACCEPTED, TESTS_FAILED, BUILD_FAILED, REJECTED, INTERNAL_ERROR\n");
		return EX_USAGE;
	}
	int r0 = attempt_arg(a, argc, argv, usage, &id);
	if (r0)
		return r0;
	if (!store_begin(a->store, &err) || !override_score(a, id, verdict, &err) ||
	    !store_exec(a->store, &err, "INSERT INTO history(attempt, at, what, verdict, note) "
	                "SELECT id, %lld, 'override', verdict, %Q FROM attempts WHERE id = %lld",
	                (long long)util_now(), opt_note, (long long)id) ||
	    !store_exec(a->store, &err, "UPDATE attempts SET verdict = %Q, note = %Q, "
	                "state = CASE WHEN state IN ('QUEUED','RUNNING') THEN state ELSE 'DONE' END WHERE id = %lld",
	                v, opt_note, (long long)id) ||
	    !store_commit(a->store, &err)) {
		store_rollback(a->store);
		return fail(err);
	}
	if (!compose_override(a->conf, a->store, id, opt_note, &err))
		return fail(err);
	int sent = transport_flush(a->conf, a->store, &err);
	if (sent < 0)
		return fail(err);
	printf("attempt %lld is now %s; the student is told (%d sent now)\n", (long long)id, v, sent);
	return EXIT_SUCCESS;
}

static gboolean opt_dry_run, opt_force;

static int cmd_reveal(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	if (argc != 2) {
		fprintf(stderr, "usage: sercom reveal EXERCISE [--dry-run] [--force]\n");
		return EX_USAGE;
	}
	if (!open_store(a, &err))
		return fail(err);
	int rc = reveal_command(a->conf, a->store, argv[1], util_now(), opt_dry_run, opt_force, stdout);
	if (rc || opt_dry_run)
		return rc;
	int sent = transport_flush(a->conf, a->store, &err);
	if (sent < 0)
		return fail(err);
	printf("%d sent now\n", sent);
	return EXIT_SUCCESS;
}

/* ---- export, stats ----------------------------------------------------- */

/* The commands of grades.c (README "Grades"), over the open store. */
static int cmd_extend(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	return open_store(a, &err) ? grades_cmd_extend(a->conf, a->store, argc, argv) : fail(err);
}

static int cmd_extensions(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	return open_store(a, &err) ? grades_cmd_extensions(a->conf, a->store, argc, argv) : fail(err);
}

static int cmd_export(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	return open_store(a, &err) ? grades_cmd_export(a->conf, a->store, argc, argv) : fail(err);
}

static char *opt_prometheus;

/* node_exporter's textfile collector reads *.prom files: a temp file
 * renamed over the target, so it never sees half a file; "-" is standard
 * output. Attack/accident: a target that exists and is not a regular file
 * (/dev/stdout, a FIFO, a directory) is refused: the rename would replace
 * the device link or the FIFO with a regular file. */
static int write_prometheus(const char *target, const GString *out)
{
	if (!strcmp(target, "-")) {
		fwrite(out->str, 1, out->len, stdout);
		return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	struct stat st;
	if (lstat(target, &st) == 0 && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "sercom: %s: exists and is not a regular file (use - for standard output)\n", target);
		return EXIT_FAILURE;
	}
	GError *err = NULL;
	g_autofree char *tmp = g_strconcat(target, ".tmp", NULL);
	if (!g_file_set_contents(tmp, out->str, (gssize)out->len, &err))
		return fail(err);
	if (rename(tmp, target) < 0) {
		fprintf(stderr, "sercom: %s: %s\n", target, g_strerror(errno));
		unlink(tmp);
		return EXIT_FAILURE;
	}
	printf("wrote %s\n", target);
	return EXIT_SUCCESS;
}

static GString *prometheus_text(struct admin *a, GPtrArray *m, int64_t outbox_pending, guint waiting, guint held)
{
	GString *out = g_string_new(
		"# HELP sercom_attempts Attempts by exercise and state.\n# TYPE sercom_attempts gauge\n");
	for (guint i = 0; i < m->len; i++) {
		struct queue_metrics *q = m->pdata[i];
		if (!strcmp(q->exercise, "*"))
			continue;
		g_string_append_printf(out, "sercom_attempts{exercise=\"%s\",state=\"queued\"} %lld\n"
		                            "sercom_attempts{exercise=\"%s\",state=\"running\"} %lld\n"
		                            "sercom_attempts{exercise=\"%s\",state=\"done\"} %lld\n"
		                            "sercom_attempts{exercise=\"%s\",state=\"error\"} %lld\n",
		                       q->exercise, (long long)q->queued, q->exercise, (long long)q->running,
		                       q->exercise, (long long)q->done, q->exercise, (long long)q->error);
	}
	g_string_append(out, "# HELP sercom_queue_seconds Time from queued to started.\n# TYPE sercom_queue_seconds gauge\n");
	for (guint i = 0; i < m->len; i++) {
		struct queue_metrics *q = m->pdata[i];
		if (strcmp(q->exercise, "*"))
			g_string_append_printf(out, "sercom_queue_seconds{exercise=\"%s\",stat=\"avg\"} %.3f\n"
			                            "sercom_queue_seconds{exercise=\"%s\",stat=\"max\"} %.3f\n",
			                       q->exercise, q->queue_avg, q->exercise, q->queue_max);
	}
	g_string_append(out, "# HELP sercom_run_seconds Time from started to finished.\n# TYPE sercom_run_seconds gauge\n");
	for (guint i = 0; i < m->len; i++) {
		struct queue_metrics *q = m->pdata[i];
		if (strcmp(q->exercise, "*"))
			g_string_append_printf(out, "sercom_run_seconds{exercise=\"%s\",stat=\"avg\"} %.3f\n"
			                            "sercom_run_seconds{exercise=\"%s\",stat=\"max\"} %.3f\n",
			                       q->exercise, q->run_avg, q->exercise, q->run_max);
	}
	g_string_append_printf(out, "# HELP sercom_queue_length Attempts waiting.\n# TYPE sercom_queue_length gauge\n"
	                            "sercom_queue_length %lld\n"
	                            "# HELP sercom_outbox_pending Replies waiting to be sent.\n# TYPE sercom_outbox_pending gauge\n"
	                            "sercom_outbox_pending %lld\n"
	                            "# HELP sercom_mail_waiting Mails in var/mail/new not recorded yet.\n# TYPE sercom_mail_waiting gauge\n"
	                            "sercom_mail_waiting %u\n"
	                            "# HELP sercom_mail_held Mails set aside in var/mail/held (they killed the ingester).\n"
	                            "# TYPE sercom_mail_held gauge\nsercom_mail_held %u\n",
	                       (long long)queue_length(a->store, NULL), (long long)outbox_pending, waiting, held);
	int64_t bounced = 0;
	store_query_int(a->store, &bounced, 0, NULL, "SELECT count(*) FROM outbox WHERE state = 'BOUNCED'");
	g_string_append_printf(out, "# HELP sercom_outbox_bounced Replies that came back undelivered (a bounce).\n"
	                            "# TYPE sercom_outbox_bounced gauge\nsercom_outbox_bounced %lld\n", (long long)bounced);
	int64_t down = 0, failed = 0;
	store_query_int(a->store, &down, 0, NULL, "SELECT count(*) FROM outbox WHERE state = 'PENDING' AND server_error = 1");
	store_query_int(a->store, &failed, 0, NULL, "SELECT count(*) FROM outbox WHERE state = 'FAILED'");
	g_string_append_printf(out, "# HELP sercom_outbox_server_error Replies held by a mail server problem "
	                            "(refused for every reply alike).\n# TYPE sercom_outbox_server_error gauge\n"
	                            "sercom_outbox_server_error %lld\n"
	                            "# HELP sercom_outbox_failed Replies given up (sercom outbox retry --failed).\n"
	                            "# TYPE sercom_outbox_failed gauge\nsercom_outbox_failed %lld\n",
	                       (long long)down, (long long)failed);
	return out;
}

/* The replies a mail server problem holds (transport.c: refused for every
 * reply alike) and the failed ones: seen here even when the admin's notice
 * cannot get through that server. */
static void outbox_problems(struct admin *a)
{
	int64_t held = 0, failed = 0;
	store_query_int(a->store, &held, 0, NULL, "SELECT count(*) FROM outbox WHERE state = 'PENDING' AND server_error = 1");
	store_query_int(a->store, &failed, 0, NULL, "SELECT count(*) FROM outbox WHERE state = 'FAILED'");
	if (held) {
		sqlite3_stmt *st = store_prepare(a->store, "SELECT last_error FROM outbox WHERE state = 'PENDING' "
		                                 "AND server_error = 1 ORDER BY id DESC LIMIT 1", NULL);
		printf("replies held by a mail server problem: %lld (%s)\n", (long long)held,
		       st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)
		           ? (const char *)sqlite3_column_text(st, 0) : "?");
		sqlite3_finalize(st);
	}
	if (failed)
		printf("replies FAILED: %lld (sercom outbox; sercom outbox retry --failed)\n", (long long)failed);
}

static int cmd_stats(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	if (argc != 1) {
		fprintf(stderr, "usage: sercom stats [--prometheus FILE|-] [--format F]\n");
		return EX_USAGE;
	}
	if (!open_store(a, &err))
		return fail(err);
	GPtrArray *m = queue_metrics(a->store, 0, &err);
	if (!m)
		return fail(err);
	int64_t outbox_pending = 0;
	store_query_int(a->store, &outbox_pending, 0, NULL, "SELECT count(*) FROM outbox WHERE state = 'PENDING'");
	g_auto(GStrv) waiting = intake_list(a->conf, "new");
	g_auto(GStrv) held = intake_list(a->conf, "held");
	if (opt_prometheus) {
		GString *out = prometheus_text(a, m, outbox_pending, g_strv_length(waiting), g_strv_length(held));
		int r = write_prometheus(opt_prometheus, out);
		g_string_free(out, TRUE);
		g_ptr_array_free(m, TRUE);
		return r;
	}
	enum table_format fmt;
	if (!output_format(&fmt))
		return EX_USAGE;
	struct table *t = table_new((const char *const[]){ "exercise", "queued", "running", "done", "error",
		"graded", "queue_avg_s", "queue_max_s", "run_avg_s", "run_max_s", NULL });
	for (guint i = 0; i < m->len; i++) {
		struct queue_metrics *q = m->pdata[i];
		char *c[10];
		c[0] = g_strdup(strcmp(q->exercise, "*") ? q->exercise : "(all)");
		c[1] = g_strdup_printf("%lld", (long long)q->queued);
		c[2] = g_strdup_printf("%lld", (long long)q->running);
		c[3] = g_strdup_printf("%lld", (long long)q->done);
		c[4] = g_strdup_printf("%lld", (long long)q->error);
		c[5] = g_strdup_printf("%lld", (long long)q->graded);
		c[6] = g_strdup_printf("%.1f", q->queue_avg);
		c[7] = g_strdup_printf("%.1f", q->queue_max);
		c[8] = g_strdup_printf("%.1f", q->run_avg);
		c[9] = g_strdup_printf("%.1f", q->run_max);
		table_add(t, (const char *const *)c);
		for (int k = 0; k < 10; k++)
			g_free(c[k]);
	}
	table_print(t, stdout, fmt);
	table_free(t);
	g_ptr_array_free(m, TRUE);
	if (fmt == TABLE_TEXT) {
		printf("\nqueue length %lld, replies waiting %lld\n", (long long)queue_length(a->store, NULL),
		       (long long)outbox_pending);
		int64_t bounced = 0;
		store_query_int(a->store, &bounced, 0, NULL, "SELECT count(*) FROM outbox WHERE state = 'BOUNCED'");
		printf("replies bounced (sercom outbox says why): %lld\n", (long long)bounced);
		outbox_problems(a);
		/* forged, flooding and stranger mail: kept and counted here */
		sqlite3_stmt *st = store_prepare(a->store,
			"SELECT reason, count(*), sum(quiet IS NOT NULL) FROM attempts WHERE state = 'REJECTED' "
			"GROUP BY reason ORDER BY reason", NULL);
		printf("rejected by reason (not answered):");
		bool any = false;
		while (st && sqlite3_step(st) == SQLITE_ROW) {
			printf(" %s %lld (%lld)", sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "-",
			       (long long)sqlite3_column_int64(st, 1), (long long)sqlite3_column_int64(st, 2));
			any = true;
		}
		printf("%s\n", any ? "" : " none");
		sqlite3_finalize(st);
		int64_t warned = 0;
		store_query_int(a->store, &warned, 0, NULL,
		                "SELECT count(*) FROM attempts t JOIN messages m ON m.id = t.message "
		                "WHERE m.auth LIKE 'fail:%%' AND t.state != 'REJECTED'");
		printf("graded although not authenticated (authenticate = warn): %lld\n", (long long)warned);
		printf("mails waiting to be recorded in %s/new: %u\n", a->conf->mail_dir, g_strv_length(waiting));
		/* what staff must look at: the mails that killed the ingester */
		printf("mails held in %s/held: %u%s", a->conf->mail_dir, g_strv_length(held), *held ? ":" : "\n");
		for (char **h = held; *h; h++)
			printf(" %s%s", *h, h[1] ? "" : "\n");
	}
	return EXIT_SUCCESS;
}

/* ---- outbox, purge, import-maildir -------------------------------------- */

static gboolean opt_failed;

/* "now": due or not; never a row being sent (its hold stays: clearing it
 * would send it a second time meanwhile), unless its hold outlived the
 * lease (its sender died: the resend says it may already have been sent) */
static int outbox_flush(struct admin *a)
{
	GError *err = NULL;
	if (!store_exec(a->store, &err, "UPDATE outbox SET next_try = 0 WHERE state = 'PENDING' AND "
	                "(sending IS NULL OR sending <= %lld)",
	                (long long)(util_now() - transport_claim_lease(a->conf))))
		return fail(err);
	int n = transport_flush(a->conf, a->store, &err);
	if (n < 0)
		return fail(err);
	int64_t left = 0;
	store_query_int(a->store, &left, 0, NULL, "SELECT count(*) FROM outbox WHERE state = 'PENDING'");
	printf("%d sent, %lld still waiting\n", n, (long long)left);
	return left ? 1 : 0;
}

/* FAILED rows back to PENDING, their age counted from now (retry_max_age),
 * and sent now (e.g. after the mail server's configuration was fixed) */
static int outbox_retry(struct admin *a)
{
	GError *err = NULL;
	if (!store_exec(a->store, &err, "UPDATE outbox SET state = 'PENDING', next_try = 0, tries = 0, created = %lld,"
	                " sending = NULL WHERE state = 'FAILED'", (long long)util_now()))
		return fail(err);
	int64_t n = sqlite3_changes(store_db(a->store));
	printf("%lld failed repl%s to send again\n", (long long)n, n == 1 ? "y" : "ies");
	return outbox_flush(a);
}

static int cmd_outbox(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	const char *sub = argc >= 2 ? argv[1] : "list";
	if (argc > 2 || (strcmp(sub, "list") && strcmp(sub, "flush") && strcmp(sub, "retry")) ||
	    (!strcmp(sub, "retry") != !!opt_failed)) {
		fprintf(stderr, "usage: sercom outbox [list|flush|retry --failed]\n");
		return EX_USAGE;
	}
	if (!open_store(a, &err))
		return fail(err);
	if (!strcmp(sub, "flush"))
		return outbox_flush(a);
	if (!strcmp(sub, "retry"))
		return outbox_retry(a);
	/* next_try only for the rows that wait for it; a BOUNCED row says
	 * why (README "Bounces") */
	sqlite3_stmt *st = store_prepare(a->store,
		"SELECT id, attempt, recipients, state, tries, created, "
		"CASE WHEN state = 'PENDING' THEN next_try END AS next_try, sent, last_error, bounce, " OUTBOX_NOTE " AS note "
		"FROM outbox ORDER BY id", &err);
	if (!st)
		return fail(err);
	return print_query(a, st, 1u << 5 | 1u << 6 | 1u << 7);
}

static char *opt_older;

static int cmd_purge(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	char *end;
	long days = opt_older ? strtol(opt_older, &end, 10) : -1;
	if (argc != 1 || !opt_older || *end || days < 0) {
		fprintf(stderr, "usage: sercom purge --older-than DAYS\n");
		return EX_USAGE;
	}
	if (!open_store(a, &err))
		return fail(err);
	int64_t cutoff = util_now() - (int64_t)days * 86400;
	/* artifacts go; the rows (verdicts, results, history) stay so grades
	 * can still be exported */
	sqlite3_stmt *st = store_prepare(a->store,
		"SELECT id FROM attempts WHERE coalesce(finished, queued) < ?1 AND state NOT IN ('QUEUED', 'RUNNING')", &err);
	if (!st)
		return fail(err);
	sqlite3_bind_int64(st, 1, cutoff);
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		g_autofree char *dir = g_strdup_printf("%s/%lld", a->conf->attempts_dir, (long long)sqlite3_column_int64(st, 0));
		if (g_file_test(dir, G_FILE_TEST_IS_DIR)) {
			int r = util_rm_rf(dir);
			if (r < 0)
				fprintf(stderr, "sercom: %s: %s\n", dir, g_strerror(-r));
			else
				n++;
		}
	}
	sqlite3_finalize(st);
	/* sent replies older than the cutoff: their files too */
	st = store_prepare(a->store, "SELECT file FROM outbox WHERE state = 'SENT' AND sent < ?1", &err);
	if (!st)
		return fail(err);
	sqlite3_bind_int64(st, 1, cutoff);
	int files = 0;
	while (sqlite3_step(st) == SQLITE_ROW)
		files += unlink((const char *)sqlite3_column_text(st, 0)) == 0;
	sqlite3_finalize(st);
	printf("purged the artifacts of %d attempts and %d sent replies older than %ld days\n", n, files, days);
	return EXIT_SUCCESS;
}

/* ---- import-maildir, recover: what sercom-deliver and the runner do --- */

/* What the ingester did with the mails an import queued (by spool name);
 * the counts by outcome. */
struct import {
	GHashTable *sources;    /* spool name -> what it came from */
	int counts[INTAKE_FAILED + 1];
	int status;
};

static void import_report(const char *name, int what, const char *detail, void *data)
{
	struct import *im = data;
	const char *src = im->sources ? g_hash_table_lookup(im->sources, name) : NULL;
	if (im->sources && !src)
		return; /* mail that was waiting anyway: the log tells */
	im->counts[what]++;
	const char *label = src ? src : name;
	if (what == INTAKE_FAILED) {
		fprintf(stderr, "sercom: %s: not recorded yet (it stays in var/mail/new): %s\n", label, detail);
		im->status = 1;
	} else if (what == INTAKE_HELD) {
		fprintf(stderr, "sercom: %s: held (it killed the ingester %d times): %s\n", label, 3, detail);
		im->status = 1;
	} else {
		printf("%s: %s%s%s\n", label, ingest_outcome_name(what), *detail ? " " : "", detail);
	}
}

/* Queues one message for the ingester, as sercom-deliver would. Only the
 * bytes are copied here (this process may be root): the ingester parses.
 * A copy of our own spool (a held mail) keeps its envelope. */
static int import_one(struct admin *a, struct import *im, const char *label, const char *msg, size_t len)
{
	struct envelope e = { .size = len, .time = util_now() };
	const char *nl = memchr(msg, '\n', len);
	if (nl && envelope_parse(msg, (size_t)(nl - msg), &e)) {
		len -= (size_t)(nl + 1 - msg);
		msg = nl + 1;
		e.size = len;
		e.truncated = false;
	}
	if (opt_exercise) {
		free(e.exercise);
		e.exercise = strdup(opt_exercise);
	}
	GError *err = NULL;
	g_autofree char *path = NULL;
	bool ok = spool_mail(a->conf->mail_dir, &e, msg, len, &path, &err);
	envelope_clear(&e);
	if (!ok) {
		fprintf(stderr, "sercom: %s: %s\n", label, err->message);
		g_error_free(err);
		return EXIT_FAILURE;
	}
	g_hash_table_insert(im->sources, g_path_get_basename(path), g_strdup(label));
	return EXIT_SUCCESS;
}

/* One message of an mbox, bytes [begin, end) of fd from its "From " line
 * on: queued without that line and the blank line that ends it, and with
 * mboxrd's ">From " unquoted. */
static int import_mbox_message(struct admin *a, struct import *im, int fd, gint64 begin, gint64 end,
                               const char *label)
{
	if (end <= begin || end - begin > (gint64)a->conf->limits.message_size * 2 + (1 << 20)) {
		/* larger than any mail the MDA would take: say so, lose nothing of the mbox */
		fprintf(stderr, "sercom: %s: %lld bytes, skipped (over [limits] message_size)\n", label,
		        (long long)(end - begin));
		return EXIT_FAILURE;
	}
	g_autofree char *raw = g_malloc((gsize)(end - begin));
	ssize_t n = pread(fd, raw, (size_t)(end - begin), begin);
	if (n != end - begin) {
		fprintf(stderr, "sercom: %s: cannot read: %s\n", label, n < 0 ? g_strerror(errno) : "short read");
		return EXIT_FAILURE;
	}
	const char *p = memchr(raw, '\n', (size_t)n), *endp = raw + n;
	p = p ? p + 1 : endp;   /* after the "From " line */
	GString *msg = g_string_sized_new((gsize)(endp - p));
	for (const char *l = p; l < endp;) {
		const char *nl = memchr(l, '\n', (size_t)(endp - l));
		const char *le = nl ? nl + 1 : endp;
		const char *q = l;
		while (q < le && *q == '>')
			q++;
		if (q > l && le - q >= 5 && !strncmp(q, "From ", 5))
			l++;
		g_string_append_len(msg, l, le - l);
		l = le;
	}
	/* the blank line before the next "From " separates, it is no part of the message */
	if (msg->len >= 2 && !strcmp(msg->str + msg->len - 2, "\n\n"))
		g_string_truncate(msg, msg->len - 1);
	int r = import_one(a, im, label, msg->str, msg->len);
	g_string_free(msg, TRUE);
	return r;
}

/* Splits an mbox with GMime's parser (GMIME_FORMAT_MBOX), read as a
 * stream, one message in memory at a time. The file is opened first (it
 * may be root's mailbox), then parsed as the owner of var/: the attack is
 * a message crafted against the parser, and no root process parses
 * student mail (docs/ARCHITECTURE.md section 1). */
static int import_mbox(struct admin *a, struct import *im, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "sercom: %s: %s\n", path, g_strerror(errno));
		return EXIT_FAILURE;
	}
	GError *err = NULL;
	if (!intake_drop_privileges(a->conf, &err)) {
		close(fd);
		return fail(err);
	}
	mime_init();
	GMimeStream *stream = g_mime_stream_fs_new(fd);   /* owns fd */
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MBOX);
	int r = 0, k = 0;
	while (!g_mime_parser_eos(parser)) {
		GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
		if (!m)
			break;
		g_object_unref(m);
		g_autofree char *label = g_strdup_printf("%s#%d", path, ++k);
		r |= import_mbox_message(a, im, fd, g_mime_parser_get_mbox_marker_offset(parser),
		                         g_mime_parser_tell(parser), label);
	}
	if (k == 0) {
		fprintf(stderr, "sercom: %s: no message (an mbox starts with a \"From \" line)\n", path);
		r = 1;
	}
	g_object_unref(parser);
	g_object_unref(stream);
	return r;
}

/* g_ptr_array_sort passes pointers to the elements */
static gint compare_paths(gconstpointer x, gconstpointer y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A Maildir's new/ and cur/, or the files of a plain directory (var/mail/
 * held: those are removed once queued again). */
static int import_maildir(struct admin *a, struct import *im, const char *dir)
{
	static const char *const subs[] = { "new", "cur" };
	g_autofree char *held = g_build_filename(a->conf->mail_dir, "held", NULL);
	g_autofree char *dir_abs = g_canonicalize_filename(dir, NULL);
	bool is_held = !strcmp(dir_abs, held);
	bool maildir = false;
	for (int s = 0; s < 2; s++) {
		g_autofree char *d = g_build_filename(dir, subs[s], NULL);
		maildir = maildir || g_file_test(d, G_FILE_TEST_IS_DIR);
	}
	int r = 0;
	for (int s = 0; s < (maildir ? 2 : 1); s++) {
		g_autofree char *d = maildir ? g_build_filename(dir, subs[s], NULL) : g_strdup(dir);
		GDir *gd = g_dir_open(d, 0, NULL);
		if (!gd)
			continue;
		GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
		const char *n;
		while ((n = g_dir_read_name(gd)))
			if (n[0] != '.')
				g_ptr_array_add(names, g_build_filename(d, n, NULL));
		g_dir_close(gd);
		g_ptr_array_sort(names, compare_paths);
		for (guint i = 0; i < names->len; i++) {
			g_autofree char *msg = NULL;
			gsize len;
			GError *err = NULL;
			if (!g_file_get_contents(names->pdata[i], &msg, &len, &err)) {
				r |= fail(err);
				continue;
			}
			int one = import_one(a, im, names->pdata[i], msg, len);
			if (!one && is_held)
				unlink(names->pdata[i]);
			r |= one;
		}
		g_ptr_array_free(names, TRUE);
	}
	return r;
}

/* The ingester (an unprivileged child, intake.h) records var/mail/new. */
static int ingest_now(struct admin *a, struct import *im)
{
	GError *err = NULL;
	if (!intake_run(a->conf, import_report, im, &err))
		return fail(err);
	return im->status;
}

static int cmd_import(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	if (argc != 2) {
		fprintf(stderr, "usage: sercom import-maildir [--exercise E] DIR|MBOX\n");
		return EX_USAGE;
	}
	if (!spool_init(a->conf->mail_dir, &err))
		return fail(err);
	struct import im = { .sources = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free) };
	int r;
	if (g_file_test(argv[1], G_FILE_TEST_IS_DIR)) {
		r = import_maildir(a, &im, argv[1]);
	} else if (g_file_test(argv[1], G_FILE_TEST_IS_REGULAR)) {
		r = import_mbox(a, &im, argv[1]);
	} else {
		fprintf(stderr, "sercom: %s: not a Maildir or an mbox file\n", argv[1]);
		g_hash_table_destroy(im.sources);
		return EXIT_FAILURE;
	}
	r |= ingest_now(a, &im);
	printf("imported: %d queued, %d rejected, %d ignored, %d automatic, %d duplicate, %d bounce\n",
	       im.counts[0], im.counts[1], im.counts[2], im.counts[3], im.counts[4], im.counts[INGEST_BOUNCE]);
	g_hash_table_destroy(im.sources);
	return r;
}

static int cmd_recover(struct admin *a, int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "usage: sercom recover\n");
		return EX_USAGE;
	}
	struct import im = { 0 };
	int r = ingest_now(a, &im);
	int recorded = 0;
	for (int i = 0; i < INTAKE_HELD; i++)
		recorded += im.counts[i];
	printf("%d mail(s) of %s/new recorded now, %d not yet, %d held\n", recorded, a->conf->mail_dir,
	       im.counts[INTAKE_FAILED], im.counts[INTAKE_HELD]);
	return r;
}

/* run by main() even when the config does not load: that is its first check */
static int cmd_doctor(struct admin *a, int argc, char **argv)
{
	return doctor_main(a->conf_path, a->conf, NULL, argc, argv);
}

static GOptionEntry list_options[] = {
	{ "format", 0, 0, G_OPTION_ARG_STRING, &format_opt, "text (default), csv or json", "F" },
	{ NULL },
};
static GOptionEntry outbox_options[] = {
	{ "failed", 0, 0, G_OPTION_ARG_NONE, &opt_failed, "retry: the FAILED replies", NULL },
	{ "format", 0, 0, G_OPTION_ARG_STRING, &format_opt, "text (default), csv or json", "F" },
	{ NULL },
};
static GOptionEntry attempts_options[] = {
	{ "student", 's', 0, G_OPTION_ARG_STRING, &opt_student, "a student id or address", "S" },
	{ "exercise", 'e', 0, G_OPTION_ARG_STRING, &opt_exercise, "an exercise", "E" },
	{ "state", 0, 0, G_OPTION_ARG_STRING, &opt_state, "QUEUED RUNNING DONE REJECTED SUPERSEDED ERROR", "X" },
	{ "format", 0, 0, G_OPTION_ARG_STRING, &format_opt, "text (default), csv or json", "F" },
	{ NULL },
};
static GOptionEntry regrade_options[] = {
	{ "exercise", 'e', 0, G_OPTION_ARG_STRING, &opt_exercise, "regrade every graded attempt of this exercise", "E" },
	{ NULL },
};
static GOptionEntry override_options[] = {
	{ "verdict", 0, 0, G_OPTION_ARG_STRING, &opt_verdict, "ACCEPTED TESTS_FAILED BUILD_FAILED REJECTED INTERNAL_ERROR", "V" },
	{ "note", 0, 0, G_OPTION_ARG_STRING, &opt_note, "the staff note mailed to the student", "TEXT" },
	{ NULL },
};
static GOptionEntry stats_options[] = {
	{ "prometheus", 0, 0, G_OPTION_ARG_FILENAME, &opt_prometheus, "write node_exporter textfile-collector format to FILE (- for standard output)", "FILE" },
	{ "format", 0, 0, G_OPTION_ARG_STRING, &format_opt, "text (default), csv or json", "F" },
	{ NULL },
};
static GOptionEntry purge_options[] = {
	{ "older-than", 0, 0, G_OPTION_ARG_STRING, &opt_older, "attempts finished more than DAYS days ago", "DAYS" },
	{ NULL },
};
static GOptionEntry import_options[] = {
	{ "exercise", 'e', 0, G_OPTION_ARG_STRING, &opt_exercise, "the exercise of every message (like -e of sercom-deliver)", "E" },
	{ NULL },
};

static GOptionEntry reveal_options[] = {
	{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &opt_dry_run, "print who would get the final mail, send nothing", NULL },
	{ "force", 0, 0, G_OPTION_ARG_NONE, &opt_force, "before closes, with reveal_private = never, or while a student may still submit", NULL },
	{ NULL },
};

static const struct command commands[] = {
	{ "init", cmd_init, "", "Creates the instance's var/ tree (mail, attempts, outbox, FIFO) and database.", NULL },
	{ "roster", cmd_roster, "import FILE.csv",
	  "Loads students from a CSV with the header id,name,email (more email columns allowed).\n"
	  "Existing students are updated; addresses are compared case-insensitively.", NULL },
	{ "exercise", cmd_exercise, "list | check NAME|DIR",
	  "list: the exercises with their dates, cases and attempts.\n"
	  "check NAME|DIR: NAME is an exercise of [general] exercises, DIR (with a '/') any\n"
	  "definition's directory; validates an exercise definition and grades its solution/ through the\n"
	  "real pipeline (sandboxed build and cases); exit 0 only when it is ACCEPTED.", list_options },
	{ "attempts", cmd_attempts, "", "Lists attempts, newest last.", attempts_options },
	{ "show", cmd_show, "ID | STUDENT EXERCISE N",
	  "Everything about one attempt, private cases included, with the paths of its artifacts.\n"
	  "ID is the global id (sercom attempts); STUDENT EXERCISE N is the student's attempt N,\n"
	  "the number in the Subject of the reply (STUDENT: roster id or address).", list_options },
	{ "regrade", cmd_regrade, "ID | --exercise E",
	  "Queues graded attempts again; the old verdict goes to the history and the old results stay.", regrade_options },
	{ "resend", cmd_resend, "ID", "Composes and sends the reply of an attempt again.", NULL },
	{ "verify", cmd_verify, "ID FILE...",
	  "Tells whether each FILE is one the attempt's mail brought (the SHA-256 and size of a\n"
	  "line of its receipt); exit 0 when all match, 1 otherwise.", NULL },
	{ "override", cmd_override, "ID --verdict V --note TEXT",
	  "Sets an attempt's verdict by hand (a dispute settled) and mails the student the new verdict and the note.", override_options },
	{ "export", cmd_export, "grades",
	  "One row per student, one column per exercise with the grade of the attempt that counts\n"
	  "(best or last: --policy, default [mail] grade; late penalty applied, private\n"
	  "points included), and a total. JSON adds what each grade is made of.", grades_export_options },
	{ "reveal", cmd_reveal, "EXERCISE [--dry-run] [--force]",
	  "Mails each student of an exercise with reveal_private = after_close the final result of the\n"
	  "attempt that counts, private cases included, once (what the runner does when it closes).", reveal_options },
	{ "extend", cmd_extend, "STUDENT EXERCISE --until DATE [--attempts N] [--note TEXT]",
	  "Gives a student their own deadline (and attempt budget) for an exercise; replaces\n"
	  "the one they had. DATE as in exercise.conf: \"YYYY-MM-DD HH:MM\", server local time.", grades_extend_options },
	{ "extensions", cmd_extensions, "[--exercise E] [--student S]", "Lists the extensions granted, with who granted them and when.", grades_extensions_options },
	{ "stats", cmd_stats, "", "Queue length, queue and run times by exercise; mail waiting and held.", stats_options },
	{ "outbox", cmd_outbox, "[list|flush|retry --failed]",
	  "Lists the replies and their delivery state, sends the waiting ones now, or sends the FAILED ones again.",
	  outbox_options },
	{ "purge", cmd_purge, "--older-than DAYS", "Removes the artifacts of old attempts; the summary rows stay.", purge_options },
	{ "import-maildir", cmd_import, "DIR|MBOX",
	  "Feeds every message of a Maildir (new/ and cur/), a directory of mails (var/mail/held)\n"
	  "or an mbox through the same path as sercom-deliver, and records them now.", import_options },
	{ "recover", cmd_recover, "",
	  "Records the mail waiting in var/mail/new now (what the runner's ingester and\n"
	  "sercom-runner --once do), as the owner of var/.", NULL },
	{ "doctor", cmd_doctor, "",
	  "Checks the instance: config, templates, exercises, permissions of var/, the MTA route,\n"
	  "the runner, the log. Prints each problem with the command that fixes it; exit 0 when\n"
	  "nothing is wrong.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sercom [-c CONF] [-v] COMMAND [ARGS...]\n\ncommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->args);
	fprintf(f, "\n`sercom COMMAND --help` tells more. CONF defaults to $SERCOM_CONF, then /etc/sercom/sercom.conf.\n");
}

int main(int argc, char **argv)
{
	/* what staff commands create in var/ (the database, imported mail,
	 * resent replies) stays as private as the rest of the instance */
	umask(027);
	table_escape_stdio();
	const char *conf_path = NULL;
	bool verbose = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc)
			conf_path = argv[++i];
		else if (!strncmp(argv[i], "--config=", 9))
			conf_path = argv[i] + 9;
		else if (!strcmp(argv[i], "-v"))
			verbose = true;
		else if (!strcmp(argv[i], "--version")) {
			printf("sercom %s\n", SERCOM_VERSION);
			return EXIT_SUCCESS;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else {
			fprintf(stderr, "sercom: unknown option %s\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	const struct command *cmd = NULL;
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, argv[i]))
			cmd = c;
	if (!cmd) {
		fprintf(stderr, "sercom: unknown command '%s'\n", argv[i]);
		usage(stderr);
		return EX_USAGE;
	}
	log_init("sercom", false, verbose);
	int cargc = argc - i;
	char **cargv = argv + i;
	/* --help of a command works without a configuration */
	if (!parse_options(cmd, cmd->options, &cargc, &cargv))
		return EX_USAGE;
	struct admin a = { .conf_path = conf_path };
	GError *err = NULL;
	a.conf = conf_load(conf_path, &err);
	if (!a.conf && cmd->run == cmd_doctor) {
		int r = doctor_main(conf_path, NULL, err, cargc, cargv);
		g_error_free(err);
		return r;
	}
	if (!a.conf)
		return fail(err);
	int r = cmd->run(&a, cargc, cargv);
	store_close(a.store);
	conf_free(a.conf);
	return r;
}
