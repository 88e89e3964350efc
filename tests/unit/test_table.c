/* table: the escaping of terminal controls in everything the admin tool
 * prints (table.h), including sequences cut between two writes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "table.h"

/* all of s in one final write */
static char *esc(const char *s, size_t n)
{
	GString *out = g_string_new(NULL);
	size_t used = table_escape_controls((const unsigned char *)s, n, true, out);
	assert_int_equal(used, n);
	return g_string_free(out, FALSE);
}

static void test_controls_escaped(void **state)
{
	(void)state;
	static const struct { const char *in, *out; } t[] = {
		{ "plain text\tand tab\n", "plain text\tand tab\n" },
		{ "\x1b[2J\x1b[1;31mHACKED", "\\x1b[2J\\x1b[1;31mHACKED" },
		{ "good\rbad", "good\\rbad" },           /* a lone CR overwrites the line */
		{ "a,b\r\nc,d\r\n", "a,b\r\nc,d\r\n" },  /* CSV line ends pass */
		{ "bell\a del\x7f", "bell\\x07 del\\x7f" },
		{ "csi \xc2\x9b" "2J", "csi \\u009b2J" }, /* C1 CSI as UTF-8 */
		{ "raw \x9b" "2J", "raw \\x9b2J" },      /* C1 CSI as a raw byte */
		{ "ni\xc3\xb1o \xe2\x82\xac", "ni\xc3\xb1o \xe2\x82\xac" }, /* UTF-8 stays */
		{ "cut \xe2\x82", "cut \\xe2\\x82" },    /* incomplete at the very end */
		{ "bad \xc0\xaf", "bad \\xc0\\xaf" },    /* overlong */
	};
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++) {
		char *got = esc(t[i].in, strlen(t[i].in));
		assert_string_equal(got, t[i].out);
		g_free(got);
	}
}

/* A CR or a UTF-8 sequence cut by the stream's buffer is held until the
 * next write says what it is. */
static void test_cut_between_writes(void **state)
{
	(void)state;
	static const char *const whole[] = { "x\r\ny", "x\ry", "\xe2\x82\xac!", "\xc2\x9b!" };
	for (size_t w = 0; w < G_N_ELEMENTS(whole); w++) {
		const char *s = whole[w];
		size_t n = strlen(s);
		char *want = esc(s, n);
		for (size_t cut = 1; cut < n; cut++) {
			GString *out = g_string_new(NULL);
			size_t used = table_escape_controls((const unsigned char *)s, cut, false, out);
			GString *rest = g_string_new_len(s + used, (gssize)(n - used));
			size_t used2 = table_escape_controls((const unsigned char *)rest->str, rest->len, true, out);
			assert_int_equal(used2, rest->len);
			assert_string_equal(out->str, want);
			g_string_free(rest, TRUE);
			g_string_free(out, TRUE);
		}
		g_free(want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controls_escaped),
		cmocka_unit_test(test_cut_between_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
