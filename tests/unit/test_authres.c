/* Unit tests of authres: the RFC 8601 parser on the RFC's own examples
 * (Appendix B) and on hostile fields, the alignment rule, and which fields
 * of a header block are believed (forged results). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "authres.h"

static struct authres *parse(const char *v)
{
	return authres_parse(v, strlen(v));
}

static const char *prop(const struct authres *a, guint i, const char *key)
{
	const struct authres_result *r = a->results->pdata[i];
	return g_hash_table_lookup(r->props, key);
}

static const struct authres_result *res(const struct authres *a, guint i)
{
	return a->results->pdata[i];
}

/* RFC 8601 Appendix B.2 to B.7 */
static void rfc_examples(void **state)
{
	struct authres *a = parse(" example.org 1; none");
	assert_non_null(a);
	assert_string_equal(a->authserv_id, "example.org");
	assert_int_equal(a->results->len, 0);
	authres_free(a);

	a = parse(" example.com;\r\n          spf=pass smtp.mailfrom=example.net");
	assert_non_null(a);
	assert_int_equal(a->results->len, 1);
	assert_string_equal(res(a, 0)->method, "spf");
	assert_string_equal(res(a, 0)->result, "pass");
	assert_string_equal(prop(a, 0, "smtp.mailfrom"), "example.net");
	authres_free(a);

	a = parse(" example.com;\n  auth=pass (cram-md5) smtp.auth=sender@example.net;\n"
	          "  spf=pass smtp.mailfrom=example.net");
	assert_non_null(a);
	assert_int_equal(a->results->len, 2);
	assert_string_equal(res(a, 0)->method, "auth");
	assert_string_equal(prop(a, 0, "smtp.auth"), "sender@example.net");
	assert_string_equal(res(a, 1)->method, "spf");
	authres_free(a);

	a = parse(" example.com;\n  sender-id=fail header.from=example.com;\n"
	          "  dkim=pass (good signature) header.d=example.com");
	assert_non_null(a);
	assert_int_equal(a->results->len, 2);
	assert_string_equal(res(a, 0)->result, "fail");
	assert_string_equal(prop(a, 1, "header.d"), "example.com");
	authres_free(a);

	a = parse(" example.com;\n  dkim=pass reason=\"good signature\"\n"
	          "    header.i=@mail-router.example.net;\n  dkim=fail reason=\"bad signature\"\n"
	          "    header.i=@newyork.example.com");
	assert_non_null(a);
	assert_int_equal(a->results->len, 2);
	assert_string_equal(res(a, 0)->reason, "good signature");
	assert_string_equal(prop(a, 0, "header.i"), "@mail-router.example.net");
	assert_string_equal(res(a, 1)->result, "fail");
	authres_free(a);

	/* B.7, the comment-heavy example */
	a = parse(" foo.example.net (foobar) 1 (baz);\n"
	          "    dkim (Because I like it) / 1 (One yay) = (wait for it) fail\n"
	          "      policy (A dot can go here) . (like that) expired\n"
	          "      (this surprised me) = (as I wasn't expecting it) 1362471462");
	assert_non_null(a);
	assert_string_equal(a->authserv_id, "foo.example.net");
	assert_int_equal(a->results->len, 1);
	assert_string_equal(res(a, 0)->method, "dkim");
	assert_string_equal(res(a, 0)->result, "fail");
	assert_string_equal(prop(a, 0, "policy.expired"), "1362471462");
	authres_free(a);
}

static void hostile_fields(void **state)
{
	/* missing authserv-id */
	assert_null(parse(""));
	assert_null(parse("   (just a comment)  "));
	assert_null(parse("; dkim=pass header.d=example.edu"));
	/* an unknown version, an unterminated quoted string, a bare word */
	assert_null(parse("mx.example.edu 2; dkim=pass header.d=example.edu"));
	assert_null(parse("mx.example.edu; dkim=pass reason=\"open"));
	assert_null(parse("mx.example.edu; dkim=pass header.d=example.edu garbage"));
	/* a result hidden in a comment or a quoted string is not a result */
	struct authres *a = parse("mx.example.edu; dkim=fail (; dkim=pass header.d=example.edu) "
	                          "reason=\"; dkim=pass header.d=example.edu\" header.d=evil.example");
	assert_non_null(a);
	assert_int_equal(a->results->len, 1);
	assert_string_equal(res(a, 0)->result, "fail");
	assert_string_equal(prop(a, 0, "header.d"), "evil.example");
	authres_free(a);
	/* a quoted authserv-id, escaped quotes, a quoted local part */
	a = parse("\"mx.example.edu\"; spf=pass smtp.mailfrom=\"a \\\"b\"@example.edu");
	assert_non_null(a);
	assert_string_equal(a->authserv_id, "mx.example.edu");
	assert_string_equal(prop(a, 0, "smtp.mailfrom"), "a \"b@example.edu");
	authres_free(a);
	/* the first of a repeated property counts */
	a = parse("mx.example.edu; dkim=pass header.d=example.edu header.d=evil.example");
	assert_string_equal(prop(a, 0, "header.d"), "example.edu");
	authres_free(a);

	/* 100 KB fields: many results, deep comments, an endless one: linear,
	 * bounded, no crash */
	GString *big = g_string_new("mx.example.edu");
	while (big->len < 100 * 1024)
		g_string_append(big, "; dkim=fail header.d=x.example");
	a = authres_parse(big->str, big->len);
	assert_non_null(a);
	assert_true(a->results->len > 3000);
	authres_free(a);
	g_string_assign(big, "mx.example.edu; ");
	while (big->len < 100 * 1024)
		g_string_append(big, "((((((((");
	assert_null(authres_parse(big->str, big->len));
	g_string_assign(big, "mx.example.edu; dkim=pass (");
	while (big->len < 100 * 1024)
		g_string_append(big, "\\)\\(");
	g_string_append(big, " header.d=example.edu");
	a = authres_parse(big->str, big->len); /* the rest is one comment */
	assert_non_null(a);
	assert_null(prop(a, 0, "header.d"));
	authres_free(a);
	g_string_free(big, TRUE);
}

static void alignment(void **state)
{
	assert_true(authres_aligned("example.edu", "example.edu"));
	assert_true(authres_aligned("EXAMPLE.edu", "alumnos.example.edu"));
	/* a subdomain does not vouch for its parent, a TLD for nothing */
	assert_false(authres_aligned("evil.example.edu", "example.edu"));
	assert_false(authres_aligned("edu", "example.edu"));
	assert_false(authres_aligned("ample.edu", "example.edu"));
	assert_false(authres_aligned("example.edu.evil.example", "example.edu"));
	assert_false(authres_aligned("", "example.edu"));
}

static char *ids[] = { "mx.example.edu", "mx2.example.edu", NULL };

static bool check(const char *head, const char *from, char **how)
{
	return authres_check(head, strlen(head), ids, from, how);
}

static void pass_and_fail(void **state)
{
	char *how = NULL;
	/* DKIM aligned (relaxed: the signer is a parent of the From: domain) */
	assert_true(check("Received: from x by mx.example.edu\n"
	                  "Authentication-Results: mx.example.edu; dkim=pass header.d=example.edu header.s=s1\n"
	                  "From: ana@alumnos.example.edu\n\nbody", "ana@alumnos.example.edu", &how));
	assert_string_equal(how, "dkim=pass header.d=example.edu");
	g_free(how);
	/* DKIM pass by another domain: not aligned */
	assert_false(check("Authentication-Results: mx.example.edu; dkim=pass header.d=evil.example\n"
	                   "From: ana@example.edu\n\n", "ana@example.edu", &how));
	assert_non_null(strstr(how, "dkim=pass header.d=evil.example"));
	g_free(how);
	/* DMARC pass for this From: domain; the second authserv-id is ours too */
	assert_true(check("Authentication-Results: mx2.example.edu; dmarc=pass (p=none dis=none) "
	                  "header.from=example.edu\n\n", "ana@example.edu", &how));
	g_free(how);
	/* DMARC pass for another From: (a second From: field) */
	assert_false(check("Authentication-Results: mx.example.edu; dmarc=pass header.from=evil.example\n\n",
	                   "ana@example.edu", &how));
	g_free(how);
	/* SPF pass aligned, and not */
	assert_true(check("Authentication-Results: mx.example.edu; spf=pass smtp.mailfrom=ana@example.edu\n\n",
	                  "ana@example.edu", &how));
	g_free(how);
	assert_false(check("Authentication-Results: mx.example.edu; spf=pass smtp.mailfrom=x@evil.example\n\n",
	                   "ana@example.edu", &how));
	g_free(how);
	/* results that do not pass */
	assert_false(check("Authentication-Results: mx.example.edu; dkim=fail header.d=example.edu; "
	                   "spf=softfail smtp.mailfrom=example.edu; dmarc=none header.from=example.edu\n\n",
	                   "ana@example.edu", &how));
	assert_non_null(strstr(how, "dkim=fail"));
	g_free(how);
	assert_false(check("From: ana@example.edu\n\n", "ana@example.edu", &how));
	assert_non_null(strstr(how, "no Authentication-Results by mx.example.edu"));
	g_free(how);
	assert_false(check("Authentication-Results: mx.example.edu; dkim=pass header.d=example.edu\n\n", NULL, &how));
	g_free(how);
}

/* Attack: results the sender wrote. */
static void forged_results(void **state)
{
	char *how = NULL;
	/* a foreign authserv-id */
	assert_false(check("Authentication-Results: mx.evil.example; dkim=pass header.d=example.edu\n\n",
	                   "ana@example.edu", &how));
	g_free(how);
	/* ours, but below the sender's fields */
	assert_false(check("Received: from evil by mx.example.edu\n"
	                   "Subject: hi\n"
	                   "Authentication-Results: mx.example.edu; dkim=pass header.d=example.edu\n\n",
	                   "ana@example.edu", &how));
	g_free(how);
	/* ours, but below our own result and the Received our MX wrote */
	assert_false(check("Authentication-Results: mx.example.edu; dkim=fail header.d=example.edu\n"
	                   "Received: from evil by mx.example.edu\n"
	                   "Authentication-Results: mx.example.edu; dkim=pass header.d=example.edu\n\n",
	                   "ana@example.edu", &how));
	g_free(how);
	/* in the body, or in a continuation line of another field */
	assert_false(check("Authentication-Results: mx.example.edu; dkim=fail\n"
	                   "X-Note: a\n"
	                   " Authentication-Results: mx.example.edu; dkim=pass header.d=example.edu\n\n"
	                   "Authentication-Results: mx.example.edu; dkim=pass header.d=example.edu\n",
	                   "ana@example.edu", &how));
	g_free(how);
	/* folded fields above, an mbox line, CRLF: still read */
	assert_true(check("From ana@example.edu Mon Jan  1 00:00:00 2026\r\n"
	                  "Delivered-To: robot@example.edu\r\n"
	                  "Authentication-Results: mx.example.edu;\r\n\tdkim=pass\r\n\theader.d=example.edu\r\n"
	                  "From: ana@example.edu\r\n\r\n", "ana@example.edu", &how));
	g_free(how);
	/* our id behind a comment or in quotes: RFC 8601 syntax, but the
	 * MTA's header_checks line (README) does not match it, so it reaches
	 * us from outside (66-mta-dkim.t); believed only written bare */
	assert_false(check("Received: from evil by mx.example.edu\n"
	                   "Authentication-Results: (x) mx.example.edu; spf=pass smtp.mailfrom=example.edu\n\n",
	                   "ana@example.edu", &how));
	g_free(how);
	assert_false(check("Authentication-Results: \"mx.example.edu\"; dkim=pass header.d=example.edu\n\n",
	                   "ana@example.edu", &how));
	g_free(how);
	assert_false(check("Authentication-Results: mx.example.edu(x); dkim=pass header.d=example.edu\n\n",
	                   "ana@example.edu", &how));
	g_free(how);
	assert_false(check("Authentication-Results: mx.example.edu.evil.example; dkim=pass header.d=example.edu\n\n",
	                   "ana@example.edu", &how));
	g_free(how);
	/* written bare: folded, a version, a tab before the ';' */
	assert_true(check("Authentication-Results:\n\tmx.example.edu 1\t; dkim=pass header.d=example.edu\n\n",
	                  "ana@example.edu", &how));
	g_free(how);
	/* a header block cut in the middle of a field */
	assert_false(check("Authentication-Results: mx.example.edu; dkim=pass header.d=exa", "ana@example.edu", &how));
	g_free(how);
}

static void exempt(void **state)
{
	char *list[] = { "beto@gmail.example", "@profs.example.edu", "legacy.example", NULL };
	assert_true(authres_exempt(list, "beto@gmail.example"));
	assert_true(authres_exempt(list, "BETO@gmail.example"));
	assert_false(authres_exempt(list, "ana@gmail.example"));
	assert_true(authres_exempt(list, "x@profs.example.edu"));
	assert_true(authres_exempt(list, "y@legacy.example"));
	assert_false(authres_exempt(list, "y@sub.legacy.example"));
	assert_false(authres_exempt(list, "nobody"));
	assert_false(authres_exempt(NULL, "a@b.c"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc_examples),
		cmocka_unit_test(hostile_fields),
		cmocka_unit_test(alignment),
		cmocka_unit_test(pass_and_fail),
		cmocka_unit_test(forged_results),
		cmocka_unit_test(exempt),
	};
	return cmocka_run_group_tests_name("authres", tests, NULL, NULL);
}
