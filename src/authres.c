/* authres: Authentication-Results (RFC 8601) and the alignment policy.
 * See authres.h.
 *
 * Which header fields are believed (RFC 8601 sections 5 and 7.1)
 *   Anyone can write "Authentication-Results: mx.example.edu; dkim=pass"
 *   into the mail they send (attack: a forged result). Two rules stop it:
 *   - the authserv-id must be one of ours ([mail] authserv_id): results
 *     written by any other host are ignored;
 *   - the field must stand in the trace block our mail system prepended:
 *     reading from the top, only the fields MTAs and MDAs prepend on the
 *     way in (Received, Return-Path, Delivered-To, the milters' own ...)
 *     are walked; the first field of any other name (From, Subject,
 *     DKIM-Signature: the sender's) ends the walk, and so does the first
 *     Received that follows a result of ours (the Received our MX wrote
 *     when it took the mail from outside lies between our results and
 *     anything the sender wrote).
 *   The MTA must also delete results bearing its authserv-id that
 *   arrive from outside (RFC 8601 section 5): opendkim does only for
 *   fields holding a dkim result, so README "Authenticating senders" adds
 *   a header_checks line. A mail no milter wrote a result for (unsigned,
 *   opendkim alone) has none of ours on top, and the walk goes on below
 *   our Received: there only that line stops a forged field (measured
 *   with the real postfix and opendkim, tests/t/66-mta-dkim.t).
 *   - hence a third rule: the authserv-id must be written the way the
 *     milters write it and that header_checks line matches it, bare at
 *     the start of the value. RFC 8601 also allows a comment before it
 *     or quotes around it (attack: "Authentication-Results: (x)
 *     mx.example.edu; spf=pass ..." or "\"mx.example.edu\"; ..." slips
 *     past the MTA's filter, and was believed).
 *
 * Parsing
 *   A hand-written lexer over bytes: comments (nested, with quoted-pairs),
 *   quoted strings, tokens. Linear in the input whatever it holds (attack:
 *   a 100 KB field of "((((" or of results). A field that does not parse
 *   is ignored whole: a result is believed only from a field our MTA wrote
 *   correctly, so a syntax error fails closed. */
#include "authres.h"

#include <string.h>

/* ---- lexer ------------------------------------------------------------- */

enum tok { T_END, T_WORD, T_QUOTED, T_SEMI, T_EQ, T_BAD };

struct lex {
	const char *p, *end;
};

static bool word_char(unsigned char ch)
{
	return ch > 0x20 && ch != 0x7f && !strchr(";=()\"", ch);
}

/* Skips blanks, line breaks and comments. An unterminated comment runs
 * to the end (nothing after it is read). */
static void skip_cfws(struct lex *l)
{
	while (l->p < l->end) {
		unsigned char ch = (unsigned char)*l->p;
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			l->p++;
			continue;
		}
		if (ch != '(')
			return;
		size_t depth = 0;
		while (l->p < l->end) {
			char c = *l->p++;
			if (c == '\\' && l->p < l->end)
				l->p++;
			else if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				break;
		}
	}
}

/* The next token; for words and quoted strings, s and n span its text (a
 * quoted string's inside, escapes still in it). */
static enum tok next(struct lex *l, const char **s, size_t *n)
{
	skip_cfws(l);
	if (l->p >= l->end)
		return T_END;
	char ch = *l->p;
	if (ch == ';' || ch == '=') {
		l->p++;
		return ch == ';' ? T_SEMI : T_EQ;
	}
	if (ch == '"') {
		const char *b = ++l->p;
		while (l->p < l->end && *l->p != '"')
			l->p += (*l->p == '\\' && l->p + 1 < l->end) ? 2 : 1;
		if (l->p >= l->end)
			return T_BAD; /* unterminated */
		*s = b;
		*n = (size_t)(l->p - b);
		l->p++;
		return T_QUOTED;
	}
	if (!word_char((unsigned char)ch))
		return T_BAD;
	const char *b = l->p;
	while (l->p < l->end && word_char((unsigned char)*l->p))
		l->p++;
	*s = b;
	*n = (size_t)(l->p - b);
	return T_WORD;
}

/* A token's text: quoted-pairs undone, line breaks made spaces. */
static char *tok_text(enum tok t, const char *s, size_t n)
{
	GString *o = g_string_sized_new(n);
	for (size_t i = 0; i < n; i++) {
		if (t == T_QUOTED && s[i] == '\\' && i + 1 < n)
			i++;
		g_string_append_c(o, s[i] == '\r' || s[i] == '\n' ? ' ' : s[i]);
	}
	return g_string_free(o, FALSE);
}

/* ---- parser ------------------------------------------------------------ */

static void result_free(gpointer p)
{
	struct authres_result *r = p;
	g_free(r->method);
	g_free(r->result);
	g_free(r->reason);
	if (r->props)
		g_hash_table_destroy(r->props);
	g_free(r);
}

void authres_free(struct authres *a)
{
	if (!a)
		return;
	g_free(a->authserv_id);
	g_ptr_array_free(a->results, TRUE);
	g_free(a);
}

/* pvalue: a value, or [local-part] "@" domain where the local part may be
 * a quoted string (smtp.mailfrom="a b"@example.edu). */
static char *read_pvalue(struct lex *l)
{
	const char *s;
	size_t n;
	enum tok t = next(l, &s, &n);
	if (t != T_WORD && t != T_QUOTED)
		return NULL;
	char *v = tok_text(t, s, n);
	if (t == T_QUOTED && l->p < l->end && *l->p == '@' && next(l, &s, &n) == T_WORD) {
		g_autofree char *dom = tok_text(T_WORD, s, n);
		char *both = g_strconcat(v, dom, NULL);
		g_free(v);
		v = both;
	}
	return v;
}

/* A word, lowercased, joined with the words that follow it across CFWS
 * while one ends or the next begins with joiner: "dkim (x) / 1" is the
 * method "dkim/1", "policy . expired" the property "policy.expired". */
static char *read_joined(struct lex *l, const char *s, size_t n, char joiner)
{
	GString *o = g_string_new_len(s, (gssize)n);
	for (;;) {
		struct lex save = *l;
		if (next(l, &s, &n) != T_WORD || (o->str[o->len - 1] != joiner && *s != joiner)) {
			*l = save;
			break;
		}
		g_string_append_len(o, s, (gssize)n);
	}
	char *r = g_ascii_strdown(o->str, (gssize)o->len);
	g_string_free(o, TRUE);
	return r;
}

/* One resinfo after its ";": methodspec [reasonspec] *propspec. The lexer
 * stops before the next ";" or at the end. */
static struct authres_result *read_resinfo(struct lex *l)
{
	const char *s;
	size_t n;
	if (next(l, &s, &n) != T_WORD)
		return NULL;
	struct authres_result *r = g_new0(struct authres_result, 1);
	r->props = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	r->method = read_joined(l, s, n, '/');
	char *slash = strchr(r->method, '/'); /* method-version */
	if (slash)
		*slash = 0;
	if (next(l, &s, &n) != T_EQ || next(l, &s, &n) != T_WORD)
		goto bad;
	r->result = g_ascii_strdown(s, (gssize)n);
	for (;;) {
		struct lex save = *l;
		enum tok t = next(l, &s, &n);
		if (t == T_SEMI || t == T_END) {
			*l = save;
			return r;
		}
		if (t != T_WORD)
			goto bad;
		g_autofree char *key = read_joined(l, s, n, '.');
		if (next(l, &s, &n) != T_EQ)
			goto bad;
		char *v = read_pvalue(l);
		if (!v)
			goto bad;
		if (!strcmp(key, "reason") && !r->reason)
			r->reason = v;
		else if (strchr(key, '.') && !g_hash_table_contains(r->props, key))
			g_hash_table_insert(r->props, g_steal_pointer(&key), v);
		else
			g_free(v); /* a repeated property: the first one counts */
	}
bad:
	result_free(r);
	return NULL;
}

struct authres *authres_parse(const char *value, size_t len)
{
	struct lex l = { value, value + len };
	const char *s;
	size_t n;
	enum tok t = next(&l, &s, &n);
	if ((t != T_WORD && t != T_QUOTED) || n == 0)
		return NULL; /* no authserv-id */
	struct authres *a = g_new0(struct authres, 1);
	a->authserv_id = tok_text(t, s, n);
	a->results = g_ptr_array_new_with_free_func(result_free);
	struct lex save = l;
	if (next(&l, &s, &n) == T_WORD && strspn(s, "0123456789") == n) {
		/* authres-version: only 1 is defined (RFC 8601 section 2.2) */
		if (n != 1 || *s != '1')
			goto bad;
	} else {
		l = save;
	}
	for (bool first = true;; first = false) {
		t = next(&l, &s, &n);
		if (t == T_END)
			return a;
		if (t != T_SEMI)
			goto bad;
		save = l;
		if (first && next(&l, &s, &n) == T_WORD && n == 4 && !g_ascii_strncasecmp(s, "none", 4) &&
		    next(&l, &s, &n) == T_END)
			return a; /* no-result */
		l = save;
		struct authres_result *r = read_resinfo(&l);
		if (!r)
			goto bad;
		g_ptr_array_add(a->results, r);
	}
bad:
	authres_free(a);
	return NULL;
}

/* ---- policy ------------------------------------------------------------ */

bool authres_aligned(const char *signer, const char *from)
{
	if (!signer || !from || !*signer || !*from)
		return false;
	if (!g_ascii_strcasecmp(signer, from))
		return true;
	size_t ns = strlen(signer), nf = strlen(from);
	return strchr(signer, '.') && nf > ns + 1 && from[nf - ns - 1] == '.' &&
	       !g_ascii_strcasecmp(from + nf - ns, signer);
}

/* The domain of an address or of a bare domain, lowercased (g_free). */
static char *domain_of(const char *v)
{
	if (!v)
		return NULL;
	const char *at = strrchr(v, '@');
	return g_ascii_strdown(at ? at + 1 : v, -1);
}

/* Text for the record and the reply: printable ASCII, at most 64 bytes
 * (a d= or mailfrom value is the sender's choice). */
static void append_clean(GString *o, const char *v)
{
	for (size_t i = 0; v && v[i] && i < 64; i++)
		g_string_append_c(o, v[i] > 0x20 && v[i] < 0x7f ? v[i] : '?');
}

/* Whether result r authenticates from_dom; *how describes r. */
static bool result_passes(const struct authres_result *r, const char *from_dom, GString *how)
{
	static const char *const keys[][2] = {
		{ "dmarc", "header.from" }, { "dkim", "header.d" }, { "spf", "smtp.mailfrom" },
	};
	const char *key = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
		if (!strcmp(r->method, keys[i][0]))
			key = keys[i][1];
	if (!key)
		return false;
	const char *v = g_hash_table_lookup(r->props, key);
	if (!v && !strcmp(r->method, "dkim"))
		v = g_hash_table_lookup(r->props, "header.i"); /* its domain is the signer's */
	if (!v && !strcmp(r->method, "spf"))
		v = g_hash_table_lookup(r->props, "smtp.helo");
	append_clean(how, r->method);
	g_string_append_c(how, '=');
	append_clean(how, r->result);
	if (v) {
		g_string_append_printf(how, " %s=", key);
		append_clean(how, v);
	}
	if (strcmp(r->result, "pass") || !v)
		return false;
	g_autofree char *d = domain_of(v);
	/* DMARC already applied the alignment to header.from: it must be the
	 * From: we identify the student by (a second From: field...) */
	if (!strcmp(r->method, "dmarc"))
		return !g_ascii_strcasecmp(d, from_dom);
	return authres_aligned(d, from_dom);
}

/* Whether the field's value v (len bytes) starts, after blanks and line
 * breaks, with id as a bare token: what header_checks matches (see the
 * top of the file). */
static bool written_bare(const char *v, size_t len, const char *id)
{
	size_t i = 0, n = strlen(id);
	while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n'))
		i++;
	if (len - i < n || g_ascii_strncasecmp(v + i, id, n))
		return false;
	i += n;
	return i == len || v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n' || v[i] == ';';
}

static bool is_ours(char *const *ids, const char *id)
{
	for (char *const *i = ids; i && *i; i++)
		if (!g_ascii_strcasecmp(*i, id))
			return true;
	return false;
}

/* Fields our mail system prepends on the way in (postfix, local(8),
 * pipe(8), procmail, opendkim, opendmarc, ARC signers): the walk goes on
 * through these and stops at anything else. */
static bool trace_field(const char *name, size_t n)
{
	static const char *const names[] = {
		"Received", "Return-Path", "Delivered-To", "X-Original-To", "Authentication-Results",
		"DKIM-Filter", "DMARC-Filter", "Received-SPF", "ARC-Seal", "ARC-Message-Signature",
		"ARC-Authentication-Results", NULL,
	};
	for (int i = 0; names[i]; i++)
		if (strlen(names[i]) == n && !g_ascii_strncasecmp(name, names[i], n))
			return true;
	return false;
}

/* Walks the header block's fields from the top (see the top of the file)
 * and collects the parsed results of ours. */
static GPtrArray *our_results(const char *head, size_t len, char *const *ids)
{
	GPtrArray *ours = g_ptr_array_new_with_free_func((GDestroyNotify)authres_free);
	const char *p = head, *end = head + len;
	if (len >= 5 && !memcmp(p, "From ", 5)) { /* an mbox line */
		const char *nl = memchr(p, '\n', len);
		p = nl ? nl + 1 : end;
	}
	while (p < end && *p != '\r' && *p != '\n') {
		/* one field: its first line and every line starting with a blank */
		const char *f = p;
		do {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		const char *colon = memchr(f, ':', (size_t)(p - f));
		if (!colon)
			break; /* not a header: the block ends */
		size_t nlen = (size_t)(colon - f);
		while (nlen && (f[nlen - 1] == ' ' || f[nlen - 1] == '\t'))
			nlen--;
		if (!trace_field(f, nlen))
			break;
		if (nlen == 8 && !g_ascii_strncasecmp(f, "Received", 8)) {
			if (ours->len)
				break;
			continue;
		}
		if (nlen != 22 || g_ascii_strncasecmp(f, "Authentication-Results", 22))
			continue;
		struct authres *a = authres_parse(colon + 1, (size_t)(p - colon - 1));
		if (a && is_ours(ids, a->authserv_id) &&
		    written_bare(colon + 1, (size_t)(p - colon - 1), a->authserv_id))
			g_ptr_array_add(ours, a);
		else
			authres_free(a); /* another host's, or unreadable */
	}
	return ours;
}

bool authres_check(const char *head, size_t len, char *const *ids, const char *from_addr, char **how)
{
	g_autofree char *from_dom = from_addr && strchr(from_addr, '@') ? domain_of(from_addr) : NULL;
	if (!from_dom || !*from_dom) {
		*how = g_strdup("no From: address");
		return false;
	}
	g_autoptr(GPtrArray) ours = our_results(head, len, ids);
	if (!ours->len) {
		*how = g_strdup_printf("no Authentication-Results by %s above the sender's header fields",
		                       ids && *ids ? *ids : "(no [mail] authserv_id)");
		return false;
	}
	GString *seen = g_string_new(NULL);
	for (guint i = 0; i < ours->len; i++) {
		const struct authres *a = ours->pdata[i];
		for (guint k = 0; k < a->results->len; k++) {
			GString *one = g_string_new(NULL);
			bool pass = result_passes(a->results->pdata[k], from_dom, one);
			if (pass) {
				g_string_free(seen, TRUE);
				*how = g_string_free(one, FALSE);
				return true;
			}
			if (one->len && seen->len < 400)
				g_string_append_printf(seen, "%s%s", seen->len ? ", " : "", one->str);
			g_string_free(one, TRUE);
		}
	}
	if (!seen->len)
		g_string_append(seen, "no DKIM, SPF or DMARC result");
	g_string_append_printf(seen, " (none passes for %s)", from_dom);
	*how = g_string_free(seen, FALSE);
	return false;
}

bool authres_exempt(char *const *list, const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	for (char *const *i = list; at && i && *i; i++) {
		const char *item = **i == '@' ? *i + 1 : *i;
		if (!g_ascii_strcasecmp(*i, addr) || (!strchr(item, '@') && !g_ascii_strcasecmp(item, at + 1)))
			return true;
	}
	return false;
}
