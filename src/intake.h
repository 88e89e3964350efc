/* intake: the resident side of the MDA (handoff.h says why it exists).
 * One process, forked by sercom-runner (or run in the foreground by
 * `sercom-ingest --serve`), keeps GMime and the database open and records
 * each message sercom-deliver has spooled and handed over, one at a time,
 * exactly as sercom-ingest would in a process of its own. */
#ifndef SERCOM_INTAKE_H
#define SERCOM_INTAKE_H

#include "conf.h"
#include <glib.h>
#include <stdbool.h>

/* The intake parses hostile mail: as root, a parser bug a crafted message
 * exploits would own the machine. Run by root, it becomes the owner of the
 * instance's var/ (the user the MTA delivers as); false when that fails. */
bool intake_drop_privileges(const struct sercom_conf *c, GError **err);
/* Serves var/intake.sock until stop_fd is readable or hung up (the
 * runner's stop pipe, a signalfd); returns an exit status. */
int intake_serve(const struct sercom_conf *c, int stop_fd);

#endif
