/* Unit tests of exercise: the argument parser's rules, the example
 * exercise conf/exercises/tp1 loaded field by field, its solution built
 * and run against every case (the example must be right), the errors a
 * teacher gets for each kind of mistake, lookup and the file rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "exercise.h"
#include "compare.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *tmpdir;
static char *top;   /* checkout root */

static int setup(void **state)
{
	tmpdir = g_dir_make_tmp("test_exercise.XXXXXX", NULL);
	const char *t = getenv("SERCOM_TOP");
	top = g_canonicalize_filename(t ? t : ".", NULL);
	return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
	util_rm_rf(tmpdir);
	g_free(tmpdir);
	g_free(top);
	return 0;
}

/* --- argument parser ------------------------------------------------------ */

static void args_are(const char *s, ...)
{
	char **argv = NULL;
	GError *err = NULL;
	if (!exercise_parse_args(s, &argv, &err))
		fail_msg("parse '%s': %s", s, err->message);
	va_list ap;
	va_start(ap, s);
	int i = 0;
	for (const char *want; (want = va_arg(ap, const char *)); i++) {
		if (!argv[i])
			fail_msg("parse '%s': only %d words, wanted '%s' next", s, i, want);
		if (strcmp(argv[i], want))
			fail_msg("parse '%s': word %d is '%s', wanted '%s'", s, i, argv[i], want);
	}
	va_end(ap);
	if (argv[i])
		fail_msg("parse '%s': extra word '%s'", s, argv[i]);
	g_strfreev(argv);
}

static void args_fail(const char *s, const char *msg)
{
	char **argv = (char **)1;
	GError *err = NULL;
	assert_false(exercise_parse_args(s, &argv, &err));
	assert_null(argv);
	assert_non_null(err);
	if (!strstr(err->message, msg))
		fail_msg("parse '%s': error '%s' lacks '%s'", s, err->message, msg);
	g_error_free(err);
}

static void test_parse_args(void **state)
{
	args_are("", NULL);
	args_are("   \t ", NULL);
	args_are(NULL, NULL);
	args_are("a", "a", NULL);
	args_are("  a   b\tc  ", "a", "b", "c", NULL);
	args_are("--verbose \"two words\" 'x y'", "--verbose", "two words", "x y", NULL);
	args_are("\"\" ''", "", "", NULL);
	args_are("a\"b c\"d 'e'f", "ab cd", "ef", NULL);
	args_are("\"it's\" 'say \"hi\"'", "it's", "say \"hi\"", NULL);
	args_are("a\\nb \\t \"x\\ty\" 'q\\nr'", "a\nb", "\t", "x\ty", "q\nr", NULL);
	args_are("\\\" \\' \\\\ a\\ b", "\"", "'", "\\", "a b", NULL);
	args_are("\"a \\\" b\"", "a \" b", NULL);
	args_are("\\d+ x\\y", "d+", "xy", NULL);   /* other escapes: the character itself */
	args_are("--label=\"a  b\"", "--label=a  b", NULL);
	args_fail("\"open", "unclosed \" quote");
	args_fail("a 'open", "unclosed ' quote (opened at character 3)");
	args_fail("\"a\\\"", "unclosed \" quote");
	args_fail("a\\", "backslash");
}

/* --- the example exercise ---------------------------------------------------- */

static struct exercise *load_tp1(void)
{
	g_autofree char *dir = g_build_filename(top, "conf", "exercises", "tp1", NULL);
	GError *err = NULL;
	struct exercise *e = exercise_load(NULL, dir, &err);
	if (!e)
		fail_msg("loading %s: %s", dir, err->message);
	return e;
}

static const struct test_case *case_named(const struct exercise *e, const char *name)
{
	for (guint i = 0; i < e->cases->len; i++) {
		const struct test_case *t = e->cases->pdata[i];
		if (!strcmp(t->name, name))
			return t;
	}
	fail_msg("no case %s", name);
	return NULL;
}

static void test_load_tp1(void **state)
{
	struct exercise *e = load_tp1();
	assert_string_equal(e->name, "tp1");
	assert_true(g_path_is_absolute(e->dir));
	assert_string_equal(e->title, "Sum and average of numbers");
	assert_int_equal(e->opens, 0);
	assert_true(e->closes > util_now() + 365 * 86400);
	assert_int_equal(e->max_attempts, 50);
	assert_string_equal(e->files[0], "*.c");
	assert_string_equal(e->files[1], "*.h");
	assert_null(e->files[2]);
	assert_string_equal(e->required[0], "tp.c");
	assert_null(e->required[1]);
	assert_string_equal(e->build[0], "make");
	assert_null(e->build[1]);
	assert_string_equal(e->run[0], "./tp");
	assert_int_equal(e->compare.mode, CMP_EXACT);
	assert_int_equal(e->late.mode, LATE_PENALTY);
	assert_true(e->late.pct_per_day == 10);
	assert_int_equal(e->late.max_days, 7);
	assert_true(e->charge_build_failures);
	assert_true(e->reveal_after_close);
	assert_false(e->private_counts);
	assert_int_equal(e->limits.cpu_ms, 1000);
	assert_int_equal(e->limits.memory, 64u << 20);
	assert_int_equal(e->limits.output, 256u << 10);
	assert_int_equal(e->build_limits.cpu_ms, 20000);
	assert_non_null(e->makefile);
	assert_non_null(e->solution_dir);
	assert_null(e->skeleton_dir);     /* tp1 needs none */

	assert_true(e->cases->len >= 8);
	for (guint i = 1; i < e->cases->len; i++)
		assert_true(strcmp(((struct test_case *)e->cases->pdata[i - 1])->name,
		                   ((struct test_case *)e->cases->pdata[i])->name) < 0);
	const struct test_case *t = case_named(e, "01-simple");
	assert_null(t->args[0]);
	assert_int_equal(t->exit_kind, EXIT_EXPECT_CODE);
	assert_int_equal(t->exit_code, 0);
	assert_false(t->is_private);
	assert_true(t->points == 2);
	assert_null(t->group);
	assert_non_null(t->stdin_path);
	assert_non_null(t->stdout_path);
	assert_null(t->stderr_path);
	assert_null(t->in_dir);
	assert_int_equal(t->limits.cpu_ms, 1000);

	t = case_named(e, "02-label-quotes");
	assert_string_equal(t->args[0], "--label");
	assert_string_equal(t->args[1], "my  numbers");
	assert_string_equal(t->args[2], "--input");
	assert_string_equal(t->args[3], "data file.txt");
	assert_null(t->args[4]);
	assert_int_equal(t->compare.mode, CMP_WHITESPACE);
	assert_null(t->stdin_path);
	assert_non_null(t->in_dir);

	t = case_named(e, "03-float");
	assert_int_equal(t->compare.mode, CMP_FLOAT);
	assert_true(t->compare.eps > 0.9e-9 && t->compare.eps < 1.1e-9);
	t = case_named(e, "04-bad-input");
	assert_int_equal(t->exit_kind, EXIT_EXPECT_NONZERO);
	assert_null(t->stdout_path);
	assert_string_equal(t->group, "errors");
	t = case_named(e, "05-files");
	assert_non_null(t->in_dir);
	assert_non_null(t->out_dir);
	assert_false(t->ignore_extra);
	t = case_named(e, "06-no-numbers");
	assert_int_equal(t->exit_code, 1);
	assert_non_null(t->stderr_path);
	assert_int_equal(t->compare.mode, CMP_LINES);
	assert_string_equal(t->group, "errors");
	t = case_named(e, "07-private-many");
	assert_true(t->is_private);
	assert_true(t->points == 3);
	t = case_named(e, "08-private-negative");
	assert_true(t->is_private);
	assert_int_equal(t->limits.cpu_ms, 500);          /* case override */
	assert_int_equal(t->limits.memory, 64u << 20);    /* exercise value */
	/* the points a teacher reads in the README: public 10, private 5 */
	struct score_case sc[16];
	assert_true(e->cases->len <= G_N_ELEMENTS(sc));
	for (guint i = 0; i < e->cases->len; i++) {
		const struct test_case *c = e->cases->pdata[i];
		sc[i] = (struct score_case){ .group = c->group, .points = c->points, .is_private = c->is_private, .passed = true };
	}
	struct score_total tot;
	score_cases(sc, e->cases->len, &tot);
	assert_true(tot.max_score == 10 && tot.private_max == 5);
	exercise_free(e);
}

/* --- running a submission against the cases, as plainly as possible ---------- */

static int spawn_wait(char **argv, const char *cwd, const char *in, const char *out, const char *err_path)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		int fi = open(in ? in : "/dev/null", O_RDONLY);
		int fo = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fi < 0 || fo < 0 || fe < 0)
			_exit(126);
		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		alarm(10);
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		;
	return st;
}

static bool build(const struct exercise *e, const char *src_dir, const char *build_dir)
{
	assert_int_equal(util_copy_tree(src_dir, build_dir), 0);
	g_autofree char *mk = g_build_filename(build_dir, "Makefile", NULL);
	g_autofree char *mkdata = NULL;
	gsize n;
	assert_true(g_file_get_contents(e->makefile, &mkdata, &n, NULL));
	assert_true(g_file_set_contents(mk, mkdata, (gssize)n, NULL));
	char *argv[] = { "make", "-s", NULL };
	int st = spawn_wait(argv, build_dir, NULL, NULL, NULL);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The names of a work dir's files, sorted, "tp" and the captured streams
 * left out. */
static char *listing(const char *dir)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *n;
	while (d && (n = g_dir_read_name(d)))
		if (strcmp(n, "tp") && strcmp(n, ".stdout") && strcmp(n, ".stderr"))
			g_ptr_array_add(a, g_strdup(n));
	if (d)
		g_dir_close(d);
	g_ptr_array_sort(a, (GCompareFunc)g_strcmp0);
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < a->len; i++)
		g_string_append_printf(s, "%s ", *(char **)&a->pdata[i]);
	g_ptr_array_free(a, TRUE);
	return g_string_free(s, FALSE);
}

/* Runs one case; returns NULL when it passes, else why it failed. */
static char *run_case(const struct test_case *t, const char *bin, const char *work)
{
	assert_int_equal(util_mkdir_p(work, 0755), 0);
	if (t->in_dir) {
		assert_int_equal(util_copy_tree(t->in_dir, work), 0);
	}
	g_autofree char *before = listing(work);
	g_autofree char *prog = g_build_filename(work, "tp", NULL);
	g_autofree char *bindata = NULL;
	gsize n;
	assert_true(g_file_get_contents(bin, &bindata, &n, NULL));
	assert_true(g_file_set_contents(prog, bindata, (gssize)n, NULL));
	chmod(prog, 0755);
	GPtrArray *argv = g_ptr_array_new();
	g_ptr_array_add(argv, "./tp");
	for (char **a = t->args; *a; a++)
		g_ptr_array_add(argv, *a);
	g_ptr_array_add(argv, NULL);
	g_autofree char *out = g_build_filename(work, ".stdout", NULL);
	g_autofree char *err = g_build_filename(work, ".stderr", NULL);
	int st = spawn_wait((char **)argv->pdata, work, t->stdin_path, out, err);
	g_ptr_array_free(argv, TRUE);
	if (!WIFEXITED(st))
		return g_strdup_printf("signal %d", WTERMSIG(st));
	int code = WEXITSTATUS(st);
	if ((t->exit_kind == EXIT_EXPECT_CODE && code != t->exit_code) ||
	    (t->exit_kind == EXIT_EXPECT_NONZERO && code == 0))
		return g_strdup_printf("exit %d", code);
	g_autofree char *note = NULL;
	if (t->stdout_path && compare_files(&t->compare, t->stdout_path, out, &note) != 1)
		return g_strdup_printf("stdout: %s", note ? note : "?");
	if (t->stderr_path && compare_files(&t->compare, t->stderr_path, err, &note) != 1)
		return g_strdup_printf("stderr: %s", note ? note : "?");
	g_autofree char *after = listing(work);
	GString *want = g_string_new(before);
	if (t->out_dir) {
		GDir *d = g_dir_open(t->out_dir, 0, NULL);
		const char *f;
		while ((f = g_dir_read_name(d))) {
			g_autofree char *e = g_build_filename(t->out_dir, f, NULL);
			g_autofree char *a = g_build_filename(work, f, NULL);
			g_clear_pointer(&note, g_free);
			if (compare_files(&t->compare, e, a, &note) != 1) {
				g_dir_close(d);
				g_string_free(want, TRUE);
				return g_strdup_printf("%s: %s", f, note ? note : "missing");
			}
			g_string_append_printf(want, "%s ", f);
		}
		g_dir_close(d);
	}
	/* new files beyond out/ */
	g_auto(GStrv) w = g_strsplit(g_strstrip(want->str), " ", -1);
	g_auto(GStrv) got = g_strsplit(g_strstrip(after), " ", -1);
	g_string_free(want, TRUE);
	if (!t->ignore_extra && g_strv_length(got) != g_strv_length(w))
		return g_strdup_printf("extra files: %s", after);
	return NULL;
}

/* Builds src_dir and runs every case: the number of failed cases. */
static int grade(const struct exercise *e, const char *src_dir, const char *tag, bool verbose)
{
	g_autofree char *bdir = g_build_filename(tmpdir, tag, "build", NULL);
	if (!build(e, src_dir, bdir))
		return -1;
	g_autofree char *bin = g_build_filename(bdir, "tp", NULL);
	int failed = 0;
	for (guint i = 0; i < e->cases->len; i++) {
		const struct test_case *t = e->cases->pdata[i];
		g_autofree char *work = g_build_filename(tmpdir, tag, "work", t->name, NULL);
		g_autofree char *why = run_case(t, bin, work);
		if (why) {
			failed++;
			if (verbose)
				print_message("# %s: case %s fails: %s\n", tag, t->name, why);
		}
	}
	return failed;
}

static void test_tp1_solution_passes(void **state)
{
	struct exercise *e = load_tp1();
	assert_int_equal(grade(e, e->solution_dir, "solution", true), 0);
	g_autofree char *subs = g_build_filename(top, "tests", "t", "submissions", "tp1", NULL);
	g_autofree char *correct = g_build_filename(subs, "correct", NULL);
	g_autofree char *warning = g_build_filename(subs, "warning", NULL);
	g_autofree char *wrong = g_build_filename(subs, "wrong-output", NULL);
	g_autofree char *nocompile = g_build_filename(subs, "nocompile", NULL);
	assert_int_equal(grade(e, correct, "correct", true), 0);
	assert_int_equal(grade(e, warning, "warning", true), 0);
	int w = grade(e, wrong, "wrong", false);
	assert_true(w > 0 && w < (int)e->cases->len);
	assert_int_equal(grade(e, nocompile, "nocompile", false), -1);
	exercise_free(e);
}

/* --- errors --------------------------------------------------------------------- */

static char *make_exercise(const char *name, const char *conf)
{
	char *dir = g_build_filename(tmpdir, "ex", name, NULL);
	util_rm_rf(dir);
	assert_int_equal(util_mkdir_p(dir, 0755), 0);
	g_autofree char *f = g_build_filename(dir, "exercise.conf", NULL);
	assert_true(g_file_set_contents(f, conf, -1, NULL));
	return dir;
}

static void add_case(const char *dir, const char *name, const char *conf)
{
	g_autofree char *cdir = g_build_filename(dir, "tests", name, NULL);
	assert_int_equal(util_mkdir_p(cdir, 0755), 0);
	if (conf) {
		g_autofree char *f = g_build_filename(cdir, "case.conf", NULL);
		assert_true(g_file_set_contents(f, conf, -1, NULL));
	}
}

static void load_fails(const char *dir, const char *want)
{
	GError *err = NULL;
	struct exercise *e = exercise_load(NULL, dir, &err);
	if (e)
		fail_msg("%s loaded; wanted the error '%s'", dir, want);
	assert_non_null(err);
	if (!strstr(err->message, want))
		fail_msg("error '%s' lacks '%s'", err->message, want);
	g_error_free(err);
}

static void case_fails(const char *case_conf, const char *want)
{
	g_autofree char *dir = make_exercise("bad", "[exercise]\ntitle = t\n");
	add_case(dir, "02", case_conf);
	g_autofree char *full = g_strdup_printf("%s/tests/02/case.conf: %s", dir, want);
	load_fails(dir, full);
}

static void test_errors(void **state)
{
	case_fails("[case]\nexit = x\n", "[case] exit: expected a number, 'nonzero' or 'any', got 'x'");
	case_fails("[case]\nexit = 256\n", "[case] exit: expected a number, 'nonzero' or 'any', got '256'");
	case_fails("[case]\nexit = -1\n", "[case] exit:");
	case_fails("[case]\nprivte = true\n", "[case] privte: unknown key (known: args, exit, private");
	case_fails("[case]\ncpu = 2s\n", "[case] cpu: unknown key");
	case_fails("[case]\ncpu = 2s\n", "[case] cpu: unknown key (known: args, exit, private, points, group, compare, ignore_extra); limits go in [limits]");
	case_fails("[cases]\nexit = 0\n", "[cases]: unknown group");
	case_fails("[case]\ncompare = fuzzy\n", "[case] compare: expected exact, lines, whitespace, float:EPS or checker:PROG, got 'fuzzy'");
	case_fails("[case]\ncompare = checker:check.sh\n", "[case] compare: checker check.sh: no such file");
	case_fails("[case]\ncompare = checker:../../etc/passwd\n", "[case] compare: expected checker:PROG");
	case_fails("[case]\nargs = --label \"open\n", "[case] args: unclosed \" quote");
	case_fails("[case]\nprivate = maybe\n", "[case] private: expected true or false");
	case_fails("[case]\npoints = lots\n", "[case] points: expected a number >= 0, got 'lots'");
	case_fails("[limits]\ncpu = fast\n", "[limits] cpu: expected a time");
	case_fails("[limits]\nspeed = 1\n", "[limits] speed: unknown key");
	case_fails("[case\n", "Key file contains line");

	g_autofree char *d = make_exercise("bad", "[exercise]\nopens = tomorrow\n");
	g_autofree char *want = g_strdup_printf("%s/exercise.conf: [exercise] opens: expected a date", d);
	load_fails(d, want);
	g_free(d);
	d = make_exercise("bad", "[exercise]\nlate = maybe\n");
	load_fails(d, "[exercise] late: expected reject, accept or 'penalty PCT per day [max DAYS]' (PCT 0 to 100), got 'maybe'");
	g_free(d);
	static const char *const bad_late[] = {
		"penalty 10", "penalty ten per day", "penalty 10 per week", "penalty 110 per day",
		"penalty 10 per day max", "penalty 10 per day max 0", "penalty 10 per day most 3",
		"penalty -5 per day",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad_late); i++) {
		g_autofree char *late_conf = g_strdup_printf("[exercise]\nlate = %s\n", bad_late[i]);
		g_autofree char *late_want = g_strdup_printf("[exercise] late: expected reject, accept or 'penalty PCT per day [max DAYS]' (PCT 0 to 100), got '%s'", bad_late[i]);
		d = make_exercise("bad", late_conf);
		load_fails(d, late_want);
		g_free(d);
	}
	d = make_exercise("bad", "[exercise]\nreveal_private = later\n");
	load_fails(d, "[exercise] reveal_private: expected never or after_close, got 'later'");
	g_free(d);
	d = make_exercise("bad", "[exercise]\ncharge_build_failures = sometimes\n");
	load_fails(d, "[exercise] charge_build_failures: expected true or false");
	g_free(d);
	/* a group split between public and private cases */
	d = make_exercise("bad", "[exercise]\n");
	add_case(d, "01", "[case]\ngroup = edge\n");
	add_case(d, "02", "[case]\ngroup = edge\nprivate = true\n");
	load_fails(d, "tests/02/case.conf: [case] group: group 'edge' mixes public and private cases (01 is public)");
	g_free(d);
	d = make_exercise("bad", "[exercise]\nmax_attempts = -1\n");
	load_fails(d, "[exercise] max_attempts: expected a number >= 0");
	g_free(d);
	d = make_exercise("bad", "[exercise]\nmax_attempts = ten\n");
	load_fails(d, "[exercise] max_attempts: expected a whole number");
	g_free(d);
	d = make_exercise("bad", "[exercise]\nbuild = \"\"\n");
	load_fails(d, "[exercise] build: expected a command");
	g_free(d);
	d = make_exercise("bad", "[exercise]\nrun = './tp\n");
	load_fails(d, "[exercise] run: unclosed ' quote");
	g_free(d);
	d = make_exercise("bad", "[exercise]\ntitel = x\n");
	load_fails(d, "[exercise] titel: unknown key");
	g_free(d);
	d = make_exercise("bad", "[exercise]\nopens = 2026-05-01 10:00\ncloses = 2026-04-01 10:00\n");
	load_fails(d, "[exercise] closes: it is not after opens");
	g_free(d);
	d = make_exercise("bad", "[limits]\ncpu = 1s\n");
	load_fails(d, "missing the [exercise] group");
	g_free(d);
	d = make_exercise("bad", "[exercise]\n[build-limits]\nmemory = lots\n");
	load_fails(d, "[build-limits] memory: expected a size");
	g_free(d);
	d = make_exercise("bad", "[exercise]\n");
	add_case(d, "01", "[case]\n");
	g_autofree char *stray = g_build_filename(d, "tests", "01", "stdout.txt", NULL);
	assert_true(g_file_set_contents(stray, "x\n", -1, NULL));
	load_fails(d, "tests/01/stdout.txt: unexpected file in a case");
	g_free(d);
	/* a link where a file belongs: could point anywhere on the host */
	d = make_exercise("bad", "[exercise]\n");
	add_case(d, "01", "[case]\n");
	g_autofree char *link = g_build_filename(d, "tests", "01", "stdout", NULL);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	load_fails(d, "tests/01/stdout: expected a regular file");
	g_free(d);
	g_autofree char *none = g_build_filename(tmpdir, "nonexistent", NULL);
	load_fails(none, "no such exercise directory");
	d = make_exercise("bad", "[exercise]\n");
	g_autofree char *conf = g_build_filename(d, "exercise.conf", NULL);
	unlink(conf);
	load_fails(d, "exercise.conf");
}

/* the grade keys: late penalty, charge_build_failures, reveal_private, groups */
static void test_grade_keys(void **state)
{
	g_autofree char *d = make_exercise("grades",
		"[exercise]\nlate = penalty 12.5 per day max 3\ncharge_build_failures = no\n"
		"reveal_private = after_close\n");
	add_case(d, "01", "[case]\npoints = 2\ngroup = edge\n");
	add_case(d, "02", "[case]\ngroup = edge\n");
	add_case(d, "03", "[case]\ngroup =\n");
	GError *err = NULL;
	struct exercise *e = exercise_load(NULL, d, &err);
	if (!e)
		fail_msg("%s", err->message);
	assert_int_equal(e->late.mode, LATE_PENALTY);
	assert_true(e->late.pct_per_day == 12.5);
	assert_int_equal(e->late.max_days, 3);
	assert_false(e->charge_build_failures);
	assert_true(e->reveal_after_close);
	struct test_case *c1 = e->cases->pdata[0], *c3 = e->cases->pdata[2];
	assert_string_equal(c1->group, "edge");
	assert_true(c1->points == 2);
	assert_null(c3->group);
	exercise_free(e);
	g_free(d);
	d = make_exercise("grades", "[exercise]\nlate = penalty 5 per day\n");
	e = exercise_load(NULL, d, &err);
	assert_non_null(e);
	assert_int_equal(e->late.mode, LATE_PENALTY);
	assert_int_equal(e->late.max_days, 0);
	exercise_free(e);
}

/* artifacts: what each case's work dir gets of the build dir (grade.c) */
static void test_artifacts(void **state)
{
	GError *err = NULL;
	g_autofree char *d = make_exercise("art", "[exercise]\n");
	struct exercise *e = exercise_load(NULL, d, &err);
	if (!e)
		fail_msg("%s", err->message);
	/* by default the program run names (./tp), and nothing else */
	assert_string_equal(e->artifacts[0], "tp");
	assert_null(e->artifacts[1]);
	/* the build area's caps, from the built-in [build-limits] */
	assert_int_equal(e->build_limits.space, 256u << 20);
	assert_int_equal(e->build_limits.inodes, 20000);
	exercise_free(e);
	g_free(d);

	d = make_exercise("art", "[exercise]\nrun = ./bin/prog --fast\n[build-limits]\nspace = 32M\ninodes = 500\n");
	e = exercise_load(NULL, d, &err);
	if (!e)
		fail_msg("%s", err->message);
	assert_string_equal(e->artifacts[0], "bin/prog");
	assert_int_equal(e->build_limits.space, 32u << 20);
	assert_int_equal(e->build_limits.inodes, 500);
	exercise_free(e);
	g_free(d);

	/* an interpreter from the box's PATH: no default, the teacher lists */
	d = make_exercise("art", "[exercise]\nrun = python3 main.py\n");
	e = exercise_load(NULL, d, &err);
	assert_non_null(e);
	assert_null(e->artifacts[0]);
	exercise_free(e);
	g_free(d);

	d = make_exercise("art", "[exercise]\nartifacts = tp data/*.txt  lib/*/x\n");
	e = exercise_load(NULL, d, &err);
	assert_non_null(e);
	assert_string_equal(e->artifacts[0], "tp");
	assert_string_equal(e->artifacts[1], "data/*.txt");
	assert_string_equal(e->artifacts[2], "lib/*/x");
	assert_null(e->artifacts[3]);
	exercise_free(e);
	g_free(d);

	/* a glob walks down the build dir, never up or out of it */
	static const char *const bad[] = { "../x", "/etc/passwd", "a/../../b", "./tp", "a//b" };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *conf = g_strdup_printf("[exercise]\nartifacts = tp %s\n", bad[i]);
		d = make_exercise("art", conf);
		g_autofree char *want = g_strdup_printf("[exercise] artifacts: expected globs of paths inside "
		                                        "the build dir (no leading /, no . or .. components), got '%s'",
		                                        bad[i]);
		load_fails(d, want);
		g_free(d);
	}
	/* the build area's keys belong to [build-limits] only */
	d = make_exercise("art", "[exercise]\n[limits]\nspace = 1G\n");
	load_fails(d, "[limits] space: unknown key (known: message_size, unpacked_size, files, cpu, wall, "
	              "memory, output, procs, file_size, min_interval, max_per_day); space and inodes go in [build-limits]");
	g_free(d);
	d = make_exercise("art", "[exercise]\n[build-limits]\nspace = 0\n");
	load_fails(d, "[build-limits] space: expected at least 1M");
	g_free(d);
	d = make_exercise("art", "[exercise]\n[build-limits]\ninodes = 10\n");
	load_fails(d, "[build-limits] inodes: expected at least 64");
}

static void test_defaults_and_checker(void **state)
{
	g_autofree char *d = make_exercise("plain", "[exercise]\ncompare = lines\nlate = accept\nprivate_counts = yes\n");
	add_case(d, "b-second", NULL);
	add_case(d, "a-first", "[case]\ncompare = exact\nexit = any\nignore_extra = true\n");
	add_case(d, ".hidden", NULL);
	g_autofree char *chk = g_build_filename(d, "check.sh", NULL);
	assert_true(g_file_set_contents(chk, "#!/bin/sh\nexit 0\n", -1, NULL));
	add_case(d, "c-checked", "[case]\ncompare = checker:check.sh\n");
	GError *err = NULL;
	struct exercise *e = exercise_load(NULL, d, &err);
	if (!e)
		fail_msg("%s", err->message);
	assert_string_equal(e->title, "plain");
	assert_string_equal(e->build[0], "make");
	assert_string_equal(e->run[0], "./tp");
	assert_int_equal(e->late.mode, LATE_ACCEPT);
	assert_true(e->private_counts);
	assert_int_equal(e->max_attempts, 0);
	assert_int_equal(e->opens, 0);
	assert_int_equal(e->closes, 0);
	assert_null(e->files[0]);
	assert_null(e->makefile);
	assert_null(e->skeleton_dir);
	struct limits def;
	conf_default_limits(&def);
	assert_int_equal(e->limits.cpu_ms, def.cpu_ms);
	assert_int_equal(e->cases->len, 3);
	const struct test_case *t = e->cases->pdata[0];
	assert_string_equal(t->name, "a-first");
	assert_int_equal(t->compare.mode, CMP_EXACT);
	assert_int_equal(t->exit_kind, EXIT_EXPECT_ANY);
	assert_true(t->ignore_extra);
	t = e->cases->pdata[1];
	assert_string_equal(t->name, "b-second");
	assert_int_equal(t->compare.mode, CMP_LINES);   /* the exercise's */
	assert_non_null(t->args);
	assert_null(t->args[0]);
	assert_int_equal(t->exit_kind, EXIT_EXPECT_CODE);
	assert_int_equal(t->exit_code, 0);
	assert_true(t->points == 1);
	assert_false(t->is_private);
	t = e->cases->pdata[2];
	assert_int_equal(t->compare.mode, CMP_CHECKER);
	assert_string_equal(t->compare.checker, "check.sh");
	exercise_free(e);
	exercise_free(NULL);
}

static void test_find_and_list(void **state)
{
	g_autofree char *root = g_build_filename(tmpdir, "instance", NULL);
	g_autofree char *ex = g_build_filename(root, "exercises", NULL);
	const char *names[] = { "TP2", "tp1", "algo" };
	for (int i = 0; i < 3; i++) {
		g_autofree char *d = g_build_filename(ex, names[i], NULL);
		assert_int_equal(util_mkdir_p(d, 0755), 0);
		g_autofree char *f = g_build_filename(d, "exercise.conf", NULL);
		g_autofree char *c = g_strdup_printf("[exercise]\ntitle = %s\n[limits]\ncpu = 3s\n", names[i]);
		assert_true(g_file_set_contents(f, c, -1, NULL));
	}
	/* an exercise linked from elsewhere (the teachers' checkout) */
	g_autofree char *tp1 = g_build_filename(top, "conf", "exercises", "tp1", NULL);
	g_autofree char *linked = g_build_filename(ex, "linked", NULL);
	assert_int_equal(util_mkdir_p(ex, 0755), 0);
	assert_int_equal(symlink(tp1, linked), 0);
	g_autofree char *notex = g_build_filename(ex, "notes", NULL);
	assert_int_equal(util_mkdir_p(notex, 0755), 0);

	struct sercom_conf c = { .exercises = ex };
	conf_default_limits(&c.limits);
	conf_default_build_limits(&c.build_limits);
	c.limits.memory = 12345678;
	g_auto(GStrv) list = exercise_list_names(&c);
	assert_int_equal(g_strv_length(list), 4);
	assert_string_equal(list[0], "TP2");
	assert_string_equal(list[1], "algo");
	assert_string_equal(list[2], "linked");
	assert_string_equal(list[3], "tp1");

	GError *err = NULL;
	struct exercise *e = exercise_find(&c, "tp2", &err);
	assert_non_null(e);
	assert_string_equal(e->name, "TP2");
	assert_int_equal(e->limits.cpu_ms, 3000);          /* exercise */
	assert_int_equal(e->limits.memory, 12345678);      /* instance */
	exercise_free(e);
	e = exercise_find(&c, "ALGO", &err);
	assert_non_null(e);
	exercise_free(e);
	e = exercise_find(&c, "linked", &err);
	if (!e)
		fail_msg("%s", err->message);
	assert_true(e->cases->len >= 8);
	exercise_free(e);
	const char *bad[] = { "nope", "notes", "../exercises/tp1", "tp1/", "", ".", NULL };
	for (int i = 0; bad[i]; i++) {
		assert_null(exercise_find(&c, bad[i], &err));
		assert_int_equal(err->code, ENOENT);
		g_clear_error(&err);
	}
}

static void test_file_rules(void **state)
{
	struct exercise e = { 0 };
	char *files[] = { "*.c", "*.h", "docs/*.txt", NULL };
	char *required[] = { "tp.c", "*.h", "docs/*.txt", NULL };
	e.files = files;
	e.required = required;
	assert_true(exercise_file_accepted(&e, "tp.c"));
	assert_true(exercise_file_accepted(&e, "src/list.c"));
	assert_true(exercise_file_accepted(&e, "list.h"));
	assert_true(exercise_file_accepted(&e, "docs/notes.txt"));
	assert_false(exercise_file_accepted(&e, "notes.txt"));
	assert_false(exercise_file_accepted(&e, "docs/sub/notes.txt"));
	assert_false(exercise_file_accepted(&e, "tp"));
	assert_false(exercise_file_accepted(&e, "tp.c.orig"));
	assert_false(exercise_file_accepted(&e, ".hidden.c"));

	char *names1[] = { "tp.c", "tp.h", "docs/a.txt", NULL };
	g_auto(GStrv) m1 = exercise_missing_required(&e, names1);
	assert_null(m1[0]);
	char *names2[] = { "main.c", NULL };
	g_auto(GStrv) m2 = exercise_missing_required(&e, names2);
	assert_string_equal(m2[0], "tp.c");
	assert_string_equal(m2[1], "*.h");
	assert_string_equal(m2[2], "docs/*.txt");
	assert_null(m2[3]);
	g_auto(GStrv) m3 = exercise_missing_required(&e, NULL);
	assert_int_equal(g_strv_length(m3), 3);

	char *none[] = { NULL };
	e.files = none;
	e.required = none;
	assert_true(exercise_file_accepted(&e, "anything.bin"));
	g_auto(GStrv) m4 = exercise_missing_required(&e, names2);
	assert_null(m4[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_args),
		cmocka_unit_test(test_load_tp1),
		cmocka_unit_test(test_tp1_solution_passes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_grade_keys),
		cmocka_unit_test(test_defaults_and_checker),
		cmocka_unit_test(test_find_and_list),
		cmocka_unit_test(test_file_rules),
		cmocka_unit_test(test_artifacts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
