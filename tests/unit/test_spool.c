/* Unit tests of spool: Maildir delivery, unique names, no tmp leftovers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "spool.h"
#include "util.h"

static char dir[] = "/tmp/test_spool.XXXXXX";

static int count_entries(const char *sub)
{
	g_autofree char *p = g_build_filename(dir, "md", sub, NULL);
	GDir *d = g_dir_open(p, 0, NULL);
	int n = 0;
	while (d && g_dir_read_name(d))
		n++;
	if (d)
		g_dir_close(d);
	return n;
}

static void deliver(void **state)
{
	g_autofree char *md = g_build_filename(dir, "md", NULL);
	GError *err = NULL;
	assert_true(spool_init(md, &err));
	char *path = NULL;
	assert_true(spool_write(md, "Subject: x\n\nhello\n", 18, &path, &err));
	char *text = NULL;
	gsize len;
	assert_true(g_file_get_contents(path, &text, &len, NULL));
	assert_int_equal(len, 18);
	assert_non_null(strstr(path, "/new/"));
	assert_int_equal(count_entries("tmp"), 0);
	assert_int_equal(count_entries("new"), 1);
	g_free(text);
	g_free(path);
}

static void abort_leaves_nothing(void **state)
{
	g_autofree char *md = g_build_filename(dir, "md", NULL);
	struct spool_tmp t;
	int before = count_entries("new");
	assert_true(spool_tmp_open(md, &t, NULL));
	assert_int_equal(util_write_all(t.fd, "x", 1), 0);
	spool_tmp_abort(&t);
	assert_int_equal(count_entries("tmp"), 0);
	assert_int_equal(count_entries("new"), before);
}

/* 4 processes x 50 deliveries in the same second: 200 distinct files. */
static void unique_names(void **state)
{
	g_autofree char *md = g_build_filename(dir, "md", NULL);
	int before = count_entries("new");
	for (int k = 0; k < 4; k++) {
		if (fork() == 0) {
			for (int i = 0; i < 50; i++)
				if (!spool_write(md, "m\n", 2, NULL, NULL))
					_exit(1);
			_exit(0);
		}
	}
	for (int k = 0; k < 4; k++) {
		int st;
		wait(&st);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(count_entries("new"), before + 200);
}

static void missing_dir_is_an_error(void **state)
{
	GError *err = NULL;
	assert_false(spool_write("/nonexistent/md", "x", 1, NULL, &err));
	assert_non_null(strstr(err->message, "/nonexistent/md/tmp/"));
	g_clear_error(&err);
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
		cmocka_unit_test(deliver),
		cmocka_unit_test(abort_leaves_nothing),
		cmocka_unit_test(unique_names),
		cmocka_unit_test(missing_dir_is_an_error),
	};
	return cmocka_run_group_tests_name("spool", tests, setup, teardown);
}
