/* table: output of the admin tool, for a terminal (aligned columns) and for
 * scripts (CSV, JSON). Cells are copied; NULL prints as empty / null. */
#ifndef SERCOM_TABLE_H
#define SERCOM_TABLE_H

#include <glib.h>
#include <stdio.h>
#include <stdbool.h>

enum table_format { TABLE_TEXT, TABLE_CSV, TABLE_JSON };

struct table;
/* A table with the given column names (NULL-terminated). */
struct table *table_new(const char *const *columns);
/* Adds a row of exactly as many cells as columns. */
void table_add(struct table *t, const char *const *cells);
/* Prints the table in the given format. */
void table_print(const struct table *t, FILE *f, enum table_format fmt);
void table_free(struct table *t);
/* Prints s as a JSON string ("null" for NULL), for callers that write a
 * JSON document of their own shape. */
void table_json_string(FILE *f, const char *s);
/* "text", "csv", "json" -> format; false when unknown. */
bool table_format_parse(const char *s, enum table_format *out);
/* Replaces stdout and stderr with streams that escape terminal controls
 * (C0 but tab and newline, a CR not before LF, DEL, C1, bytes that are not
 * UTF-8) as \xNN / \u{NN}: every text the admin tool prints carries
 * student-made names. Call first in main(). */
void table_escape_stdio(void);
/* The filter itself: escapes in[0..n) into out, leaving what may still
 * become valid (a CR at the end, a cut UTF-8 sequence) unless final.
 * Returns the number of bytes consumed. */
size_t table_escape_controls(const unsigned char *in, size_t n, bool final, GString *out);

#endif
