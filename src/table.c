/* table: aligned text, CSV (RFC 4180) and JSON output, and the escaping
 * of everything the admin tool prints. See table.h. */
#define _GNU_SOURCE 1 /* fopencookie */
#include "table.h"
#include "util.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct table {
	guint ncols;
	char **columns;
	GPtrArray *rows; /* char ** of ncols cells (NULL allowed) */
};

struct table *table_new(const char *const *columns)
{
	struct table *t = g_new0(struct table, 1);
	t->columns = g_strdupv((char **)columns);
	t->ncols = g_strv_length(t->columns);
	t->rows = g_ptr_array_new();
	return t;
}

void table_add(struct table *t, const char *const *cells)
{
	char **row = g_new0(char *, t->ncols + 1);
	for (guint i = 0; i < t->ncols; i++)
		row[i] = g_strdup(cells[i]);
	g_ptr_array_add(t->rows, row);
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (guint r = 0; r < t->rows->len; r++) {
		char **row = t->rows->pdata[r];
		for (guint i = 0; i < t->ncols; i++)
			g_free(row[i]);
		g_free(row);
	}
	g_ptr_array_free(t->rows, TRUE);
	g_strfreev(t->columns);
	g_free(t);
}

bool table_format_parse(const char *s, enum table_format *out)
{
	if (!s || !strcmp(s, "text") || !strcmp(s, "table"))
		*out = TABLE_TEXT;
	else if (!strcmp(s, "csv"))
		*out = TABLE_CSV;
	else if (!strcmp(s, "json"))
		*out = TABLE_JSON;
	else
		return false;
	return true;
}

static void print_csv_cell(FILE *f, const char *s)
{
	if (!s)
		return;
	/* a leading = + - @ would be a formula in a spreadsheet (CSV injection
	 * through a student-chosen name): quote and prefix with ' */
	bool formula = strchr("=+-@", s[0]) && s[0];
	if (!formula && !strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	if (formula)
		fputc('\'', f);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

void table_json_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void table_print(const struct table *t, FILE *f, enum table_format fmt)
{
	if (fmt == TABLE_CSV) {
		for (guint i = 0; i < t->ncols; i++) {
			if (i)
				fputc(',', f);
			print_csv_cell(f, t->columns[i]);
		}
		fputs("\r\n", f);
		for (guint r = 0; r < t->rows->len; r++) {
			char **row = t->rows->pdata[r];
			for (guint i = 0; i < t->ncols; i++) {
				if (i)
					fputc(',', f);
				print_csv_cell(f, row[i]);
			}
			fputs("\r\n", f);
		}
		return;
	}
	if (fmt == TABLE_JSON) {
		fputs("[", f);
		for (guint r = 0; r < t->rows->len; r++) {
			char **row = t->rows->pdata[r];
			fputs(r ? ",\n {" : "\n {", f);
			for (guint i = 0; i < t->ncols; i++) {
				if (i)
					fputs(", ", f);
				table_json_string(f, t->columns[i]);
				fputs(": ", f);
				table_json_string(f, row[i]);
			}
			fputs("}", f);
		}
		fputs("\n]\n", f);
		return;
	}
	/* text: columns as wide as their widest cell, in characters */
	glong *w = g_new0(glong, t->ncols);
	for (guint i = 0; i < t->ncols; i++)
		w[i] = g_utf8_strlen(t->columns[i], -1);
	for (guint r = 0; r < t->rows->len; r++) {
		char **row = t->rows->pdata[r];
		for (guint i = 0; i < t->ncols; i++) {
			glong l = row[i] && g_utf8_validate(row[i], -1, NULL) ? g_utf8_strlen(row[i], -1) : row[i] ? (glong)strlen(row[i]) : 0;
			if (l > w[i])
				w[i] = l;
		}
	}
	for (guint r = 0; r <= t->rows->len; r++) {
		char **row = r ? t->rows->pdata[r - 1] : t->columns;
		for (guint i = 0; i < t->ncols; i++) {
			const char *c = row[i] ? row[i] : "";
			glong l = g_utf8_validate(c, -1, NULL) ? g_utf8_strlen(c, -1) : (glong)strlen(c);
			fputs(c, f);
			if (i + 1 < t->ncols)
				fprintf(f, "%*s", (int)(w[i] - l + 2), "");
		}
		fputc('\n', f);
	}
	g_free(w);
}

/* ---- terminal controls ---------------------------------------------------
 * Attack: a student's program creates a file named "\e[2J\e[1;31mHACKED"
 * (or a mail carries such bytes in a name or a note); the runner records
 * "unexpected file <name>", and `sercom show` would print the bytes raw to
 * the staff's terminal, which clears the screen, forges text, or on some
 * terminals answers queries with input. Every byte the admin tool writes
 * passes through this filter instead of being escaped at each printf. Tab,
 * newline and CRLF (CSV lines) pass; a lone CR (it overwrites a line), the
 * other C0 controls, DEL, C1 controls (U+0080-U+009F: CSI on some
 * terminals) and bytes that are not UTF-8 are written as \xNN or \u00NN.
 * JSON output escapes controls itself and is unchanged by this. */

struct escaper {
	int fd;
	unsigned char pend[4]; /* a CR or an incomplete UTF-8 sequence, held
	                        * until the next write tells what it is */
	size_t npend;
};
static struct escaper esc_out = { 1, { 0 }, 0 }, esc_err = { 2, { 0 }, 0 };

static size_t utf8_seq_len(unsigned char c)
{
	return c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
}

size_t table_escape_controls(const unsigned char *in, size_t n, bool final, GString *out)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = in[i];
		if (c == '\r') {
			if (i + 1 == n && !final)
				break;
			g_string_append(out, i + 1 < n && in[i + 1] == '\n' ? "\r" : "\\r");
			i++;
		} else if (c < 0x80) {
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				g_string_append_printf(out, "\\x%02x", c);
			else
				g_string_append_c(out, (char)c);
			i++;
		} else {
			size_t len = utf8_seq_len(c), have = MIN(len, n - i), k = 1;
			while (k < have && (in[i + k] & 0xc0) == 0x80)
				k++;
			if (len && k == have && have < len && !final)
				break; /* a sequence cut by the buffer: wait for the rest */
			gunichar u = len && have == len ? g_utf8_get_char_validated((const char *)in + i, (gssize)len)
			                                : (gunichar)-1;
			if (u == (gunichar)-1 || u == (gunichar)-2) {
				g_string_append_printf(out, "\\x%02x", c);
				i++;
			} else {
				if (u <= 0x9f)
					g_string_append_printf(out, "\\u%04x", (unsigned)u);
				else
					g_string_append_len(out, (const char *)in + i, (gssize)len);
				i += len;
			}
		}
	}
	return i;
}

static void escaper_put(struct escaper *e, const char *buf, size_t size, bool final)
{
	g_autoptr(GString) in = g_string_new_len((const char *)e->pend, (gssize)e->npend);
	g_string_append_len(in, buf, (gssize)size);
	g_autoptr(GString) out = g_string_sized_new(in->len + 16);
	size_t used = table_escape_controls((const unsigned char *)in->str, in->len, final, out);
	e->npend = in->len - used; /* at most 3 bytes: a CR or a cut sequence */
	memcpy(e->pend, in->str + used, e->npend);
	util_write_all(e->fd, out->str, out->len);
}

static ssize_t escaper_write(void *cookie, const char *buf, size_t size)
{
	escaper_put(cookie, buf, size, false);
	return (ssize_t)size;
}

/* at exit, before stdio's own flush: the held bytes go out escaped */
static void escaper_finish(void)
{
	fflush(stdout);
	fflush(stderr);
	escaper_put(&esc_out, "", 0, true);
	escaper_put(&esc_err, "", 0, true);
}

void table_escape_stdio(void)
{
	static const cookie_io_functions_t io = { .write = escaper_write };
	FILE *out = fopencookie(&esc_out, "w", io), *err = fopencookie(&esc_err, "w", io);
	if (!out || !err)
		return; /* out of memory at start: the plain streams then */
	setvbuf(out, NULL, isatty(1) ? _IOLBF : _IOFBF, BUFSIZ);
	setvbuf(err, NULL, _IONBF, 0);
	fflush(stdout);
	fflush(stderr);
	stdout = out;
	stderr = err;
	atexit(escaper_finish);
}
