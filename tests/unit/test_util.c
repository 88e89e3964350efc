/* Unit tests of util: parsing of sizes, durations and dates; tree helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util.h"

static void sizes(void **state)
{
	uint64_t v;
	assert_true(util_parse_size("10M", &v));
	assert_int_equal(v, 10u << 20);
	assert_true(util_parse_size("512k", &v));
	assert_int_equal(v, 512u << 10);
	assert_true(util_parse_size("1G", &v));
	assert_int_equal(v, 1u << 30);
	assert_true(util_parse_size("1.5K", &v));
	assert_int_equal(v, 1536);
	assert_true(util_parse_size("100", &v));
	assert_int_equal(v, 100);
	assert_true(util_parse_size("2MiB", &v));
	assert_int_equal(v, 2u << 20);
	assert_false(util_parse_size("", &v));
	assert_false(util_parse_size("ten", &v));
	assert_false(util_parse_size("10X", &v));
	assert_false(util_parse_size("-1M", &v));
}

static void durations(void **state)
{
	uint64_t v;
	assert_true(util_parse_duration_ms("2s", &v));
	assert_int_equal(v, 2000);
	assert_true(util_parse_duration_ms("500ms", &v));
	assert_int_equal(v, 500);
	assert_true(util_parse_duration_ms("1m", &v));
	assert_int_equal(v, 60000);
	assert_true(util_parse_duration_ms("3", &v));
	assert_int_equal(v, 3000);
	assert_true(util_parse_duration_ms("0.5s", &v));
	assert_int_equal(v, 500);
	assert_false(util_parse_duration_ms("2 parsecs", &v));
	assert_false(util_parse_duration_ms("", &v));
}

static void dates(void **state)
{
	int64_t t;
	setenv("TZ", "UTC", 1);
	assert_true(util_parse_date("2026-04-15 23:59", &t));
	assert_int_equal(t, 1776297540);
	assert_true(util_parse_date("2026-04-15 23:59-03:00", &t));
	assert_int_equal(t, 1776297540 + 3 * 3600);
	assert_true(util_parse_date("2026-04-15T23:59+00:00", &t));
	assert_int_equal(t, 1776297540);
	assert_true(util_parse_date("2026-04-15", &t));
	assert_false(util_parse_date("15/04/2026", &t));
	assert_false(util_parse_date("2026-13-01 00:00", &t));
	assert_false(util_parse_date("2026-04-15 25:00", &t));
	char *s = util_format_date(1776297540);
	assert_string_equal(s, "2026-04-15 23:59");
	g_free(s);
}

static void filenames(void **state)
{
	assert_true(util_safe_filename("tp.c"));
	assert_true(util_safe_filename("año.c"));
	assert_false(util_safe_filename(".."));
	assert_false(util_safe_filename("."));
	assert_false(util_safe_filename("a/b"));
	assert_false(util_safe_filename("a\nb"));
	assert_false(util_safe_filename(""));
	char longname[300];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	assert_false(util_safe_filename(longname));
}

static void trees(void **state)
{
	char tmpl[] = "/tmp/test_util.XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	char *src = g_build_filename(tmpl, "src", NULL), *dst = g_build_filename(tmpl, "dst", NULL);
	char *sub = g_build_filename(src, "d", NULL);
	assert_int_equal(util_mkdir_p(sub, 0755), 0);
	char *f = g_build_filename(sub, "f.txt", NULL);
	assert_true(g_file_set_contents(f, "hello", 5, NULL));
	/* a symlink to a host file must be neither copied nor followed */
	char *l = g_build_filename(src, "evil", NULL);
	assert_int_equal(symlink("/etc/passwd", l), 0);
	assert_int_equal(util_copy_tree(src, dst), 0);
	char *copied = g_build_filename(dst, "d", "f.txt", NULL);
	char *text = NULL;
	assert_true(g_file_get_contents(copied, &text, NULL, NULL));
	assert_string_equal(text, "hello");
	char *evil = g_build_filename(dst, "evil", NULL);
	struct stat st;
	assert_int_equal(lstat(evil, &st), -1);
	/* rm_rf removes the link, not its target */
	assert_int_equal(util_rm_rf(tmpl), 0);
	assert_int_equal(lstat(tmpl, &st), -1);
	assert_int_equal(lstat("/etc/passwd", &st), 0);
	g_free(src); g_free(dst); g_free(sub); g_free(f); g_free(l); g_free(copied); g_free(text); g_free(evil);
}

/* The attack of a student's program that runs mkdir("d"); chdir("d") 1,500
 * times: util_rm_rf must remove the tree with a descriptor limit far below
 * its depth (one descriptor per level would fail with EMFILE), remove the
 * files and side directories on the way, and follow no symlink. */
static void deep_tree(void **state)
{
	char tmpl[] = "/tmp/test_util_deep.XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	char keep[] = "/tmp/test_util_keep.XXXXXX";
	assert_non_null(mkdtemp(keep));
	char *sentinel = g_build_filename(keep, "sentinel", NULL);
	assert_true(g_file_set_contents(sentinel, "x", 1, NULL));
	int here = open(".", O_RDONLY | O_DIRECTORY);
	assert_true(here >= 0);
	assert_int_equal(chdir(tmpl), 0);
	for (int i = 0; i < 1500; i++) {
		if (i % 100 == 0) {
			/* a file, a side dir with a file, a link out of the tree */
			assert_true(g_file_set_contents("f", "data", 4, NULL));
			assert_int_equal(mkdir("e", 0755), 0);
			assert_true(g_file_set_contents("e/g", "data", 4, NULL));
			assert_int_equal(symlink(keep, "out"), 0);
		}
		assert_int_equal(mkdir("d", 0755), 0);
		assert_int_equal(chdir("d"), 0);
	}
	/* a directory its owner made unwritable */
	assert_true(g_file_set_contents("last", "x", 1, NULL));
	assert_int_equal(chmod(".", 0500), 0);
	assert_int_equal(fchdir(here), 0);
	close(here);

	struct rlimit old, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 32;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int r = util_rm_rf(tmpl);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(r, 0);
	struct stat st;
	assert_int_equal(lstat(tmpl, &st), -1);
	assert_int_equal(lstat(sentinel, &st), 0);
	/* no descriptor leaked: the next open gets a low number */
	int fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0 && fd < 16);
	close(fd);
	assert_int_equal(util_rm_rf(keep), 0);
	g_free(sentinel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(durations),
		cmocka_unit_test(dates),
		cmocka_unit_test(filenames),
		cmocka_unit_test(trees),
		cmocka_unit_test(deep_tree),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
