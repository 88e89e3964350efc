/* ingest: records one spooled mail (the ingester's engine, intake.c):
 * parse, identify, apply the policy, unpack, and record message + attempt
 * in one transaction. Any doubt is an error: the mail stays in
 * var/mail/new and the next pass tries it again, so nothing is lost. */
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
	const char *references; /* the thread's ids for the reply's References (space-separated) */
	const char *digest;     /* SHA-256 of the message's bytes: finds its duplicates */
	int64_t received;       /* when the MDA got it (0: now) */
	const char *head;       /* the message's header block (authres.h), or NULL */
	size_t head_len;
	const char *raw_sha256; /* SHA-256 of the spool file as stored */
	const char *auth;       /* messages.auth: set from the decision, NULL when off */
};

/* INGEST_BOUNCE: a delivery status notification about one of our
 * replies (bounce.h): its outbox row marked BOUNCED, never answered */
enum ingest_outcome { INGEST_QUEUED, INGEST_REJECTED, INGEST_IGNORED, INGEST_AUTOMATIC, INGEST_DUPLICATE,
                      INGEST_BOUNCE };

struct ingest_result {
	enum ingest_outcome outcome;
	int64_t message_row;
	int64_t attempt_id;     /* 0 when no attempt was recorded */
	char *reason;           /* rejection reason or why ignored (g_free) */
	char *spool_path;       /* the raw message, as recorded: var/mail/cur/NAME (g_free) */
};

/* Records the mail of spool_path (a file of var/mail/new: its envelope
 * line, envelope.h, then the message) under the name record_as (where it
 * goes once recorded: var/mail/cur/NAME). */
bool ingest_spooled(const struct sercom_conf *c, struct store *s, const char *spool_path,
                    const char *record_as, struct ingest_result *res, GError **err);
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
