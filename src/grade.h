/* grade: grades one claimed attempt (docs/ARCHITECTURE.md sections 4, 6 and 8): a fresh
 * build area (a tmpfs of [build-limits] space and inodes) with the
 * submission, the exercise's skeleton and Makefile; the build in the
 * sandbox (build profile and limits); each case in a fresh work area (a
 * tmpfs) holding the build's artifacts; verdicts with the precedence of
 * section 6; comparisons, diffs and the report dir of docs/ARCHITECTURE.md.
 * The outcome (results rows and verdict) is
 * returned, not written: the caller commits it with queue_finish() so that
 * a crash mid-grading leaves nothing half-written. */
#ifndef SERCOM_GRADE_H
#define SERCOM_GRADE_H

#include "conf.h"
#include "exercise.h"
#include "queue.h"
#include "store.h"
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* The domain of the errors that are the worker slot's, not the attempt's:
 * a work area (tmpfs) that cannot be mounted or unmounted, a scratch space
 * that cannot be reset. The caller retires the slot and gives the attempt
 * back to the queue without counting the try. Codes are errno values. */
#define GRADE_SLOT_ERROR (grade_slot_error_quark())
GQuark grade_slot_error_quark(void);

struct grade_ctx {
	const struct sercom_conf *conf;
	struct store *store;   /* for lease renewal between steps; may be NULL */
	const char *worker;    /* lease holder (renewed before each step) */
	int lease_s;
	int slot;              /* sandbox uid = conf->uid_base + slot */
	const char *scratch;   /* a tmpfs of this process (grade_scratch_mount)
	                        * under which the build and work areas are
	                        * mounted; required */
};

/* Moves the calling (single-threaded) process into a mount namespace of
 * its own, which receives the host's mounts but never shows its own, and
 * mounts a tmpfs on dir there (an existing dir, owned by root) for
 * grade_ctx.scratch. Errors are GRADE_SLOT_ERROR. */
bool grade_scratch_mount(const char *dir, GError **err);

/* Grades attempt_id into *out (verdict, build, results rows) and rewrites
 * var/attempts/ID/{report,output}/ (nothing of the build stays: its output
 * is report/make.stdout and make.stderr). An exercise that no longer
 * exists or a sandbox error in a case give verdict INTERNAL_ERROR in *out
 * (true: it is an answer). false with err only when grading could not be
 * done and may succeed later (I/O, the sandbox failing on the build, a
 * lost lease with code ESTALE): the caller releases the attempt to the
 * retry budget; with a GRADE_SLOT_ERROR, the slot is at fault (above). */
bool grade_attempt(const struct grade_ctx *g, int64_t attempt_id, struct queue_outcome *out,
                   GError **err);
/* Same, for an exercise and a submission dir given directly (sercom
 * exercise check): report/ and output/ under attempt_dir, the rest in the
 * scratch as for an attempt. */
bool grade_dir(const struct grade_ctx *g, const struct exercise *e, const char *attempt_dir,
               struct queue_outcome *out, GError **err);


#endif
