/* policy: the decisions the MDA takes on a parsed mail (docs/ARCHITECTURE.md sections 2
 * and 6): which exercise, which student, whether the mail is automatic, and
 * whether the submission is acceptable. Pure functions over their inputs;
 * the database look-ups are done by the caller (ingest). */
#ifndef SERCOM_POLICY_H
#define SERCOM_POLICY_H

#include "conf.h"
#include "exercise.h"
#include "mime.h"
#include <stdbool.h>
#include <stdint.h>

/* Rejection reasons; their names are stored in attempts.reason. The
 * attempts.detail column says more, per reason, for the reply:
 *   unknown_sender, untrusted_sender: the sender address
 *   unknown_exercise: the word tried, or empty when none was found
 *   not_open: opens (unix time)      closed: closes (unix time)
 *   attempts_exhausted: max_attempts
 *   no_files: empty                  missing_required: the missing globs, space-separated
 *   bad_archive: file name, a colon, and libarchive's reason
 *   too_large: what was too large, a colon, and the limit in bytes; for
 *     the whole mail "message:LIMIT:SIZE" (its real size, also of a copy
 *     the spool cut)
 *   unauthenticated: what the MTA's Authentication-Results said (authres.h)
 *   rate_limited: "interval:SECONDS:NEXT" (NEXT: unix time from which a
 *     mail is accepted again) or "day:MAX:NEXT"
 * Every reject also lists ignored (not accepted) files in attempts.note
 * as "ignored: a b c" when there were any, and files stored under a
 * cleaned name as "renamed: OLD -> NEW; ..." (mime_clean_name); a
 * rejected attempt keeps none of its files. */
enum reject_reason {
	REJECT_NONE = 0,
	REJECT_UNKNOWN_SENDER,
	REJECT_UNTRUSTED_SENDER,
	REJECT_UNKNOWN_EXERCISE,
	REJECT_NOT_OPEN,
	REJECT_CLOSED,
	REJECT_ATTEMPTS_EXHAUSTED,
	REJECT_NO_FILES,
	REJECT_MISSING_REQUIRED,
	REJECT_BAD_ARCHIVE,
	REJECT_TOO_LARGE,
	REJECT_UNAUTHENTICATED,
	REJECT_RATE_LIMITED,
};
/* "unknown_sender" ... ; NULL for REJECT_NONE */
const char *policy_reason_name(enum reject_reason r);
enum reject_reason policy_reason_from_name(const char *name);

/* The exercise named by the mail, in order: -e, $EXTENSION, the +tag of the
 * recipients (explicit first), the first Subject word naming an exercise
 * (case-insensitive). known: sorted exercise names. Returns the exercise's
 * canonical name (g_free) or NULL; *tried gets the candidate word for the
 * reply when none matched. */
char *policy_pick_exercise(char **known, const char *opt_e, const char *env_extension,
                           const char *const *recipients, const char *subject, char **tried);
/* Why a mail is automatic and must never be answered (RFC 3834 and
 * bounces), or NULL. envelope_sender: "" for the null sender. */
const char *policy_automatic(const struct mime_info *m, const char *envelope_sender);
/* A student's own terms for an exercise: their extension (`sercom
 * extend`, the extensions table), read by the caller. */
struct policy_terms {
	int64_t until;       /* > 0: replaces the exercise's closes */
	int max_attempts;    /* > 0: replaces its max_attempts */
};
/* Checks the open/close dates (the late rule) and the attempt budget of a
 * mail received at now. ext: the student's extension, or NULL. used:
 * attempts that count (charged, not rejected or superseded). A refused
 * late mail is REJECT_CLOSED with the student's deadline as detail. */
enum reject_reason policy_check_window(const struct exercise *e, const struct policy_terms *ext, int64_t now,
                                       int64_t used, char **detail);
/* How late a mail received at now is for this student (score.h): whole
 * days begun after their deadline, 0 when on time. */
int policy_late_days(const struct exercise *e, const struct policy_terms *ext, int64_t now);
/* The rate limit of e ([limits] min_interval, max_per_day) for a mail
 * received at now: last, when the student's last accepted mail for the
 * exercise was received (0: none); oldest_in_day and in_day, the first
 * and the number of accepted ones received in the 24 h before now. */
enum reject_reason policy_check_rate(const struct exercise *e, int64_t now, int64_t last, int64_t oldest_in_day,
                                     int64_t in_day, char **detail);

#endif
