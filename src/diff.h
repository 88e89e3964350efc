/* diff: line diffs of an expected and an actual output, rendered as a
 * unified diff (like `diff -u`, `--- expected` / `+++ actual`) and as an
 * HTML side-by-side table, for the student's reply and the report.
 *
 * Bounded on hostile input: lines are hashed and interned, lines that occur
 * in only one side are set aside before the search (they cannot match), and
 * the Myers search (linear space, middle snake) has a cost cap per split and
 * a global work budget past which the rest is reported as one replaced
 * block; so 10 MB of garbage against 10 MB of expected output takes tens of
 * milliseconds. Inputs with a NUL byte or mostly invalid UTF-8 are compared
 * by bytes and rendered as one line "binary files differ (first difference
 * at byte N)" (N counts from 1, like cmp). Rendered output is capped; a cut
 * output ends with "[diff truncated at N bytes]". */
#ifndef SERCOM_DIFF_H
#define SERCOM_DIFF_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#define DIFF_DEFAULT_MAX_OUTPUT ((size_t)1 << 20)
/* More lines than this on either side (after the common head and tail are
 * set aside) are not searched: the whole middle is one replaced block. */
#define DIFF_MAX_LINES ((size_t)2 << 20)

struct diff_options {
	int context;           /* lines of context around changes; < 0: 3 */
	size_t max_output;     /* cap on the rendered bytes; 0: DIFF_DEFAULT_MAX_OUTPUT */
	const char *old_label; /* NULL: "expected" */
	const char *new_label; /* NULL: "actual" */
	/* diff_html() only, for a page in the course's language (NULL:
	 * English); {byte} and {bytes} are replaced by the number */
	const char *binary_note;    /* "binary files differ (first difference at byte {byte})" */
	const char *truncated_note; /* "[diff truncated at {bytes} bytes]" */
	const char *no_newline;     /* "no newline at end of file" (a tooltip) */
};

struct diff;

/* Diffs two buffers; they are not copied and must outlive the diff. */
struct diff *diff_buffers(const char *expected, size_t expected_len,
                          const char *actual, size_t actual_len);
/* Diffs two files (read, then owned by the diff); a NULL path is an empty
 * input (a file that should exist and does not). */
struct diff *diff_files(const char *expected_path, const char *actual_path, GError **err);
void diff_free(struct diff *d);

/* The rule that sends an input to the byte comparison: a NUL byte, or
 * more than a tenth of the bytes (and more than 8) invalid UTF-8; a few
 * Latin-1 letters in a text stay text. */
bool diff_looks_binary(const char *p, size_t n);

/* The inputs are byte for byte equal. */
bool diff_equal(const struct diff *d);
/* The inputs were compared as binary; *first_byte (when not NULL) gets the
 * 1-based offset of the first difference. */
bool diff_binary(const struct diff *d, size_t *first_byte);
/* The search gave up somewhere (cost cap or line limit): the diff is
 * correct (applying it yields the actual output) but not minimal. */
bool diff_coarse(const struct diff *d);
/* Lines deleted from expected and inserted by actual. */
void diff_stats(const struct diff *d, size_t *deleted, size_t *inserted);

/* The unified diff; empty when equal, the one-line binary note when binary. */
GString *diff_unified(const struct diff *d, const struct diff_options *o);
/* A self-contained HTML fragment: a <table class="diff"> side by side with
 * line numbers, changed lines and changed parts highlighted through the
 * classes of diff_html_css(); every byte of the inputs is escaped (invalid
 * UTF-8 becomes U+FFFD, control characters their visible symbols). */
GString *diff_html(const struct diff *d, const struct diff_options *o);
/* The CSS of the classes diff_html() uses. */
const char *diff_html_css(void);
/* Appends s[0..n) escaped for HTML text or attribute values. */
void diff_html_escape(GString *out, const char *s, size_t n);

/* One part of a report page: an escaped caption, then trusted HTML. */
struct diff_section {
	const char *caption;   /* plain text, e.g. "case 02-negative: stdout" */
	const char *html;      /* a fragment from diff_html() (or other trusted HTML) */
};
/* A complete HTML page (doctype, charset, title, <style>) holding the
 * sections in order. */
GString *diff_html_page(const char *title, const struct diff_section *sections, size_t n);

#endif
