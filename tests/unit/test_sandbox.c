/* test_sandbox: the sandbox module in-process, as the runner uses it:
 * several runs in one slot (the slot's cgroups and netns are reused, so
 * the CPU, OOM and peak counters must be per run), status names, meta. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sandbox.h"
#include "util.h"
#include "log.h"

#include <string.h>
#include <unistd.h>

static char *work;

static void run_sh(const char *script, struct sandbox_opts *o, struct sandbox_result *r)
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	o->argv = argv;
	o->work_dir = work;
	o->slot = 41;
	GError *err = NULL;
	bool ok = sandbox_run(o, r, &err);
	if (!ok)
		print_error("sandbox_run: %s\n", err ? err->message : "?");
	assert_true(ok);
	g_clear_error(&err);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(sandbox_status_name(SB_OK), "OK");
	assert_string_equal(sandbox_status_name(SB_ML), "ML");
	assert_string_equal(sandbox_status_name(SB_XX), "XX");
	assert_string_equal(sandbox_status_name((enum sandbox_status)99), "XX");
}

static void test_defaults(void **state)
{
	(void)state;
	struct sandbox_opts o;
	sandbox_opts_init(&o, SB_PROFILE_RUN);
	assert_int_equal(o.uid_base, 60000);
	assert_int_equal(o.cpu_ms, 2000);
	assert_int_equal(o.procs, 1);
	sandbox_opts_init(&o, SB_PROFILE_BUILD);
	assert_true(o.procs > 1);
	assert_true(o.memory >= (512u << 20));
}

/* OK, ML, OK, TO, OK in one slot: counters do not leak between runs */
static void test_slot_reuse(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	struct sandbox_opts o;
	struct sandbox_result r;

	sandbox_opts_init(&o, SB_PROFILE_RUN);
	o.procs = 8;
	run_sh("exit 0", &o, &r);
	assert_int_equal(r.status, SB_OK);
	sandbox_result_clear(&r);

	o.memory = 64u << 20;
	/* dd touches its whole 200 MB buffer */
	run_sh("dd if=/dev/zero of=/dev/null bs=200M count=1 2>/dev/null", &o, &r);
	assert_int_equal(r.status, SB_ML);
	sandbox_result_clear(&r);

	run_sh("exit 0", &o, &r);
	assert_int_equal(r.status, SB_OK); /* the OOM counter is per run */
	assert_true(r.max_rss_kib < (64u << 10));
	sandbox_result_clear(&r);

	o.cpu_ms = 300;
	run_sh("while :; do :; done", &o, &r);
	assert_int_equal(r.status, SB_TO);
	assert_true(r.cpu_ms >= 300);
	sandbox_result_clear(&r);

	run_sh("exit 0", &o, &r);
	assert_int_equal(r.status, SB_OK); /* the CPU counter is per run */
	assert_true(r.cpu_ms < 300);
	sandbox_result_clear(&r);

	/* the slot's pids cgroup removed behind our back: made again */
	if (rmdir("/sys/fs/cgroup/pids/sercom-box-60041") == 0) {
		o.procs = 9;
		run_sh("exit 0", &o, &r);
		assert_int_equal(r.status, SB_OK);
		sandbox_result_clear(&r);
	}

	run_sh("exit 5", &o, &r);
	assert_int_equal(r.status, SB_RE);
	assert_int_equal(r.exitcode, 5);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	sandbox_print_meta(f, &r);
	fclose(f);
	assert_non_null(strstr(buf, "status:RE\n"));
	assert_non_null(strstr(buf, "exitcode:5\n"));
	free(buf);
	sandbox_result_clear(&r);
}

/* a supervisor's clean-up of a slot: the dirs go, the next run makes them */
static void test_release_slot(void **state)
{
	(void)state;
	if (geteuid() != 0 || access("/sys/fs/cgroup/pids/cgroup.procs", F_OK) != 0) {
		skip();
		return;
	}
	struct sandbox_opts o;
	struct sandbox_result r;
	sandbox_opts_init(&o, SB_PROFILE_RUN);
	run_sh("exit 0", &o, &r);
	sandbox_result_clear(&r);
	assert_int_equal(access("/sys/fs/cgroup/pids/sercom-box-60041", F_OK), 0);
	sandbox_release_slot(41, 60000);
	assert_int_not_equal(access("/sys/fs/cgroup/pids/sercom-box-60041", F_OK), 0);
	run_sh("exit 0", &o, &r);
	assert_int_equal(r.status, SB_OK);
	sandbox_result_clear(&r);
	sandbox_release_slot(41, 60000);
	assert_int_not_equal(access("/sys/fs/cgroup/cpuacct/sercom-box-60041", F_OK), 0);
}

static void test_sandbox_error(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	struct sandbox_opts o;
	struct sandbox_result r;
	sandbox_opts_init(&o, SB_PROFILE_RUN);
	char *argv[] = { "/bin/true", NULL };
	o.argv = argv;
	o.work_dir = "/nonexistent/work";
	GError *err = NULL;
	assert_false(sandbox_run(&o, &r, &err));
	assert_int_equal(r.status, SB_XX);
	assert_non_null(err);
	assert_non_null(r.message);
	g_clear_error(&err);
	sandbox_result_clear(&r);
}

int main(void)
{
	log_init("test_sandbox", false, false);
	work = g_dir_make_tmp("test-sandbox-XXXXXX", NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_slot_reuse),
		cmocka_unit_test(test_release_slot),
		cmocka_unit_test(test_sandbox_error),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	sandbox_cleanup();
	util_rm_rf(work);
	g_free(work);
	return rc;
}
