/* feedback: what a student needs to rerun a failing case by hand (README
 * "The reply"; docs/ARCHITECTURE.md section 7): the command line as a shell
 * would take it, the beginning of stdin and of each in/ file, the resources
 * it used, in plain text. Template-free helpers: compose.c (the reply) and
 * report.c (report.html) put the words around them.
 *
 * Everything read here is the exercise's (the teacher's files), never the
 * student's, but it is shown in a mail: binary content is said as such,
 * never dumped, and text is made valid UTF-8. */
#ifndef SERCOM_FEEDBACK_H
#define SERCOM_FEEDBACK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* the caps of the issue: 40 lines or 4 KiB of each input shown */
#define FEEDBACK_MAX_LINES 40
#define FEEDBACK_MAX_BYTES 4096

/* run (the exercise's argv) followed by args (the case's), each word
 * quoted only when a shell would split or expand it: ./tp -n 'a b'.
 * Control characters are written as $'\n' escapes, so the command stays
 * one line. g_free. */
char *feedback_command_line(char *const *run, char *const *args);

struct feedback_excerpt {
	char *text;        /* valid UTF-8, ends with '\n' unless empty; NULL when binary */
	bool binary;       /* NUL bytes or not UTF-8: not shown */
	bool cut;          /* more than shown */
	unsigned lines;    /* lines shown */
	uint64_t size;     /* bytes of the whole file */
};
void feedback_excerpt_clear(struct feedback_excerpt *x);
/* The beginning of the regular file path: at most max_lines lines and
 * max_bytes bytes, cut at a line end. false (errno-style err) when it
 * cannot be read or is not a regular file (a symlink is not followed). */
bool feedback_excerpt_read(const char *path, unsigned max_lines, size_t max_bytes,
                           struct feedback_excerpt *out, GError **err);

/* The regular files under dir, as paths relative to it, sorted (strcmp),
 * subdirectories included; symlinks are skipped. g_ptr_array_unref. */
GPtrArray *feedback_list_files(const char *dir);

/* A duration used, as people read it: "12 ms", "1.5 s", "2 s". g_free. */
char *feedback_format_ms(uint64_t ms);
/* A size: "512 bytes", "3.2 MiB" (tenths, '.' whatever the locale). g_free. */
char *feedback_format_size(uint64_t bytes);

#endif
