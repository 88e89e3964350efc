/* Unit tests of conf: defaults, relative paths, overrides, errors that name
 * the file, the group and the key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>
#include "conf.h"
#include "util.h"

static char dir[] = "/tmp/test_conf.XXXXXX";

static char *write_conf(const char *text)
{
	char *p = g_build_filename(dir, "sercom.conf", NULL);
	assert_true(g_file_set_contents(p, text, -1, NULL));
	return p;
}

static void defaults_and_paths(void **state)
{
	g_autofree char *p = write_conf("[general]\nvar = spool\n");
	GError *err = NULL;
	struct sercom_conf *c = conf_load(p, &err);
	assert_non_null(c);
	g_autofree char *var = g_build_filename(dir, "spool", NULL);
	assert_string_equal(c->var, var);
	g_autofree char *db = g_build_filename(dir, "spool", "sercom.db", NULL);
	assert_string_equal(c->db_path, db);
	assert_int_equal(c->limits.cpu_ms, 2000);
	assert_int_equal(c->limits.memory, 256u << 20);
	assert_int_equal(c->workers, 2);
	assert_int_equal(c->unknown_sender, UNKNOWN_REJECT);
	assert_null(c->trusted);
	assert_string_equal(c->binds[0], "/usr");
	conf_free(c);
}

static void full(void **state)
{
	g_autofree char *p = write_conf(
		"[general]\nvar = /srv/x\nworkers = 4\nlanguage = es\n"
		"[mail]\nfrom = G <g@x.edu>\nadmin = staff@x.edu\nunknown_sender = accept\n"
		"trusted = ^[^@]+@x\\.edu$\n"
		"[limits]\ncpu = 500ms\nmemory = 64M\nprocs = 3\n"
		"[sandbox]\nuid_base = 70000\nbinds = /usr  /lib\n");
	GError *err = NULL;
	struct sercom_conf *c = conf_load(p, &err);
	if (!c)
		fail_msg("%s", err->message);
	assert_string_equal(c->var, "/srv/x");
	assert_int_equal(c->workers, 4);
	assert_string_equal(c->language, "es");
	assert_int_equal(c->unknown_sender, UNKNOWN_ACCEPT);
	assert_true(g_regex_match(c->trusted, "ana@x.edu", 0, NULL));
	assert_false(g_regex_match(c->trusted, "ana@xyedu", 0, NULL));
	assert_int_equal(c->limits.cpu_ms, 500);
	assert_int_equal(c->limits.memory, 64u << 20);
	assert_int_equal(c->limits.procs, 3);
	assert_int_equal(c->limits.wall_ms, 10000); /* untouched default */
	assert_int_equal(c->uid_base, 70000);
	assert_int_equal(g_strv_length(c->binds), 2);
	conf_free(c);
}

static void errors_name_the_key(void **state)
{
	GError *err = NULL;
	g_autofree char *p = write_conf("[limits]\ncpu = fast\n");
	assert_null(conf_load(p, &err));
	assert_non_null(strstr(err->message, "sercom.conf: [limits] cpu:"));
	assert_non_null(strstr(err->message, "fast"));
	g_clear_error(&err);

	g_autofree char *p2 = write_conf("[mail]\nunknown_sender = maybe\n");
	assert_null(conf_load(p2, &err));
	assert_non_null(strstr(err->message, "[mail] unknown_sender"));
	g_clear_error(&err);

	g_autofree char *p3 = write_conf("[general\nvar = x\n");
	assert_null(conf_load(p3, &err));
	assert_non_null(strstr(err->message, "sercom.conf"));
	g_clear_error(&err);

	assert_null(conf_load("/nonexistent/sercom.conf", &err));
	assert_non_null(strstr(err->message, "/nonexistent/sercom.conf"));
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
		cmocka_unit_test(defaults_and_paths),
		cmocka_unit_test(full),
		cmocka_unit_test(errors_name_the_key),
	};
	return cmocka_run_group_tests_name("conf", tests, setup, teardown);
}
