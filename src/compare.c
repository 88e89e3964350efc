/* compare: output comparison modes. See compare.h.
 *
 * Every mode walks both buffers once, left to right, with no allocation
 * except the final note: the cost is linear in the input whatever a
 * submission prints (no backtracking, no per-line copies, no regexes). */
#include "compare.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files larger than this are not compared at all: the runner caps outputs
 * far below it, so only a broken configuration gets here. */
#define COMPARE_MAX_FILE ((size_t)1 << 30)
/* Bytes of a line or token quoted in a note. */
#define NOTE_QUOTE_MAX 40

void compare_spec_clear(struct compare_spec *s)
{
	g_free(s->checker);
	*s = (struct compare_spec){ .mode = CMP_EXACT };
}

void compare_spec_copy(struct compare_spec *dst, const struct compare_spec *src)
{
	*dst = *src;
	dst->checker = g_strdup(src->checker);
}

bool compare_spec_parse(const char *s, struct compare_spec *out, GError **err)
{
	*out = (struct compare_spec){ .mode = CMP_EXACT };
	if (!strcmp(s, "exact"))
		return true;
	if (!strcmp(s, "lines")) {
		out->mode = CMP_LINES;
		return true;
	}
	if (!strcmp(s, "whitespace")) {
		out->mode = CMP_WHITESPACE;
		return true;
	}
	if (!strncmp(s, "float:", 6)) {
		const char *v = s + 6;
		char *end;
		double eps = g_ascii_strtod(v, &end);
		if (!*v || *end || !isfinite(eps) || eps < 0) {
			g_set_error(err, SERCOM_ERROR, EINVAL,
			            "expected float:EPS with EPS a number >= 0 like 1e-6, got '%s'", s);
			return false;
		}
		out->mode = CMP_FLOAT;
		out->eps = eps;
		return true;
	}
	if (!strncmp(s, "checker:", 8)) {
		const char *p = s + 8;
		/* the path is resolved against the exercise directory: a teacher's
		 * typo must not make the runner execute something outside it */
		g_auto(GStrv) parts = g_strsplit(p, "/", -1);
		bool bad = !*p || g_path_is_absolute(p);
		for (char **q = parts; !bad && *q; q++)
			bad = !strcmp(*q, "..");
		if (bad) {
			g_set_error(err, SERCOM_ERROR, EINVAL,
			            "expected checker:PROG with PROG a path inside the exercise directory, got '%s'", s);
			return false;
		}
		out->mode = CMP_CHECKER;
		out->checker = g_strdup(p);
		return true;
	}
	g_set_error(err, SERCOM_ERROR, EINVAL,
	            "expected exact, lines, whitespace, float:EPS or checker:PROG, got '%s'", s);
	return false;
}

/* --- notes ----------------------------------------------------------- */

/* Appends p[0..n) quoted for a one-line note: at most NOTE_QUOTE_MAX bytes,
 * control characters and invalid UTF-8 escaped, so a note never carries raw
 * bytes of a submission's output into a mail header or a database row. */
static void quote(GString *s, const char *p, size_t n)
{
	g_string_append_c(s, '"');
	size_t i = 0;
	while (i < n && i < NOTE_QUOTE_MAX) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"' || c == '\\') {
			g_string_append_c(s, '\\');
			g_string_append_c(s, (char)c);
		} else if (c == '\t') {
			g_string_append(s, "\\t");
		} else if (c == '\r') {
			g_string_append(s, "\\r");
		} else if (c == '\n') {
			g_string_append(s, "\\n");
		} else if (c < 0x20 || c == 0x7f) {
			g_string_append_printf(s, "\\x%02x", c);
		} else if (c >= 0x80) {
			gunichar u = g_utf8_get_char_validated(p + i, (gssize)(n - i));
			if (u == (gunichar)-1 || u == (gunichar)-2) {
				g_string_append_printf(s, "\\x%02x", c);
			} else {
				int l = g_unichar_to_utf8(u, NULL);
				g_string_append_len(s, p + i, l);
				i += (size_t)l;
				continue;
			}
		} else {
			g_string_append_c(s, (char)c);
		}
		i++;
	}
	g_string_append_c(s, '"');
	if (n > NOTE_QUOTE_MAX)
		g_string_append(s, "...");
}

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_space(unsigned char c)
{
	return is_blank(c) || c == '\n';
}

/* One line of a buffer: [p, p+len) without the newline. */
struct line {
	const char *p;
	size_t len;
};

struct cursor {
	const char *buf;
	size_t len;
	size_t pos;
	size_t lineno;       /* 1-based number of the next line */
};

static bool next_line(struct cursor *c, struct line *l)
{
	if (c->pos >= c->len)
		return false;
	const char *start = c->buf + c->pos;
	const char *nl = memchr(start, '\n', c->len - c->pos);
	l->p = start;
	l->len = nl ? (size_t)(nl - start) : c->len - c->pos;
	c->pos += l->len + (nl ? 1 : 0);
	c->lineno++;
	return true;
}

static size_t rstrip_len(const struct line *l)
{
	size_t n = l->len;
	while (n > 0 && is_blank((unsigned char)l->p[n - 1]))
		n--;
	return n;
}

static char *note_lines(size_t lineno, const struct line *e, const struct line *a)
{
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "line %zu: ", lineno);
	if (e && a) {
		g_string_append(s, "expected ");
		quote(s, e->p, e->len);
		g_string_append(s, ", got ");
		quote(s, a->p, a->len);
	} else if (e) {
		g_string_append(s, "output ends early, expected ");
		quote(s, e->p, e->len);
	} else {
		g_string_append(s, "unexpected extra output ");
		quote(s, a->p, a->len);
	}
	return g_string_free(s, FALSE);
}

/* --- modes ----------------------------------------------------------- */

static bool tokens_equal_line(const struct line *x, const struct line *y)
{
	size_t i = 0, j = 0;
	for (;;) {
		while (i < x->len && is_blank((unsigned char)x->p[i]))
			i++;
		while (j < y->len && is_blank((unsigned char)y->p[j]))
			j++;
		if (i == x->len || j == y->len)
			return i == x->len && j == y->len;
		size_t i0 = i, j0 = j;
		while (i < x->len && !is_blank((unsigned char)x->p[i]))
			i++;
		while (j < y->len && !is_blank((unsigned char)y->p[j]))
			j++;
		if (i - i0 != j - j0 || memcmp(x->p + i0, y->p + j0, i - i0))
			return false;
	}
}

static bool line_is_blank(const struct line *l)
{
	for (size_t i = 0; i < l->len; i++)
		if (!is_blank((unsigned char)l->p[i]))
			return false;
	return true;
}

/* lines and whitespace modes: the same walk, a different line equality. */
static bool compare_by_lines(bool by_tokens, const char *e, size_t el,
                             const char *a, size_t al, char **note)
{
	struct cursor ce = { e, el, 0, 0 }, ca = { a, al, 0, 0 };
	for (;;) {
		struct line le, la;
		bool he = next_line(&ce, &le), ha = next_line(&ca, &la);
		if (!he && !ha)
			return true;
		if (he && ha) {
			bool same;
			if (by_tokens) {
				same = tokens_equal_line(&le, &la);
			} else {
				size_t n = rstrip_len(&le);
				same = n == rstrip_len(&la) && !memcmp(le.p, la.p, n);
			}
			if (same)
				continue;
			if (note)
				*note = note_lines(ca.lineno, &le, &la);
			return false;
		}
		/* one side ended: whitespace mode forgives blank lines at the end */
		struct cursor *rest = he ? &ce : &ca;
		struct line l = he ? le : la, first = l;
		size_t lineno = rest->lineno;
		if (by_tokens) {
			bool all_blank = true;
			do {
				if (!line_is_blank(&l)) {
					all_blank = false;
					break;
				}
			} while (next_line(rest, &l));
			if (all_blank)
				return true;
			first = l;
			lineno = rest->lineno;
		}
		if (note)
			*note = note_lines(lineno, he ? &first : NULL, he ? NULL : &first);
		return false;
	}
}

static bool compare_exact(const char *e, size_t el, const char *a, size_t al, char **note)
{
	size_t n = el < al ? el : al, i = 0;
	/* memcmp in blocks finds the block, then the byte */
	while (i < n) {
		size_t k = n - i < 4096 ? n - i : 4096;
		if (memcmp(e + i, a + i, k)) {
			while (e[i] == a[i])
				i++;
			break;
		}
		i += k;
	}
	if (i == n && el == al)
		return true;
	if (!note)
		return false;

	if (el == al + 1 && i == al && e[al] == '\n') {
		*note = g_strdup("the output lacks the final newline");
		return false;
	}
	if (al == el + 1 && i == el && a[el] == '\n') {
		*note = g_strdup("the output has an extra newline at the end");
		return false;
	}
	/* the line of the first difference, counted on the common prefix */
	size_t lineno = 1, ls = 0;
	for (const char *p = a, *end = a + i; (p = memchr(p, '\n', (size_t)(end - p))); p++) {
		lineno++;
		ls = (size_t)(p - a) + 1;
	}
	struct line le = { e + ls, 0 }, la = { a + ls, 0 };
	const char *nl;
	le.len = (nl = memchr(le.p, '\n', el - ls)) ? (size_t)(nl - le.p) : el - ls;
	la.len = (nl = memchr(la.p, '\n', al - ls)) ? (size_t)(nl - la.p) : al - ls;
	bool e_gone = ls == el, a_gone = ls == al;
	char *base = note_lines(lineno, e_gone ? NULL : &le, a_gone ? NULL : &la);
	const char *hint = NULL;
	if (compare_by_lines(true, e, el, a, al, NULL))
		hint = compare_by_lines(false, e, el, a, al, NULL)
		       ? " (only blanks at line ends or the final newline differ)"
		       : " (only spacing differs)";
	if (hint) {
		*note = g_strconcat(base, hint, NULL);
		g_free(base);
	} else {
		*note = base;
	}
	return false;
}

struct tokens {
	const char *buf;
	size_t len, pos, lineno;
};

static bool next_token(struct tokens *t, const char **p, size_t *n)
{
	while (t->pos < t->len && is_space((unsigned char)t->buf[t->pos])) {
		if (t->buf[t->pos] == '\n')
			t->lineno++;
		t->pos++;
	}
	if (t->pos >= t->len)
		return false;
	size_t s = t->pos;
	while (t->pos < t->len && !is_space((unsigned char)t->buf[t->pos]))
		t->pos++;
	*p = t->buf + s;
	*n = t->pos - s;
	return true;
}

/* A decimal number: [+-]digits[.digits][e[+-]digits] (also ".5", "5.").
 * Hex floats, inf and nan are words, compared byte for byte. */
static bool parse_number(const char *p, size_t n, double *out)
{
	char buf[128];
	if (n == 0 || n >= sizeof buf)
		return false;
	size_t i = 0, digits = 0;
	if (p[i] == '+' || p[i] == '-')
		i++;
	while (i < n && g_ascii_isdigit(p[i]))
		i++, digits++;
	if (i < n && p[i] == '.') {
		i++;
		while (i < n && g_ascii_isdigit(p[i]))
			i++, digits++;
	}
	if (!digits)
		return false;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		size_t ed = 0;
		while (i < n && g_ascii_isdigit(p[i]))
			i++, ed++;
		if (!ed)
			return false;
	}
	if (i != n)
		return false;
	memcpy(buf, p, n);
	buf[n] = 0;
	*out = g_ascii_strtod(buf, NULL);
	return true;
}

static bool numbers_close(double x, double y, double eps)
{
	if (x == y)
		return true;
	double d = fabs(x - y), ax = fabs(x), ay = fabs(y), m = ax > ay ? ax : ay;
	return d <= eps || d <= eps * m;
}

static bool compare_float(double eps, const char *e, size_t el, const char *a, size_t al, char **note)
{
	struct tokens te = { e, el, 0, 1 }, ta = { a, al, 0, 1 };
	for (;;) {
		const char *pe = NULL, *pa = NULL;
		size_t ne = 0, na = 0;
		bool he = next_token(&te, &pe, &ne), ha = next_token(&ta, &pa, &na);
		if (!he && !ha)
			return true;
		if (he && ha) {
			double x, y;
			if (ne == na && !memcmp(pe, pa, ne))
				continue;
			if (parse_number(pe, ne, &x) && parse_number(pa, na, &y) && numbers_close(x, y, eps))
				continue;
		}
		if (note) {
			GString *s = g_string_new(NULL);
			g_string_append_printf(s, "line %zu: ", ha ? ta.lineno : te.lineno);
			if (he && ha) {
				g_string_append(s, "expected ");
				quote(s, pe, ne);
				g_string_append(s, ", got ");
				quote(s, pa, na);
			} else if (he) {
				g_string_append(s, "output ends early, expected ");
				quote(s, pe, ne);
			} else {
				g_string_append(s, "unexpected extra output ");
				quote(s, pa, na);
			}
			*note = g_string_free(s, FALSE);
		}
		return false;
	}
}

bool compare_buffers(const struct compare_spec *spec, const char *expected, size_t expected_len,
                     const char *actual, size_t actual_len, char **note)
{
	if (note)
		*note = NULL;
	switch (spec->mode) {
	case CMP_LINES:
		return compare_by_lines(false, expected, expected_len, actual, actual_len, note);
	case CMP_WHITESPACE:
		return compare_by_lines(true, expected, expected_len, actual, actual_len, note);
	case CMP_FLOAT:
		return compare_float(spec->eps, expected, expected_len, actual, actual_len, note);
	case CMP_EXACT:
	case CMP_CHECKER:
		break;
	}
	return compare_exact(expected, expected_len, actual, actual_len, note);
}

/* Large buffers on transparent huge pages when the kernel allows it: on a
 * virtualized host a 4 KiB page fault costs more than reading the page, and
 * reading a 10 MB output faults 2560 of them. Memory from posix_memalign()
 * is released with free(), which g_free() is. */
void *compare_alloc_large(size_t n)
{
	const size_t huge = (size_t)2 << 20;
	if (n < 2 * huge)
		return g_malloc(n);
	void *p;
	if (posix_memalign(&p, huge, n))
		return g_malloc(n);
#ifdef MADV_HUGEPAGE
	madvise(p, n & ~(huge - 1), MADV_HUGEPAGE);
#endif
	return p;
}

int compare_read_file(const char *path, size_t max, char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	size_t cap = S_ISREG(st.st_mode) && (size_t)st.st_size < max ? (size_t)st.st_size + 1 : 65536;
	size_t n = 0;
	char *buf = compare_alloc_large(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				g_free(buf);
				close(fd);
				return -EFBIG;
			}
			cap *= 2;
			buf = g_realloc(buf, cap + 1);
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			g_free(buf);
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		g_free(buf);
		return -EFBIG;
	}
	buf[n] = 0;
	*data = buf;
	*len = n;
	return 0;
}

int compare_files(const struct compare_spec *spec, const char *expected_path,
                  const char *actual_path, char **note)
{
	char *e = NULL, *a = NULL;
	size_t el = 0, al = 0;
	int r = compare_read_file(expected_path, COMPARE_MAX_FILE, &e, &el);
	if (r < 0)
		return r;
	r = compare_read_file(actual_path, COMPARE_MAX_FILE, &a, &al);
	if (r < 0) {
		g_free(e);
		return r;
	}
	r = compare_buffers(spec, e, el, a, al, note) ? 1 : 0;
	g_free(e);
	g_free(a);
	return r;
}
