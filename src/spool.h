/* spool: Maildir delivery that never loses a message: write into tmp/,
 * fsync the file, link into new/, unlink tmp, fsync new/ (the directory
 * entry must be durable too). Names are unique across hosts, processes and
 * calls: TIME.M<usec>P<pid>Q<counter>R<random>.HOST */
#ifndef SERCOM_SPOOL_H
#define SERCOM_SPOOL_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* Reads fd to its end into a fresh file and commits it (the MDA's stdin).
 * A message longer than max_bytes (0: no limit) is kept only up to
 * max_bytes, still read to its end, and committed under a name that
 * carries its real size: NAME,T=SIZE (spool_cut_size). */
bool spool_from_fd(const char *maildir, int fd, uint64_t max_bytes, char **final_path, GError **err);
#define SPOOL_CUT_MARK ",T="
/* The real size of a message spool_from_fd cut, read from the name of its
 * copy; 0 when the copy is whole. */
uint64_t spool_cut_size(const char *path);

#endif
