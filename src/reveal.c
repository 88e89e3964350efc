/* reveal: the after-close final mail (reveal.h; README "Grades").
 *
 * Sent once: compose_final writes the reveals row in the transaction that
 * queues the outbox row (schema step 5), and this module only offers it
 * students with no reveals row. A runner restarted, a timer that fires twice,
 * two runners, or `sercom reveal` racing the timer: the second finds the row
 * and queues nothing.
 *
 * Why a student waits:
 *  - an attempt of theirs still QUEUED or RUNNING, or finished and not yet
 *    answered: the final mail would speak of an attempt the student has not
 *    seen, or not count one still to be graded;
 *  - their window is open: an extension past closes, or a late rule still
 *    grading mail (late = penalty ... max DAYS: until DAYS days after the
 *    deadline). Revealing private cases to a student who can still submit
 *    would hand them the hidden tests; with late = accept or a penalty
 *    without max the window never ends, and only staff decide (`sercom
 *    reveal`). */
#include "reveal.h"
#include "grades.h"
#include "compose.h"
#include "exercise.h"
#include "log.h"
#include "score.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <sysexits.h>

#define DAY_S 86400

/* When the student can no longer send an attempt that is graded: the
 * deadline (their extension's until, else closes), plus max DAYS under
 * late = penalty. -1: never (late mail graded without end), unless
 * by_hand, where staff chose to end it at the deadline. */
static int64_t window_end(const struct exercise *e, int64_t ext_until, bool by_hand)
{
	int64_t deadline = score_deadline(e->closes, ext_until);
	switch (e->late.mode) {
	case LATE_REJECT:
		return deadline;
	case LATE_PENALTY:
		if (e->late.max_days > 0)
			return deadline + (int64_t)e->late.max_days * DAY_S;
		/* fall through */
	case LATE_ACCEPT:
	default:
		return by_hand ? deadline : -1;
	}
}

/* Attempts of the student still to be graded or answered. */
static bool pending_attempts(struct store *s, const char *student, const char *exercise, int64_t *n, GError **err)
{
	return store_query_int(s, n, 0, err,
		"SELECT count(*) FROM attempts WHERE student = %Q AND exercise = %Q AND (state IN ('QUEUED','RUNNING')"
		" OR (state IN ('DONE','REJECTED','ERROR') AND answered = 0))", student, exercise);
}

/* Decides and, when due, queues one student's final mail. */
static void reveal_student(const struct sercom_conf *c, struct store *s, const struct exercise *e,
                           const char *student, int64_t now, unsigned flags, struct reveal_row *row,
                           GError **err)
{
	GError *ee = NULL;
	int64_t pending = 0, until = 0;
	row->student = student;
	row->status = REVEAL_FAILED;
	if (!pending_attempts(s, student, e->name, &pending, &ee) ||
	    !store_query_int(s, &until, 0, &ee, "SELECT until FROM extensions WHERE student = %Q AND exercise = %Q",
	                     student, e->name))
		goto failed;
	if (pending > 0) {
		row->status = REVEAL_WAIT_GRADING;
		return;
	}
	int64_t end = window_end(e, until, flags & REVEAL_BY_HAND);
	if (!(flags & REVEAL_FORCE) && (end < 0 || now < end)) {
		row->status = REVEAL_WAIT_WINDOW;
		row->window_end = end < 0 ? 0 : end;
		return;
	}
	if (!grades_counting_attempt(s, c, student, e->name, &row->attempt, &ee))
		goto failed;
	if (!row->attempt) { /* graded since listed, then overridden: nothing counts */
		row->status = REVEAL_WAIT_GRADING;
		return;
	}
	if (flags & REVEAL_DRY_RUN) {
		row->status = REVEAL_WOULD;
		return;
	}
	if (!compose_final(c, s, row->attempt, &row->outbox, &ee))
		goto failed;
	row->status = REVEAL_QUEUED;
	return;
failed:
	row->error = ee ? ee->message : "?";
	g_propagate_error(err, ee);
}

/* The address and number of an attempt (g_free; NULL when unknown). */
static char *attempt_contact(struct store *s, int64_t id, int64_t *number)
{
	char *email = NULL;
	sqlite3_stmt *q = store_prepare(s, "SELECT coalesce(number, 0), email FROM attempts WHERE id = ?", NULL);
	if (!q)
		return NULL;
	sqlite3_bind_int64(q, 1, id);
	if (sqlite3_step(q) == SQLITE_ROW) {
		*number = sqlite3_column_int64(q, 0);
		if (sqlite3_column_text(q, 1))
			email = g_strdup((const char *)sqlite3_column_text(q, 1));
	}
	sqlite3_finalize(q);
	return email;
}

static int reveal_loaded(const struct sercom_conf *c, struct store *s, const struct exercise *e, int64_t now,
                         unsigned flags, reveal_fn fn, void *data, GError **err)
{
	sqlite3_stmt *st = store_prepare(s,
		"SELECT DISTINCT a.student FROM attempts a WHERE a.exercise = ? AND a.student IS NOT NULL"
		" AND a.state = 'DONE' AND a.verdict IN ('ACCEPTED','TESTS_FAILED','BUILD_FAILED') AND NOT EXISTS (SELECT 1 FROM reveals r WHERE r.student = a.student"
		" AND r.exercise = a.exercise) ORDER BY a.student", err);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, e->name, -1, SQLITE_STATIC);
	g_autoptr(GPtrArray) students = g_ptr_array_new_with_free_func(g_free);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_ptr_array_add(students, g_strdup((const char *)sqlite3_column_text(st, 0)));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_set_error(s, err, "listing the students to reveal");
		return -1;
	}
	int queued = 0;
	for (guint i = 0; i < students->len; i++) {
		struct reveal_row row = {0};
		GError *ee = NULL;
		reveal_student(c, s, e, g_ptr_array_index(students, i), now, flags, &row, &ee);
		g_autofree char *email = row.attempt ? attempt_contact(s, row.attempt, &row.number) : NULL;
		row.email = email;
		/* one student's failure (a vanished report, a robot's address)
		 * must not hold back the others: said, and retried next time */
		if (row.status == REVEAL_FAILED)
			log_error("%s: final mail of %s: %s", e->name, row.student, row.error);
		if (row.status == REVEAL_QUEUED && row.outbox > 0)
			queued++;
		if (fn)
			fn(&row, data);
		g_clear_error(&ee);
	}
	return queued;
}

int reveal_exercise(const struct sercom_conf *c, struct store *s, const char *exercise, int64_t now,
                    unsigned flags, reveal_fn fn, void *data, GError **err)
{
	struct exercise *e = exercise_find(c, exercise, err);
	if (!e)
		return -1;
	int n = reveal_loaded(c, s, e, now, flags, fn, data, err);
	exercise_free(e);
	return n;
}

int reveal_due(const struct sercom_conf *c, struct store *s, int64_t now, GError **err)
{
	(void)err; /* one exercise's trouble is logged, never the others' */
	g_auto(GStrv) names = exercise_list_names(c);
	int total = 0;
	for (char **n = names; n && *n; n++) {
		g_autofree char *dir = g_build_filename(c->exercises, *n, NULL);
		GError *ee = NULL;
		/* the rules only: this runs every minute, the cases are not needed */
		struct exercise *e = exercise_load_rules(c, dir, &ee);
		if (!e) {
			log_debug("reveal: %s: %s", *n, ee->message);
			g_clear_error(&ee);
			continue;
		}
		if (e->reveal_after_close && e->closes > 0 && now >= e->closes) {
			int k = reveal_loaded(c, s, e, now, 0, NULL, NULL, &ee);
			if (k < 0) {
				log_error("reveal: %s: %s", e->name, ee->message);
				g_clear_error(&ee);
			} else {
				total += k;
			}
		}
		exercise_free(e);
	}
	return total;
}

/* ---- sercom reveal ------------------------------------------------------- */

static void print_row(const struct reveal_row *r, void *data)
{
	FILE *out = data;
	g_autofree char *end = r->window_end > 0 ? util_format_date(r->window_end) : NULL;
	fprintf(out, "%s\t%s\t", r->student, r->email ? r->email : "-");
	if (r->attempt)
		fprintf(out, "attempt %lld (#%lld)\t", (long long)r->attempt, (long long)r->number);
	else
		fprintf(out, "-\t");
	switch (r->status) {
	case REVEAL_QUEUED:
		if (r->outbox > 0)
			fprintf(out, "final mail queued (outbox %lld)\n", (long long)r->outbox);
		else
			fprintf(out, "already revealed\n");
		break;
	case REVEAL_WOULD:
		fprintf(out, "would get the final mail\n");
		break;
	case REVEAL_WAIT_GRADING:
		fprintf(out, "waits: an attempt is not graded or answered yet\n");
		break;
	case REVEAL_WAIT_WINDOW:
		if (end)
			fprintf(out, "waits: may still submit until %s (--force to mail now)\n", end);
		else
			fprintf(out, "waits: may still submit (--force to mail now)\n");
		break;
	case REVEAL_FAILED:
		fprintf(out, "failed: %s\n", r->error ? r->error : "?");
		break;
	}
}

int reveal_command(const struct sercom_conf *c, struct store *s, const char *exercise, int64_t now,
                   bool dry_run, bool force, FILE *out)
{
	GError *err = NULL;
	struct exercise *e = exercise_find(c, exercise, &err);
	if (!e) {
		fprintf(stderr, "sercom reveal: %s\n", err->message);
		g_error_free(err);
		return EX_DATAERR;
	}
	g_autofree char *closes = e->closes ? util_format_date(e->closes) : NULL;
	int rc = 0;
	if (!force && !e->reveal_after_close) {
		fprintf(stderr, "sercom reveal: exercise %s has reveal_private = never: its private results stay "
		        "hidden (--force to mail them anyway)\n", e->name);
		rc = EX_USAGE;
	} else if (!force && e->closes > now) {
		fprintf(stderr, "sercom reveal: exercise %s closes on %s: not before (--force to mail now)\n",
		        e->name, closes);
		rc = EX_USAGE;
	}
	if (rc) {
		exercise_free(e);
		return rc;
	}
	unsigned flags = REVEAL_BY_HAND | (force ? REVEAL_FORCE : 0) | (dry_run ? REVEAL_DRY_RUN : 0);
	int n = reveal_loaded(c, s, e, now, flags, print_row, out, &err);
	exercise_free(e);
	if (n < 0) {
		fprintf(stderr, "sercom reveal: %s\n", err->message);
		g_error_free(err);
		return EX_TEMPFAIL;
	}
	if (!dry_run)
		fprintf(out, "%d final mail(s) queued\n", n);
	return 0;
}
