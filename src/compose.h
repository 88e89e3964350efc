/* compose: the multipart reply of docs/ARCHITECTURE.md section 7 for an attempt, written
 * to the outbox (var/outbox Maildir + an outbox row) before any send. */
#ifndef SERCOM_COMPOSE_H
#define SERCOM_COMPOSE_H

#include "conf.h"
#include "store.h"
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* Composes the reply to attempt_id (DONE, REJECTED or ERROR) from the
 * database, the exercise and var/attempts/ID/report/, spools it and queues
 * an outbox row, and marks the attempt answered, in one transaction.
 * Attempts already answered, duplicates and automatic mail get nothing
 * (true, *outbox_id = 0). */
bool compose_reply(const struct sercom_conf *c, struct store *s, int64_t attempt_id,
                   int64_t *outbox_id, GError **err);
/* Composes the replies of every attempt that needs one and has none yet
 * (runner --once, after grading, and for the MDA's rejections). Returns the
 * number composed, -1 on error. */
int compose_pending(const struct sercom_conf *c, struct store *s, GError **err);
/* Mails the student the new verdict set by `sercom override` with the staff
 * note. */
bool compose_override(const struct sercom_conf *c, struct store *s, int64_t attempt_id,
                      const char *note, GError **err);
/* Composes the one final mail of reveal_private = after_close (reveal.c)
 * for attempt_id, the attempt that counts of its student: every case,
 * private ones included, with its points, the score and the final score
 * (late penalty applied). Queues it and records it in reveals in one
 * transaction; a student and exercise already revealed get nothing (true,
 * *outbox_id = 0). */
bool compose_final(const struct sercom_conf *c, struct store *s, int64_t attempt_id, int64_t *outbox_id,
                   GError **err);
/* Mails the admin (INTERNAL_ERROR, a reply given up as FAILED). */
bool compose_admin_notice(const struct sercom_conf *c, struct store *s, const char *subject,
                          const char *body, GError **err);

/* results.json of an attempt (results.h): the public cases, as attached
 * to its reply, or every case with include_private (`sercom show ID
 * --format json`). g_free; NULL with err. */
char *compose_results_json(const struct sercom_conf *c, struct store *s, int64_t attempt_id,
                           bool include_private, GError **err);

#endif
