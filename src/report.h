/* report: report.html, the result page of a graded attempt (README
 * "report.html"; docs/ARCHITECTURE.md section 7), and private/full.html,
 * the same page with the private cases for the staff.
 *
 * One self-contained HTML file, no script: the verdict and the score at
 * the top; a table of the cases (passed, or what failed in the words of
 * the reply's [case] strings, points, CPU and wall time and peak memory
 * against the case's limits); then, for each failing case, its command
 * line, the beginning of its stdin and of its in/ files, and the
 * side-by-side diffs of diff.c. Every word comes from the instance's
 * language templates ([report], [verdict], [build], [case], [signal] of
 * strings.ini); it reads on a phone (a viewport and CSS that stacks the
 * table and wraps the diffs on a narrow screen).
 *
 * Attacks: case names, notes, diffs and output file names may be the
 * student program's (a file it wrote) and inputs the teacher's; every one
 * is escaped (diff_html_escape) and none becomes an id or a URL. */
#ifndef SERCOM_REPORT_H
#define SERCOM_REPORT_H

#include "diff.h"
#include "exercise.h"
#include "queue.h"
#include "score.h"
#include "tpl.h"
#include <glib.h>
#include <stdbool.h>

/* How many in/ files of a case the page shows (each cut as feedback.h
 * says: FEEDBACK_MAX_LINES lines, FEEDBACK_MAX_BYTES bytes). */
#define REPORT_INPUT_FILES 20

struct report_page {
	const struct exercise *e;
	const struct queue_outcome *o;    /* verdict, build, results rows */
	const struct score_total *score;  /* score_cases() of those results */
	GHashTable *diff_html;            /* results.diffs name -> diff_html()
	                                   * fragment (trusted HTML); may be NULL */
	const struct tpl *t;
	bool with_private;                /* private/full.html: the staff's page */
};

/* The page (g_string_free). */
GString *report_render(const struct report_page *p);
/* Renders the page into path. */
bool report_write(const char *path, const struct report_page *p, GError **err);

/* The language's templates for the pages: tpl_load(), or, when the
 * instance has none readable, empty ones (the page then shows [group.key]
 * and the grading goes on: a template is no reason to fail an attempt);
 * the error is logged. Never NULL (tpl_free). */
struct tpl *report_tpl_load(const struct sercom_conf *c);

/* The words diff_html() writes ([report] expected, actual, binary,
 * truncated, no_newline), owned by w (report_diff_words_clear). */
struct report_diff_words {
	char *expected, *actual, *binary, *truncated, *no_newline;
};
void report_diff_words(const struct tpl *t, struct report_diff_words *w);
void report_diff_words_clear(struct report_diff_words *w);
/* Sets o's HTML words to w's (the strings stay w's). */
void report_diff_options(const struct report_diff_words *w, struct diff_options *o);

#endif
