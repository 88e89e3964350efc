/* handoff: sercom-deliver hands a spooled message to the resident intake.
 *
 * Why: an MDA process that parses (GMime), unpacks (libarchive) and opens
 * the database (SQLite) pays their start-up, the database's WAL index and
 * schema, for every mail. The intake (intake.c, run by sercom-runner) keeps
 * all of that loaded. sercom-deliver stays small: it spools the message
 * itself (tmp -> fsync -> new/ -> fsync, before anything else can fail),
 * passes its name and its envelope (-e, -f, -r, $EXTENSION...) over
 * var/intake.sock and waits until the intake has taken the copy over
 * (intake.c says why it answers before it records). When no intake
 * listens, or the intake refuses the copy, sercom-deliver records the
 * message in a process of its own (sercom-ingest).
 *
 * The wire: one SOCK_SEQPACKET request "sercom-handoff-1\0" followed by
 * "key\0value\0" pairs (spool, exercise, extension, sender, recipient),
 * one answer "CODE\0TEXT" (CODE 0: the copy is the intake's, which records
 * it; anything else: refused, the copy is still the sender's). No answer
 * means the intake never took the copy: the sender removes it and exits 75
 * (the MTA retries). */
#ifndef SERCOM_HANDOFF_H
#define SERCOM_HANDOFF_H

#include <glib.h>
#include <stdbool.h>

#define HANDOFF_SOCKET "intake.sock"
#define HANDOFF_MAX 65536

struct handoff_request {
	char *spool_name;       /* a file name in var/mail/new, no slash */
	char *exercise, *extension, *sender, *recipient; /* NULL when absent */
};
void handoff_request_clear(struct handoff_request *rq);
/* Spool names are ours (spool.c): a plain file name of new/. Anything else
 * (a path, "..", a dot file) would let the sender of a request make the
 * intake, or sercom-ingest --spooled, read a file it did not spool. */
bool handoff_valid_spool_name(const char *name);
/* The request's packet, also how the intake keeps an envelope on disk
 * (its crash marker, var/mail/envelope/NAME); decode validates it. */
GByteArray *handoff_encode(const struct handoff_request *rq);
bool handoff_decode(const char *buf, size_t len, struct handoff_request *rq);

enum handoff_status {
	HANDOFF_NO_INTAKE,      /* nobody listens: nothing was sent */
	HANDOFF_ANSWERED,       /* *code and *text are the intake's answer */
	HANDOFF_LOST,           /* sent, but no answer: the outcome is unknown */
};
/* sercom-deliver's side: sends rq to var_dir/intake.sock and waits at most
 * timeout_ms for the answer. */
enum handoff_status handoff_submit(const char *var_dir, const struct handoff_request *rq,
                                   int timeout_ms, int *code, char **text, GError **err);

/* The intake's side. Binds var_dir/intake.sock (mode 0600: only the
 * instance's owner and root may hand messages over), replacing a stale
 * socket but not a live intake's; returns the listening fd or -1. */
int handoff_listen(const char *var_dir, GError **err);
/* Accepts one connection and reads its request within timeout_ms; returns
 * the connection fd, or -1 with err (a bad request is answered and closed
 * here). */
int handoff_accept(int listen_fd, struct handoff_request *rq, int timeout_ms, GError **err);
/* Answers and closes the connection. */
void handoff_answer(int conn_fd, int code, const char *text);

#endif
