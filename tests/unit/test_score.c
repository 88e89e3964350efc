/* score: points, groups, the late rule and the grade (score.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <glib.h>
#include <string.h>

#include "score.h"

static void test_points_and_groups(void **state)
{
	(void)state;
	struct score_case c[] = {
		{ NULL, 2, false, true, -1 },          /* earns 2 */
		{ NULL, 3, false, false, -1 },         /* failed: 0 */
		{ "edge", 1, false, true, -1 },        /* group edge fails: 0 */
		{ "edge", 4, false, false, -1 },
		{ "big", 2.5, true, true, -1 },        /* private group passes */
		{ "big", 2.5, true, true, -1 },
		{ NULL, 1, true, false, -1 },
	};
	struct score_total t;
	score_cases(c, G_N_ELEMENTS(c), &t);
	assert_true(c[0].earned == 2 && c[1].earned == 0);
	assert_true(c[2].earned == 0 && c[3].earned == 0);
	assert_true(c[4].earned == 2.5 && c[5].earned == 2.5 && c[6].earned == 0);
	assert_true(t.score == 2 && t.max_score == 10);
	assert_true(t.private_score == 5 && t.private_max == 6);
}

static void test_late_rule(void **state)
{
	(void)state;
	int64_t closes = 1000000;
	assert_int_equal(score_late_days(closes, closes), 0);
	assert_int_equal(score_late_days(closes, closes + 60), 1);
	assert_int_equal(score_late_days(closes, closes + 86400), 1);
	assert_int_equal(score_late_days(closes, closes + 86401), 2);
	assert_int_equal(score_late_days(0, closes), 0);
	assert_true(score_deadline(closes, 0) == closes);
	assert_true(score_deadline(closes, closes + 5) == closes + 5);

	struct late_rule reject = { LATE_REJECT, 0, 0 }, accept = { LATE_ACCEPT, 0, 0 };
	struct late_rule pen = { LATE_PENALTY, 10, 3 }, pen_nomax = { LATE_PENALTY, 30, 0 };
	assert_true(score_late_allowed(&reject, 0));
	assert_false(score_late_allowed(&reject, 1));
	assert_true(score_late_allowed(&accept, 9));
	assert_true(score_late_allowed(&pen, 3));
	assert_false(score_late_allowed(&pen, 4));
	assert_true(score_late_allowed(&pen_nomax, 40));
	assert_true(score_penalty(&accept, 5) == 0);
	assert_true(score_penalty(&pen, 0) == 0);
	assert_true(score_penalty(&pen, 2) == 20);
	assert_true(score_penalty(&pen_nomax, 4) == 100);   /* never below zero */
}

static void test_final_and_format(void **state)
{
	(void)state;
	assert_true(score_final(7, 0, 0) == 7);
	assert_true(score_final(7, 3, 20) == 8);
	assert_true(score_final(2, 1, 100) == 0);
	assert_true(score_final(1, 0, 33.333) == 0.67);
	static const struct { double v; const char *s; } f[] = {
		{ 7, "7" }, { 7.5, "7.5" }, { 6.75, "6.75" }, { 0, "0" },
		{ 1.0 / 3, "0.33" }, { 10.004, "10" }, { -0.001, "0" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(f); i++) {
		g_autofree char *s = score_format(f[i].v);
		assert_string_equal(s, f[i].s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_points_and_groups),
		cmocka_unit_test(test_late_rule),
		cmocka_unit_test(test_final_and_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
