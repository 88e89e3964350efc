/* queue: leases on QUEUED attempts, their release, the finish transaction
 * and the queue metrics. See queue.h.
 *
 * Why the results rows are written in the same transaction as state DONE
 * (and not as each case ends): a worker killed mid-grading leaves nothing
 * behind but its lease, so the next grading starts clean and an attempt is
 * never graded twice into the table. Why the finish is guarded by
 * "worker = ? AND state = 'RUNNING'": a worker stalled past its lease (a
 * stopped VM, a swapped host) must not write over the grading of the worker
 * that re-claimed the attempt. */
#include "queue.h"
#include "util.h"
#include "log.h"

#include <errno.h>
#include <string.h>

void queue_result_free(struct queue_result *r)
{
	if (!r)
		return;
	g_free(r->case_name);
	g_free(r->note);
	g_free(r->diffs);
	g_free(r->group);
	g_free(r);
}

void queue_outcome_clear(struct queue_outcome *o)
{
	if (!o)
		return;
	g_free(o->note);
	if (o->results)
		g_ptr_array_free(o->results, TRUE);
	memset(o, 0, sizeof *o);
}

int queue_claim(struct store *s, const char *worker, int lease_s, int64_t *attempt_id,
                GError **err)
{
	if (!store_begin(s, err))
		return -1;
	int64_t id;
	/* oldest first; id breaks ties between mails of the same second */
	if (!store_query_int(s, &id, 0, err,
	                     "SELECT id FROM attempts WHERE state = 'QUEUED' "
	                     "ORDER BY queued, id LIMIT 1"))
		goto fail;
	if (id == 0) {
		store_rollback(s);
		return 0;
	}
	int64_t now = util_now();
	if (!store_exec(s, err,
	                "UPDATE attempts SET state = 'RUNNING', lease_until = %lld, worker = %Q, "
	                "tries = tries + 1, started = %lld, finished = NULL WHERE id = %lld",
	                (long long)(now + lease_s), worker, (long long)now, (long long)id))
		goto fail;
	if (!store_commit(s, err))
		return -1;
	*attempt_id = id;
	return 1;
fail:
	store_rollback(s);
	return -1;
}

int queue_renew(struct store *s, const char *worker, int lease_s, GError **err)
{
	if (!store_exec(s, err,
	                "UPDATE attempts SET lease_until = %lld WHERE state = 'RUNNING' AND worker = %Q",
	                (long long)(util_now() + lease_s), worker))
		return -1;
	return sqlite3_changes(store_db(s));
}

static bool insert_result(struct store *s, sqlite3_stmt *st, int64_t attempt, int64_t grading,
                          int seq, const struct queue_result *r, GError **err)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_int64(st, 1, attempt);
	sqlite3_bind_int64(st, 2, grading);
	sqlite3_bind_int(st, 3, seq);
	sqlite3_bind_text(st, 4, r->case_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, case_verdict_name(r->verdict), -1, SQLITE_STATIC);
	if (r->exit_code >= 0)
		sqlite3_bind_int64(st, 6, r->exit_code);
	if (r->signal > 0)
		sqlite3_bind_int64(st, 7, r->signal);
	sqlite3_bind_int64(st, 8, r->cpu_ms);
	sqlite3_bind_int64(st, 9, r->wall_ms);
	sqlite3_bind_int64(st, 10, r->max_rss_kib);
	if (r->note && *r->note)
		sqlite3_bind_text(st, 11, r->note, -1, SQLITE_STATIC);
	if (r->diffs && *r->diffs)
		sqlite3_bind_text(st, 12, r->diffs, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 13, r->is_private ? 1 : 0);
	sqlite3_bind_double(st, 14, r->points);
	sqlite3_bind_double(st, 15, r->earned);
	if (r->group)
		sqlite3_bind_text(st, 16, r->group, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_set_error(s, err, "insert results");
		return false;
	}
	return true;
}

/* The score columns of a grading (a regrade rewrites them); NULL when the
 * grading has none (the exercise could not be read). */
static bool finish_score(struct store *s, int64_t attempt_id, const struct queue_outcome *o,
                         GError **err)
{
	if (!o->scored)
		return store_exec(s, err, "UPDATE attempts SET score = NULL, max_score = NULL, "
		                  "private_score = NULL, private_max = NULL WHERE id = %lld",
		                  (long long)attempt_id);
	sqlite3_stmt *st = store_prepare(s, "UPDATE attempts SET score = ?1, max_score = ?2, "
	                                 "private_score = ?3, private_max = ?4 WHERE id = ?5", err);
	if (!st)
		return false;
	sqlite3_bind_double(st, 1, o->score.score);
	sqlite3_bind_double(st, 2, o->score.max_score);
	sqlite3_bind_double(st, 3, o->score.private_score);
	sqlite3_bind_double(st, 4, o->score.private_max);
	sqlite3_bind_int64(st, 5, attempt_id);
	bool ok = sqlite3_step(st) == SQLITE_DONE;
	if (!ok)
		store_set_error(s, err, "attempt score");
	sqlite3_finalize(st);
	return ok;
}

bool queue_finish(struct store *s, int64_t attempt_id, const char *worker,
                  const struct queue_outcome *o, GError **err)
{
	if (!store_begin(s, err))
		return false;
	sqlite3_stmt *st = NULL;
	int64_t grading;
	if (!store_query_int(s, &grading, -1, err,
	                     "SELECT grading FROM attempts WHERE id = %lld AND state = 'RUNNING' "
	                     "AND worker = %Q", (long long)attempt_id, worker))
		goto fail;
	if (grading < 0) {
		g_set_error(err, SERCOM_ERROR, ESTALE,
		            "attempt %lld: lease lost by %s (released or re-claimed): results not written",
		            (long long)attempt_id, worker);
		goto fail;
	}
	grading++;
	st = store_prepare(s,
	                   "INSERT INTO results (attempt, grading, seq, case_name, verdict, exit_code, "
	                   "signal, cpu_ms, wall_ms, max_rss_kib, note, diffs, private, points, score, grp) "
	                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", err);
	if (!st)
		goto fail;
	for (guint i = 0; o->results && i < o->results->len; i++)
		if (!insert_result(s, st, attempt_id, grading, (int)i + 1,
		                   g_ptr_array_index(o->results, i), err))
			goto fail;
	sqlite3_finalize(st);
	st = NULL;
	if (!store_exec(s, err,
	                "UPDATE attempts SET state = 'DONE', verdict = %Q, build = %Q, "
	                "grading = %lld, finished = %lld, lease_until = NULL, answered = 0, "
	                "charged = %d WHERE id = %lld",
	                verdict_name(o->verdict), o->build, (long long)grading, (long long)util_now(),
	                o->uncharged ? 0 : 1, (long long)attempt_id) ||
	    !finish_score(s, attempt_id, o, err))
		goto fail;
	/* attempts.note belongs to the MDA (ignored files); the grading's staff
	 * note goes to the history, which also keeps every regrade's verdict */
	if (!store_exec(s, err,
	                "INSERT INTO history (attempt, at, what, verdict, note) "
	                "VALUES (%lld, %lld, 'graded %lld', %Q, %Q)",
	                (long long)attempt_id, (long long)util_now(), (long long)grading,
	                verdict_name(o->verdict), o->note))
		goto fail;
	return store_commit(s, err);
fail:
	if (st)
		sqlite3_finalize(st);
	store_rollback(s);
	return false;
}

bool queue_requeue(struct store *s, int64_t attempt_id, const char *worker, GError **err)
{
	return store_exec(s, err,
	                  "UPDATE attempts SET state = 'QUEUED', lease_until = NULL, worker = NULL, "
	                  "started = NULL, tries = MAX(tries - 1, 0) "
	                  "WHERE (id = %lld OR %lld = 0) AND state = 'RUNNING' AND worker = %Q",
	                  (long long)attempt_id, (long long)attempt_id, worker);
}

bool queue_defer(struct store *s, int64_t attempt_id, const char *worker, int delay_s,
                 GError **err)
{
	return store_exec(s, err,
	                  "UPDATE attempts SET worker = worker || ' (failed)', lease_until = %lld "
	                  "WHERE id = %lld AND state = 'RUNNING' AND worker = %Q",
	                  (long long)(util_now() + delay_s), (long long)attempt_id, worker);
}

bool queue_note_failure(struct store *s, int64_t attempt_id, const char *why, GError **err)
{
	return store_exec(s, err,
	                  "INSERT INTO history (attempt, at, what, verdict, note) "
	                  "VALUES (%lld, %lld, 'grading failed', NULL, %Q)",
	                  (long long)attempt_id, (long long)util_now(), why);
}

int queue_release(struct store *s, const char *worker, int64_t now, int max_tries,
                  int *errored, GError **err)
{
	if (errored)
		*errored = 0;
	if (!store_begin(s, err))
		return -1;
	char *cond = worker
		? sqlite3_mprintf("state = 'RUNNING' AND (worker = %Q OR lease_until < %lld)",
		                  worker, (long long)now)
		: sqlite3_mprintf("state = 'RUNNING' AND lease_until < %lld", (long long)now);
	int gave_up = 0, requeued = 0;
	/* the budget counts claims: a submission that kills its worker every
	 * time (a sandbox escape attempt, a runner bug it triggers) must not
	 * loop forever */
	if (!store_exec(s, err,
	                "UPDATE attempts SET state = 'ERROR', verdict = 'INTERNAL_ERROR', "
	                "finished = %lld, lease_until = NULL, answered = 0, "
	                /* staff and the admin notice get the cause: the last
	                 * recorded failure, else a worker that vanished */
	                "note = COALESCE('graded ' || tries || ' times; last failure: ' || "
	                "  (SELECT h.note FROM history h WHERE h.attempt = attempts.id "
	                "   AND h.what = 'grading failed' ORDER BY h.rowid DESC LIMIT 1), "
	                "  'worker ' || COALESCE(worker, '?') || ' lost the attempt ' || tries || "
	                "  ' times (crash or timeout)') || '; retry budget spent' "
	                "WHERE %s AND tries >= %d", (long long)now, cond, max_tries))
		goto fail;
	gave_up = sqlite3_changes(store_db(s));
	if (!store_exec(s, err,
	                "UPDATE attempts SET state = 'QUEUED', lease_until = NULL, worker = NULL, "
	                "started = NULL WHERE %s", cond))
		goto fail;
	requeued = sqlite3_changes(store_db(s));
	sqlite3_free(cond);
	if (!store_commit(s, err))
		return -1;
	if (gave_up || requeued)
		log_warn("released %d expired lease(s)%s%s: %d requeued, %d out of retries (ERROR)",
		         gave_up + requeued, worker ? " of dead worker " : "", worker ? worker : "",
		         requeued, gave_up);
	if (errored)
		*errored = gave_up;
	return gave_up + requeued;
fail:
	sqlite3_free(cond);
	store_rollback(s);
	return -1;
}

char **queue_running_workers(struct store *s, const char *prefix, GError **err)
{
	sqlite3_stmt *st = store_prepare(s,
	                                 "SELECT DISTINCT worker FROM attempts WHERE state = 'RUNNING' "
	                                 "AND worker IS NOT NULL AND substr(worker, 1, length(?1)) = ?1", err);
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	GPtrArray *a = g_ptr_array_new();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_ptr_array_add(a, g_strdup((const char *)sqlite3_column_text(st, 0)));
	if (rc != SQLITE_DONE) {
		store_set_error(s, err, "running workers");
		sqlite3_finalize(st);
		g_ptr_array_set_free_func(a, g_free);
		g_ptr_array_free(a, TRUE);
		return NULL;
	}
	sqlite3_finalize(st);
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

int64_t queue_length(struct store *s, GError **err)
{
	int64_t n;
	if (!store_query_int(s, &n, 0, err, "SELECT count(*) FROM attempts WHERE state = 'QUEUED'"))
		return -1;
	return n;
}

static void queue_metrics_free(struct queue_metrics *m)
{
	if (!m)
		return;
	g_free(m->exercise);
	g_free(m);
}

GPtrArray *queue_metrics(struct store *s, int64_t since, GError **err)
{
	/* one pass grouped by exercise, then the same with everything folded
	 * into "*"; times only from attempts that have both ends */
	static const char *sql =
		"SELECT ex, "
		"  sum(state = 'QUEUED'), sum(state = 'RUNNING'), sum(state = 'DONE'), sum(state = 'ERROR'),"
		"  sum(started IS NOT NULL AND finished IS NOT NULL AND state IN ('DONE','ERROR')),"
		"  avg(CASE WHEN started IS NOT NULL THEN started - queued END),"
		"  max(CASE WHEN started IS NOT NULL THEN started - queued END),"
		"  avg(CASE WHEN started IS NOT NULL AND finished IS NOT NULL THEN finished - started END),"
		"  max(CASE WHEN started IS NOT NULL AND finished IS NOT NULL THEN finished - started END) "
		"FROM (SELECT COALESCE(exercise, '') AS ex, state, queued, started, finished FROM attempts "
		"      WHERE queued >= ?1 AND state NOT IN ('REJECTED','SUPERSEDED') "
		"      UNION ALL "
		"      SELECT '*', state, queued, started, finished FROM attempts "
		"      WHERE queued >= ?1 AND state NOT IN ('REJECTED','SUPERSEDED')) "
		"GROUP BY ex ORDER BY ex = '*', ex";
	sqlite3_stmt *st = store_prepare(s, sql, err);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, since);
	GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)queue_metrics_free);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct queue_metrics *m = g_new0(struct queue_metrics, 1);
		m->exercise = g_strdup((const char *)sqlite3_column_text(st, 0));
		m->queued = sqlite3_column_int64(st, 1);
		m->running = sqlite3_column_int64(st, 2);
		m->done = sqlite3_column_int64(st, 3);
		m->error = sqlite3_column_int64(st, 4);
		m->graded = sqlite3_column_int64(st, 5);
		m->queue_avg = sqlite3_column_double(st, 6);
		m->queue_max = sqlite3_column_double(st, 7);
		m->run_avg = sqlite3_column_double(st, 8);
		m->run_max = sqlite3_column_double(st, 9);
		g_ptr_array_add(a, m);
	}
	if (rc != SQLITE_DONE) {
		store_set_error(s, err, "queue metrics");
		g_ptr_array_free(a, TRUE);
		a = NULL;
	}
	sqlite3_finalize(st);
	if (a && a->len == 0) {
		struct queue_metrics *m = g_new0(struct queue_metrics, 1);
		m->exercise = g_strdup("*");
		g_ptr_array_add(a, m);
	}
	return a;
}
