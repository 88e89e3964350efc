/* intake: the ingester (docs/ARCHITECTURE.md section 1). var/mail/new is the queue
 * sercom-deliver fills; the ingester takes its files oldest first,
 * records each (ingest.c) and only then moves it to var/mail/cur, so new/
 * is exactly the mail not recorded yet. One code path for every caller:
 * the runner's daemon (a child of it, intake_serve), `sercom-runner
 * --once`, `sercom recover` and `sercom import-maildir` (intake_run).
 *
 * It parses hostile mail and archives, so it never runs as root: it is
 * always a process of its own that became the owner of var/ before it
 * opened any mail. */
#ifndef SERCOM_INTAKE_H
#define SERCOM_INTAKE_H

#include "conf.h"
#include "ingest.h"
#include <glib.h>
#include <stdbool.h>

/* Run by root, becomes the owner of var/ (the user the MTA delivers as)
 * for good; false when var/ belongs to root (refused: mail is never
 * parsed as root) or the change fails. */
bool intake_drop_privileges(const struct sercom_conf *c, GError **err);

/* The daemon's ingester, in a child already unprivileged: a pass at once,
 * then one whenever a file appears in new/ (inotify), every minute, and
 * RETRY_S after a failed record; until stop_fd is readable or hung up.
 * Returns an exit status. */
int intake_serve(const struct sercom_conf *c, int stop_fd);

/* What a pass did with one mail: an outcome, HELD (set aside after
 * killing three ingesters) or FAILED (left in new/). */
#define INTAKE_HELD (INGEST_BOUNCE + 1)
#define INTAKE_FAILED (INGEST_BOUNCE + 2)
typedef void (*intake_report_fn)(const char *name, int what, const char *detail, void *data);

/* One pass in a process of its own (--once, recover, import-maildir):
 * forks the ingester, which drops root and records new/; started again
 * while it is killed (a mail that kills it three times is held, and the
 * mails after it are recorded). report, when set, is called in this
 * process for each mail. false when no ingester could run (err). */
bool intake_run(const struct sercom_conf *c, intake_report_fn report, void *data, GError **err);

/* The mails waiting in new/ and held in held/ (names, sorted; g_strfreev). */
char **intake_list(const struct sercom_conf *c, const char *sub);

#endif
