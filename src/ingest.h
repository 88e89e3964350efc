/* ingest: the MDA's engine, shared by sercom-deliver and `sercom
 * import-maildir`: spool the raw message first, then parse, identify,
 * apply the policy, unpack, and record message + attempt in one
 * transaction. Any doubt is an error: the caller exits 75 and the MTA
 * retries, so nothing is lost. */
#ifndef SERCOM_INGEST_H
#define SERCOM_INGEST_H

#include "conf.h"
#include "store.h"
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct ingest_opts {
	const char *exercise;   /* -e */
	const char *extension;  /* $EXTENSION (postfix local(8)) */
	const char *sender;     /* envelope sender (-f, $SENDER); "" = null sender; NULL unknown */
	const char *recipient;  /* envelope recipient (-r, $RECIPIENT) */
};

enum ingest_outcome { INGEST_QUEUED, INGEST_REJECTED, INGEST_IGNORED, INGEST_AUTOMATIC, INGEST_DUPLICATE };

struct ingest_result {
	enum ingest_outcome outcome;
	int64_t message_row;
	int64_t attempt_id;     /* 0 when no attempt was recorded */
	char *reason;           /* rejection reason or why ignored (g_free) */
	char *spool_path;       /* the raw message in var/mail/new (g_free) */
	bool drop_copy;         /* duplicate with the same bytes: this copy is redundant */
};

/* Spools the message read from fd into var/mail and records it. */
bool ingest_fd(const struct sercom_conf *c, struct store *s, int fd,
               const struct ingest_opts *o, struct ingest_result *res, GError **err);
/* Records a message already in var/mail/new (e.g. found unrecorded). */
bool ingest_spooled(const struct sercom_conf *c, struct store *s, const char *spool_path,
                    const struct ingest_opts *o, struct ingest_result *res, GError **err);
/* ingest_spooled for a copy this process has just spooled: removes it
 * when it was not recorded or is a redundant duplicate. */
bool ingest_new_copy(const struct sercom_conf *c, struct store *s, const char *spool_path,
                     const struct ingest_opts *o, struct ingest_result *res, GError **err);
/* Records every message of var/mail (new/ and cur/) older than min_age
 * seconds that has no messages row (a commit lost to a power cut, an MDA
 * killed half way, an intake's failed record); returns how many, -1 on
 * error. With the envelope an intake kept for it, or else from its
 * headers alone. hooks, when set, run around each record (the intake's
 * crash marker and time limit). */
struct ingest_recover_hooks {
	void (*before)(const char *path, void *data);
	void (*after)(const char *path, void *data);
	void *data;
};
int ingest_recover(const struct sercom_conf *c, struct store *s, int64_t min_age,
                   const struct ingest_recover_hooks *hooks, GError **err);
/* var/mail/envelope/NAME: the envelope (the handoff packet, handoff.h) an
 * intake kept for a copy whose record failed (g_free). */
char *ingest_envelope_path(const struct sercom_conf *c, const char *copy);
/* That envelope into env; false when there is none. */
struct handoff_request;
bool ingest_read_envelope(const struct sercom_conf *c, const char *copy, struct handoff_request *env);
/* Whether a messages row names this spool file; -1 on error. */
int ingest_is_recorded(struct store *s, const char *spool_path, GError **err);
void ingest_result_clear(struct ingest_result *res);
const char *ingest_outcome_name(enum ingest_outcome o);
/* "stored PATH: OUTCOME (REASON), attempt N" for the log (g_free). */
char *ingest_describe(const struct ingest_result *res);
/* Pokes the runner through var/runner.fifo; never blocks, silent when no
 * runner listens. */
void ingest_wake_runner(const struct sercom_conf *c);

#endif
