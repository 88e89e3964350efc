/* table: aligned text, CSV (RFC 4180) and JSON output. See table.h. */
#include "table.h"

#include <glib.h>
#include <string.h>

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

static void print_json_string(FILE *f, const char *s)
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
				print_json_string(f, t->columns[i]);
				fputs(": ", f);
				print_json_string(f, row[i]);
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
