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

/* A message over max_bytes: its head kept, the rest read all the same
 * (the MTA sees a delivery), the real size in the name; one within it is
 * whole and unmarked. */
static void cut_over_max(void **state)
{
	g_autofree char *md = g_build_filename(dir, "cut", NULL);
	GError *err = NULL;
	assert_true(spool_init(md, &err));
	const size_t total = 300000, max = 100000;
	char *msg = g_malloc(total);
	for (size_t i = 0; i < total; i++)
		msg[i] = (char)('a' + i % 26);
	for (int round = 0; round < 3; round++) {
		/* over, exactly at, and without the limit */
		uint64_t lim = round == 0 ? max : round == 1 ? total : 0;
		int p[2];
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			_exit(util_write_all(p[1], msg, total) == 0 ? 0 : 1);
		}
		close(p[1]);
		char *path = NULL;
		assert_true(spool_from_fd(md, p[0], lim, &path, &err));
		/* read to the end: nothing left, and the writer got
		 * everything through (no broken pipe) */
		char c;
		assert_int_equal(read(p[0], &c, 1), 0);
		close(p[0]);
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		char *text = NULL;
		gsize len;
		assert_true(g_file_get_contents(path, &text, &len, NULL));
		size_t want = round == 0 ? max : total;
		assert_int_equal(len, want);
		assert_memory_equal(text, msg, want);
		assert_int_equal(spool_cut_size(path), round == 0 ? total : 0);
		g_free(text);
		g_free(path);
	}
	g_free(msg);
	/* the mark is read from the name only, and only as written */
	assert_int_equal(spool_cut_size("/x/new/1.M2P3Q4R5.host,T=123"), 123);
	assert_int_equal(spool_cut_size("/x/new/1.M2P3Q4R5.host,T=123:2,S"), 123);
	assert_int_equal(spool_cut_size("/x/new/1.M2P3Q4R5.host"), 0);
	assert_int_equal(spool_cut_size("/x,T=9/new/1.host"), 0);
	assert_int_equal(spool_cut_size("/x/new/1.host,T=12x"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(deliver),
		cmocka_unit_test(abort_leaves_nothing),
		cmocka_unit_test(unique_names),
		cmocka_unit_test(missing_dir_is_an_error),
		cmocka_unit_test(cut_over_max),
	};
	return cmocka_run_group_tests_name("spool", tests, setup, teardown);
}
