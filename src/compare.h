/* compare: decides whether a program's output matches the expected output
 * under one of the comparison modes of docs/ARCHITECTURE.md section 4, and says in one
 * short line where the first difference is. Every mode is one linear pass
 * without allocation: a hostile 10 MB output against a 10 MB expected file
 * costs reading both files and a few ms.
 *
 * Modes (the spec string of exercise.conf / case.conf `compare`):
 *   exact       byte for byte.
 *   lines       line by line, ignoring blanks (space, tab, CR, VT, FF) at
 *               the end of each line and a missing final newline: CRLF
 *               output from a Windows-minded program passes.
 *   whitespace  like lines, and inside a line every run of blanks equals
 *               any other run and leading blanks are ignored; empty lines
 *               at the very end are ignored.
 *   float:EPS   the outputs are sequences of tokens separated by any
 *               whitespace (newlines included); two decimal numbers are
 *               equal when |a-b| <= EPS or |a-b| <= EPS*max(|a|,|b|);
 *               every other token must be equal byte for byte.
 *   checker:PROG  a program of the exercise decides; it runs in the sandbox
 *               (the runner does it), so compare_* only parses the spec. */
#ifndef SERCOM_COMPARE_H
#define SERCOM_COMPARE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

enum compare_mode { CMP_EXACT, CMP_LINES, CMP_WHITESPACE, CMP_FLOAT, CMP_CHECKER };

struct compare_spec {
	enum compare_mode mode;
	double eps;          /* CMP_FLOAT */
	char *checker;       /* CMP_CHECKER: program path relative to the exercise dir */
};

/* Parses "exact", "lines", "whitespace", "float:EPS" or "checker:PROG" into
 * *out (compare_spec_clear it). The error message is "<what>" only: callers
 * prefix the file and key. EPS must be a finite number >= 0; PROG a relative
 * path without "..". */
bool compare_spec_parse(const char *s, struct compare_spec *out, GError **err);
/* Frees what a spec owns (checker) and resets it to exact. */
void compare_spec_clear(struct compare_spec *s);
/* Deep copy of src into *dst. */
void compare_spec_copy(struct compare_spec *dst, const struct compare_spec *src);

/* Compares two buffers: true when they are equal under spec. When note is
 * not NULL it receives a one-line description of the first difference
 * (g_free; NULL when equal), e.g. `line 3: expected "4.5", got "4.7"`.
 * CMP_CHECKER cannot be decided here: it compares exactly. */
bool compare_buffers(const struct compare_spec *spec,
                     const char *expected, size_t expected_len,
                     const char *actual, size_t actual_len, char **note);
/* Same on files; a missing or unreadable file is an error (-errno, with
 * *note untouched). Returns 1 equal, 0 different. */
int compare_files(const struct compare_spec *spec, const char *expected_path,
                  const char *actual_path, char **note);

/* Reads a whole file into *data (g_free; NUL-terminated beyond *len),
 * refusing files larger than max (-EFBIG); -errno on failure. Read, not
 * mmap()ed: a process left behind by a submission truncating its output
 * under a mapping would SIGBUS the runner. Shared with diff. */
int compare_read_file(const char *path, size_t max, char **data, size_t *len);

/* g_malloc() for large buffers, on transparent huge pages where the kernel
 * allows (g_free the result): page faults dominate a 10 MB diff otherwise. */
void *compare_alloc_large(size_t n);

#endif
