/* Unit tests of diff: the unified diff applied back (by an applier here and
 * by patch(1)) yields the actual output, its size is minimal against GNU
 * diff -u on small random inputs, exact GNU format on known cases, binary
 * detection, truncation, HTML escaping and well-formedness, and hostile
 * 10 MB inputs in bounded time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "diff.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *tmpdir;

/* CPU milliseconds of this process: the bounds are about work, and a
 * loaded CI machine must not fail them */
static int64_t cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* time limits stretch under the sanitizers (make check SANITIZE=1) */
#if defined(__SANITIZE_ADDRESS__)
#define SLOW 6
#else
#define SLOW 1
#endif

static int setup(void **state)
{
	tmpdir = g_dir_make_tmp("test_diff.XXXXXX", NULL);
	return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
	util_rm_rf(tmpdir);
	g_free(tmpdir);
	return 0;
}

static GString *unified(const char *a, const char *b, int ctx, size_t max)
{
	struct diff *d = diff_buffers(a, strlen(a), b, strlen(b));
	struct diff_options o = { .context = ctx, .max_output = max };
	GString *s = diff_unified(d, &o);
	diff_free(d);
	return s;
}

/* Splits into lines that keep their '\n'. */
static GPtrArray *lines_of(const char *s)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);
		g_ptr_array_add(a, g_strndup(s, n));
		s += n;
	}
	return a;
}

/* Applies a unified diff to orig, checking every context and deleted line
 * and every hunk header count; fails the test on any mismatch. */
static char *apply(const char *orig, const char *patch)
{
	GPtrArray *ol = lines_of(orig), *pl = lines_of(patch);
	GString *out = g_string_new(NULL);
	guint oi = 0, pi = 0;
	if (pl->len && g_str_has_prefix(pl->pdata[0], "--- "))
		pi = 2;
	while (pi < pl->len) {
		unsigned long a, b = 1, c, dd = 1;
		const char *h = pl->pdata[pi++];
		char *p = (char *)h;
		if (strncmp(p, "@@ -", 4))
			fail_msg("not a hunk header: %s", h);
		a = strtoul(p + 4, &p, 10);
		if (*p == ',')
			b = strtoul(p + 1, &p, 10);
		if (strncmp(p, " +", 2))
			fail_msg("bad hunk header: %s", h);
		c = strtoul(p + 2, &p, 10);
		if (*p == ',')
			dd = strtoul(p + 1, &p, 10);
		(void)c;
		unsigned long start = b ? a - 1 : a;   /* 0-based first line of the hunk */
		while (oi < start)
			g_string_append(out, ol->pdata[oi++]);
		unsigned long seen_old = 0, seen_new = 0;
		while (pi < pl->len) {
			const char *l = pl->pdata[pi];
			if (l[0] != ' ' && l[0] != '-' && l[0] != '+')
				break;
			pi++;
			g_autofree char *text = g_strdup(l + 1);
			if (pi < pl->len && ((char *)pl->pdata[pi])[0] == '\\') {
				size_t n = strlen(text);
				if (n && text[n - 1] == '\n')
					text[n - 1] = 0;
				pi++;
			}
			if (l[0] != '+') {
				if (oi >= ol->len || strcmp(ol->pdata[oi], text))
					fail_msg("line %u of the original does not match the diff: %s", oi + 1, l);
				oi++;
				seen_old++;
			}
			if (l[0] != '-') {
				g_string_append(out, text);
				seen_new++;
			}
		}
		if (seen_old != b || seen_new != dd)
			fail_msg("hunk %s counts %lu,%lu lines", h, seen_old, seen_new);
	}
	while (oi < ol->len)
		g_string_append(out, ol->pdata[oi++]);
	g_ptr_array_free(ol, TRUE);
	g_ptr_array_free(pl, TRUE);
	return g_string_free(out, FALSE);
}

static size_t changed_lines(const char *u)
{
	size_t n = 0;
	for (const char *p = u; *p;) {
		if ((*p == '-' && strncmp(p, "--- ", 4)) || (*p == '+' && strncmp(p, "+++ ", 4)))
			n++;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

static char *write_tmp(const char *name, const char *data, size_t n)
{
	char *p = g_build_filename(tmpdir, name, NULL);
	assert_true(g_file_set_contents(p, data, (gssize)n, NULL));
	return p;
}

static char *run(char **argv, int *status)
{
	char *out = NULL;
	GError *err = NULL;
	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
	                  &out, NULL, status, &err))
		fail_msg("%s: %s", argv[0], err->message);
	return out;
}

static void test_equal_and_empty(void **state)
{
	struct diff *d = diff_buffers("a\n", 2, "a\n", 2);
	assert_true(diff_equal(d));
	assert_false(diff_binary(d, NULL));
	GString *u = diff_unified(d, NULL), *h = diff_html(d, NULL);
	assert_int_equal(u->len, 0);
	assert_int_equal(h->len, 0);
	g_string_free(u, TRUE);
	g_string_free(h, TRUE);
	diff_free(d);
	diff_free(NULL);

	GString *s = unified("", "x\ny\n", 3, 0);
	assert_string_equal(s->str, "--- expected\n+++ actual\n@@ -0,0 +1,2 @@\n+x\n+y\n");
	g_string_free(s, TRUE);
	s = unified("x\n", "", 3, 0);
	assert_string_equal(s->str, "--- expected\n+++ actual\n@@ -1 +0,0 @@\n-x\n");
	g_string_free(s, TRUE);
}

/* The exact text of GNU diff -u on known cases (headers aside). */
static void test_gnu_format(void **state)
{
	struct {
		const char *a, *b;
	} cases[] = {
		{ "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n" },
		{ "a\nb\nc\n", "a\nb\nc" },
		{ "a\nb\nc", "a\nb\nd" },
		{ "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n", "0\n1\n2\n3\n4\n5\n6\n7\n8\n10\n11\n12\n13\n14\n15\n16\nX\n" },
		{ "a\n", "b\n" },
		{ "sum: 10.00\naverage: 2.50\n", "sum: 10.00\naverage: 2.00\n" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *pa = write_tmp("a", cases[i].a, strlen(cases[i].a));
		g_autofree char *pb = write_tmp("b", cases[i].b, strlen(cases[i].b));
		int st;
		char *argv[] = { "diff", "-u", "--label", "expected", "--label", "actual", pa, pb, NULL };
		g_autofree char *gnu = run(argv, &st);
		GString *ours = unified(cases[i].a, cases[i].b, 3, 0);
		assert_string_equal(ours->str, gnu);
		g_autofree char *back = apply(cases[i].a, ours->str);
		assert_string_equal(back, cases[i].b);
		g_string_free(ours, TRUE);
	}
}

/* Random small pairs over a small alphabet of lines (so there is much to
 * align): applying our diff gives the actual text, patch(1) agrees, and
 * no more lines change than in GNU diff's output (ours is minimal). */
static void test_random_against_gnu(void **state)
{
	GRand *r = g_rand_new_with_seed(42);
	const char *words[] = { "a", "b", "c", "d", "e", "", "  x", "sum: 1" };
	g_autofree char *patch_prog = g_find_program_in_path("patch");
	bool have_patch = patch_prog != NULL;
	for (int iter = 0; iter < 300; iter++) {
		GString *a = g_string_new(NULL), *b = g_string_new(NULL);
		int na = g_rand_int_range(r, 0, 30), nb = g_rand_int_range(r, 0, 30);
		for (int i = 0; i < na; i++)
			g_string_append_printf(a, "%s\n", words[g_rand_int_range(r, 0, 8)]);
		if (iter % 3 == 0) {
			/* b as an edit of a */
			g_string_assign(b, a->str);
			for (int k = 0; k < 3 && b->len; k++) {
				gsize at = (gsize)g_rand_int_range(r, 0, (gint32)b->len);
				g_string_insert(b, (gssize)at, words[g_rand_int_range(r, 0, 8)]);
			}
		} else {
			for (int i = 0; i < nb; i++)
				g_string_append_printf(b, "%s\n", words[g_rand_int_range(r, 0, 8)]);
		}
		if (iter % 5 == 0 && a->len)
			g_string_truncate(a, a->len - 1);   /* no final newline */
		int ctx = iter % 4;
		GString *u = unified(a->str, b->str, ctx, 0);
		g_autofree char *back = apply(a->str, u->str);
		assert_string_equal(back, b->str);

		g_autofree char *pa = write_tmp("a", a->str, a->len);
		g_autofree char *pb = write_tmp("b", b->str, b->len);
		g_autofree char *cflag = g_strdup_printf("-U%d", ctx);
		int st;
		char *argv[] = { "diff", cflag, "--label", "expected", "--label", "actual", pa, pb, NULL };
		g_autofree char *gnu = run(argv, &st);
		assert_true(changed_lines(u->str) <= changed_lines(gnu));
		if (have_patch && u->len) {
			g_autofree char *pd = write_tmp("d", u->str, u->len);
			char *pargv[] = { "patch", "-s", "-o", "-", pa, "-i", pd, NULL };
			g_autofree char *patched = run(pargv, &st);
			assert_int_equal(st, 0);
			assert_string_equal(patched, b->str);
		}
		g_string_free(u, TRUE);
		g_string_free(a, TRUE);
		g_string_free(b, TRUE);
	}
	g_rand_free(r);
}

static void test_binary(void **state)
{
	struct diff *d = diff_buffers("abc\0def", 7, "abc\0dXf", 7);
	size_t at;
	assert_true(diff_binary(d, &at));
	assert_int_equal(at, 6);
	GString *u = diff_unified(d, NULL), *h = diff_html(d, NULL);
	assert_string_equal(u->str, "binary files differ (first difference at byte 6)\n");
	assert_non_null(strstr(h->str, "binary files differ (first difference at byte 6)"));
	g_string_free(u, TRUE);
	g_string_free(h, TRUE);
	diff_free(d);
	/* a prefix: the difference is one past the shorter input */
	d = diff_buffers("ab\0", 3, "ab\0cd", 5);
	assert_true(diff_binary(d, &at));
	assert_int_equal(at, 4);
	diff_free(d);
	/* mostly invalid UTF-8 is binary */
	char junk[400];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(0x80 | (i * 7 % 64));
	d = diff_buffers("text\n", 5, junk, sizeof junk);
	assert_true(diff_binary(d, &at));
	assert_int_equal(at, 1);
	diff_free(d);
	/* a few Latin-1 letters in text are not */
	const char *l1 = "a\xf1o 2026\nse\xf1or\nok\n", *l2 = "a\xf1o 2026\nse\xf1ora\nok\n";
	d = diff_buffers(l1, strlen(l1), l2, strlen(l2));
	assert_false(diff_binary(d, NULL));
	u = diff_unified(d, NULL);
	assert_non_null(strstr(u->str, "-se\xf1or\n+se\xf1ora\n"));
	g_string_free(u, TRUE);
	diff_free(d);
}

static void test_truncation(void **state)
{
	GString *a = g_string_new(NULL), *b = g_string_new(NULL);
	for (int i = 0; i < 5000; i++) {
		g_string_append_printf(a, "line %d\n", i);
		g_string_append_printf(b, "LINE %d\n", i);
	}
	struct diff *d = diff_buffers(a->str, a->len, b->str, b->len);
	struct diff_options o = { .context = 3, .max_output = 1000 };
	GString *u = diff_unified(d, &o);
	assert_true(u->len <= 1000 + 40);
	assert_true(g_str_has_suffix(u->str, "[diff truncated at 1000 bytes]\n"));
	g_string_free(u, TRUE);
	o.max_output = 5000;
	GString *h = diff_html(d, &o);
	assert_true(h->len <= 5000 + 200);
	assert_non_null(strstr(h->str, "[diff truncated at 5000 bytes]"));
	assert_true(g_str_has_suffix(h->str, "</tbody>\n</table>\n"));
	g_string_free(h, TRUE);
	/* the default cap holds too */
	u = diff_unified(d, NULL);
	assert_true(u->len < 200000);
	assert_null(strstr(u->str, "truncated"));
	g_string_free(u, TRUE);
	diff_free(d);

	/* one 2 MB line without a newline is cut inside the line */
	g_string_truncate(a, 0);
	for (int i = 0; i < (2 << 20); i++)
		g_string_append_c(a, 'a' + i % 26);
	d = diff_buffers(a->str, a->len, "short\n", 6);
	o.max_output = 4096;
	u = diff_unified(d, &o);
	assert_true(u->len <= 4096 + 40);
	assert_true(g_str_has_suffix(u->str, "[diff truncated at 4096 bytes]\n"));
	g_string_free(u, TRUE);
	h = diff_html(d, &o);
	assert_true(h->len <= 4096 + 300);
	assert_true(g_str_has_suffix(h->str, "</table>\n"));
	assert_non_null(strstr(h->str, "abcdefghijklmnopqrstuvwxyzabcdef"));   /* its beginning shows */
	assert_non_null(strstr(h->str, "[diff truncated at 4096 bytes]"));
	g_string_free(h, TRUE);
	diff_free(d);
	g_string_free(a, TRUE);
	g_string_free(b, TRUE);
}

static void test_html(void **state)
{
	const char *a = "same\n<b>bold</b> & \"q\" 'x'\nsum: 4.5\nend\n";
	const char *b = "same\n<script>alert(1)</script>\x01\xff\r\nsum: 4.7\nend\nextra";
	struct diff *d = diff_buffers(a, strlen(a), b, strlen(b));
	GString *h = diff_html(d, NULL);
	assert_true(g_utf8_validate(h->str, (gssize)h->len, NULL));
	assert_null(strstr(h->str, "<script"));
	assert_null(strstr(h->str, "<b>"));
	assert_non_null(strstr(h->str, "script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(h->str, "b&gt;bold&lt;/b&gt; &amp; &quot;q&quot; &#39;x&#39;"));
	assert_non_null(strstr(h->str, "\xe2\x90\x81"));      /* U+2401 for \x01 */
	assert_non_null(strstr(h->str, "\xef\xbf\xbd"));      /* U+FFFD for \xff */
	assert_non_null(strstr(h->str, "\xe2\x90\x8d"));      /* U+240D for \r */
	/* the changed part of a paired line is marked */
	assert_non_null(strstr(h->str, "sum: 4.<span class=\"x\">5</span>"));
	assert_non_null(strstr(h->str, "sum: 4.<span class=\"x\">7</span>"));
	assert_non_null(strstr(h->str, "<td class=\"ln\">3</td>"));
	assert_non_null(strstr(h->str, "class=\"nonl\""));
	assert_true(g_str_has_prefix(h->str, "<table class=\"diff\">"));
	assert_true(g_str_has_suffix(h->str, "</table>\n"));
	/* as many <tr> as </tr> */
	size_t open = 0, close = 0;
	for (const char *p = h->str; (p = strstr(p, "<tr")); p++)
		open++;
	for (const char *p = h->str; (p = strstr(p, "</tr>")); p++)
		close++;
	assert_int_equal(open, close);

	struct diff_section s[2] = { { "case 01 <stdout>", h->str }, { "case 02 & more", "<p>x</p>" } };
	GString *page = diff_html_page("tp1 <attempt 3>", s, 2);
	assert_true(g_str_has_prefix(page->str, "<!DOCTYPE html>"));
	assert_non_null(strstr(page->str, "<meta charset=\"utf-8\">"));
	assert_non_null(strstr(page->str, "<title>tp1 &lt;attempt 3&gt;</title>"));
	assert_non_null(strstr(page->str, "<style>"));
	assert_non_null(strstr(page->str, "table.diff"));
	assert_non_null(strstr(page->str, "<h2>case 01 &lt;stdout&gt;</h2>"));
	assert_non_null(strstr(page->str, "<h2>case 02 &amp; more</h2>"));
	assert_true(g_str_has_suffix(page->str, "</html>\n"));
	g_string_free(page, TRUE);
	g_string_free(h, TRUE);
	diff_free(d);

	/* escaping itself: invalid sequences, overlong forms, DEL */
	GString *e = g_string_new(NULL);
	diff_html_escape(e, "\xc0\xaf\x7f\xe2\x82", 5);
	assert_true(g_utf8_validate(e->str, -1, NULL));
	assert_null(strchr(e->str, 0x7f));
	g_string_free(e, TRUE);
}

static void test_files(void **state)
{
	g_autofree char *pa = write_tmp("fa", "1\n2\n", 4);
	g_autofree char *pb = write_tmp("fb", "1\n3\n", 4);
	GError *err = NULL;
	struct diff *d = diff_files(pa, pb, &err);
	assert_non_null(d);
	size_t del, ins;
	diff_stats(d, &del, &ins);
	assert_int_equal(del, 1);
	assert_int_equal(ins, 1);
	diff_free(d);
	/* NULL: a file that should exist and does not, shown as empty */
	d = diff_files(pa, NULL, &err);
	assert_non_null(d);
	GString *u = diff_unified(d, NULL);
	assert_string_equal(u->str, "--- expected\n+++ actual\n@@ -1,2 +0,0 @@\n-1\n-2\n");
	g_string_free(u, TRUE);
	diff_free(d);
	g_autofree char *missing = g_build_filename(tmpdir, "missing", NULL);
	d = diff_files(pa, missing, &err);
	assert_null(d);
	assert_int_equal(err->code, ENOENT);
	assert_non_null(strstr(err->message, "missing"));
	g_clear_error(&err);
}

static char *lines_text(size_t bytes, guint32 seed, bool garbage)
{
	GString *s = g_string_sized_new(bytes + 100);
	guint32 x = seed;
	size_t i = 0;
	while (s->len < bytes) {
		if (garbage) {
			x = x * 1103515245u + 12345u;
			char c = (char)(33 + (x >> 16) % 94);
			g_string_append_c(s, (x >> 8) % 40 == 0 ? '\n' : c);
		} else {
			g_string_append_printf(s, "line %zu: value %zu\n", i, (i * 7919) % 1000);
			i++;
		}
	}
	return g_string_free(s, FALSE);
}

/* The hostile pairs of the issue: 10 MB of garbage (printable, so it is
 * diffed as text) against 10 MB of expected output; the expected lines in
 * reverse order; 10 MB of empty lines against 10 MB of "x" lines. Each
 * must finish well under a second on this machine and keep the cap. */
static void test_hostile_bounded(void **state)
{
	size_t n = 10u << 20;
	char *e = lines_text(n, 1, false), *g = lines_text(n, 7, true);
	struct diff_options o = { .context = 3, .max_output = 1 << 20 };

	int64_t t0 = cpu_ms();
	struct diff *d = diff_buffers(e, strlen(e), g, strlen(g));
	GString *u = diff_unified(d, &o), *h = diff_html(d, &o);
	int64_t ms = cpu_ms() - t0;
	print_message("# diff: 10 MB garbage vs 10 MB expected: %lld ms CPU\n", (long long)ms);
	assert_false(diff_binary(d, NULL));
	assert_true(u->len <= (1 << 20) + 64);
	assert_true(h->len <= (1 << 20) + 300);
	assert_true(ms < 1000 * SLOW);
	g_string_free(u, TRUE);
	g_string_free(h, TRUE);
	diff_free(d);

	/* reversed lines: everything matches something, nothing aligns */
	GPtrArray *ls = lines_of(e);
	GString *r = g_string_sized_new(strlen(e));
	for (guint i = ls->len; i-- > 0;)
		g_string_append(r, ls->pdata[i]);
	g_ptr_array_free(ls, TRUE);
	t0 = cpu_ms();
	d = diff_buffers(e, strlen(e), r->str, r->len);
	u = diff_unified(d, &o);
	ms = cpu_ms() - t0;
	print_message("# diff: 10 MB expected vs its lines reversed: %lld ms CPU%s\n", (long long)ms,
	              diff_coarse(d) ? " (coarse)" : "");
	assert_true(ms < 2000 * SLOW);
	g_string_free(u, TRUE);
	/* given up or not, still a correct diff: uncapped, it applies */
	struct diff_options all = { .context = 3, .max_output = SIZE_MAX };
	u = diff_unified(d, &all);
	g_autofree char *back = apply(e, u->str);
	assert_true(strcmp(back, r->str) == 0);
	g_string_free(u, TRUE);
	diff_free(d);
	g_string_free(r, TRUE);

	/* millions of tiny lines: past DIFF_MAX_LINES, one replaced block */
	char *nl = g_malloc(n), *xs = g_malloc(n);
	memset(nl, '\n', n);
	for (size_t i = 0; i < n; i += 2) {
		xs[i] = 'x';
		xs[i + 1] = '\n';
	}
	t0 = cpu_ms();
	d = diff_buffers(nl, n, xs, n);
	u = diff_unified(d, &o);
	ms = cpu_ms() - t0;
	print_message("# diff: 10 MB of empty lines vs 10 MB of x lines: %lld ms CPU\n", (long long)ms);
	assert_true(ms < 1000 * SLOW);
	assert_true(g_str_has_suffix(u->str, "[diff truncated at 1048576 bytes]\n"));
	g_string_free(u, TRUE);
	diff_free(d);
	g_free(nl);
	g_free(xs);
	g_free(e);
	g_free(g);
}

/* Random bytes (no NUL, so mostly text): the diff applies, the HTML is
 * valid UTF-8 with balanced rows, whatever the bytes. */
static void test_random_bytes(void **state)
{
	GRand *r = g_rand_new_with_seed(99);
	const char alphabet[] = "ab\n\n\r \t<&\xff\xc3\xa9\x01";
	for (int iter = 0; iter < 2000; iter++) {
		GString *a = g_string_new(NULL), *b = g_string_new(NULL);
		int na = g_rand_int_range(r, 0, 60), nb = g_rand_int_range(r, 0, 60);
		for (int i = 0; i < na; i++)
			g_string_append_c(a, alphabet[g_rand_int_range(r, 0, sizeof alphabet - 1)]);
		for (int i = 0; i < nb; i++)
			g_string_append_c(b, alphabet[g_rand_int_range(r, 0, sizeof alphabet - 1)]);
		struct diff *d = diff_buffers(a->str, a->len, b->str, b->len);
		struct diff_options o = { .context = g_rand_int_range(r, 0, 4), .max_output = SIZE_MAX };
		if (!diff_binary(d, NULL)) {
			GString *u = diff_unified(d, &o);
			g_autofree char *back = apply(a->str, u->str);
			assert_string_equal(back, b->str);
			g_string_free(u, TRUE);
		}
		o.max_output = (size_t)g_rand_int_range(r, 100, 3000);
		GString *h = diff_html(d, &o);
		assert_true(g_utf8_validate(h->str, (gssize)h->len, NULL));
		size_t open = 0, close = 0;
		for (const char *p = h->str; (p = strstr(p, "<tr")); p++)
			open++;
		for (const char *p = h->str; (p = strstr(p, "</tr>")); p++)
			close++;
		assert_int_equal(open, close);
		g_string_free(h, TRUE);
		diff_free(d);
		g_string_free(a, TRUE);
		g_string_free(b, TRUE);
	}
	assert_false(diff_looks_binary("plain text\n", 11));
	assert_true(diff_looks_binary("a\0b", 3));
	assert_false(diff_looks_binary("", 0));
	g_rand_free(r);
}

/* A mid-size realistic case applies exactly (the whole diff, uncapped). */
static void test_medium_applies(void **state)
{
	GString *a = g_string_new(NULL), *b = g_string_new(NULL);
	GRand *r = g_rand_new_with_seed(7);
	for (int i = 0; i < 20000; i++) {
		g_string_append_printf(a, "%d %d\n", i, i % 97);
		int k = g_rand_int_range(r, 0, 100);
		if (k < 3)
			g_string_append_printf(b, "%d changed\n", i);
		else if (k < 5)
			;
		else if (k < 7)
			g_string_append_printf(b, "%d %d\n%d %d\n", i, i % 97, i + 5, (i + 5) % 97);
		else
			g_string_append_printf(b, "%d %d\n", i, i % 97);
	}
	struct diff *d = diff_buffers(a->str, a->len, b->str, b->len);
	struct diff_options o = { .context = 3, .max_output = SIZE_MAX };
	GString *u = diff_unified(d, &o);
	g_autofree char *back = apply(a->str, u->str);
	assert_string_equal(back, b->str);
	g_string_free(u, TRUE);
	diff_free(d);
	g_rand_free(r);
	g_string_free(a, TRUE);
	g_string_free(b, TRUE);
}

/* tests/golden/diff-page.html is the page diff_html_page() writes for two
 * sections (a changed stdout; an output file with a NUL byte), compared
 * byte for byte (report.html itself is report.c's: tests/unit/test_report.c).
 * SERCOM_GOLDEN_UPDATE=1 rewrites it and
 * fails, so an update is never a green run: review `git diff`, run again. */
static void test_golden_report(void **state)
{
	(void)state;
	static const char exp1[] = "sum of 2 and -3\n-1\nnegative numbers: 1\nbye\n";
	static const char act1[] = "sum of 2 and -3\n1\nnegative numbers: 0\nbye\n";
	static const char exp2[] = "line one\nx\0y\n";
	static const char act2[] = "line one\nx\0z\n";
	struct diff_options o = { .context = 3, .old_label = "expected", .new_label = "yours" };
	struct diff *d1 = diff_buffers(exp1, sizeof exp1 - 1, act1, sizeof act1 - 1);
	struct diff *d2 = diff_buffers(exp2, sizeof exp2 - 1, act2, sizeof act2 - 1);
	GString *h1 = diff_html(d1, &o), *h2 = diff_html(d2, &o);
	struct diff_section s[2] = { { "case 02-negative: stdout", h1->str },
	                             { "case 05-exit: output file out.txt", h2->str } };
	GString *page = diff_html_page("tp1: Sum", s, 2);
	const char *t = getenv("SERCOM_TOP");
	g_autofree char *path = g_strdup_printf("%s/tests/golden/diff-page.html", t ? t : ".");
	if (getenv("SERCOM_GOLDEN_UPDATE")) {
		assert_true(g_file_set_contents(path, page->str, (gssize)page->len, NULL));
		fail_msg("%s rewritten: review git diff, then run again without SERCOM_GOLDEN_UPDATE", path);
	}
	g_autofree char *want = NULL;
	gsize wlen = 0;
	if (!g_file_get_contents(path, &want, &wlen, NULL))
		fail_msg("%s missing (run from the checkout, or set SERCOM_TOP)", path);
	if (wlen != page->len || memcmp(want, page->str, wlen)) {
		g_autofree char *got = g_build_filename(g_get_tmp_dir(), "diff-page.html.got", NULL);
		g_file_set_contents(got, page->str, (gssize)page->len, NULL);
		fail_msg("today's renderer differs from %s (diff -u %s %s)", path, path, got);
	}
	g_string_free(page, TRUE);
	g_string_free(h1, TRUE);
	g_string_free(h2, TRUE);
	diff_free(d1);
	diff_free(d2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal_and_empty),
		cmocka_unit_test(test_gnu_format),
		cmocka_unit_test(test_random_against_gnu),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_hostile_bounded),
		cmocka_unit_test(test_medium_applies),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_golden_report),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
