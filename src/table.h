/* table: output of the admin tool, for a terminal (aligned columns) and for
 * scripts (CSV, JSON). Cells are copied; NULL prints as empty / null. */
#ifndef SERCOM_TABLE_H
#define SERCOM_TABLE_H

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
/* "text", "csv", "json" -> format; false when unknown. */
bool table_format_parse(const char *s, enum table_format *out);

#endif
