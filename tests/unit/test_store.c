/* Unit tests of store: schema and migrations, WAL, roster import, and the
 * write lock that keeps attempt numbers unique across processes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "store.h"
#include "util.h"

static char dir[] = "/tmp/test_store.XXXXXX";

static char *path_in(const char *name)
{
	return g_build_filename(dir, name, NULL);
}

static void schema(void **state)
{
	g_autofree char *db = path_in("a.db");
	GError *err = NULL;
	struct store *s = store_open(db, 1000, &err);
	assert_non_null(s);
	int64_t v;
	assert_true(store_query_int(s, &v, -1, &err, "PRAGMA user_version"));
	assert_int_equal(v, store_schema_version());
	sqlite3_stmt *st = store_prepare(s, "PRAGMA journal_mode", &err);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	/* foreign keys are enforced */
	assert_false(store_exec(s, &err, "INSERT INTO attempts(email, message, state, queued) VALUES ('x', 999, 'QUEUED', 0)"));
	g_clear_error(&err);
	/* states outside the list are refused */
	assert_true(store_exec(s, &err, "INSERT INTO messages(spool_file, received, outcome) VALUES ('f', 0, 'queued')"));
	assert_false(store_exec(s, &err, "INSERT INTO attempts(email, message, state, queued) VALUES ('x', 1, 'BOGUS', 0)"));
	g_clear_error(&err);
	store_close(s);
	/* reopening does not migrate twice */
	s = store_open(db, 1000, &err);
	assert_non_null(s);
	store_close(s);
}

static void newer_schema_refused(void **state)
{
	g_autofree char *db = path_in("b.db");
	GError *err = NULL;
	struct store *s = store_open(db, 1000, &err);
	assert_true(store_exec(s, &err, "PRAGMA user_version = 99"));
	store_close(s);
	assert_null(store_open(db, 1000, &err));
	assert_non_null(strstr(err->message, "newer"));
	g_clear_error(&err);
}

static void roster(void **state)
{
	g_autofree char *db = path_in("c.db");
	g_autofree char *csv = path_in("r.csv");
	GError *err = NULL;
	struct store *s = store_open(db, 1000, &err);
	assert_true(g_file_set_contents(csv,
		"id,name,email,email\n"
		"s1,\"Núñez, Carla\",Carla@Example.EDU,carla@gmail.com\n"
		"s2,Beto,beto@example.edu,\n", -1, NULL));
	assert_int_equal(store_roster_import(s, csv, &err), 2);
	g_autofree char *a = store_student_by_email(s, "carla@example.edu", &err);
	assert_string_equal(a, "s1");
	g_autofree char *b = store_student_by_email(s, "CARLA@GMAIL.COM", &err);
	assert_string_equal(b, "s1");
	assert_null(store_student_by_email(s, "nobody@example.edu", &err));
	assert_null(err);
	int64_t n;
	assert_true(store_query_int(s, &n, 0, &err, "SELECT count(*) FROM students WHERE name = 'Núñez, Carla'"));
	assert_int_equal(n, 1);

	/* a bad line names the file and the line, and nothing is imported */
	assert_true(g_file_set_contents(csv, "id,name,email\ns3,X,x@e.edu\ns4,Y,not-an-address\n", -1, NULL));
	assert_int_equal(store_roster_import(s, csv, &err), -1);
	assert_non_null(strstr(err->message, "r.csv:3"));
	g_clear_error(&err);
	assert_null(store_student_by_email(s, "x@e.edu", &err));
	store_close(s);
}

/* Two processes each take 200 numbers in BEGIN IMMEDIATE transactions:
 * no number may be given twice. */
static void numbers_unique_across_processes(void **state)
{
	g_autofree char *db = path_in("d.db");
	GError *err = NULL;
	struct store *s = store_open(db, 1000, &err);
	assert_true(store_exec(s, &err, "INSERT INTO messages(spool_file, received, outcome) VALUES ('f', 0, 'queued')"));
	store_close(s);
	pid_t kids[2];
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			struct store *c = store_open(db, 20000, NULL);
			for (int i = 0; i < 200; i++) {
				int64_t n;
				if (!c || !store_begin(c, NULL) ||
				    !store_query_int(c, &n, 0, NULL, "SELECT max(number) FROM attempts") ||
				    !store_exec(c, NULL, "INSERT INTO attempts(email, exercise, student, number, message, state, queued) "
				                "VALUES ('x', 'tp1', NULL, %lld, 1, 'QUEUED', 0)", (long long)n + 1) ||
				    !store_commit(c, NULL))
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int k = 0; k < 2; k++) {
		int st;
		waitpid(kids[k], &st, 0);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	s = store_open(db, 1000, &err);
	int64_t total, distinct, max;
	assert_true(store_query_int(s, &total, 0, &err, "SELECT count(*) FROM attempts"));
	assert_true(store_query_int(s, &distinct, 0, &err, "SELECT count(DISTINCT number) FROM attempts"));
	assert_true(store_query_int(s, &max, 0, &err, "SELECT max(number) FROM attempts"));
	assert_int_equal(total, 400);
	assert_int_equal(distinct, 400);
	assert_int_equal(max, 400);
	store_close(s);
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	return util_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(schema),
		cmocka_unit_test(newer_schema_refused),
		cmocka_unit_test(roster),
		cmocka_unit_test(numbers_unique_across_processes),
	};
	return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
