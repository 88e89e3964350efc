/* spool: Maildir delivery that never loses a message: write into tmp/,
 * fsync the file, link into new/, unlink tmp, fsync new/ (the directory
 * entry must be durable too). Names are unique across hosts, processes and
 * calls: TIME.M<usec>P<pid>Q<counter>R<random>.HOST, time and usec of
 * fixed width so that the names' order is the time's (the ingester takes
 * var/mail/new oldest first). The outbox's replies and the mails `sercom
 * import-maildir` queues go through here; sercom-deliver writes the same
 * kind of file with the C library alone (sercom-deliver.c). */
#ifndef SERCOM_SPOOL_H
#define SERCOM_SPOOL_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* Creates maildir/{tmp,new,cur}; false with err naming the path. */
bool spool_init(const char *maildir, GError **err);

struct spool_tmp {
	int fd;
	char *tmp_path;
	char *name;
};
/* Opens a fresh unique file in maildir/tmp (O_EXCL). */
bool spool_tmp_open(const char *maildir, struct spool_tmp *t, GError **err);
/* fsync + link into new/ + unlink + fsync new/; closes the fd. *final_path
 * (g_free) is the new/ path. On failure the tmp file is removed. */
bool spool_tmp_commit(const char *maildir, struct spool_tmp *t, char **final_path, GError **err);
/* Removes an uncommitted tmp file and closes it. */
void spool_tmp_abort(struct spool_tmp *t);
/* Whole-buffer convenience: open, write, commit. */
bool spool_write(const char *maildir, const void *buf, size_t len, char **final_path, GError **err);
/* A mail for the ingester: the envelope line of e (envelope.h), then the
 * message's len bytes, into maildir/new, owned by the owner of maildir
 * (run by root, the file must be the unprivileged ingester's). */
struct envelope;
bool spool_mail(const char *maildir, const struct envelope *e, const void *msg, size_t len,
                char **final_path, GError **err);

#endif
