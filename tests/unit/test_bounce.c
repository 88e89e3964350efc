/* Unit tests of bounce: the VERP address (made, read back, forged), the
 * instance's key, and delivery status notifications (RFC 3464). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bounce.h"
#include "store.h"
#include "schema.sql.h"
#include "mime.h"
#include "util.h"

#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void address_round_trip(void **state)
{
	g_autofree char *a = bounce_address_make("robot@course.example", 42, KEY);
	assert_true(g_str_has_prefix(a, "robot+bounce-42-"));
	assert_true(g_str_has_suffix(a, "@course.example"));
	assert_int_equal(strlen(a), strlen("robot+bounce-42-@course.example") + BOUNCE_MAC_HEX);
	assert_int_equal(bounce_address_parse(a, KEY), 42);
	/* an MTA may fold the case; the angle brackets of a header */
	g_autofree char *up = g_ascii_strup(a, -1);
	assert_int_equal(bounce_address_parse(up, KEY), 42);
	g_autofree char *br = g_strdup_printf(" <%s> ", a);
	assert_int_equal(bounce_address_parse(br, KEY), 42);
	/* postfix's $EXTENSION: the tag alone */
	const char *tag = strchr(a, '+') + 1;
	g_autofree char *ext = g_strndup(tag, strchr(tag, '@') - tag);
	assert_int_equal(bounce_address_parse(ext, KEY), 42);
	/* a bounce_address with a +tag of its own */
	g_autofree char *plus = bounce_address_make("robot+bounces@course.example", 7, KEY);
	assert_true(g_str_has_prefix(plus, "robot+bounces+bounce-7-"));
	assert_int_equal(bounce_address_parse(plus, KEY), 7);
	/* a bare local part */
	g_autofree char *bare = bounce_address_make("robot", 3, KEY);
	assert_int_equal(bounce_address_parse(bare, KEY), 3);
}

/* Attack: a student forging a bounce of another student's reply. */
static void address_forged(void **state)
{
	g_autofree char *mine = bounce_address_make("robot@course.example", 42, KEY);
	const char *mac = strchr(mine, '@') - BOUNCE_MAC_HEX;
	/* my MAC on the row before mine */
	g_autofree char *other = g_strdup_printf("robot+bounce-41-%.*s@course.example", BOUNCE_MAC_HEX, mac);
	assert_int_equal(bounce_address_parse(other, KEY), 0);
	/* a guessed MAC, one digit off */
	g_autofree char *off = g_strdup(mine);
	char *d = strchr(off, '@') - 1;
	*d = *d == '0' ? '1' : '0';
	assert_int_equal(bounce_address_parse(off, KEY), 0);
	/* another instance's key */
	assert_int_equal(bounce_address_parse(mine, KEY "x"), 0);
	/* cut, lengthened, no MAC, no id, no tag, junk */
	g_autofree char *cut = g_strdup_printf("robot+bounce-42-%.*s@course.example", BOUNCE_MAC_HEX - 1, mac);
	g_autofree char *longer = g_strdup_printf("robot+bounce-42-%.*s0@course.example", BOUNCE_MAC_HEX, mac);
	assert_int_equal(bounce_address_parse(cut, KEY), 0);
	assert_int_equal(bounce_address_parse(longer, KEY), 0);
	assert_int_equal(bounce_address_parse("robot+bounce-42@course.example", KEY), 0);
	assert_int_equal(bounce_address_parse("robot+bounce--0123456789abcdef@course.example", KEY), 0);
	assert_int_equal(bounce_address_parse("robot@course.example", KEY), 0);
	assert_int_equal(bounce_address_parse("tp1", KEY), 0);
	assert_int_equal(bounce_address_parse("", KEY), 0);
	assert_int_equal(bounce_address_parse(NULL, KEY), 0);
	assert_int_equal(bounce_address_parse("robot+bounce-99999999999999999999999-0123456789abcdef@x", KEY), 0);
	/* the tag in the domain is not a tag */
	g_autofree char *dom = g_strdup_printf("robot@x+%.*s", (int)(strchr(mine, '@') - strchr(mine, '+') - 1),
	                                       strchr(mine, '+') + 1);
	assert_int_equal(bounce_address_parse(dom, KEY), 0);
}

static void secret_file(void **state)
{
	g_autofree char *dir = g_dir_make_tmp("bounce-XXXXXX", NULL);
	struct sercom_conf c = { .var = dir };
	GError *err = NULL;
	g_autofree char *k1 = bounce_secret(&c, &err);
	assert_non_null(k1);
	assert_true(strlen(k1) >= 32);
	g_autofree char *path = g_build_filename(dir, BOUNCE_KEY_FILE, NULL);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	g_autofree char *k2 = bounce_secret(&c, &err);
	assert_string_equal(k1, k2);
	/* nothing left beside it */
	GDir *d = g_dir_open(dir, 0, NULL);
	int n = 0;
	while (g_dir_read_name(d))
		n++;
	g_dir_close(d);
	assert_int_equal(n, 1);
	/* a short file is not a key; a symlink is not followed */
	g_file_set_contents(path, "short\n", -1, NULL);
	g_autofree char *k3 = bounce_secret(&c, &err);
	assert_null(k3);
	assert_non_null(err);
	g_clear_error(&err);
	unlink(path);
	g_autofree char *target = g_build_filename(dir, "elsewhere", NULL);
	g_file_set_contents(target, KEY "\n", -1, NULL);
	assert_int_equal(symlink(target, path), 0);
	g_autofree char *k4 = bounce_secret(&c, &err);
	assert_null(k4);
	g_clear_error(&err);
	util_rm_rf(dir);
}

static const char *const dsn_postfix =
	"From: MAILER-DAEMON@mta.example (Mail Delivery System)\n"
	"To: robot+bounce-3-0123456789abcdef@course.example\n"
	"Subject: Undelivered Mail Returned to Sender\n"
	"Auto-Submitted: auto-replied\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/report; report-type=delivery-status;\n"
	"\tboundary=\"B1\"\n"
	"\n"
	"--B1\n"
	"Content-Type: text/plain\n"
	"\n"
	"I'm sorry to have to inform you...\n"
	"--B1\n"
	"Content-Type: message/delivery-status\n"
	"\n"
	"Reporting-MTA: dns; mta.example\n"
	"Arrival-Date: Mon,  2 Mar 2026 10:00:00 +0000 (UTC)\n"
	"\n"
	"Final-Recipient: rfc822; ok@student.example\n"
	"Action: delivered\n"
	"Status: 2.0.0\n"
	"\n"
	"Final-Recipient: rfc822; nosuch@student.example\n"
	"Original-Recipient: rfc822;nosuch@student.example\n"
	"Action: failed\n"
	"Status: 5.1.1\n"
	"Diagnostic-Code: X-Postfix; unknown user:\n"
	"    \"nosuch\"\n"
	"\n"
	"--B1\n"
	"Content-Type: %s\n"
	"\n"
	"From: Course <robot@course.example>\n"
	"X-Sercom-Attempt: 7\n"
	"Subject: [algo1] Result\n"
	"\n"
	"body\n"
	"--B1--\n";

static struct bounce_dsn *dsn_of(const char *text)
{
	mime_init();
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(text, strlen(text));
	struct bounce_dsn *d = bounce_dsn_read(s);
	g_object_unref(s);
	return d;
}

static void dsn_failed(void **state)
{
	const char *types[] = { "message/rfc822", "text/rfc822-headers" };
	for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
		g_autofree char *text = g_strdup_printf(dsn_postfix, types[i]);
		struct bounce_dsn *d = dsn_of(text);
		assert_non_null(d);
		assert_true(d->failed);
		assert_string_equal(d->recipient, "nosuch@student.example");
		assert_string_equal(d->status, "5.1.1");
		assert_string_equal(d->diagnostic, "X-Postfix; unknown user: \"nosuch\"");
		assert_string_equal(d->attempt, "7");
		g_autofree char *r = bounce_dsn_reason(d);
		assert_string_equal(r, "5.1.1 X-Postfix; unknown user: \"nosuch\" (nosuch@student.example)");
		bounce_dsn_free(d);
	}
}

static void dsn_not_failed(void **state)
{
	/* a delay warning: a report, but no failure */
	g_autofree char *t = g_strdup_printf(dsn_postfix, "text/rfc822-headers");
	char *a = strstr(t, "Action: failed");
	memcpy(a, "Action: relay ", 14);
	struct bounce_dsn *d = dsn_of(t);
	assert_non_null(d);
	assert_false(d->failed);
	bounce_dsn_free(d);
	/* a read receipt (disposition-notification) is no delivery report */
	g_autofree char *mdn = g_strdup_printf(dsn_postfix, "text/rfc822-headers");
	char *rt = strstr(mdn, "delivery-status;");
	memcpy(rt, "disposition-n;  ", 16);
	assert_null(dsn_of(mdn));
	/* plain mail; a report without the status part */
	assert_null(dsn_of("From: a@b\nSubject: x\n\nhello\n"));
	assert_null(dsn_of("From: a@b\nContent-Type: multipart/report; report-type=delivery-status; boundary=X\n\n"
	                   "--X\nContent-Type: text/plain\n\nno status\n--X--\n"));
	/* a status part without a recipient block */
	assert_null(dsn_of("From: a@b\nContent-Type: multipart/report; report-type=delivery-status; boundary=X\n\n"
	                   "--X\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n--X--\n"));
}

/* Attack: escape sequences in a Diagnostic-Code reach the staff's
 * terminal through `sercom outbox`. */
static void reason_clean(void **state)
{
	GString *diag = g_string_new("smtp; 550 \033]0;owned\007\033[2J");
	for (int i = 0; i < 200; i++)
		g_string_append(diag, "ñé");
	struct bounce_dsn d = { .status = "5.7.1", .diagnostic = diag->str, .recipient = "x@y\r\nInjected: 1" };
	g_autofree char *r = bounce_dsn_reason(&d);
	for (const char *p = r; *p; p++)
		assert_false((unsigned char)*p < 0x20 || *p == 0x7f);
	assert_true(strlen(r) <= 500);
	assert_true(g_utf8_validate(r, -1, NULL));
	assert_true(g_str_has_prefix(r, "5.7.1 smtp; 550 "));
	g_string_free(diag, TRUE);
}

/* The schema step that allows BOUNCED rebuilds the outbox of a version 5
 * database: rows, ids, the index and the reveals pointing at them kept. */
static void schema_outbox_rebuilt(void **state)
{
	g_autofree char *dir = g_dir_make_tmp("bounce-db-XXXXXX", NULL);
	g_autofree char *db = g_build_filename(dir, "sercom.db", NULL);
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	for (int v = 0; v < 5; v++)
		assert_int_equal(sqlite3_exec(h, store_migrations[v], NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h,
		"PRAGMA user_version = 5;"
		"INSERT INTO messages (id, spool_file, received, outcome) VALUES (1, 'x', 1, 'queued');"
		"INSERT INTO attempts (id, email, message, state, queued) VALUES (1, 'a@b', 1, 'DONE', 1);"
		"INSERT INTO outbox (id, attempt, file, sender, recipients, state, tries, created, next_try, sent, last_error)"
		" VALUES (7, 1, 'f7', 's', 'a@b', 'SENT', 1, 10, 11, 12, NULL), (9, 1, 'f9', 's', 'a@b', 'FAILED', 3, 20, 21, NULL, 'no');"
		"INSERT INTO reveals VALUES ('s1', 'tp1', 1, 9, 30);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	GError *err = NULL;
	struct store *s = store_open(db, 1000, &err);
	assert_non_null(s);
	int64_t n = 0;
	assert_true(store_query_int(s, &n, -1, NULL, "SELECT count(*) FROM outbox WHERE id = 7 AND state = 'SENT' "
	                                             "AND file = 'f7' AND tries = 1 AND sent = 12 AND bounce IS NULL"));
	assert_int_equal(n, 1);
	assert_true(store_query_int(s, &n, -1, NULL, "SELECT count(*) FROM outbox WHERE id = 9 AND last_error = 'no'"));
	assert_int_equal(n, 1);
	assert_true(store_query_int(s, &n, -1, NULL, "SELECT count(*) FROM reveals r JOIN outbox o ON o.id = r.outbox"));
	assert_int_equal(n, 1);
	assert_true(store_query_int(s, &n, -1, NULL, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox_due'"));
	assert_int_equal(n, 1);
	assert_true(store_exec(s, NULL, "UPDATE outbox SET state = 'BOUNCED', bounce = '5.1.1' WHERE id = 7"));
	assert_false(store_exec(s, NULL, "UPDATE outbox SET state = 'LOST' WHERE id = 7"));
	/* the foreign keys still hold: a reveal cannot name a missing row */
	assert_false(store_exec(s, NULL, "INSERT INTO reveals VALUES ('s2', 'tp1', 1, 99, 30)"));
	store_close(s);
	util_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(address_round_trip),
		cmocka_unit_test(address_forged),
		cmocka_unit_test(secret_file),
		cmocka_unit_test(dsn_failed),
		cmocka_unit_test(dsn_not_failed),
		cmocka_unit_test(reason_clean),
		cmocka_unit_test(schema_outbox_rebuilt),
	};
	return cmocka_run_group_tests_name("bounce", tests, NULL, NULL);
}
