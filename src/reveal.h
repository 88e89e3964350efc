/* reveal: the one final mail per student of an exercise with
 * reveal_private = after_close (README "Grades"; schema step 5, table
 * reveals). When the exercise has closed, each roster student with a
 * graded attempt gets the full result of the attempt that counts ([mail]
 * grade_policy), private cases and final score included, through the
 * outbox like every reply, once. */
#ifndef SERCOM_REVEAL_H
#define SERCOM_REVEAL_H

#include "conf.h"
#include "store.h"
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum reveal_status {
	REVEAL_QUEUED,          /* the final mail is in the outbox */
	REVEAL_WOULD,           /* dry run: it would be */
	REVEAL_WAIT_GRADING,    /* an attempt is queued, running or unanswered */
	REVEAL_WAIT_WINDOW,     /* the student may still send (extension, late rule) */
	REVEAL_FAILED,          /* composing failed: retried next time */
};

struct reveal_row {
	const char *student;
	const char *email;      /* of the attempt that counts; NULL while waiting */
	int64_t attempt, number, outbox;
	int64_t window_end;     /* REVEAL_WAIT_WINDOW: when it ends; 0: never */
	enum reveal_status status;
	const char *error;      /* REVEAL_FAILED */
};

typedef void (*reveal_fn)(const struct reveal_row *row, void *data);

enum {
	REVEAL_BY_HAND = 1 << 0, /* `sercom reveal`: a late rule without end ends at the deadline */
	REVEAL_FORCE = 1 << 1,   /* also students whose window is still open */
	REVEAL_DRY_RUN = 1 << 2, /* report, queue nothing */
};

/* The runner's timer: the final mails now due, over every exercise with
 * reveal_private = after_close whose closes has passed (an exercise with no
 * closes never reveals by timer). A student is due once every attempt of
 * theirs is graded and answered and their own window has ended: their
 * extension's until (or closes), plus max DAYS under late = penalty; with
 * late = accept or a penalty without max there is no end, and only
 * `sercom reveal` reveals. Returns the number of mails queued, -1 on error. */
int reveal_due(const struct sercom_conf *c, struct store *s, int64_t now, GError **err);

/* One exercise (by name): every roster student with a graded attempt not
 * yet revealed is reported to fn (may be NULL) and, unless
 * REVEAL_DRY_RUN, mailed when due. Returns the number queued, -1 on error
 * (an unknown exercise; a student's failure is reported, not an error). */
int reveal_exercise(const struct sercom_conf *c, struct store *s, const char *exercise, int64_t now,
                    unsigned flags, reveal_fn fn, void *data, GError **err);

/* `sercom reveal EXERCISE [--dry-run] [--force]`: refuses an exercise
 * that has not closed or has reveal_private = never unless force; prints
 * one line per student to out. Returns the exit status. */
int reveal_command(const struct sercom_conf *c, struct store *s, const char *exercise, int64_t now,
                   bool dry_run, bool force, FILE *out);

#endif
