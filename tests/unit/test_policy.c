/* Unit tests of policy: which exercise a mail names, automatic mail,
 * the exercise's window and attempt budget. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "policy.h"

static char *known[] = { "tp1", "tp2", "TP-final", NULL };

static char *pick(const char *e, const char *ext, const char *const *rcpt, const char *subject, char **tried)
{
	return policy_pick_exercise(known, e, ext, rcpt, subject, tried);
}

static void exercise_order(void **state)
{
	char *tried = NULL, *x;
	const char *rcpt[] = { "robot+tp2@example.edu", NULL };
	/* -e wins over everything */
	x = pick("tp1", "tp2", rcpt, "tp2", &tried);
	assert_string_equal(x, "tp1");
	g_free(x);
	/* then $EXTENSION, case-insensitive, canonical name returned */
	x = pick(NULL, "TP2", rcpt, "tp1", &tried);
	assert_string_equal(x, "tp2");
	g_free(x);
	/* then the recipient's +tag */
	x = pick(NULL, NULL, rcpt, "tp1", &tried);
	assert_string_equal(x, "tp2");
	g_free(x);
	/* then the first Subject word naming an exercise */
	const char *none[] = { "robot@example.edu", NULL };
	x = pick(NULL, NULL, none, "Re: entrega del tp-final, y tp1", &tried);
	assert_string_equal(x, "TP-final");
	g_free(x);
	x = pick(NULL, NULL, NULL, "[TP1] mi entrega", &tried);
	assert_string_equal(x, "tp1");
	g_free(x);
}

static void unknown_exercise(void **state)
{
	char *tried = NULL;
	/* an explicit but wrong name is not guessed from the subject */
	assert_null(pick("tp9", NULL, NULL, "tp1", &tried));
	assert_string_equal(tried, "tp9");
	g_free(tried);
	const char *rcpt[] = { "robot+tp7@example.edu", NULL };
	assert_null(pick(NULL, NULL, rcpt, "hola", &tried));
	assert_string_equal(tried, "tp7");
	g_free(tried);
	assert_null(pick(NULL, NULL, NULL, "Re: mi entrega", &tried));
	assert_string_equal(tried, "mi");
	g_free(tried);
	assert_null(pick(NULL, NULL, NULL, NULL, &tried));
	assert_null(tried);
}

static void automatic(void **state)
{
	struct mime_info m = { .from_addr = "ana@example.edu" };
	assert_null(policy_automatic(&m, "ana@example.edu"));
	assert_non_null(policy_automatic(&m, ""));
	assert_non_null(policy_automatic(&m, "MAILER-DAEMON@example.edu"));
	/* the one robot rule (mime_robot_address), for the envelope sender too */
	assert_non_null(policy_automatic(&m, "nobody@example.edu"));
	assert_non_null(policy_automatic(&m, "list-bounces@example.edu"));
	assert_null(policy_automatic(&m, "nobody-here@example.edu"));
	m.automatic = true;
	m.automatic_why = "Auto-Submitted: auto-replied";
	assert_string_equal(policy_automatic(&m, "ana@example.edu"), "Auto-Submitted: auto-replied");
}

static void window(void **state)
{
	struct exercise e = { .opens = 1000, .closes = 2000, .max_attempts = 3 };
	char *d = NULL;
	assert_int_equal(policy_check_window(&e, NULL, 500, 0, &d), REJECT_NOT_OPEN);
	assert_string_equal(d, "1000");
	g_free(d);
	assert_int_equal(policy_check_window(&e, NULL, 1500, 2, &d), REJECT_NONE);
	assert_null(d);
	assert_int_equal(policy_check_window(&e, NULL, 1500, 3, &d), REJECT_ATTEMPTS_EXHAUSTED);
	assert_string_equal(d, "3");
	g_free(d);
	assert_int_equal(policy_check_window(&e, NULL, 2500, 0, &d), REJECT_CLOSED);
	g_free(d);
	e.late.mode = LATE_ACCEPT;
	assert_int_equal(policy_check_window(&e, NULL, 2500, 0, &d), REJECT_NONE);
	/* penalty 10% per day, at most 2 days: 2 days late graded, 3 refused */
	e.late = (struct late_rule){ LATE_PENALTY, 10, 2 };
	assert_int_equal(policy_check_window(&e, NULL, 2000 + 2 * 86400, 0, &d), REJECT_NONE);
	assert_int_equal(policy_check_window(&e, NULL, 2000 + 2 * 86400 + 1, 0, &d), REJECT_CLOSED);
	assert_string_equal(d, "2000");
	g_free(d);
}

/* A student's extension: its until replaces closes (the window, the
 * days late and the closed detail), its attempts replace max_attempts. */
static void window_extension(void **state)
{
	struct exercise e = { .closes = 2000, .max_attempts = 3 };
	struct policy_terms ext = { .until = 2000 + 86400 };
	char *d = NULL;
	/* a day after closes: closed for everyone else, on time with it */
	assert_int_equal(policy_check_window(&e, NULL, 2000 + 86400, 0, &d), REJECT_CLOSED);
	g_free(d);
	assert_int_equal(policy_check_window(&e, &ext, 2000 + 86400, 0, &d), REJECT_NONE);
	assert_null(d);
	assert_int_equal(policy_late_days(&e, &ext, 2000 + 86400), 0);
	assert_int_equal(policy_late_days(&e, NULL, 2000 + 86400), 1);
	/* past the extension: closed, the detail is the student's deadline */
	assert_int_equal(policy_check_window(&e, &ext, 2000 + 86400 + 60, 0, &d), REJECT_CLOSED);
	assert_string_equal(d, "88400");
	g_free(d);
	/* late = penalty counts days from the extension */
	e.late = (struct late_rule){ LATE_PENALTY, 10, 1 };
	assert_int_equal(policy_late_days(&e, &ext, 2000 + 86400 + 60), 1);
	assert_int_equal(policy_check_window(&e, &ext, 2000 + 86400 + 60, 0, &d), REJECT_NONE);
	assert_int_equal(policy_check_window(&e, &ext, 2000 + 2 * 86400 + 60, 0, &d), REJECT_CLOSED);
	g_free(d);
	/* the budget: the extension's attempts replace max_attempts */
	ext.max_attempts = 5;
	assert_int_equal(policy_check_window(&e, &ext, 1500, 3, &d), REJECT_NONE);
	assert_int_equal(policy_check_window(&e, &ext, 1500, 5, &d), REJECT_ATTEMPTS_EXHAUSTED);
	assert_string_equal(d, "5");
	g_free(d);
	/* an extension without attempts keeps the exercise's */
	ext.max_attempts = 0;
	assert_int_equal(policy_check_window(&e, &ext, 1500, 3, &d), REJECT_ATTEMPTS_EXHAUSTED);
	assert_string_equal(d, "3");
	g_free(d);
}

static void reason_names(void **state)
{
	for (int r = REJECT_UNKNOWN_SENDER; r <= REJECT_TOO_LARGE; r++)
		assert_int_equal(policy_reason_from_name(policy_reason_name(r)), r);
	assert_string_equal(policy_reason_name(REJECT_MISSING_REQUIRED), "missing_required");
	assert_int_equal(policy_reason_from_name("nonsense"), REJECT_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exercise_order),
		cmocka_unit_test(unknown_exercise),
		cmocka_unit_test(automatic),
		cmocka_unit_test(window),
		cmocka_unit_test(window_extension),
		cmocka_unit_test(reason_names),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
