/* Unit tests of compare: every mode with its edge cases, the notes, spec
 * parsing, files, and a hostile 10 MB + 10 MB pair in bounded time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "compare.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* time limits stretch under the sanitizers (make check SANITIZE=1) */
#if defined(__SANITIZE_ADDRESS__)
#define SLOW 6
#else
#define SLOW 1
#endif

static int64_t cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct compare_spec spec_of(const char *s)
{
	struct compare_spec sp;
	GError *err = NULL;
	if (!compare_spec_parse(s, &sp, &err))
		fail_msg("spec %s: %s", s, err->message);
	return sp;
}

/* equal under spec s? note returned in *note when not NULL */
static bool eq(const char *s, const char *e, const char *a, char **note)
{
	struct compare_spec sp = spec_of(s);
	bool r = compare_buffers(&sp, e, strlen(e), a, strlen(a), note);
	compare_spec_clear(&sp);
	return r;
}

static void check_note(const char *s, const char *e, const char *a, const char *want)
{
	char *note = NULL;
	assert_false(eq(s, e, a, &note));
	assert_non_null(note);
	if (!strstr(note, want))
		fail_msg("mode %s: note '%s' lacks '%s'", s, note, want);
	g_free(note);
}

static void test_spec_parse(void **state)
{
	struct compare_spec sp;
	GError *err = NULL;
	assert_true(compare_spec_parse("exact", &sp, NULL));
	assert_int_equal(sp.mode, CMP_EXACT);
	assert_true(compare_spec_parse("lines", &sp, NULL));
	assert_int_equal(sp.mode, CMP_LINES);
	assert_true(compare_spec_parse("whitespace", &sp, NULL));
	assert_int_equal(sp.mode, CMP_WHITESPACE);
	assert_true(compare_spec_parse("float:1e-6", &sp, NULL));
	assert_int_equal(sp.mode, CMP_FLOAT);
	assert_true(sp.eps > 0.9e-6 && sp.eps < 1.1e-6);
	assert_true(compare_spec_parse("checker:bin/check", &sp, NULL));
	assert_int_equal(sp.mode, CMP_CHECKER);
	assert_string_equal(sp.checker, "bin/check");
	struct compare_spec cp;
	compare_spec_copy(&cp, &sp);
	assert_string_equal(cp.checker, "bin/check");
	assert_ptr_not_equal(cp.checker, sp.checker);
	compare_spec_clear(&cp);
	compare_spec_clear(&sp);
	assert_int_equal(sp.mode, CMP_EXACT);
	assert_null(sp.checker);

	const char *bad[] = { "", "exactly", "float:", "float:x", "float:-1", "float:inf",
	                      "float:1e-6x", "checker:", "checker:/bin/sh", "checker:../x",
	                      "checker:a/../../x", "Lines", NULL };
	for (int i = 0; bad[i]; i++) {
		assert_false(compare_spec_parse(bad[i], &sp, &err));
		assert_non_null(err);
		assert_int_equal(err->code, EINVAL);
		g_clear_error(&err);
	}
}

static void test_exact(void **state)
{
	assert_true(eq("exact", "", "", NULL));
	assert_true(eq("exact", "a\nb\n", "a\nb\n", NULL));
	assert_false(eq("exact", "a\n", "a \n", NULL));
	check_note("exact", "x\ny\n4.5\n", "x\ny\n4.7\n", "line 3: expected \"4.5\", got \"4.7\"");
	check_note("exact", "a\nb\n", "a\nb", "lacks the final newline");
	check_note("exact", "a\nb", "a\nb\n", "extra newline at the end");
	check_note("exact", "a\nb\n", "a\n", "line 2: output ends early, expected \"b\"");
	check_note("exact", "a\n", "a\nzz\n", "line 2: unexpected extra output \"zz\"");
	check_note("exact", "", "out\n", "line 1: unexpected extra output \"out\"");
	check_note("exact", "a b\n", "a  b\n", "(only spacing differs)");
	check_note("exact", "a b\n", "a b  \r\n", "(only blanks at line ends or the final newline differ)");
	/* quoting: control bytes and invalid UTF-8 never reach the note raw */
	char *note = NULL;
	assert_false(eq("exact", "ok\n", "o\x01\xff\"\xc3\xb1\n", &note));
	assert_string_equal(note, "line 1: expected \"ok\", got \"o\\x01\\xff\\\"\xc3\xb1\"");
	g_free(note);
	/* a long line is cut in the note */
	GString *lng = g_string_new(NULL);
	for (int i = 0; i < 1000; i++)
		g_string_append_c(lng, 'a' + i % 26);
	assert_false(eq("exact", "short\n", lng->str, &note));
	assert_true(strlen(note) < 200);
	assert_non_null(strstr(note, "..."));
	g_free(note);
	g_string_free(lng, TRUE);
	/* embedded NUL bytes are compared, not a string end */
	struct compare_spec sp = spec_of("exact");
	assert_false(compare_buffers(&sp, "a\0b", 3, "a\0c", 3, NULL));
	assert_true(compare_buffers(&sp, "a\0b", 3, "a\0b", 3, NULL));
}

static void test_lines(void **state)
{
	assert_true(eq("lines", "a\nb\n", "a\nb", NULL));
	assert_true(eq("lines", "a\nb", "a\nb\n", NULL));
	assert_true(eq("lines", "a\nb\n", "a  \t\nb \r\n", NULL));
	assert_true(eq("lines", "", "", NULL));
	assert_false(eq("lines", "a b\n", "a  b\n", NULL));
	assert_false(eq("lines", "a\n", " a\n", NULL));
	assert_false(eq("lines", "a\n", "a\n\n", NULL));
	check_note("lines", "a\n", "a\n\n", "line 2: unexpected extra output \"\"");
	check_note("lines", "a\nb\nc\n", "a\nB\nc\n", "line 2: expected \"b\", got \"B\"");
	check_note("lines", "a\nb\n", "a", "line 2: output ends early");
}

static void test_whitespace(void **state)
{
	assert_true(eq("whitespace", "a b c\n", "  a \t b   c  \r\n", NULL));
	assert_true(eq("whitespace", "a b\n", "a b", NULL));
	assert_true(eq("whitespace", "a\n", "a\n\n  \n", NULL));
	assert_true(eq("whitespace", "a\n\n\n", "a", NULL));
	assert_true(eq("whitespace", "", "\n \n", NULL));
	assert_false(eq("whitespace", "ab\n", "a b\n", NULL));
	assert_false(eq("whitespace", "a b\n", "a\nb\n", NULL));
	assert_false(eq("whitespace", "a\n\nb\n", "a\nb\n", NULL));
	check_note("whitespace", "x\nsum: 10\n", "x\nsum:  11\n", "line 2: expected \"sum: 10\", got \"sum:  11\"");
	check_note("whitespace", "a\n", "a\n\nextra\n", "line 3: unexpected extra output \"extra\"");
	check_note("whitespace", "a\n\nb\n", "a\n", "line 3: output ends early, expected \"b\"");
}

static void test_float(void **state)
{
	assert_true(eq("float:1e-6", "1.0 2.0\n", "1 2", NULL));
	assert_true(eq("float:1e-6", "sum: 0.6\n", "sum:\n0.60000000000000009\n", NULL));
	assert_true(eq("float:0.01", "100\n", "100.5\n", NULL));      /* relative */
	assert_true(eq("float:0.01", "0.001\n", "0.009\n", NULL));    /* absolute */
	assert_false(eq("float:0.01", "1000\n", "1011\n", NULL));
	assert_true(eq("float:0", "-0\n", "0.0\n", NULL));
	assert_true(eq("float:1e-9", "1e3\n", "1000.0000000001\n", NULL));
	assert_true(eq("float:1e-6", ".5 5.\n", "0.5 5\n", NULL));
	assert_true(eq("float:1e-6", "nan inf\n", "nan inf\n", NULL));  /* words, compared exactly */
	assert_false(eq("float:1e-6", "0x10\n", "16\n", NULL));       /* hex is a word */
	assert_false(eq("float:1e-6", "1.0\n", "1.0x\n", NULL));
	assert_false(eq("float:1e-6", "a\n", "b\n", NULL));
	assert_false(eq("float:1e-6", "1 2\n", "1\n", NULL));
	check_note("float:0.001", "x 1\ny 2\nz 4.5\n", "x 1\ny 2\nz 4.7\n", "line 3: expected \"4.5\", got \"4.7\"");
	check_note("float:0.001", "1 2\n", "1\n", "output ends early, expected \"2\"");
	check_note("float:0.001", "1\n", "1\n\n2\n", "line 3: unexpected extra output \"2\"");
	/* a huge number-like token is a word, not a buffer overflow */
	GString *big = g_string_new("1");
	for (int i = 0; i < 5000; i++)
		g_string_append_c(big, '0');
	assert_true(eq("float:1e-6", big->str, big->str, NULL));
	big->str[big->len - 1] = '1';
	assert_false(eq("float:1e-6", "1", big->str, NULL));
	g_string_free(big, TRUE);
}

static void test_checker_mode_compares_exactly(void **state)
{
	assert_true(eq("checker:chk", "a\n", "a\n", NULL));
	assert_false(eq("checker:chk", "a\n", "a \n", NULL));
}

static void test_files(void **state)
{
	char *dir = g_dir_make_tmp("test_compare.XXXXXX", NULL);
	char *e = g_build_filename(dir, "e", NULL), *a = g_build_filename(dir, "a", NULL);
	char *missing = g_build_filename(dir, "missing", NULL);
	assert_true(g_file_set_contents(e, "1 2\n", -1, NULL));
	assert_true(g_file_set_contents(a, "1  2 \n", -1, NULL));
	struct compare_spec sp = spec_of("exact");
	char *note = NULL;
	assert_int_equal(compare_files(&sp, e, a, &note), 0);
	assert_non_null(note);
	g_free(note);
	sp = spec_of("whitespace");
	assert_int_equal(compare_files(&sp, e, a, &note), 1);
	assert_null(note);
	assert_int_equal(compare_files(&sp, e, missing, &note), -ENOENT);
	assert_int_equal(compare_files(&sp, missing, a, &note), -ENOENT);
	assert_int_equal(compare_files(&sp, e, dir, &note), -EISDIR);
	/* non-regular files are read too */
	assert_int_equal(compare_files(&sp, "/dev/null", "/dev/null", &note), 1);
	char *data;
	size_t len;
	assert_int_equal(compare_read_file(e, 2, &data, &len), -EFBIG);
	assert_int_equal(compare_read_file(e, 100, &data, &len), 0);
	assert_int_equal(len, 4);
	assert_int_equal(data[len], 0);
	g_free(data);
	util_rm_rf(dir);
	g_free(e);
	g_free(a);
	g_free(missing);
	g_free(dir);
}

/* Random short buffers in every mode: reflexive, a note whenever they
 * differ, valid UTF-8 notes, and lines/whitespace/float never stricter
 * than exact. */
static void test_random(void **state)
{
	const char alphabet[] = "1.5e-2 \t\r\nab\xff\x00\"\\";
	const char *modes[] = { "exact", "lines", "whitespace", "float:0.01", NULL };
	GRand *r = g_rand_new_with_seed(5);
	for (int iter = 0; iter < 5000; iter++) {
		char x[40], y[40];
		size_t nx = (size_t)g_rand_int_range(r, 0, 40), ny = (size_t)g_rand_int_range(r, 0, 40);
		for (size_t i = 0; i < nx; i++)
			x[i] = alphabet[g_rand_int_range(r, 0, sizeof alphabet - 1)];
		for (size_t i = 0; i < ny; i++)
			y[i] = alphabet[g_rand_int_range(r, 0, sizeof alphabet - 1)];
		if (iter % 4 == 0) {
			memcpy(y, x, nx);
			ny = nx;
		}
		bool exact = false;
		for (int m = 0; modes[m]; m++) {
			struct compare_spec sp = spec_of(modes[m]);
			char *note = NULL;
			assert_true(compare_buffers(&sp, x, nx, x, nx, NULL));
			bool same = compare_buffers(&sp, x, nx, y, ny, &note);
			if (m == 0)
				exact = same;
			else if (exact)
				assert_true(same);
			if (same) {
				assert_null(note);
			} else {
				assert_non_null(note);
				assert_true(g_utf8_validate(note, -1, NULL));
				for (const char *p = note; *p; p++)
					assert_true((unsigned char)*p >= 0x20);
			}
			g_free(note);
		}
	}
	g_rand_free(r);
}

/* 10 MB of garbage against 10 MB of expected output, in every mode: one
 * linear pass each, far under a second together. */
static void test_hostile_bounded(void **state)
{
	size_t n = 10u << 20;
	char *e = g_malloc(n), *a = g_malloc(n);
	for (size_t i = 0; i < n; i++)
		e[i] = (i % 16 == 15) ? '\n' : (char)('0' + i % 10);
	guint32 x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		a[i] = (char)(x >> 24);
	}
	/* the worst case for each mode is equality up to the end */
	const char *modes[] = { "exact", "lines", "whitespace", "float:1e-6", NULL };
	int64_t t0 = cpu_ms();
	for (int m = 0; modes[m]; m++) {
		struct compare_spec sp = spec_of(modes[m]);
		char *note = NULL;
		assert_false(compare_buffers(&sp, e, n, a, n, &note));
		g_free(note);
		assert_true(compare_buffers(&sp, e, n, e, n, NULL));
		/* one long line of blanks, one long token */
		memset(a, ' ', n);
		assert_false(compare_buffers(&sp, e, n, a, n, NULL));
		memset(a, '7', n);
		assert_false(compare_buffers(&sp, a, n, a, n - 1, NULL));
		compare_spec_clear(&sp);
	}
	int64_t ms = cpu_ms() - t0;
	print_message("# compare: hostile 10 MB pairs in 4 modes: %lld ms CPU\n", (long long)ms);
	assert_true(ms < 1000 * SLOW);
	g_free(e);
	g_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_parse),
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_float),
		cmocka_unit_test(test_checker_mode_compares_exactly),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_hostile_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
