/* verdict: the one name table of the attempt and case verdicts
 * (verdict.h): every name parses back to its enum, the zero values are
 * the safe ones, and the case verdicts keep the precedence order of
 * docs/ARCHITECTURE.md section 6. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "verdict.h"

static void test_round_trip(void **state)
{
	(void)state;
	for (int v = 0; v < VERDICT_COUNT; v++) {
		enum verdict back;
		assert_true(verdict_parse(verdict_name((enum verdict)v), &back));
		assert_int_equal(back, v);
	}
	for (int v = 0; v < CASE_VERDICT_COUNT; v++) {
		enum case_verdict back;
		assert_true(case_verdict_parse(case_verdict_name((enum case_verdict)v), &back));
		assert_int_equal(back, v);
	}
	enum verdict v = VERDICT_ACCEPTED;
	assert_false(verdict_parse("accepted", &v));   /* the stored names are exact */
	assert_false(verdict_parse(NULL, &v));
	assert_int_equal(v, VERDICT_ACCEPTED);
	enum case_verdict c = CASE_PASS;
	assert_false(case_verdict_parse("WEIRD", &c));
	assert_int_equal(c, CASE_PASS);
}

static void test_safe_zero_and_order(void **state)
{
	(void)state;
	/* an outcome or a result nobody filled in never reads as a success */
	assert_string_equal(verdict_name((enum verdict)0), "INTERNAL_ERROR");
	assert_string_equal(case_verdict_name((enum case_verdict)0), "SANDBOX_ERROR");
	static const char *const order[] = { "SANDBOX_ERROR", "TIME_LIMIT", "WALL_LIMIT", "MEMORY_LIMIT",
	                                     "OUTPUT_LIMIT", "FORBIDDEN_SYSCALL", "SIGNAL", "WRONG_EXIT",
	                                     "WRONG_OUTPUT", "PASS" };
	for (int i = 0; i < CASE_VERDICT_COUNT; i++)
		assert_string_equal(case_verdict_name((enum case_verdict)i), order[i]);
	assert_string_equal(verdict_name(VERDICT_COUNT), "INTERNAL_ERROR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_safe_zero_and_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
