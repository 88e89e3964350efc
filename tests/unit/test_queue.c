/* Unit tests of queue: leases, finish guarded by the lease, release with a
 * retry budget, metrics; on a real SQLite database in a temp dir. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "queue.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct fx {
	char *dir;
	struct store *s;
};

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);
	f->dir = g_dir_make_tmp("test_queue.XXXXXX", NULL);
	char *db = g_build_filename(f->dir, "sercom.db", NULL);
	GError *err = NULL;
	f->s = store_open(db, 5000, &err);
	g_free(db);
	assert_non_null(f->s);
	assert_true(store_exec(f->s, &err,
	                       "INSERT INTO messages (id, spool_file, received, outcome) "
	                       "VALUES (1, 'x', 0, 'queued')"));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->s);
	util_rm_rf(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

static void add_attempt(struct fx *f, int64_t id, const char *ex, int64_t queued)
{
	assert_true(store_exec(f->s, NULL,
	                       "INSERT INTO attempts (id, email, exercise, message, state, queued) "
	                       "VALUES (%lld, 'a@b', %Q, 1, 'QUEUED', %lld)",
	                       (long long)id, ex, (long long)queued));
}

static int64_t q(struct fx *f, const char *sql)
{
	int64_t v;
	assert_true(store_query_int(f->s, &v, -999, NULL, "%s", sql));
	return v;
}

static void test_claim_oldest_first(void **state)
{
	struct fx *f = *state;
	int64_t now = util_now();
	add_attempt(f, 1, "tp1", now - 5);
	add_attempt(f, 2, "tp1", now - 10);
	add_attempt(f, 3, "tp1", now - 10);
	int64_t id = 0;
	GError *err = NULL;
	assert_int_equal(queue_claim(f->s, "h:1", 60, &id, &err), 1);
	assert_int_equal(id, 2);
	assert_int_equal(queue_claim(f->s, "h:2", 60, &id, &err), 1);
	assert_int_equal(id, 3);
	assert_int_equal(queue_claim(f->s, "h:1", 60, &id, &err), 1);
	assert_int_equal(id, 1);
	assert_int_equal(queue_claim(f->s, "h:1", 60, &id, &err), 0);
	assert_int_equal(q(f, "SELECT tries FROM attempts WHERE id = 2"), 1);
	assert_int_equal(q(f, "SELECT count(*) FROM attempts WHERE state = 'RUNNING'"), 3);
	assert_int_equal(queue_renew(f->s, "h:1", 60, &err), 2);
	assert_int_equal(queue_renew(f->s, "h:9", 60, &err), 0);
}

static struct queue_result *row(const char *name, enum case_verdict verdict)
{
	struct queue_result *r = g_new0(struct queue_result, 1);
	r->case_name = g_strdup(name);
	r->verdict = verdict;
	r->exit_code = 0;
	r->note = g_strdup("n");
	return r;
}

static void test_finish_needs_lease(void **state)
{
	struct fx *f = *state;
	add_attempt(f, 1, "tp1", util_now());
	int64_t id;
	GError *err = NULL;
	assert_int_equal(queue_claim(f->s, "h:1", 60, &id, &err), 1);
	struct queue_outcome o = { .verdict = VERDICT_ACCEPTED, .build = "OK",
	                           .results = g_ptr_array_new_with_free_func((GDestroyNotify)queue_result_free) };
	g_ptr_array_add(o.results, row("01", CASE_PASS));
	g_ptr_array_add(o.results, row("02", CASE_PASS));
	/* another worker may not write the results */
	assert_false(queue_finish(f->s, id, "h:2", &o, &err));
	assert_int_equal(err->code, ESTALE);
	g_clear_error(&err);
	assert_true(queue_finish(f->s, id, "h:1", &o, &err));
	assert_int_equal(q(f, "SELECT count(*) FROM results WHERE attempt = 1 AND grading = 1"), 2);
	assert_int_equal(q(f, "SELECT grading FROM attempts WHERE id = 1"), 1);
	assert_int_equal(q(f, "SELECT state = 'DONE' AND verdict = 'ACCEPTED' AND finished IS NOT NULL "
	                      "FROM attempts WHERE id = 1"), 1);
	/* a second finish by the same worker finds no lease: no duplicates */
	assert_false(queue_finish(f->s, id, "h:1", &o, &err));
	g_clear_error(&err);
	assert_int_equal(q(f, "SELECT count(*) FROM results"), 2);
	queue_outcome_clear(&o);
}

static void test_release_and_budget(void **state)
{
	struct fx *f = *state;
	add_attempt(f, 1, "tp1", util_now());
	int64_t id;
	GError *err = NULL;
	int errored;
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(queue_claim(f->s, "h:1", 60, &id, &err), 1);
		/* a lease still valid is left alone */
		assert_int_equal(queue_release(f->s, NULL, util_now(), 3, &errored, &err), 0);
		/* expired */
		assert_int_equal(queue_release(f->s, NULL, util_now() + 120, 3, &errored, &err), 1);
		assert_int_equal(errored, i == 3);
	}
	assert_int_equal(q(f, "SELECT state = 'ERROR' AND verdict = 'INTERNAL_ERROR' FROM attempts"), 1);
	assert_int_equal(queue_claim(f->s, "h:1", 60, &id, &err), 0);
}

static void test_release_dead_worker_and_requeue(void **state)
{
	struct fx *f = *state;
	add_attempt(f, 1, "tp1", util_now());
	add_attempt(f, 2, "tp1", util_now());
	int64_t a, b;
	GError *err = NULL;
	assert_int_equal(queue_claim(f->s, "h:1", 600, &a, &err), 1);
	assert_int_equal(queue_claim(f->s, "h:2", 600, &b, &err), 1);
	char **w = queue_running_workers(f->s, "h:", &err);
	assert_int_equal(g_strv_length(w), 2);
	g_strfreev(w);
	assert_int_equal(queue_release(f->s, "h:1", util_now(), 3, NULL, &err), 1);
	assert_int_equal(q(f, "SELECT state = 'QUEUED' AND tries = 1 FROM attempts WHERE id = 1"), 1);
	assert_true(queue_requeue(f->s, b, "h:2", &err));
	assert_int_equal(q(f, "SELECT state = 'QUEUED' AND tries = 0 FROM attempts WHERE id = 2"), 1);
	assert_int_equal(queue_length(f->s, &err), 2);
}

static void test_defer(void **state)
{
	struct fx *f = *state;
	add_attempt(f, 1, "tp1", util_now());
	int64_t id;
	GError *err = NULL;
	assert_int_equal(queue_claim(f->s, "h:1", 600, &id, &err), 1);
	assert_true(queue_defer(f->s, id, "h:1", 30, &err));
	/* no longer renewed by its worker, not claimable, retried when due */
	assert_int_equal(queue_renew(f->s, "h:1", 600, &err), 0);
	assert_int_equal(queue_claim(f->s, "h:2", 600, &id, &err), 0);
	assert_int_equal(queue_release(f->s, NULL, util_now(), 3, NULL, &err), 0);
	assert_int_equal(queue_release(f->s, NULL, util_now() + 31, 3, NULL, &err), 1);
	assert_int_equal(queue_claim(f->s, "h:2", 600, &id, &err), 1);
	assert_int_equal(q(f, "SELECT tries FROM attempts"), 2);
	/* the budget spent on failures: the note says the last one */
	assert_true(queue_note_failure(f->s, id, "sandbox error during the build: box setup: make / private", &err));
	assert_int_equal(queue_release(f->s, "h:2", util_now(), 2, NULL, &err), 1);
	assert_int_equal(q(f, "SELECT count(*) FROM attempts WHERE state = 'ERROR' AND note = "
	                      "'graded 2 times; last failure: sandbox error during the build: box setup: "
	                      "make / private; retry budget spent'"), 1);
}

static void test_metrics(void **state)
{
	struct fx *f = *state;
	add_attempt(f, 1, "tp1", 1000);
	add_attempt(f, 2, "tp2", 1000);
	add_attempt(f, 3, "tp2", 1000);
	assert_true(store_exec(f->s, NULL, "UPDATE attempts SET state = 'DONE', started = 1004, "
	                       "finished = 1010 WHERE id = 2"));
	GError *err = NULL;
	GPtrArray *m = queue_metrics(f->s, 0, &err);
	assert_non_null(m);
	assert_int_equal(m->len, 3);
	struct queue_metrics *tp2 = g_ptr_array_index(m, 1), *all = g_ptr_array_index(m, 2);
	assert_string_equal(tp2->exercise, "tp2");
	assert_int_equal(tp2->queued, 1);
	assert_int_equal(tp2->done, 1);
	assert_true(tp2->queue_max == 4 && tp2->run_avg == 6);
	assert_string_equal(all->exercise, "*");
	assert_int_equal(all->queued, 2);
	g_ptr_array_free(m, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_claim_oldest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_needs_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_and_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_dead_worker_and_requeue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
	};
	return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
