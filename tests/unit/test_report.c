/* Unit and golden tests of report.c: the result page of a graded attempt in
 * English and Spanish (tests/golden/report.html, report-es.html, rendered
 * from the checkout's conf/templates), the staff's page with the private
 * cases, the input cuts, escaping of hostile names, and a Spanish page
 * without an English verdict word.
 *
 * The goldens are what the code writes, compared byte for byte;
 * SERCOM_GOLDEN_UPDATE=1 rewrites them and fails, so an update is never a
 * green run: review `git diff tests/golden`, run again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "report.h"
#include "util.h"

#include <string.h>
#include <unistd.h>

struct fx {
	char *dir;                 /* the exercise's tests/ in a temp dir */
	struct exercise e;
	struct queue_outcome o;
	struct score_total score;
	GHashTable *html;
	struct report_diff_words words;
};

static const char *top(void)
{
	const char *t = getenv("SERCOM_TOP");
	return t ? t : ".";
}

static struct tpl *lang(const char *l)
{
	struct sercom_conf c = { 0 };
	g_autofree char *dir = g_build_filename(top(), "conf", "templates", NULL);
	c.templates = dir;
	c.language = (char *)l;
	GError *e = NULL;
	struct tpl *t = tpl_load(&c, &e);
	if (!t)
		fail_msg("templates: %s", e->message);
	return t;
}

static char *put(struct fx *f, const char *rel, const char *data, size_t n)
{
	char *p = g_build_filename(f->dir, rel, NULL);
	g_autofree char *d = g_path_get_dirname(p);
	assert_int_equal(g_mkdir_with_parents(d, 0755), 0);
	assert_true(g_file_set_contents(p, data, (gssize)n, NULL));
	return p;
}

static struct test_case *add_case(struct fx *f, const char *name, double points, const char *group,
                                  bool priv)
{
	struct test_case *tc = g_new0(struct test_case, 1);
	tc->name = g_strdup(name);
	tc->points = points;
	tc->group = g_strdup(group);
	tc->is_private = priv;
	tc->limits = (struct limits){ .cpu_ms = 2000, .wall_ms = 5000, .memory = 256u << 20,
	                              .output = 1u << 20 };
	g_ptr_array_add(f->e.cases, tc);
	return tc;
}

static void add_result(struct fx *f, const char *name, enum case_verdict verdict, int64_t exit_code,
                       int64_t sig, int64_t cpu, int64_t wall, int64_t rss, const char *note,
                       const char *diffs, bool priv)
{
	struct queue_result *r = g_new0(struct queue_result, 1);
	*r = (struct queue_result){ .case_name = g_strdup(name), .verdict = verdict,
	                            .exit_code = exit_code, .signal = sig, .cpu_ms = cpu,
	                            .wall_ms = wall, .max_rss_kib = rss, .note = g_strdup(note),
	                            .diffs = g_strdup(diffs), .is_private = priv };
	g_ptr_array_add(f->o.results, r);
}

/* A side-by-side fragment for results.diffs name, as grade.c renders it. */
static void add_diff(struct fx *f, const char *name, const char *exp, size_t el, const char *act,
                     size_t al)
{
	struct diff *d = diff_buffers(exp, el, act, al);
	struct diff_options o = { .context = 3 };
	report_diff_options(&f->words, &o);
	GString *h = diff_html(d, &o);
	g_hash_table_replace(f->html, g_strdup(name), g_string_free(h, FALSE));
	diff_free(d);
}

static void case_free(gpointer p)
{
	struct test_case *tc = p;
	g_free(tc->name);
	g_free(tc->group);
	g_strfreev(tc->args);
	g_free(tc->stdin_path);
	g_free(tc->in_dir);
	g_free(tc);
}

/* tp1 with six cases: a pass, a wrong output (args, stdin), a crash (a
 * long stdin cut at 40 lines; in/ with a short, a long and a binary file),
 * a group of two that scores zero (a time limit, a wrong exit with a
 * binary output file), and a failing private case. */
static void fx_init(struct fx *f, const struct tpl *t)
{
	memset(f, 0, sizeof *f);
	f->dir = g_dir_make_tmp("test_report.XXXXXX", NULL);
	assert_non_null(f->dir);
	static char *run[] = { "./tp", NULL };
	f->e.name = "tp1";
	f->e.title = "Sum";
	f->e.run = run;
	f->e.cases = g_ptr_array_new_with_free_func(case_free);
	f->o = (struct queue_outcome){ .verdict = VERDICT_TESTS_FAILED, .build = "WARNINGS",
	                               .results = g_ptr_array_new_with_free_func((GDestroyNotify)queue_result_free) };
	f->html = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	report_diff_words(t, &f->words);

	add_case(f, "01-basic", 1, NULL, false);
	struct test_case *c2 = add_case(f, "02-negative", 2, NULL, false);
	c2->args = g_strdupv((char *[]){ "--sum", "two words", "it's", NULL });
	c2->stdin_path = put(f, "02/stdin", "2 -3\n", 5);
	struct test_case *c3 = add_case(f, "03-crash", 1, NULL, false);
	GString *lines = g_string_new(NULL);
	for (int i = 1; i <= 100; i++)
		g_string_append_printf(lines, "%d %d\n", i, -i);
	c3->stdin_path = put(f, "03/stdin", lines->str, lines->len);
	g_string_free(lines, TRUE);
	g_autofree char *a = put(f, "03/in/a.txt", "alpha\nbeta\n", 11);
	GString *longline = g_string_new(NULL);
	for (int i = 0; i < 600; i++)
		g_string_append(longline, "0123456789");
	g_autofree char *b = put(f, "03/in/sub/long.txt", longline->str, longline->len);
	g_string_free(longline, TRUE);
	g_autofree char *c = put(f, "03/in/blob.bin", "\x7f" "ELF\0\0\0\1", 8);
	c3->in_dir = g_build_filename(f->dir, "03", "in", NULL);
	add_case(f, "04-slow", 1, "edge", false);
	add_case(f, "05-exit", 1, "edge", false);
	add_case(f, "06-private", 2, NULL, true);

	add_result(f, "01-basic", CASE_PASS, 0, 0, 3, 5, 1180, NULL, NULL, false);
	add_result(f, "02-negative", CASE_WRONG_OUTPUT, 0, 0, 4, 6, 1204, "stdout differs",
	           "02-negative.stdout.diff", false);
	add_result(f, "03-crash", CASE_SIGNAL, -1, 11, 2, 3, 1100, "killed by SIGSEGV", NULL, false);
	add_result(f, "04-slow", CASE_TIME_LIMIT, -1, 0, 2010, 2040, 1300, "TIME_LIMIT", NULL, false);
	add_result(f, "05-exit", CASE_WRONG_EXIT, 3, 0, 3, 4, 1150, "exit code 3, expected 0",
	           "05-exit.file.out.txt.diff", false);
	add_result(f, "06-private", CASE_WRONG_OUTPUT, 0, 0, 3, 4, 1150, "stdout differs",
	           "private/06-private.stdout.diff", true);
	static const char exp1[] = "sum of 2 and -3\n-1\nnegative numbers: 1\nbye\n";
	static const char act1[] = "sum of 2 and -3\n1\nnegative numbers: 0\nbye\n";
	static const char exp2[] = "line one\nx\0y\n";
	static const char act2[] = "line one\nx\0z\n";
	add_diff(f, "02-negative.stdout.diff", exp1, sizeof exp1 - 1, act1, sizeof act1 - 1);
	add_diff(f, "05-exit.file.out.txt.diff", exp2, sizeof exp2 - 1, act2, sizeof act2 - 1);
	add_diff(f, "private/06-private.stdout.diff", "PRIVATE-EXPECTED\n", 17, "nope\n", 5);
	/* the points as grading puts them on the results (score_cases) */
	struct score_case sc[6];
	for (guint i = 0; i < 6; i++) {
		const struct test_case *tc = g_ptr_array_index(f->e.cases, i);
		const struct queue_result *r = g_ptr_array_index(f->o.results, i);
		sc[i] = (struct score_case){ .group = tc->group, .points = tc->points,
		                             .is_private = tc->is_private, .passed = r->verdict == CASE_PASS };
	}
	score_cases(sc, 6, &f->score);
	for (guint i = 0; i < 6; i++) {
		struct queue_result *r = g_ptr_array_index(f->o.results, i);
		r->points = sc[i].points;
		r->earned = sc[i].earned;
	}
	assert_true(f->score.score == 1 && f->score.max_score == 6 && f->score.private_max == 2);
}

static void fx_clear(struct fx *f)
{
	util_rm_rf(f->dir);
	g_free(f->dir);
	g_ptr_array_free(f->e.cases, TRUE);
	queue_outcome_clear(&f->o);
	g_hash_table_destroy(f->html);
	report_diff_words_clear(&f->words);
}

static GString *render(struct fx *f, const struct tpl *t, bool with_private)
{
	struct report_page p = { .e = &f->e, .o = &f->o, .score = &f->score, .diff_html = f->html,
	                         .t = t, .with_private = with_private };
	return report_render(&p);
}

static void golden(const char *name, const GString *page)
{
	g_autofree char *path = g_strdup_printf("%s/tests/golden/%s", top(), name);
	if (getenv("SERCOM_GOLDEN_UPDATE")) {
		assert_true(g_file_set_contents(path, page->str, (gssize)page->len, NULL));
		fail_msg("%s rewritten: review git diff, then run again without SERCOM_GOLDEN_UPDATE", path);
	}
	g_autofree char *want = NULL;
	gsize wlen = 0;
	if (!g_file_get_contents(path, &want, &wlen, NULL))
		fail_msg("%s missing (run from the checkout, or set SERCOM_TOP)", path);
	if (wlen != page->len || memcmp(want, page->str, wlen)) {
		g_autofree char *got = g_strdup_printf("%s/%s.got", g_get_tmp_dir(), name);
		g_file_set_contents(got, page->str, (gssize)page->len, NULL);
		fail_msg("report.c's page differs from %s (diff -u %s %s)", path, path, got);
	}
}

static void test_golden_en(void **state)
{
	(void)state;
	struct tpl *t = lang("en");
	struct fx f;
	fx_init(&f, t);
	GString *page = render(&f, t, false);
	golden("report.html", page);
	g_string_free(page, TRUE);
	fx_clear(&f);
	tpl_free(t);
}

static void test_golden_es(void **state)
{
	(void)state;
	struct tpl *t = lang("es");
	struct fx f;
	fx_init(&f, t);
	GString *page = render(&f, t, false);
	golden("report-es.html", page);
	g_string_free(page, TRUE);
	fx_clear(&f);
	tpl_free(t);
}

/* What the student's page promises: verdict and score at the top, every
 * public case in the table, a failing case's command line and input, and
 * never a private case nor a script. */
static void test_content(void **state)
{
	(void)state;
	struct tpl *t = lang("en");
	struct fx f;
	fx_init(&f, t);
	GString *page = render(&f, t, false);
	const char *s = page->str;
	const char *verdict = strstr(s, "<p class=\"verdict\">TESTS FAILED</p>");
	const char *table = strstr(s, "<table class=\"cases\">");
	assert_non_null(verdict);
	assert_non_null(table);
	assert_true(verdict < table);
	assert_non_null(strstr(s, "Score: 1 of 6 (public cases)"));
	assert_non_null(strstr(s, "Points of the private cases (not shown here): 2."));
	assert_non_null(strstr(s, "name=\"viewport\""));
	for (int i = 1; i <= 5; i++) {
		g_autofree char *row = g_strdup_printf("\">0%d-", i);
		assert_non_null(strstr(table, row));
	}
	assert_null(strstr(s, "06-private"));
	assert_null(strstr(s, "PRIVATE-EXPECTED"));
	assert_null(strstr(s, "<script"));
	/* the words of the reply, limits in them; the limit that stopped it */
	assert_non_null(strstr(s, "killed by SIGSEGV (segmentation fault)"));
	assert_non_null(strstr(s, "CPU time limit of 2 s exceeded"));
	assert_non_null(strstr(s, "<td class=\"n over\" data-label=\"CPU time\">2.01 s / 2 s</td>"));
	assert_non_null(strstr(s, "exit code 3, expected 0"));
	/* the group scores zero: 0 of 1 for both of its cases */
	assert_non_null(strstr(s, "group edge"));
	/* the command line, shell-quoted */
	assert_non_null(strstr(s, "<pre>./tp --sum &#39;two words&#39; &#39;it&#39;\\&#39;&#39;s&#39;</pre>"));
	assert_non_null(strstr(s, "<pre class=\"in\">2 -3\n</pre>"));
	/* stdin of 100 lines: 40 shown, then the note */
	assert_non_null(strstr(s, "40 -40\n</pre>"));
	assert_null(strstr(s, "41 -41"));
	assert_non_null(strstr(s, "Cut here: the first"));
	/* in/ files: sorted, the long one cut at 4 KiB, the binary named */
	const char *ia = strstr(s, "Input file a.txt"), *ib = strstr(s, "Input file blob.bin"),
	           *il = strstr(s, "Input file sub/long.txt");
	assert_true(ia && ib && il && ia < ib && ib < il);
	assert_non_null(strstr(s, "the first 4 KiB of 6000 bytes are shown"));
	assert_non_null(strstr(s, "(a binary file of 8 bytes, not shown)"));
	/* the diffs, in the page's words */
	assert_non_null(strstr(s, "stdout: expected and yours, side by side"));
	assert_non_null(strstr(s, "<th colspan=\"2\">expected</th><th colspan=\"2\">yours</th>"));
	assert_non_null(strstr(s, "binary (first difference at byte 12)"));
	g_string_free(page, TRUE);

	/* the staff's page: the private case, its diff and its score */
	page = render(&f, t, true);
	assert_non_null(strstr(page->str, "06-private"));
	assert_non_null(strstr(page->str, "PRIVATE-EXPECTED"));
	assert_non_null(strstr(page->str, "Private cases: 0 of 2"));
	g_string_free(page, TRUE);
	fx_clear(&f);
	tpl_free(t);
}

/* Whether w occurs in s as a word (no ASCII letter on either side):
 * "Result" is not in "Resultado". */
static bool has_word(const char *s, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = strstr(s, w); p; p = strstr(p + 1, w))
		if ((p == s || !g_ascii_isalpha(p[-1])) && !g_ascii_isalpha(p[n]))
			return true;
	return false;
}

/* What a reader sees of a page: the text, and the attribute values shown
 * (data-label, on a narrow screen) or hovered (title); not the CSS, the
 * tags or the class names. */
static char *visible(const char *page)
{
	g_autoptr(GRegex) style = g_regex_new("<style>.*?</style>", G_REGEX_DOTALL, 0, NULL);
	g_autoptr(GRegex) attr = g_regex_new("(?:data-label|title)=\"([^\"]*)\"", 0, 0, NULL);
	g_autoptr(GRegex) tag = g_regex_new("<[^>]*>", 0, 0, NULL);
	g_autofree char *nostyle = g_regex_replace_literal(style, page, -1, 0, "", 0, NULL);
	g_autofree char *attrs = g_regex_replace(attr, nostyle, -1, 0, "> \\1 <", 0, NULL);
	return g_regex_replace_literal(tag, attrs, -1, 0, " ", 0, NULL);
}

/* A Spanish page has no English verdict or case word. */
static void test_spanish(void **state)
{
	(void)state;
	struct tpl *t = lang("es");
	struct fx f;
	fx_init(&f, t);
	GString *page = render(&f, t, true);
	g_autofree char *text = visible(page->str);
	assert_non_null(strstr(text, "Prueba"));
	static const char *const english[] = {
		"ACCEPTED", "TESTS FAILED", "TESTS_FAILED", "BUILD FAILED", "WRONG_OUTPUT",
		"WRONG_EXIT", "TIME_LIMIT", "SIGNAL", "PASS", "passed", "failed", "expected",
		"differs", "exceeded", "Score", "Case", "Result", "Memory", "Command", "input",
		"binary", "yours", "truncated", "killed", "private cases", NULL };
	for (int i = 0; english[i]; i++)
		if (has_word(text, english[i]))
			fail_msg("the Spanish page holds \"%s\"", english[i]);
	assert_non_null(strstr(page->str, "FALLA PRUEBAS"));
	assert_non_null(strstr(page->str, "lang=\"es\""));
	g_string_free(page, TRUE);
	fx_clear(&f);
	tpl_free(t);
}

/* Names and verdicts that are not ours to trust (an output file's name is
 * the teacher's, a note may quote the program) are escaped: no markup of
 * theirs reaches the page. results.diffs is space-separated, so the name
 * has tabs where an attacker would put spaces. */
static void test_hostile_names(void **state)
{
	(void)state;
	struct tpl *t = lang("en");
	struct fx f;
	fx_init(&f, t);
	struct queue_result *r = g_ptr_array_index(f.o.results, 1);
	g_free(r->diffs);
	r->diffs = g_strdup("02-negative.file.<img\tsrc=x\tonerror=alert(1)>.diff");
	add_diff(&f, r->diffs, "a\n", 2, "b\n", 2);
	r = g_ptr_array_index(f.o.results, 3);
	/* a verdict is an enum: markup could come in the note, shown as the
	 * forbidden system call's name */
	r->verdict = CASE_FORBIDDEN_SYSCALL;
	g_free(r->note);
	r->note = g_strdup("WEIRD<script>");
	GString *page = render(&f, t, false);
	assert_null(strstr(page->str, "<img"));
	assert_null(strstr(page->str, "<script"));
	assert_non_null(strstr(page->str, "output file &lt;img\tsrc=x\tonerror=alert(1)&gt; differs"));
	assert_non_null(strstr(page->str, "WEIRD&lt;script&gt;"));
	g_string_free(page, TRUE);
	fx_clear(&f);
	tpl_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_en),
		cmocka_unit_test(test_golden_es),
		cmocka_unit_test(test_content),
		cmocka_unit_test(test_spanish),
		cmocka_unit_test(test_hostile_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
