/* bounce: VERP envelope senders and delivery status notifications. See
 * bounce.h. */
#define _GNU_SOURCE
#include "bounce.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_BYTES 32
#define DSN_MAX (64 * 1024) /* of the delivery-status part read */
#define REASON_MAX 500

/* ---- the secret ------------------------------------------------------- */

/* The key in path, or NULL (errno ENOENT when there is none). Attack: a
 * symlink planted as var/bounce.key is not followed (O_NOFOLLOW). */
static char *key_read(const char *path, GError **err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		g_set_error(err, SERCOM_ERROR, e, "%s: %s", path, g_strerror(e));
		errno = e;
		return NULL;
	}
	char buf[4 * KEY_BYTES + 2];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	g_strstrip(buf);
	if (strlen(buf) < KEY_BYTES) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "%s: not a key (remove it and a new one is made)", path);
		errno = EINVAL;
		return NULL;
	}
	return g_strdup(buf);
}

/* Writes a new random key as path, whole or not at all: a temp file
 * linked into place, so two processes making it at once agree on the one
 * that won. The owner of var/ gets it: the ingester reads it as that
 * user. */
static bool key_make(const struct sercom_conf *c, const char *path, GError **err)
{
	guchar raw[KEY_BYTES];
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		g_set_error(err, SERCOM_ERROR, errno ? errno : EIO, "getrandom: %s", g_strerror(errno ? errno : EIO));
		return false;
	}
	GString *hex = g_string_new(NULL);
	for (size_t i = 0; i < sizeof raw; i++)
		g_string_append_printf(hex, "%02x", raw[i]);
	g_string_append_c(hex, '\n');
	g_autofree char *tmp = g_strconcat(path, ".XXXXXX", NULL);
	int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
	struct stat var;
	bool ok = fd >= 0 && write(fd, hex->str, hex->len) == (ssize_t)hex->len && fsync(fd) == 0 &&
	          stat(c->var, &var) == 0 && (geteuid() != 0 || fchown(fd, var.st_uid, var.st_gid) == 0);
	int e = errno;
	g_string_free(hex, TRUE);
	if (fd >= 0)
		close(fd);
	if (ok && link(tmp, path) < 0 && errno != EEXIST) {
		e = errno;
		ok = false;
	}
	if (fd >= 0)
		unlink(tmp);
	if (!ok)
		g_set_error(err, SERCOM_ERROR, e, "%s: cannot make the bounce key: %s", path, g_strerror(e));
	return ok;
}

char *bounce_secret(const struct sercom_conf *c, GError **err)
{
	g_autofree char *path = g_build_filename(c->var, BOUNCE_KEY_FILE, NULL);
	GError *e = NULL;
	char *k = key_read(path, &e);
	if (k || errno != ENOENT) {
		if (e)
			g_propagate_error(err, e);
		return k;
	}
	g_error_free(e);
	if (!key_make(c, path, err))
		return NULL;
	return key_read(path, err);
}

/* ---- the address ------------------------------------------------------ */

static char *mac_hex(const char *secret, int64_t id)
{
	g_autofree char *msg = g_strdup_printf("outbox:%lld", (long long)id);
	char *h = g_compute_hmac_for_string(G_CHECKSUM_SHA256, (const guchar *)secret, strlen(secret), msg, -1);
	h[BOUNCE_MAC_HEX] = '\0';
	return h;
}

char *bounce_address_make(const char *base, int64_t id, const char *secret)
{
	const char *at = strrchr(base, '@');
	g_autofree char *mac = mac_hex(secret, id);
	return g_strdup_printf("%.*s+" BOUNCE_TAG "%lld-%s%s", at ? (int)(at - base) : (int)strlen(base), base,
	                       (long long)id, mac, at ? at : "");
}

/* "bounce-ID-MAC" (lowercase), exactly; the row or 0. */
static int64_t tag_parse(const char *tag, size_t len, const char *secret)
{
	size_t p = strlen(BOUNCE_TAG);
	if (len <= p || strncmp(tag, BOUNCE_TAG, p))
		return 0;
	int64_t id = 0;
	size_t digits = 0;
	while (p < len && g_ascii_isdigit(tag[p]) && digits < 18) {
		id = id * 10 + (tag[p++] - '0');
		digits++;
	}
	if (!digits || id <= 0 || p >= len || tag[p++] != '-' || len - p != BOUNCE_MAC_HEX)
		return 0;
	g_autofree char *want = mac_hex(secret, id);
	/* compared in constant time: how long a wrong guess took must not
	 * say how many of its digits were right */
	unsigned diff = 0;
	for (size_t i = 0; i < BOUNCE_MAC_HEX; i++)
		diff |= (unsigned char)(want[i] ^ tag[p + i]);
	return diff ? 0 : id;
}

int64_t bounce_address_parse(const char *s, const char *secret)
{
	if (!s || !secret)
		return 0;
	g_autofree char *low = g_ascii_strdown(s, -1);
	char *a = g_strstrip(low);
	if (*a == '<')
		a++;
	size_t len = strcspn(a, ">");
	const char *at = g_strrstr_len(a, (gssize)len, "@");
	if (!at)
		at = a + len; /* a local part, or the tag alone */
	/* the last "+bounce-" of the local part: a bounce_address with a
	 * +tag of its own keeps it before ours */
	const char *tag = g_str_has_prefix(a, BOUNCE_TAG) ? a : NULL;
	for (const char *p = a; (p = strstr(p, "+" BOUNCE_TAG)) && p < at; p++)
		tag = p + 1;
	return tag ? tag_parse(tag, (size_t)(at - tag), secret) : 0;
}

/* ---- the notification ------------------------------------------------- */

void bounce_dsn_free(struct bounce_dsn *d)
{
	if (!d)
		return;
	g_free(d->action);
	g_free(d->recipient);
	g_free(d->status);
	g_free(d->diagnostic);
	g_free(d->attempt);
	g_free(d);
}

/* The decoded content of a leaf part, at most max bytes. */
static GByteArray *part_bytes(GMimeObject *o, size_t max)
{
	if (!GMIME_IS_PART(o))
		return NULL;
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(o));
	if (!w)
		return NULL;
	GMimeStream *mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, mem);
	GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE); /* b is ours */
	g_object_unref(mem);
	if (b->len > max)
		g_byte_array_set_size(b, (guint)max);
	return b;
}

/* One block of "Name: value" fields (RFC 3464 section 2.1: header
 * syntax), names lowercased, continuation lines unfolded. */
static GHashTable *field_block(char **lines, guint *i)
{
	GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	char *last = NULL;
	for (; lines[*i] && *g_strchomp(lines[*i]); (*i)++) {
		char *l = lines[*i];
		if ((*l == ' ' || *l == '\t') && last) {
			char *old = g_hash_table_lookup(h, last);
			g_hash_table_insert(h, g_strdup(last), g_strconcat(old, " ", g_strstrip(l), NULL));
			continue;
		}
		char *colon = strchr(l, ':');
		if (!colon)
			continue;
		g_autofree char *name = g_ascii_strdown(l, colon - l);
		g_strstrip(name);
		if (g_hash_table_contains(h, name))
			continue; /* the first of a repeated field counts */
		last = g_strdup(name);
		g_hash_table_insert(h, last, g_strdup(g_strstrip(colon + 1)));
	}
	return h;
}

/* "TYPE; value" (Final-Recipient, Diagnostic-Code): the value. */
static char *typed_value(GHashTable *h, const char *name)
{
	const char *v = g_hash_table_lookup(h, name);
	const char *semi = v ? strchr(v, ';') : NULL;
	return v ? g_strstrip(g_strdup(semi ? semi + 1 : v)) : NULL;
}

/* The per-recipient blocks after the per-message one: the first failed
 * recipient, else the first one. */
static void dsn_fields(struct bounce_dsn *d, const GByteArray *b)
{
	if (!b->len)
		return;
	g_autofree char *text = g_strndup((const char *)b->data, b->len);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint i = 0;
	while (lines[i] && !*g_strchomp(lines[i]))
		i++;
	g_hash_table_destroy(field_block(lines, &i));
	while (lines[i]) {
		if (!*lines[i]) {
			i++;
			continue;
		}
		GHashTable *h = field_block(lines, &i);
		g_autofree char *action = g_ascii_strdown(g_hash_table_lookup(h, "action") ?: "", -1);
		g_strstrip(action);
		bool failed = !strcmp(action, "failed");
		if (!d->action || (failed && !d->failed)) {
			g_free(d->action);
			g_free(d->recipient);
			g_free(d->status);
			g_free(d->diagnostic);
			d->failed = failed;
			d->action = g_strdup(action);
			d->recipient = typed_value(h, "final-recipient");
			d->status = g_strdup(g_hash_table_lookup(h, "status"));
			d->diagnostic = g_strdup(g_hash_table_lookup(h, "diagnostic-code"));
		}
		g_hash_table_destroy(h);
	}
}

/* X-Sercom-Attempt of the returned reply: a message/rfc822 part, or its
 * headers alone (text/rfc822-headers, message/global-headers). */
static char *returned_attempt(GMimeObject *o)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	GMimeMessage *m = NULL;
	if (GMIME_IS_MESSAGE_PART(o)) {
		m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (m)
			g_object_ref(m);
	} else if (g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
	           g_mime_content_type_is_type(ct, "message", "global-headers")) {
		GByteArray *b = part_bytes(o, DSN_MAX);
		if (!b)
			return NULL;
		g_byte_array_append(b, (const guint8 *)"\n\n", 2);
		GMimeStream *s = g_mime_stream_mem_new_with_byte_array(b);
		GMimeParser *p = g_mime_parser_new_with_stream(s);
		m = g_mime_parser_construct_message(p, NULL);
		g_object_unref(p);
		g_object_unref(s);
	}
	if (!m)
		return NULL;
	const char *v = g_mime_object_get_header(GMIME_OBJECT(m), "X-Sercom-Attempt");
	char *r = v ? g_strstrip(g_strdup(v)) : NULL;
	g_object_unref(m);
	return r;
}

static bool is_report_type(GMimeContentType *ct, const char *what)
{
	const char *rt = g_mime_content_type_get_parameter(ct, "report-type");
	return rt && (!g_ascii_strcasecmp(rt, what) || !g_ascii_strcasecmp(rt, "global-delivery-status"));
}

struct bounce_dsn *bounce_dsn_parse(GMimeMessage *msg)
{
	GMimeObject *top = msg ? g_mime_message_get_mime_part(msg) : NULL;
	if (!top || !GMIME_IS_MULTIPART(top))
		return NULL;
	GMimeContentType *ct = g_mime_object_get_content_type(top);
	if (!g_mime_content_type_is_type(ct, "multipart", "report") || !is_report_type(ct, "delivery-status"))
		return NULL;
	GMimeMultipart *mp = GMIME_MULTIPART(top);
	struct bounce_dsn *d = NULL;
	int n = g_mime_multipart_get_count(mp);
	for (int i = 0; i < n; i++) {
		GMimeObject *o = g_mime_multipart_get_part(mp, i);
		GMimeContentType *pt = g_mime_object_get_content_type(o);
		if (!d && (g_mime_content_type_is_type(pt, "message", "delivery-status") ||
		           g_mime_content_type_is_type(pt, "message", "global-delivery-status"))) {
			GByteArray *b = part_bytes(o, DSN_MAX);
			if (!b)
				continue;
			d = g_new0(struct bounce_dsn, 1);
			dsn_fields(d, b);
			g_byte_array_unref(b);
		} else if (d && !d->attempt) {
			d->attempt = returned_attempt(o);
		}
	}
	if (d && !d->action) { /* no recipient block: not a report on anyone */
		bounce_dsn_free(d);
		d = NULL;
	}
	return d;
}

struct bounce_dsn *bounce_dsn_read(GMimeStream *stream)
{
	GMimeParser *p = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
	struct bounce_dsn *d = bounce_dsn_parse(m);
	if (m)
		g_object_unref(m);
	g_object_unref(p);
	return d;
}

/* Attack: the Diagnostic-Code is text a remote MTA (or whoever forged
 * the notification) wrote; shown in `sercom outbox` on the staff's
 * terminal, an escape sequence in it would drive that terminal. Control
 * characters become spaces, invalid UTF-8 is replaced. */
char *bounce_dsn_reason(const struct bounce_dsn *d)
{
	g_autofree char *raw = g_strdup_printf("%s %s (%s)", d->status && *d->status ? d->status : "-",
	                                       d->diagnostic && *d->diagnostic ? d->diagnostic : "no diagnostic",
	                                       d->recipient && *d->recipient ? d->recipient : "unknown recipient");
	char *r = g_utf8_make_valid(raw, -1);
	for (char *p = r; *p; p = g_utf8_next_char(p)) {
		gunichar u = g_utf8_get_char(p);
		if (g_unichar_iscntrl(u) || u == 0x2028 || u == 0x2029 || (u >= 0x202a && u <= 0x202e))
			memset(p, ' ', (size_t)(g_utf8_next_char(p) - p));
	}
	if (strlen(r) > REASON_MAX)
		*g_utf8_find_prev_char(r, r + REASON_MAX + 1) = '\0';
	return r;
}
