/* Unit tests of mime: attachments in every encoding, encoded names,
 * forwarded mail, loop-avoidance rules, hostile names and structures, and
 * the corpus of tests/corpus parsed without a crash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mime.h"
#include "util.h"

#define HDR "From: Alice Student <alice@Example.EDU>\n" \
	    "To: grader+tp1@example.edu\n" \
	    "Subject: tp1\n" \
	    "Message-ID: <m1@example.edu>\n" \
	    "MIME-Version: 1.0\n"

static struct mime_info *parse(const char *msg)
{
	GError *err = NULL;
	struct mime_info *m = mime_parse_buffer(msg, strlen(msg), NULL, &err);
	assert_non_null(m);
	assert_null(err);
	return m;
}

static const struct mime_file *file_named(const struct mime_info *m, const char *name)
{
	for (guint i = 0; i < m->files->len; i++) {
		const struct mime_file *f = m->files->pdata[i];
		if (!strcmp(f->name, name))
			return f;
	}
	return NULL;
}

static void assert_file(const struct mime_info *m, const char *name, const char *content)
{
	const struct mime_file *f = file_named(m, name);
	if (!f) {
		for (guint i = 0; i < m->files->len; i++)
			print_message("have file [%s]\n", ((struct mime_file *)m->files->pdata[i])->name);
		fail_msg("no file named [%s]", name);
	}
	gsize n;
	const char *d = g_bytes_get_data(f->data, &n);
	assert_int_equal(n, strlen(content));
	assert_memory_equal(d, content, n);
}

static void headers_and_base64(void **state)
{
	struct mime_info *m = parse(
		HDR "Delivered-To: grader+tp2@example.edu\n"
		"Cc: Bob <bob@example.edu>, team: carol@example.edu;\n"
		"In-Reply-To: <prev@example.edu>\n"
		"References: <a@x> <prev@example.edu>\n"
		"Reply-To: other@example.edu\n"
		"Content-Type: multipart/mixed; boundary=\"XX\"\n\n"
		"--XX\nContent-Type: text/plain\n\nhere is my tp\n"
		"--XX\nContent-Type: text/x-csrc; name=tp.c\n"
		"Content-Disposition: attachment; filename=tp.c\n"
		"Content-Transfer-Encoding: base64\n\n"
		"aW50IG1haW4odm9pZCkgeyByZXR1cm4gMDsgfQo=\n"
		"--XX--\n");
	assert_string_equal(m->message_id, "m1@example.edu");
	assert_string_equal(m->from_addr, "alice@example.edu");
	assert_string_equal(m->from_name, "Alice Student");
	assert_string_equal(m->reply_to_addr, "other@example.edu");
	assert_string_equal(m->subject, "tp1");
	assert_string_equal(m->in_reply_to, "<prev@example.edu>");
	assert_non_null(strstr(m->references, "<a@x>"));
	/* Delivered-To first, then To, then Cc (groups flattened) */
	assert_int_equal(g_strv_length(m->recipients), 4);
	assert_string_equal(m->recipients[0], "grader+tp2@example.edu");
	assert_string_equal(m->recipients[1], "grader+tp1@example.edu");
	assert_string_equal(m->recipients[2], "bob@example.edu");
	assert_string_equal(m->recipients[3], "carol@example.edu");
	assert_false(m->automatic);
	assert_int_equal(m->files->len, 1);
	assert_file(m, "tp.c", "int main(void) { return 0; }\n");
	assert_int_equal(m->files_bytes, 29);
	assert_false(m->too_large);
	assert_false(m->too_many_parts);
	mime_info_free(m);
}

static void quoted_printable_and_inline(void **state)
{
	struct mime_info *m = parse(
		HDR "Content-Type: multipart/mixed; boundary=XX\n\n"
		"--XX\nContent-Type: text/x-chdr; name=\"tp.h\"\n"
		"Content-Disposition: inline; filename=\"tp.h\"\n"
		"Content-Transfer-Encoding: quoted-printable\n\n"
		"int a =3D 1; /* caf=C3=A9 */ int b =3D =\n2;\n"
		"--XX\nContent-Type: text/plain; name=\"notes.txt\"\n"
		"Content-Transfer-Encoding: 7bit\n\n"
		"just a note\n"
		"--XX--\n");
	assert_int_equal(m->files->len, 2);
	/* the line end before a boundary belongs to the boundary (RFC 2046) */
	assert_file(m, "tp.h", "int a = 1; /* caf\xc3\xa9 */ int b = 2;");
	/* name only in Content-Type, no Content-Disposition */
	assert_file(m, "notes.txt", "just a note");
	mime_info_free(m);
}

static void encoded_names(void **state)
{
	struct mime_info *m = parse(
		HDR "Content-Type: multipart/mixed; boundary=XX\n\n"
		/* RFC 2231 */
		"--XX\nContent-Type: text/plain\n"
		"Content-Disposition: attachment; filename*=UTF-8''%C3%A9t%C3%A9.c\n\n"
		"a\n"
		/* RFC 2231 continuations */
		"--XX\nContent-Type: text/plain\n"
		"Content-Disposition: attachment;\n filename*0*=UTF-8''ma%C3%B1;\n"
		" filename*1=ana.h\n\n"
		"b\n"
		/* RFC 2047 inside a quoted parameter (not standard, common) */
		"--XX\nContent-Type: text/plain; name=\"=?UTF-8?B?w7xiZXIuYw==?=\"\n"
		"Content-Disposition: attachment; filename=\"=?UTF-8?B?w7xiZXIuYw==?=\"\n\n"
		"c\n"
		"--XX--\n");
	assert_int_equal(m->files->len, 3);
	assert_file(m, "\xc3\xa9t\xc3\xa9.c", "a");
	assert_file(m, "ma\xc3\xb1" "ana.h", "b");
	assert_file(m, "\xc3\xbc" "ber.c", "c");
	mime_info_free(m);
}

static void nested_forwarded_message(void **state)
{
	struct mime_info *m = parse(
		HDR "Content-Type: multipart/mixed; boundary=OUT\n\n"
		"--OUT\nContent-Type: text/plain\n\nforwarding my tp\n"
		"--OUT\nContent-Type: message/rfc822\n"
		"Content-Disposition: attachment; filename=\"fwd.eml\"\n\n"
		"From: Alice <alice@example.edu>\nSubject: tp\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=IN\n\n"
		"--IN\nContent-Type: text/plain\n\nbody\n"
		"--IN\nContent-Type: application/octet-stream\n"
		"Content-Disposition: attachment; filename=main.c\n"
		"Content-Transfer-Encoding: base64\n\n"
		"aW50IG1haW4odm9pZCkgeyByZXR1cm4gMDsgfQo=\n"
		"--IN--\n"
		"--OUT--\n");
	assert_int_equal(m->files->len, 1);
	assert_file(m, "main.c", "int main(void) { return 0; }\n");
	assert_string_equal(m->from_addr, "alice@example.edu");
	mime_info_free(m);
}

static void mbox_from_line(void **state)
{
	struct mime_info *m = parse(
		"From alice@example.edu Mon Jan  5 10:00:00 2026\n"
		HDR "Content-Type: text/plain\n\nno attachment here\n");
	assert_string_equal(m->mbox_sender, "alice@example.edu");
	assert_string_equal(m->from_addr, "alice@example.edu");
	assert_string_equal(m->subject, "tp1");
	assert_string_equal(m->message_id, "m1@example.edu");
	assert_false(m->automatic);
	/* no attachment: no file, and nothing worth a note */
	assert_int_equal(m->files->len, 0);
	assert_int_equal(m->notes->len, 0);
	mime_info_free(m);
}

static void check_automatic(const char *extra_headers, const char *ctype, bool expect)
{
	char *msg = g_strdup_printf("From: %s\nTo: grader@example.edu\nSubject: x\n%s"
				    "MIME-Version: 1.0\nContent-Type: %s\n\nbody\n",
				    strstr(extra_headers, "FROM:") ? extra_headers + 5
								   : "alice@example.edu",
				    strstr(extra_headers, "FROM:") ? "" : extra_headers, ctype);
	struct mime_info *m = parse(msg);
	if (m->automatic != expect)
		fail_msg("headers [%s] type [%s]: automatic=%d (%s), expected %d",
			 extra_headers, ctype, m->automatic,
			 m->automatic_why ? m->automatic_why : "-", expect);
	if (expect)
		assert_non_null(m->automatic_why);
	mime_info_free(m);
	g_free(msg);
}

static void automatic_rules(void **state)
{
	check_automatic("", "text/plain", false);
	check_automatic("Auto-Submitted: no\n", "text/plain", false);
	check_automatic("Auto-Submitted: auto-replied\n", "text/plain", true);
	check_automatic("Auto-Submitted: auto-generated; owner-email=x@y\n", "text/plain", true);
	check_automatic("Auto-Submitted: Auto-Notified\n", "text/plain", true);
	check_automatic("Precedence: bulk\n", "text/plain", true);
	check_automatic("Precedence: list\n", "text/plain", true);
	check_automatic("Precedence: junk\n", "text/plain", true);
	check_automatic("Precedence: first-class\n", "text/plain", false);
	check_automatic("List-Id: <algo1.lists.example.edu>\n", "text/plain", true);
	check_automatic("X-Autoreply: yes\n", "text/plain", true);
	check_automatic("Return-Path: <>\n", "text/plain", true);
	check_automatic("Return-Path: <alice@example.edu>\n", "text/plain", false);
	check_automatic("", "multipart/report; report-type=delivery-status; boundary=b",
			true);
	check_automatic("FROM:MAILER-DAEMON@mx.example.edu", "text/plain", true);
	check_automatic("FROM:Mail System <postmaster@example.edu>", "text/plain", true);
	check_automatic("FROM:algo1-request@lists.example.edu", "text/plain", true);
	check_automatic("FROM:owner-algo1@lists.example.edu", "text/plain", true);
	check_automatic("FROM:noreply@example.edu", "text/plain", true);
	check_automatic("FROM:daemon.lover@example.edu", "text/plain", false);

	/* a bounce delivered in mbox form: "From MAILER-DAEMON ..." */
	struct mime_info *m = parse("From MAILER-DAEMON Mon Jan  5 10:00:00 2026\n"
				    "From: Mail Delivery <x@example.edu>\nSubject: x\n\nb\n");
	assert_true(m->automatic);
	mime_info_free(m);
}

static void name_collisions(void **state)
{
	GString *s = g_string_new(HDR "Content-Type: multipart/mixed; boundary=XX\n\n");
	const char *names[] = {"tp.c", "tp.c", "dir/tp.c", "tp.c", "a.tar.gz", "a.tar.gz",
			       "Makefile", "Makefile"};
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		g_string_append_printf(s, "--XX\nContent-Type: text/plain\n"
				       "Content-Disposition: attachment; filename=\"%s\"\n\n%zu\n",
				       names[i], i);
	g_string_append(s, "--XX--\n");
	struct mime_info *m = parse(s->str);
	assert_int_equal(m->files->len, G_N_ELEMENTS(names));
	assert_file(m, "tp.c", "0");
	assert_file(m, "tp_2.c", "1");
	assert_file(m, "tp_3.c", "2");
	assert_file(m, "tp_4.c", "3");
	assert_file(m, "a.tar.gz", "4");
	assert_file(m, "a_2.tar.gz", "5");
	assert_file(m, "Makefile", "6");
	assert_file(m, "Makefile_2", "7");
	/* the reply says which name became which */
	const struct mime_file *f0 = m->files->pdata[0], *f1 = m->files->pdata[1];
	assert_null(f0->renamed_from);
	assert_string_equal(f1->renamed_from, "tp.c");
	mime_info_free(m);
	g_string_free(s, TRUE);
}

/* Names that clean to the same never overwrite each other, and each
 * rename names the file it came from. */
static void renamed_collisions(void **state)
{
	GString *s = g_string_new(HDR "Content-Type: multipart/mixed; boundary=XX\n\n");
	const char *names[] = {"a b.c", "a_b.c", "a;b.c", "@x.c", "ni\xc3\xb1o.c"};
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		g_string_append_printf(s, "--XX\nContent-Type: text/plain\n"
				       "Content-Disposition: attachment; filename=\"%s\"\n\n%zu\n",
				       names[i], i);
	g_string_append(s, "--XX--\n");
	struct mime_info *m = parse(s->str);
	assert_int_equal(m->files->len, G_N_ELEMENTS(names));
	assert_file(m, "a_b.c", "0");
	assert_file(m, "a_b_2.c", "1");
	assert_file(m, "a_b_3.c", "2");
	assert_file(m, "_x.c", "3");
	assert_file(m, "ni\xc3\xb1o.c", "4");
	const char *from[] = {"a b.c", "a_b.c", "a;b.c", "@x.c", NULL};
	for (size_t i = 0; i < G_N_ELEMENTS(from); i++) {
		const struct mime_file *f = m->files->pdata[i];
		if (from[i])
			assert_string_equal(f->renamed_from, from[i]);
		else
			assert_null(f->renamed_from);
	}
	mime_info_free(m);
	g_string_free(s, TRUE);
}

static void safe_names(void **state)
{
	struct {
		const char *in, *out;
	} cases[] = {
		{"../../etc/passwd", "passwd"},
		{"C:\\Users\\x\\tp.c", "tp.c"},
		{"C:\\x\\y.c", "y.c"},
		{"..", "unnamed"},
		{".", "unnamed"},
		{"", "unnamed"},
		{"dir/", "unnamed"},
		{"a\r\nb.c", "ab.c"},
		{"-rf.c", "_rf.c"},
		{"  spaced.c  ", "spaced.c"},
		{"tp\xe2\x80\xae" "c.exe", "tpc.exe"}, /* bidi override dropped */
		{"bad\xff.c", "bad_.c"},     /* invalid UTF-8: U+FFFD is no letter */
		{".hidden", ".hidden"},
		{"\xc3\xa9t\xc3\xa9.c", "\xc3\xa9t\xc3\xa9.c"},
		/* what a shell or make reads specially (mime.c) */
		{"a`sh<e.h`.c", "a_sh_e.h_.c"},
		{"@x.c", "_x.c"},
		{"-x.c", "_x.c"},
		{"a-b.c", "a-b.c"},
		{"x$(id).c", "x__id_.c"},
		{"${HOME}.c", "__HOME_.c"},
		{"a;b|c&d.c", "a_b_c_d.c"},
		{"'q'\"d\".c", "_q__d_.c"},
		{"a>b<c.c", "a_b_c.c"},
		{"mi tp.c", "mi_tp.c"},
		{"a\tb.c", "ab.c"},
		{"a:b%c*d?e.c", "a_b_c_d_e.c"},
		{"[x](y){z}.c", "_x__y__z_.c"},
		{"!#~=.c", "____.c"},
		{"!#~=\\^.c", "_.c"}, /* "\\" is a separator: the last part only */
		{"x\\y^z.c", "y_z.c"},
		{"~root.c", "_root.c"},
		{"a=b.c", "a_b.c"},
		{"a,b+c.c", "a_b+c.c"},
		{"..c", "..c"},
		{"...", "unnamed"},
		/* UTF-8 letters and digits stay, composed (NFC) */
		{"ni\xc3\xb1o.c", "ni\xc3\xb1o.c"},
		{"ejercicio_\xc3\xb1.c", "ejercicio_\xc3\xb1.c"},
		{"nin\xcc\x83o.c", "ni\xc3\xb1o.c"},           /* macOS NFD */
		{"\xce\xb1\xce\xb2\xce\xb3\xd9\xa3.c", "\xce\xb1\xce\xb2\xce\xb3\xd9\xa3.c"}, /* Greek, Arabic-Indic 3 */
		{"a\xc2\xa0" "b.c", "a_b.c"},                       /* no-break space */
		{"a\xe2\x80\x94" "b.c", "a_b.c"},                  /* em dash: no letter */
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *got = mime_safe_name(cases[i].in);
		if (strcmp(got, cases[i].out))
			fail_msg("mime_safe_name(\"%s\") = \"%s\", expected \"%s\"", cases[i].in,
				 got, cases[i].out);
		assert_true(util_safe_filename(got));
		g_free(got);
	}
	char *got = mime_safe_name(NULL);
	assert_string_equal(got, "unnamed");
	g_free(got);

	/* 300 characters: cut to 255 bytes, extension kept, on a UTF-8
	 * character boundary */
	GString *s = g_string_new(NULL);
	for (int i = 0; i < 150; i++)
		g_string_append(s, "\xc3\xa9");
	g_string_append(s, ".c");
	got = mime_safe_name(s->str);
	assert_true(strlen(got) <= 255);
	assert_true(g_str_has_suffix(got, ".c"));
	assert_true(g_utf8_validate(got, -1, NULL));
	assert_true(util_safe_filename(got));
	g_free(got);
	g_string_free(s, TRUE);
}

static void hostile_names_in_mail(void **state)
{
	GString *s = g_string_new(HDR "Content-Type: multipart/mixed; boundary=XX\n\n");
	const char *params[] = {
		"filename=\"../../etc/passwd\"",
		"filename=\"C:\\\\x\\\\y.c\"",
		"filename*=UTF-8''a%00b%0D%0A.c",
		"filename*=UTF-8''..%2F..%2Fz.c",
		"filename=\"..\"",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(params); i++)
		g_string_append_printf(s, "--XX\nContent-Type: text/plain\n"
				       "Content-Disposition: attachment; %s\n\nx\n", params[i]);
	/* a 300-character name */
	g_string_append(s, "--XX\nContent-Type: text/plain\nContent-Disposition: attachment; "
			   "filename=\"");
	for (int i = 0; i < 300; i++)
		g_string_append_c(s, 'n');
	g_string_append(s, ".c\"\n\nlong\n--XX--\n");
	struct mime_info *m = parse(s->str);
	assert_int_equal(m->files->len, G_N_ELEMENTS(params) + 1);
	for (guint i = 0; i < m->files->len; i++) {
		const struct mime_file *f = m->files->pdata[i];
		assert_true(util_safe_filename(f->name));
		assert_null(strchr(f->name, '/'));
		assert_null(strchr(f->name, '\\'));
		assert_null(strchr(f->name, '\r'));
		assert_null(strchr(f->name, '\n'));
		assert_true(strlen(f->name) <= 255);
	}
	assert_non_null(file_named(m, "passwd"));
	assert_non_null(file_named(m, "y.c"));
	assert_non_null(file_named(m, "z.c"));
	assert_non_null(file_named(m, "unnamed"));
	const struct mime_file *last = m->files->pdata[m->files->len - 1];
	assert_true(g_str_has_suffix(last->name, ".c"));
	mime_info_free(m);
	g_string_free(s, TRUE);
}

static void header_injection(void **state)
{
	struct mime_info *m = parse(
		"From: =?UTF-8?Q?Eve=0D=0ABcc:_x@evil?= <eve@example.edu>\n"
		"Subject: =?UTF-8?Q?tp1=0D=0ABcc:_victim@example.com?=\n"
		"Message-ID: <bad id@x>\n\nbody\n");
	assert_null(strpbrk(m->subject, "\r\n"));
	assert_null(strpbrk(m->from_name, "\r\n"));
	/* an id with a space is no id to deduplicate by */
	assert_null(m->message_id);
	mime_info_free(m);
}

static void limits(void **state)
{
	GString *s = g_string_new(HDR "Content-Type: multipart/mixed; boundary=XX\n\n");
	for (int i = 0; i < 10; i++)
		g_string_append_printf(s, "--XX\nContent-Type: text/plain\n"
				       "Content-Disposition: attachment; filename=f%d.c\n\n"
				       "0123456789\n", i);
	g_string_append(s, "--XX--\n");

	struct mime_limits lim = {.max_parts = 4};
	struct mime_info *m = mime_parse_buffer(s->str, s->len, &lim, NULL);
	assert_true(m->too_many_parts);
	assert_false(m->too_large);
	assert_true(m->files->len < 4);
	assert_true(m->notes->len > 0);
	mime_info_free(m);

	struct mime_limits lim2 = {.max_file_bytes_total = 25};
	m = mime_parse_buffer(s->str, s->len, &lim2, NULL);
	assert_true(m->too_large);
	assert_false(m->too_many_parts);
	assert_int_equal(m->files->len, 2);
	assert_true(m->files_bytes <= 25);
	mime_info_free(m);

	struct mime_limits lim3 = {.max_depth = 1};
	m = parse(HDR "Content-Type: multipart/mixed; boundary=A\n\n"
		  "--A\nContent-Type: multipart/mixed; boundary=B\n\n"
		  "--B\nContent-Type: text/plain\nContent-Disposition: attachment; filename=deep.c\n\n"
		  "x\n--B--\n--A--\n");
	assert_int_equal(m->files->len, 1);
	mime_info_free(m);
	const char *nest = HDR "Content-Type: multipart/mixed; boundary=A\n\n"
			       "--A\nContent-Type: multipart/mixed; boundary=B\n\n"
			       "--B\nContent-Type: text/plain\n"
			       "Content-Disposition: attachment; filename=deep.c\n\n"
			       "x\n--B--\n--A--\n";
	m = mime_parse_buffer(nest, strlen(nest), &lim3, NULL);
	assert_true(m->too_many_parts);
	assert_int_equal(m->files->len, 0);
	mime_info_free(m);
	g_string_free(s, TRUE);
}

static void parser_bombs(void **state)
{
	/* 200000 empty parts and 200000 header lines: bounded work, flagged */
	GString *s = g_string_new(HDR "Content-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < 200000; i++)
		g_string_append(s, "--b\n\nx\n");
	int64_t t0 = util_now_ms();
	struct mime_info *m = mime_parse_buffer(s->str, s->len, NULL, NULL);
	assert_true(m->too_many_parts);
	mime_info_free(m);
	g_string_assign(s, "From: a@example.edu\nSubject: h\n");
	for (int i = 0; i < 200000; i++)
		g_string_append(s, "X-A: b\n");
	g_string_append(s, "\nbody\n");
	m = mime_parse_buffer(s->str, s->len, NULL, NULL);
	assert_true(m->too_many_parts);
	assert_string_equal(m->from_addr, "a@example.edu");
	mime_info_free(m);
	assert_true(util_now_ms() - t0 < 10000);
	g_string_free(s, TRUE);
}

static void no_false_bombs(void **state)
{
	/* a text attachment of 30000 "key: value" lines and 5000 "--" lines
	 * is text, not a header or boundary bomb */
	GString *s = g_string_new(HDR "Content-Type: multipart/mixed; boundary=XX\n\n"
				      "--XX\nContent-Type: text/plain\n"
				      "Content-Disposition: attachment; filename=log.txt\n\n");
	for (int i = 0; i < 30000; i++)
		g_string_append_printf(s, "12:00:%02d: step %d\n", i % 60, i);
	g_string_append(s, "--XX\nContent-Type: text/x-diff\n"
			   "Content-Disposition: attachment; filename=p.diff\n\n");
	for (int i = 0; i < 3000; i++)
		g_string_append(s, "--- a\n");
	g_string_append(s, "--XX--\n");
	struct mime_info *m = parse(s->str);
	assert_false(m->too_many_parts);
	assert_int_equal(m->files->len, 2);
	g_string_free(s, TRUE);
	mime_info_free(m);

	/* a 5 MB plain-text mail without MIME is not cut either */
	s = g_string_new("From: a@example.edu\nSubject: long\n\n");
	while (s->len < (5u << 20))
		g_string_append(s, "Note: this is a long line of text in a plain mail.\n");
	m = parse(s->str);
	assert_false(m->too_many_parts);
	assert_int_equal(m->notes->len, 0);
	g_string_free(s, TRUE);
	mime_info_free(m);
}

static void crlf_and_encodings(void **state)
{
	struct mime_info *m = parse(
		"From: a@example.edu\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
		"--XX\r\nContent-Type: text/plain\r\n"
		"Content-Disposition: attachment; filename=a.c\r\n\r\n"
		"line1\r\nline2\r\n"
		"--XX\r\nContent-Type: application/octet-stream\r\n"
		"Content-Disposition: attachment; filename=b.bin\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n"
		"YQ0KYg0K\r\n" /* "a\r\nb\r\n": base64 bytes are kept */
		"--XX\r\nContent-Type: application/octet-stream\r\n"
		"Content-Disposition: attachment; filename=u.c\r\n"
		"Content-Transfer-Encoding: x-uuencode\r\n\r\n"
		"begin 644 u.c\r\n"
		"&:&5L;&\\*\r\n"
		"`\r\nend\r\n"
		"--XX--\r\n");
	assert_file(m, "a.c", "line1\nline2");
	assert_file(m, "b.bin", "a\r\nb\r\n");
	assert_file(m, "u.c", "hello\n");
	mime_info_free(m);
}

static void signed_and_odd(void **state)
{
	struct mime_info *m = parse(
		HDR "Content-Type: multipart/signed; protocol=\"application/pgp-signature\";"
		" micalg=pgp-sha256; boundary=S\n\n"
		"--S\nContent-Type: multipart/mixed; boundary=XX\n\n"
		"--XX\nContent-Type: text/plain\n\nhi\n"
		"--XX\nContent-Type: text/plain\nContent-Disposition: attachment; filename=tp.c\n\n"
		"x\n--XX--\n"
		"--S\nContent-Type: application/pgp-signature; name=signature.asc\n"
		"Content-Disposition: attachment; filename=signature.asc\n\nSIG\n"
		"--S--\n");
	assert_int_equal(m->files->len, 1);
	assert_non_null(file_named(m, "tp.c"));
	mime_info_free(m);

	/* garbage, empty, headers only, binary noise: an info, never a crash */
	const char *odd[] = {"", "\n", "garbage without headers", "From \n", "From x",
			     "Content-Type: multipart/mixed; boundary=\n\n--\n--\n",
			     "Content-Type: multipart/mixed\n\n--x\n"};
	for (size_t i = 0; i < G_N_ELEMENTS(odd); i++) {
		m = mime_parse_buffer(odd[i], strlen(odd[i]), NULL, NULL);
		assert_non_null(m);
		assert_non_null(m->recipients);
		mime_info_free(m);
	}
	/* no usable From: NULL, the caller falls back to the envelope */
	const char *nofrom[] = {"From: just a name\nSubject: x\n\nb\n",
				"From: <>\nSubject: x\n\nb\n",
				"From: alice\nSubject: x\n\nb\n",
				"From: undisclosed-recipients:;\nSubject: x\n\nb\n"};
	for (size_t i = 0; i < G_N_ELEMENTS(nofrom); i++) {
		m = parse(nofrom[i]);
		if (m->from_addr)
			fail_msg("[%s] gave from_addr %s", nofrom[i], m->from_addr);
		mime_info_free(m);
	}
	unsigned char noise[4096];
	srand(42);
	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < sizeof noise; i++)
			noise[i] = (unsigned char)rand();
		m = mime_parse_buffer(noise, sizeof noise, NULL, NULL);
		assert_non_null(m);
		mime_info_free(m);
	}
	mime_info_free(NULL);
}


/* A file parsed from a GMime stream of it, as the ingester reads a spool
 * file (ingest.c). */
static struct mime_info *read_mail_file(const char *path, const struct mime_limits *lim, GError **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		g_set_error(err, SERCOM_ERROR, errno, "%s: %s", path, g_strerror(errno));
		return NULL;
	}
	mime_init();
	GMimeStream *st = g_mime_stream_fs_new(fd); /* owns fd */
	struct mime_info *info = mime_parse(st, lim, err);
	g_object_unref(st);
	return info;
}

static void parse_file(void **state)
{
	char path[] = "/tmp/test_mime.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *msg = "From bob@example.edu Mon Jan  5 10:00:00 2026\n" HDR
			  "Content-Type: text/plain; name=x.c\n\nint x;\n";
	assert_int_equal(util_write_all(fd, msg, strlen(msg)), 0);
	close(fd);
	GError *err = NULL;
	struct mime_info *m = read_mail_file(path, NULL, &err);
	assert_non_null(m);
	assert_file(m, "x.c", "int x;\n");
	assert_string_equal(m->mbox_sender, "bob@example.edu");
	mime_info_free(m);
	unlink(path);
	m = read_mail_file(path, NULL, &err);
	assert_null(m);
	assert_non_null(err);
	assert_int_equal(err->code, ENOENT);
	g_error_free(err);
}

static int corpus_walk(const char *dir, unsigned *count)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = g_build_filename(dir, de->d_name, NULL);
		struct stat sb;
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			corpus_walk(p, count);
		} else if (S_ISREG(sb.st_mode) && g_str_has_suffix(de->d_name, ".eml")) {
			GError *err = NULL;
			struct mime_info *m = read_mail_file(p, NULL, &err);
			if (!m)
				fail_msg("%s: %s", p, err ? err->message : "?");
			assert_non_null(m->recipients);
			for (guint i = 0; i < m->files->len; i++)
				assert_true(util_safe_filename(
					((struct mime_file *)m->files->pdata[i])->name));
			mime_info_free(m);
			(*count)++;
		}
		g_free(p);
	}
	closedir(d);
	return 0;
}

/* The corpus of the checkout (tests/corpus): $SERCOM_CORPUS, else under
 * $SERCOM_TOP, else found from this binary (build/tests/test_mime). It is
 * part of the repository: missing is a failure, never a skip. */
static char *corpus_dir(void)
{
	const char *c = getenv("SERCOM_CORPUS"), *top = getenv("SERCOM_TOP");
	if (c && *c)
		return g_strdup(c);
	if (top && *top)
		return g_build_filename(top, "tests", "corpus", NULL);
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *tests = exe ? g_path_get_dirname(exe) : g_strdup(".");
	g_autofree char *build = g_path_get_dirname(tests);
	g_autofree char *checkout = g_path_get_dirname(build);
	return g_build_filename(checkout, "tests", "corpus", NULL);
}

static void corpus(void **state)
{
	g_autofree char *dir = corpus_dir();
	unsigned count = 0;
	if (corpus_walk(dir, &count) < 0)
		fail_msg("no corpus at %s (tests/corpus of the checkout; SERCOM_CORPUS names another)", dir);
	print_message("# %u corpus files parsed from %s\n", count, dir);
	assert_true(count > 0);
}

int main(void)
{
	mime_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(headers_and_base64),
		cmocka_unit_test(quoted_printable_and_inline),
		cmocka_unit_test(encoded_names),
		cmocka_unit_test(nested_forwarded_message),
		cmocka_unit_test(mbox_from_line),
		cmocka_unit_test(automatic_rules),
		cmocka_unit_test(name_collisions),
		cmocka_unit_test(renamed_collisions),
		cmocka_unit_test(safe_names),
		cmocka_unit_test(hostile_names_in_mail),
		cmocka_unit_test(header_injection),
		cmocka_unit_test(limits),
		cmocka_unit_test(parser_bombs),
		cmocka_unit_test(no_false_bombs),
		cmocka_unit_test(crlf_and_encodings),
		cmocka_unit_test(signed_and_odd),
		cmocka_unit_test(parse_file),
		cmocka_unit_test(corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
