/* store: the SQLite state of an instance (docs/ARCHITECTURE.md section 5): schema with
 * user_version migrations, WAL, busy timeout, foreign keys, and the
 * transactions every program shares. Modules write their own SQL through
 * store_db(); the helpers here keep error handling short. */
#ifndef SERCOM_STORE_H
#define SERCOM_STORE_H

#include <glib.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct store;

/* Opens (and creates or migrates) the database at path. busy_ms: how long to
 * wait for a lock held by another process before failing. */
struct store *store_open(const char *path, int busy_ms, GError **err);
void store_close(struct store *s);
sqlite3 *store_db(struct store *s);

/* BEGIN IMMEDIATE (takes the write lock now: numbers assigned inside are
 * unique across concurrent MDAs), COMMIT, ROLLBACK. */
bool store_begin(struct store *s, GError **err);
bool store_commit(struct store *s, GError **err);
void store_rollback(struct store *s);

/* Runs sql (no rows expected) with printf-style %Q/%q/%lld of sqlite3_mprintf. */
bool store_exec(struct store *s, GError **err, const char *fmt, ...);
/* Prepares sql; NULL with err set on failure. */
sqlite3_stmt *store_prepare(struct store *s, const char *sql, GError **err);
/* Runs a query that returns one integer (or def when no row). */
bool store_query_int(struct store *s, int64_t *out, int64_t def, GError **err, const char *fmt, ...);
/* Sets err from the connection's last error, prefixed with what. */
void store_set_error(struct store *s, GError **err, const char *what);
/* The schema version this build writes. */
int store_schema_version(void);

/* Roster: the student id owning email (case-insensitive), or NULL. */
char *store_student_by_email(struct store *s, const char *email, GError **err);
/* Imports a roster CSV (header id,name,email[,email...]); returns the number
 * of students, -1 on error (naming file and line). */
int store_roster_import(struct store *s, const char *csv_path, GError **err);

#endif
