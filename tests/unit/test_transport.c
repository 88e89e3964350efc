/* Unit tests of transport: sendmail's argv and stdin (a real program run:
 * a recording script stands in for sendmail through $SERCOM_SENDMAIL),
 * backoff, FAILED after retry_max_age with the admin told, the claim that
 * prevents sending twice, the maildir transport, and SMTP refusing a
 * closed port. Postfix itself is tested by tests/t/51 and 52. */
#include "compose.h"
#include "conf.h"
#include "store.h"
#include "transport.h"
#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp;
static struct store *db;

static struct sercom_conf *conf_with(const char *transport, const char *extra)
{
	g_autofree char *path = g_strdup_printf("%s/sercom.conf", tmp);
	g_autofree char *text = g_strdup_printf(
		"[general]\nvar = var\n[mail]\nfrom = Grader <grader@example.edu>\nadmin = Staff <staff@example.edu>\n"
		"prefix = t\ntransport = %s\n%s\n", transport, extra ? extra : "");
	assert_true(g_file_set_contents(path, text, -1, NULL));
	GError *e = NULL;
	struct sercom_conf *c = conf_load(path, &e);
	if (!c)
		fail_msg("conf: %s", e->message);
	return c;
}

static int64_t q(const char *fmt, long long arg)
{
	int64_t v = -1;
	assert_true(store_query_int(db, &v, -1, NULL, fmt, arg));
	return v;
}

static void exec(const char *sql)
{
	GError *e = NULL;
	if (!store_exec(db, &e, "%s", sql))
		fail_msg("%s: %s", sql, e->message);
}

/* a queued reply for a fresh attempt (the admin notice path makes the file
 * and the row; then the row is made to look like a student's reply) */
static int64_t queue_one(const struct sercom_conf *c, const char *rcpt)
{
	GError *e = NULL;
	exec("INSERT INTO messages (spool_file, received, outcome) VALUES ('x', 0, 'queued')");
	g_autofree char *sql = g_strdup_printf(
		"INSERT INTO attempts (email, message, state, queued) VALUES ('%s', last_insert_rowid(), 'DONE', 0)", rcpt);
	exec(sql);
	int64_t aid = sqlite3_last_insert_rowid(store_db(db));
	assert_true(compose_admin_notice(c, db, "hello", "body line\n", &e));
	int64_t id = sqlite3_last_insert_rowid(store_db(db));
	assert_true(store_exec(db, &e, "UPDATE outbox SET attempt = %lld, recipients = %Q WHERE id = %lld",
	                       (long long)aid, rcpt, (long long)id));
	return id;
}

static char *file_text(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *p = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	char *t = NULL;
	if (!g_file_get_contents(p, &t, NULL, NULL))
		return g_strdup("");
	return t;
}

static void set_exit(int code)
{
	g_autofree char *p = g_strdup_printf("%s/exit", tmp);
	g_autofree char *v = g_strdup_printf("%d\n", code);
	assert_true(g_file_set_contents(p, v, -1, NULL));
}

static int setup(void **state)
{
	tmp = g_dir_make_tmp("sercom-transport-XXXXXX", NULL);
	/* the fake sendmail: records argv and stdin, exits with $tmp/exit */
	g_autofree char *fake = g_strdup_printf("%s/sendmail", tmp);
	g_autofree char *script = g_strdup_printf(
		"#!/bin/sh\nn=$(ls %s/sent 2>/dev/null | wc -l)\nmkdir -p %s/sent\n"
		"printf '%%s\\n' \"$@\" > %s/sent/$n.args\ncat > %s/sent/$n.msg\n"
		"echo 'fake sendmail says hi' >&2\nexit $(cat %s/exit 2>/dev/null || echo 0)\n",
		tmp, tmp, tmp, tmp, tmp);
	assert_true(g_file_set_contents(fake, script, -1, NULL));
	chmod(fake, 0755);
	setenv("SERCOM_SENDMAIL", fake, 1);
	set_exit(0);
	struct sercom_conf *c = conf_with("sendmail", NULL);
	assert_int_equal(util_mkdir_p(c->var, 0755), 0);
	GError *e = NULL;
	db = store_open(c->db_path, 5000, &e);
	if (!db)
		fail_msg("%s", e->message);
	conf_free(c);
	return 0;
}

static int teardown(void **state)
{
	store_close(db);
	if (!getenv("SERCOM_KEEP"))
		util_rm_rf(tmp);
	return 0;
}

static void test_sendmail_argv_and_once(void **state)
{
	struct sercom_conf *c = conf_with("sendmail", NULL);
	exec("DELETE FROM outbox");
	int64_t id = queue_one(c, "ana+tp1@example.edu");
	GError *e = NULL;
	assert_int_equal(transport_flush(c, db, &e), 1);
	/* argv array: -i, -f ADMIN, --, the recipient as one argument; never -t */
	g_autofree char *args = file_text("%s/sent/0.args", tmp);
	assert_string_equal(args, "-i\n-f\nstaff@example.edu\n--\nana+tp1@example.edu\n");
	g_autofree char *msg = file_text("%s/sent/0.msg", tmp);
	g_autofree char *file = NULL;
	{
		sqlite3_stmt *st = store_prepare(db, "SELECT file FROM outbox WHERE id = ?", NULL);
		sqlite3_bind_int64(st, 1, id);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		file = g_strdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	g_autofree char *want = file_text("%s", file);
	assert_string_equal(msg, want);
	assert_non_null(strstr(msg, "Auto-Submitted: auto-generated"));
	assert_int_equal(q("SELECT state = 'SENT' FROM outbox WHERE id = %lld", id), 1);
	/* the state prevents a second send */
	assert_int_equal(transport_flush(c, db, &e), 0);
	g_autofree char *none = file_text("%s/sent/1.args", tmp);
	assert_string_equal(none, "");
	assert_int_equal(transport_next_due(db), -1);
	/* a row edited by hand with an option for a recipient: FAILED at send
	 * time, sendmail run only for the admin's notice of it */
	int64_t bad = queue_one(c, "-oQ/tmp/x@example.edu");
	assert_int_equal(transport_flush(c, db, &e), 1);
	assert_int_equal(q("SELECT state = 'FAILED' AND last_error LIKE 'invalid recipient%%' FROM outbox WHERE id = %lld", bad), 1);
	/* the fake names its files by the count of files in sent/: 2 a send */
	g_autofree char *notice = file_text("%s/sent/2.args", tmp);
	assert_string_equal(notice, "-i\n-f\nstaff@example.edu\n--\nstaff@example.edu\n");
	g_autofree char *still_none = file_text("%s/sent/4.args", tmp);
	assert_string_equal(still_none, "");
	conf_free(c);
}

static void test_backoff_and_failed(void **state)
{
	struct sercom_conf *c = conf_with("sendmail", "retry_max_age = 1m");
	exec("DELETE FROM outbox");
	set_exit(75);
	int64_t id = queue_one(c, "ana@example.edu");
	GError *e = NULL;
	int64_t t0 = util_now();
	assert_int_equal(transport_flush(c, db, &e), 0);
	assert_int_equal(q("SELECT state = 'PENDING' AND tries = 1 FROM outbox WHERE id = %lld", id), 1);
	int64_t nt = q("SELECT next_try FROM outbox WHERE id = %lld", id);
	assert_true(nt >= t0 + 60 && nt <= util_now() + 60);
	assert_int_equal(q("SELECT last_error LIKE '%%exited 75: fake sendmail says hi%%' FROM outbox WHERE id = %lld", id), 1);
	int64_t due = transport_next_due(db);
	assert_true(due > 50 && due <= 60);
	/* not due: nothing happens */
	assert_int_equal(transport_flush(c, db, &e), 0);
	assert_int_equal(q("SELECT tries FROM outbox WHERE id = %lld", id), 1);
	/* due again: the delay doubles */
	exec("UPDATE outbox SET next_try = 0");
	t0 = util_now();
	assert_int_equal(transport_flush(c, db, &e), 0);
	nt = q("SELECT next_try FROM outbox WHERE id = %lld", id);
	assert_true(nt >= t0 + 120 && nt <= util_now() + 120);
	/* older than retry_max_age: FAILED, and the admin is told (a notice
	 * row to staff@, which goes out in the same flush once sendmail works) */
	exec("UPDATE outbox SET next_try = 0, created = created - 3600");
	assert_int_equal(transport_flush(c, db, &e), 0);
	assert_int_equal(q("SELECT state = 'FAILED' FROM outbox WHERE id = %lld", id), 1);
	assert_int_equal(q("SELECT count(*) FROM outbox WHERE attempt IS NULL AND recipients = 'staff@example.edu'"
	                   " AND id > %lld", id), 1);
	/* a failing notice to the admin never produces another notice */
	exec("UPDATE outbox SET next_try = 0, created = created - 3600 WHERE attempt IS NULL");
	assert_int_equal(transport_flush(c, db, &e), 0);
	assert_int_equal(q("SELECT count(*) FROM outbox WHERE id > %lld", id), 1);
	set_exit(0);
	conf_free(c);
}

/* A row claimed by a process that crashed while sending: it is not sent
 * again before its lease ends, then it is (at most one duplicate). */
static void test_claim_lease(void **state)
{
	struct sercom_conf *c = conf_with("sendmail", NULL);
	exec("DELETE FROM outbox");
	int64_t id = queue_one(c, "beto@example.edu");
	g_autofree char *sql = g_strdup_printf("UPDATE outbox SET tries = 1, next_try = %lld WHERE id = %lld",
	                                       (long long)(util_now() + 600), (long long)id);
	exec(sql);
	GError *e = NULL;
	assert_int_equal(transport_flush(c, db, &e), 0);
	exec("UPDATE outbox SET next_try = 0");
	assert_int_equal(transport_flush(c, db, &e), 1);
	assert_int_equal(q("SELECT tries FROM outbox WHERE id = %lld", id), 2);

	/* the sending hold: a row another sender is sending (sending = now) is
	 * never taken, even due (two copies of one reply otherwise) */
	int64_t held = queue_one(c, "carla@example.edu");
	g_autofree char *hold = g_strdup_printf("UPDATE outbox SET sending = %lld, next_try = 0 WHERE id = %lld",
	                                        (long long)util_now(), (long long)held);
	exec(hold);
	assert_int_equal(transport_flush(c, db, &e), 0);
	assert_int_equal(q("SELECT state = 'PENDING' AND tries = 0 FROM outbox WHERE id = %lld", held), 1);
	/* a hold older than the lease is a sender killed mid-send: taken again,
	 * and said to have maybe gone already */
	g_autofree char *stale = g_strdup_printf("UPDATE outbox SET sending = %lld WHERE id = %lld",
	                                         (long long)(util_now() - transport_claim_lease(c) - 1),
	                                         (long long)held);
	exec(stale);
	assert_int_equal(transport_flush(c, db, &e), 1);
	assert_int_equal(q("SELECT state = 'SENT' AND maybe_sent = 1 FROM outbox WHERE id = %lld", held), 1);
	conf_free(c);
}

static void test_maildir(void **state)
{
	struct sercom_conf *c = conf_with("maildir:replies", NULL);
	exec("DELETE FROM outbox");
	queue_one(c, "ana@example.edu");
	queue_one(c, "beto@example.edu");
	GError *e = NULL;
	assert_int_equal(transport_flush(c, db, &e), 2);
	g_autofree char *dir = g_strdup_printf("%s/replies/new", tmp);
	GDir *d = g_dir_open(dir, 0, NULL);
	assert_non_null(d);
	int n = 0;
	while (g_dir_read_name(d))
		n++;
	g_dir_close(d);
	assert_int_equal(n, 2);
	conf_free(c);
}

static void test_smtp_refused(void **state)
{
	/* port 1 on loopback: nothing listens; retried, with the reason */
	struct sercom_conf *c = conf_with("smtp://127.0.0.1:1", NULL);
	exec("DELETE FROM outbox");
	int64_t id = queue_one(c, "ana@example.edu");
	GError *e = NULL;
	assert_int_equal(transport_flush(c, db, &e), 0);
	assert_int_equal(q("SELECT state = 'PENDING' AND last_error LIKE 'SMTP connect%%' FROM outbox WHERE id = %lld", id), 1);
	conf_free(c);
	/* a mistyped transport stops the config from loading, and the
	 * message never shows the password */
	static const char *const typos[] = { "carrier-pigeon", "SMTP://u:s3cret@host", "smtp:/u:s3cret@host",
	                                     "smtp://u:s3cret@", "smtp://u:s3cret@:25", NULL };
	for (int i = 0; typos[i]; i++) {
		g_autofree char *path = g_strdup_printf("%s/typo.conf", tmp);
		g_autofree char *text = g_strdup_printf("[general]\nvar = var\n[mail]\ntransport = %s\n", typos[i]);
		assert_true(g_file_set_contents(path, text, -1, NULL));
		GError *ce = NULL;
		struct sercom_conf *bad = conf_load(path, &ce);
		assert_null(bad);
		assert_non_null(strstr(ce->message, "[mail] transport"));
		assert_null(strstr(ce->message, "s3cret"));
		g_error_free(ce);
	}
}

/* the addresses sercom answers (roster, composer, transport) and the
 * redaction of the transport URL in every message */
static void test_addresses_and_redaction(void **state)
{
	static const char *const good[] = { "ana@example.edu", "o'brien@example.edu", "ana+tp1@example.edu",
	                                     "josé@example.edu", NULL };
	static const char *const bad[] = { "-oQ/tmp/x@example.edu", "\"a b\"@example.edu", "a@b, c@d", "a@b@c",
	                                   "ana", "@example.edu", "ana@", "a\nb@example.edu", "a<b>@example.edu",
	                                   "ana@-x.edu", "", NULL };
	for (int i = 0; good[i]; i++)
		assert_true(util_address_ok(good[i]));
	for (int i = 0; bad[i]; i++)
		assert_false(util_address_ok(bad[i]));
	static const char *const urls[][2] = {
		{ "smtp://u:pw@host:587", "smtp://***@host:587" },
		{ "SMTP://u:pw@host", "SMTP://***@host" },
		{ "smtp:/u:pw@host", "smtp:***@host" },
		{ "smtp://u:p@w@", "smtp://***@" },
		{ "u:pw@host", "u:***@host" },
		{ "sendmail", "sendmail" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(urls); i++) {
		g_autofree char *r = conf_redact(urls[i][0]);
		assert_string_equal(r, urls[i][1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sendmail_argv_and_once),
		cmocka_unit_test(test_backoff_and_failed),
		cmocka_unit_test(test_claim_lease),
		cmocka_unit_test(test_maildir),
		cmocka_unit_test(test_smtp_refused),
		cmocka_unit_test(test_addresses_and_redaction),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
