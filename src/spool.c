/* spool: Maildir delivery. See spool.h.
 *
 * The order is the one of qmail's maildir(5) and mblaze's mdeliver: a
 * message appears in new/ only when its bytes are on disk, and new/'s entry
 * is on disk before we tell the MTA "delivered" (exit 0). link() instead of
 * rename(): it fails on an existing name instead of overwriting a message. */
#define _GNU_SOURCE
#include "spool.h"
#include "envelope.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

bool spool_init(const char *maildir, GError **err)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	/* run by root, what it creates is the owner of var/'s (the
	 * unprivileged ingester writes there) */
	g_autofree char *var = g_path_get_dirname(maildir);
	struct stat st;
	bool chown_new = geteuid() == 0 && stat(var, &st) == 0 && st.st_uid != 0;
	if (chown_new && !g_file_test(maildir, G_FILE_TEST_EXISTS) && util_mkdir_p(maildir, 0750) == 0 &&
	    chown(maildir, st.st_uid, st.st_gid) < 0)
		log_warn("%s: %s", maildir, g_strerror(errno));
	for (size_t i = 0; i < G_N_ELEMENTS(subs); i++) {
		g_autofree char *p = g_build_filename(maildir, subs[i], NULL);
		bool existed = g_file_test(p, G_FILE_TEST_EXISTS);
		int r = util_mkdir_p(p, 0750);
		if (r == 0 && chown_new && !existed && chown(p, st.st_uid, st.st_gid) < 0)
			log_warn("%s: %s", p, g_strerror(errno));
		if (r < 0) {
			g_set_error(err, SERCOM_ERROR, -r, "%s: cannot create: %s", p, g_strerror(-r));
			return false;
		}
	}
	return true;
}

static char *unique_name(void)
{
	static unsigned counter;
	char name[512];
	envelope_spool_name(name, sizeof name, ++counter);
	return g_strdup(name);
}

bool spool_tmp_open(const char *maildir, struct spool_tmp *t, GError **err)
{
	for (int tries = 0; tries < 8; tries++) {
		t->name = unique_name();
		t->tmp_path = g_build_filename(maildir, "tmp", t->name, NULL);
		t->fd = open(t->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		if (t->fd >= 0)
			return true;
		int e = errno;
		g_free(t->name);
		if (e != EEXIST) {
			g_set_error(err, SERCOM_ERROR, e, "%s: cannot create: %s", t->tmp_path, g_strerror(e));
			g_free(t->tmp_path);
			t->tmp_path = t->name = NULL;
			return false;
		}
		g_free(t->tmp_path);
	}
	t->tmp_path = t->name = NULL;
	g_set_error(err, SERCOM_ERROR, EEXIST, "%s/tmp: no unique file name", maildir);
	return false;
}

void spool_tmp_abort(struct spool_tmp *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->tmp_path)
		unlink(t->tmp_path);
	g_free(t->tmp_path);
	g_free(t->name);
	t->fd = -1;
	t->tmp_path = t->name = NULL;
}

bool spool_tmp_commit(const char *maildir, struct spool_tmp *t, char **final_path, GError **err)
{
	g_autofree char *newdir = g_build_filename(maildir, "new", NULL);
	char *dst = g_build_filename(newdir, t->name, NULL);
	int e = 0;
	if (fsync(t->fd) < 0)
		e = errno;
	else if (close(t->fd) < 0)
		e = errno;
	t->fd = -1;
	if (!e && link(t->tmp_path, dst) < 0)
		e = errno;
	if (!e) {
		unlink(t->tmp_path);
		int r = util_fsync_dir(newdir);
		if (r < 0) {
			e = -r;
			unlink(dst);
		}
	}
	if (e) {
		g_set_error(err, SERCOM_ERROR, e, "%s: cannot deliver: %s", dst, g_strerror(e));
		g_free(dst);
		spool_tmp_abort(t);
		return false;
	}
	g_free(t->tmp_path);
	g_free(t->name);
	t->tmp_path = t->name = NULL;
	if (final_path)
		*final_path = dst;
	else
		g_free(dst);
	return true;
}

bool spool_write(const char *maildir, const void *buf, size_t len, char **final_path, GError **err)
{
	struct spool_tmp t;
	if (!spool_tmp_open(maildir, &t, err))
		return false;
	int r = util_write_all(t.fd, buf, len);
	if (r < 0) {
		g_set_error(err, SERCOM_ERROR, -r, "%s: write: %s", t.tmp_path, g_strerror(-r));
		spool_tmp_abort(&t);
		return false;
	}
	return spool_tmp_commit(maildir, &t, final_path, err);
}

bool spool_mail(const char *maildir, const struct envelope *e, const void *msg, size_t len,
                char **final_path, GError **err)
{
	char line[ENVELOPE_MAX];
	size_t n = envelope_format(e, line, sizeof line);
	if (!n) {
		g_set_error(err, SERCOM_ERROR, E2BIG, "%s: the envelope does not fit", maildir);
		return false;
	}
	struct spool_tmp t;
	if (!spool_tmp_open(maildir, &t, err))
		return false;
	struct stat st;
	int r = 0;
	if (geteuid() == 0 && (stat(maildir, &st) < 0 || fchown(t.fd, st.st_uid, st.st_gid) < 0))
		r = -errno;
	if (!r && (r = util_write_all(t.fd, line, n)) == 0)
		r = util_write_all(t.fd, msg, len);
	if (r < 0) {
		g_set_error(err, SERCOM_ERROR, -r, "%s: %s", t.tmp_path, g_strerror(-r));
		spool_tmp_abort(&t);
		return false;
	}
	return spool_tmp_commit(maildir, &t, final_path, err);
}
