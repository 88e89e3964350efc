/* queue: the attempts table seen as a work queue (docs/ARCHITECTURE.md sections 1 and 5).
 * Workers claim QUEUED attempts with a lease (oldest first, in one
 * BEGIN IMMEDIATE transaction, so two runners never take the same one),
 * renew it while they grade, and finish it (results rows + verdict) in one
 * transaction that only the lease holder can commit. A RUNNING attempt whose
 * lease expired (a crashed worker or host) goes back to QUEUED until its
 * retry budget is spent, then ERROR / INTERNAL_ERROR. Also the metrics the
 * CI controller of the seeds kept: queue time, run time, queue length per
 * exercise (the runner logs them; `sercom stats` prints them). */
#ifndef SERCOM_QUEUE_H
#define SERCOM_QUEUE_H

#include "score.h"
#include "store.h"
#include "verdict.h"
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* One results row (docs/ARCHITECTURE.md section 5). */
struct queue_result {
	char *case_name;
	enum case_verdict verdict;
	int64_t exit_code;     /* -1: none (killed, not run) */
	int64_t signal;        /* 0: none */
	int64_t cpu_ms, wall_ms, max_rss_kib;
	char *note;            /* staff detail, may be NULL */
	char *diffs;           /* space-separated names relative to report/, may be NULL */
	bool is_private;
	double points;         /* what the case is worth (case.conf points) */
	double earned;         /* what it earned (score_cases: 0 when its group failed) */
	char *group;           /* case.conf group, or NULL */
};

/* What a finished grading writes on its attempt. */
struct queue_outcome {
	enum verdict verdict;  /* ACCEPTED TESTS_FAILED BUILD_FAILED INTERNAL_ERROR */
	const char *build;     /* OK WARNINGS FAILED, or NULL (not built) */
	char *note;            /* staff note, may be NULL */
	GPtrArray *results;    /* struct queue_result *, owned (may be empty) */
	bool scored;           /* score holds the grading's points (false: the
	                        * exercise could not be read; stored as NULL) */
	struct score_total score;
	bool uncharged;        /* not counted against max_attempts (a build
	                        * failure under charge_build_failures = no) */
};

void queue_result_free(struct queue_result *r);
/* Frees the contents of o (not o itself). */
void queue_outcome_clear(struct queue_outcome *o);

/* Claims the oldest QUEUED attempt for worker, leased for lease_s seconds:
 * state RUNNING, lease_until, worker, tries+1, started. Returns 1 and
 * *attempt_id, 0 when nothing is queued, -1 on error. */
int queue_claim(struct store *s, const char *worker, int lease_s, int64_t *attempt_id,
                GError **err);
/* Extends the lease of every attempt held by worker; returns how many
 * (0 means the worker lost its attempt to a release), -1 on error. */
int queue_renew(struct store *s, const char *worker, int lease_s, GError **err);
/* Writes the outcome of a grading of attempt_id in one transaction: the
 * grading counter + 1, the results rows under it (points, score, group
 * included), state DONE, verdict, build, finished, the score columns and
 * charged. Only while worker still holds the attempt: false with
 * ESTALE when the lease was lost (another worker may be grading it, so
 * writing would duplicate its results). */
bool queue_finish(struct store *s, int64_t attempt_id, const char *worker,
                  const struct queue_outcome *o, GError **err);
/* Gives an attempt held by worker (attempt_id 0: every attempt it holds)
 * back to the queue without counting the try (a graceful shutdown, not the
 * attempt's fault). */
bool queue_requeue(struct store *s, int64_t attempt_id, const char *worker, GError **err);
/* After a failed grading (an I/O or sandbox error that may pass): keeps the
 * attempt RUNNING but no longer held by worker, with a lease of delay_s, so
 * the release of expired leases retries it later (counted in the budget)
 * instead of a tight claim-fail loop. */
bool queue_defer(struct store *s, int64_t attempt_id, const char *worker, int delay_s,
                 GError **err);
/* Records a failed grading (why: its error) in the attempt's history; the
 * release that spends the retry budget names the last one in the note. */
bool queue_note_failure(struct store *s, int64_t attempt_id, const char *why, GError **err);
/* Returns to QUEUED the RUNNING attempts whose lease expired before now, or
 * (when worker is not NULL) that worker holds whatever its lease: a worker
 * known dead. Those whose tries reached max_tries become ERROR with verdict
 * INTERNAL_ERROR instead. Returns the number of attempts touched, -1 on
 * error; *errored (may be NULL) gets how many became ERROR. */
int queue_release(struct store *s, const char *worker, int64_t now, int max_tries,
                  int *errored, GError **err);
/* Workers named in RUNNING rows that start with prefix (e.g. "host:"),
 * for the supervisor's dead-worker check at start-up (g_strfreev). */
char **queue_running_workers(struct store *s, const char *prefix, GError **err);
/* Number of QUEUED attempts. -1 on error. */
int64_t queue_length(struct store *s, GError **err);

/* Metrics of one exercise (or of all: exercise "*"), over the attempts
 * queued since `since` (unix time; 0 = ever). Times in seconds. */
struct queue_metrics {
	char *exercise;
	int64_t queued, running, done, error;   /* current counts */
	int64_t graded;                         /* DONE/ERROR with both times, in window */
	double queue_avg, queue_max;            /* started - queued */
	double run_avg, run_max;                /* finished - started */
};
/* Metrics per exercise plus a last "*" row for the whole instance
 * (GPtrArray of struct queue_metrics *; g_ptr_array_unref frees them). */
GPtrArray *queue_metrics(struct store *s, int64_t since, GError **err);

#endif
