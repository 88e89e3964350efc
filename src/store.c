/* store: the SQLite state. See store.h and docs/ARCHITECTURE.md section 5.
 *
 * Many MDAs, the runner's workers and the admin tool open the same database
 * at once. WAL lets readers go on while one writer commits; BEGIN IMMEDIATE
 * takes the write lock up front so two ingesters never both read "last
 * attempt number = 3" and both write 4; the busy timeout makes a contended
 * lock a short wait instead of an error (and past it, the mail stays in
 * var/mail/new for the next pass).
 *
 * synchronous=NORMAL here: a commit of the runner or the admin tool is not
 * fsync'd (WAL stays consistent; a power cut may only lose the last
 * commits). The ingester sets synchronous=FULL on its own connection: a
 * mail leaves var/mail/new only once its row is on disk (intake.c). */
#include "store.h"
#include "schema.sql.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct store {
	sqlite3 *db;
	char *path;
	int busy_ms;
};

/* The WAL is checkpointed and truncated by the commit that takes it past
 * this many frames (4 KiB pages; an MDA's commit writes about 7). */
enum { WAL_RESET_FRAMES = 64 };

int store_schema_version(void)
{
	return (int)G_N_ELEMENTS(store_migrations);
}

void store_set_error(struct store *s, GError **err, const char *what)
{
	int code = sqlite3_errcode(s->db);
	int e = (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? EAGAIN :
	        (code == SQLITE_FULL) ? ENOSPC : (code == SQLITE_CONSTRAINT) ? EEXIST : EIO;
	g_set_error(err, SERCOM_ERROR, e, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static bool exec_plain(struct store *s, const char *sql, GError **err)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		store_set_error(s, err, msg ? msg : "exec");
		sqlite3_free(msg);
		return false;
	}
	return true;
}

bool store_exec(struct store *s, GError **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	bool ok = exec_plain(s, sql, err);
	sqlite3_free(sql);
	return ok;
}

sqlite3_stmt *store_prepare(struct store *s, const char *sql, GError **err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_set_error(s, err, "prepare");
		return NULL;
	}
	return st;
}

bool store_query_int(struct store *s, int64_t *out, int64_t def, GError **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	sqlite3_stmt *st = store_prepare(s, sql, err);
	sqlite3_free(sql);
	if (!st)
		return false;
	int rc = sqlite3_step(st);
	bool ok = true;
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_type(st, 0) == SQLITE_NULL ? def : sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*out = def;
	else {
		store_set_error(s, err, "query");
		ok = false;
	}
	sqlite3_finalize(st);
	return ok;
}

bool store_begin(struct store *s, GError **err)
{
	return exec_plain(s, "BEGIN IMMEDIATE", err);
}

bool store_commit(struct store *s, GError **err)
{
	if (exec_plain(s, "COMMIT", err))
		return true;
	store_rollback(s);
	return false;
}

void store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static bool migrate(struct store *s, GError **err)
{
	int64_t version;
	if (!store_query_int(s, &version, 0, err, "PRAGMA user_version"))
		return false;
	if (version >= store_schema_version()) {
		if (version > store_schema_version()) {
			g_set_error(err, SERCOM_ERROR, EPROTO,
			            "%s: schema version %lld is newer than this sercom (%d)",
			            s->path, (long long)version, store_schema_version());
			return false;
		}
		return true;
	}
	if (!store_begin(s, err))
		return false;
	/* re-read under the lock: another process may have migrated meanwhile */
	if (!store_query_int(s, &version, 0, err, "PRAGMA user_version"))
		goto fail;
	for (int v = (int)version; v < store_schema_version(); v++) {
		if (!exec_plain(s, store_migrations[v], err) ||
		    !store_exec(s, err, "PRAGMA user_version = %d", v + 1))
			goto fail;
	}
	return store_commit(s, err);
fail:
	store_rollback(s);
	return false;
}

/* Why not SQLite's own PASSIVE autocheckpoint: each MDA is a new process,
 * often the only connection (no runner up), and a first connection rebuilds
 * the WAL index from the whole WAL, forgetting what was already copied back.
 * So the WAL was never reset: it grew with every mail (3 MB after 120
 * mails), and every MDA read all of it and checkpointed all of it again,
 * one more mail slower each time. A TRUNCATE checkpoint empties it; it waits
 * at most 100 ms for readers (a runner's query) and otherwise does what it
 * can, leaving the rest to the next commit. */
static int store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *s = arg;
	if (frames < WAL_RESET_FRAMES)
		return SQLITE_OK;
	sqlite3_busy_timeout(db, 100);
	sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_busy_timeout(db, s->busy_ms);
	return SQLITE_OK;
}

struct store *store_open(const char *path, int busy_ms, GError **err)
{
	struct store *s = g_new0(struct store, 1);
	s->path = g_strdup(path);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		g_set_error(err, SERCOM_ERROR, EIO, "%s: cannot open database: %s", path,
		            s->db ? sqlite3_errmsg(s->db) : "out of memory");
		store_close(s);
		return NULL;
	}
	s->busy_ms = busy_ms;
	sqlite3_busy_timeout(s->db, busy_ms);
	/* the MDA opens the database once per mail: a checkpoint at every
	 * close would cost two more fsyncs per mail. The WAL is checkpointed
	 * by whichever commit takes it past WAL_RESET_FRAMES instead: kept
	 * small, because a process that opens the database alone must read
	 * all of it to rebuild the WAL index. */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_wal_hook(s->db, store_wal_hook, s);
	sqlite3_extended_result_codes(s->db, 0);
	/* journal_mode=WAL needs the lock too; the busy timeout covers it */
	if (!exec_plain(s, "PRAGMA journal_mode=WAL", err) ||
	    !exec_plain(s, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
	                   "PRAGMA journal_size_limit=1048576", err) ||
	    !migrate(s, err)) {
		store_close(s);
		return NULL;
	}
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->db)
		sqlite3_close_v2(s->db);
	g_free(s->path);
	g_free(s);
}

sqlite3 *store_db(struct store *s)
{
	return s->db;
}

char *store_student_by_email(struct store *s, const char *email, GError **err)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT student FROM student_emails WHERE email = ?1", err);
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	char *id = NULL;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = g_strdup((const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		store_set_error(s, err, "roster lookup");
	sqlite3_finalize(st);
	return id;
}

/* Splits one CSV record (RFC 4180: quotes, doubled quotes). */
static char **csv_split(const char *line)
{
	GPtrArray *f = g_ptr_array_new();
	GString *cur = g_string_new(NULL);
	bool q = false;
	for (const char *p = line;; p++) {
		if (q) {
			if (*p == '"' && p[1] == '"') {
				g_string_append_c(cur, '"');
				p++;
			} else if (*p == '"')
				q = false;
			else if (!*p)
				break;
			else
				g_string_append_c(cur, *p);
			continue;
		}
		if (*p == '"')
			q = true;
		else if (*p == ',' || !*p || *p == '\r' || *p == '\n') {
			g_ptr_array_add(f, g_strdup(g_strstrip(cur->str)));
			g_string_truncate(cur, 0);
			if (*p != ',')
				break;
		} else
			g_string_append_c(cur, *p);
	}
	g_string_free(cur, TRUE);
	g_ptr_array_add(f, NULL);
	return (char **)g_ptr_array_free(f, FALSE);
}

int store_roster_import(struct store *s, const char *csv_path, GError **err)
{
	g_autofree char *text = NULL;
	GError *e = NULL;
	if (!g_file_get_contents(csv_path, &text, NULL, &e)) {
		g_set_error(err, SERCOM_ERROR, ENOENT, "%s: %s", csv_path, e->message);
		g_error_free(e);
		return -1;
	}
	char **lines = g_strsplit(text, "\n", -1);
	int count = 0, lineno = 0, id_col = -1, name_col = -1;
	GArray *email_cols = g_array_new(FALSE, FALSE, sizeof(int));
	sqlite3_stmt *ins_s = NULL, *ins_e = NULL;
	if (!store_begin(s, err))
		goto fail;
	ins_s = store_prepare(s, "INSERT INTO students(id, name) VALUES (?1, ?2) "
	                         "ON CONFLICT(id) DO UPDATE SET name = excluded.name", err);
	ins_e = store_prepare(s, "INSERT INTO student_emails(email, student) VALUES (lower(?1), ?2) "
	                         "ON CONFLICT(email) DO UPDATE SET student = excluded.student", err);
	if (!ins_s || !ins_e)
		goto fail;
	for (char **l = lines; *l; l++) {
		lineno++;
		g_strstrip(*l);
		if (!**l || **l == '#')
			continue;
		char **f = csv_split(*l);
		if (id_col < 0) { /* header */
			for (int i = 0; f[i]; i++) {
				if (!g_ascii_strcasecmp(f[i], "id"))
					id_col = i;
				else if (!g_ascii_strcasecmp(f[i], "name"))
					name_col = i;
				else if (!g_ascii_strcasecmp(f[i], "email"))
					g_array_append_val(email_cols, i);
			}
			g_strfreev(f);
			if (id_col < 0 || email_cols->len == 0) {
				g_set_error(err, SERCOM_ERROR, EINVAL, "%s:%d: header must name the columns id,name,email", csv_path, lineno);
				goto fail;
			}
			continue;
		}
		int nf = (int)g_strv_length(f);
		if (id_col >= nf || !*f[id_col]) {
			g_set_error(err, SERCOM_ERROR, EINVAL, "%s:%d: missing student id", csv_path, lineno);
			g_strfreev(f);
			goto fail;
		}
		sqlite3_reset(ins_s);
		sqlite3_bind_text(ins_s, 1, f[id_col], -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins_s, 2, name_col >= 0 && name_col < nf ? f[name_col] : "", -1, SQLITE_TRANSIENT);
		if (sqlite3_step(ins_s) != SQLITE_DONE) {
			store_set_error(s, err, "roster insert");
			g_strfreev(f);
			goto fail;
		}
		int emails = 0;
		for (guint i = 0; i < email_cols->len; i++) {
			int c = g_array_index(email_cols, int, i);
			if (c >= nf || !*f[c])
				continue;
			/* an address sercom could never answer is refused here, not
			 * graded and silently left unanswered (util_address_ok) */
			if (!util_address_ok(f[c])) {
				g_set_error(err, SERCOM_ERROR, EINVAL,
				            "%s:%d: '%s' is not an address sercom can answer (one plain local@domain: "
				            "no blanks, quotes, commas or angle brackets, not starting with '-')",
				            csv_path, lineno, f[c]);
				g_strfreev(f);
				goto fail;
			}
			sqlite3_reset(ins_e);
			sqlite3_bind_text(ins_e, 1, f[c], -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(ins_e, 2, f[id_col], -1, SQLITE_TRANSIENT);
			if (sqlite3_step(ins_e) != SQLITE_DONE) {
				store_set_error(s, err, "roster insert");
				g_strfreev(f);
				goto fail;
			}
			emails++;
		}
		if (!emails) {
			g_set_error(err, SERCOM_ERROR, EINVAL, "%s:%d: student %s has no email", csv_path, lineno, f[id_col]);
			g_strfreev(f);
			goto fail;
		}
		count++;
		g_strfreev(f);
	}
	if (id_col < 0) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "%s: empty roster (no header id,name,email)", csv_path);
		goto fail;
	}
	sqlite3_finalize(ins_s);
	sqlite3_finalize(ins_e);
	g_strfreev(lines);
	g_array_free(email_cols, TRUE);
	return store_commit(s, err) ? count : -1;
fail:
	sqlite3_finalize(ins_s);
	sqlite3_finalize(ins_e);
	store_rollback(s);
	g_strfreev(lines);
	g_array_free(email_cols, TRUE);
	return -1;
}
