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

/* [build-limits] space and inodes: the build's tmpfs (grade.c) */
static void build_area(void **state)
{
	GError *err = NULL;
	g_autofree char *p = write_conf("[general]\nvar = spool\n");
	struct sercom_conf *c = conf_load(p, &err);
	assert_non_null(c);
	assert_int_equal(c->build_limits.space, 256u << 20);
	assert_int_equal(c->build_limits.inodes, 20000);
	assert_int_equal(c->limits.space, 0);
	conf_free(c);
	g_autofree char *p2 = write_conf("[general]\nvar = spool\n[build-limits]\nspace = 1G\ninodes = 500\n");
	c = conf_load(p2, &err);
	if (!c)
		fail_msg("%s", err->message);
	assert_int_equal(c->build_limits.space, 1u << 30);
	assert_int_equal(c->build_limits.inodes, 500);
	conf_free(c);
	/* 0 would mount a tmpfs without a limit */
	g_autofree char *p3 = write_conf("[build-limits]\nspace = 0\n");
	assert_null(conf_load(p3, &err));
	assert_non_null(strstr(err->message, "[build-limits] space: expected at least 1M"));
	g_clear_error(&err);
	g_autofree char *p4 = write_conf("[build-limits]\ninodes = 0\n");
	assert_null(conf_load(p4, &err));
	assert_non_null(strstr(err->message, "[build-limits] inodes: expected at least 64"));
	g_clear_error(&err);
	g_autofree char *p5 = write_conf("[build-limits]\nspace = huge\n");
	assert_null(conf_load(p5, &err));
	assert_non_null(strstr(err->message, "[build-limits] space: expected a size"));
	g_clear_error(&err);
}

static void var_refused(const char *text, const char *bind)
{
	GError *err = NULL;
	g_autofree char *p = write_conf(text);
	struct sercom_conf *c = conf_load(p, &err);
	if (c)
		fail_msg("loaded: %s", text);
	if (!strstr(err->message, "[general] var:") || !strstr(err->message, bind) ||
	    !strstr(err->message, "every student's program could read every submission"))
		fail_msg("%s", err->message);
	g_clear_error(&err);
}

/* var/ under a sandbox bind (or one under var/) would show every
 * submission to every box: a configuration error, real paths compared */
static void var_and_binds(void **state)
{
	var_refused("[general]\nvar = /usr/local/sercom\n", "/usr");
	var_refused("[general]\nvar = /usr/../usr/sercom\n", "/usr");
	var_refused("[general]\nvar = /srv/sercom\n[sandbox]\nbinds = /usr /srv\n", "/srv");
	var_refused("[general]\nvar = /srv/sercom\n[sandbox]\nbinds = /usr /srv/sercom/attempts\n",
	            "/srv/sercom/attempts");
	var_refused("[general]\nvar = /\n", "/usr");
	/* through a symlink: DIR/viausr -> /usr */
	g_autofree char *link = g_build_filename(dir, "viausr", NULL);
	assert_int_equal(symlink("/usr", link), 0);
	var_refused("[general]\nvar = viausr/share/sercom\n", "/usr");
	/* a var/ beside the binds, and a prefix that is not a parent */
	GError *err = NULL;
	g_autofree char *p = write_conf("[general]\nvar = /usrdata/sercom\nexercises = /usr/share/ex\n");
	struct sercom_conf *c = conf_load(p, &err);
	if (!c)
		fail_msg("%s", err->message);
	assert_null(conf_bind_exposing(c, c->var));
	/* the exercises are the runner's warning (src/sercom-runner.c) */
	assert_string_equal(conf_bind_exposing(c, c->exercises), "/usr");
	conf_free(c);
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
		cmocka_unit_test(build_area),
		cmocka_unit_test(var_and_binds),
	};
	return cmocka_run_group_tests_name("conf", tests, setup, teardown);
}
