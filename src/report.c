/* report: the result pages (report.h). */
#include "report.h"
#include "casewords.h"
#include "feedback.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- templates ---------------------------------------------------------- */

struct tpl *report_tpl_load(const struct sercom_conf *c)
{
	GError *e = NULL;
	struct tpl *t = tpl_load(c, &e);
	if (t)
		return t;
	log_error("report.html: %s (the page shows the keys instead of the words)", e->message);
	g_error_free(e);
	t = g_new0(struct tpl, 1);
	t->kf = g_key_file_new();
	t->lang = g_strdup("en");
	t->dir = g_strdup("");
	return t;
}

void report_diff_words(const struct tpl *t, struct report_diff_words *w)
{
	w->expected = tpl_str(t, "report", "expected");
	w->actual = tpl_str(t, "report", "actual");
	w->binary = tpl_str(t, "report", "binary_diff");
	w->truncated = tpl_str(t, "report", "diff_cut");
	w->no_newline = tpl_str(t, "report", "no_newline");
}

void report_diff_words_clear(struct report_diff_words *w)
{
	g_free(w->expected);
	g_free(w->actual);
	g_free(w->binary);
	g_free(w->truncated);
	g_free(w->no_newline);
	memset(w, 0, sizeof *w);
}

void report_diff_options(const struct report_diff_words *w, struct diff_options *o)
{
	o->old_label = w->expected;
	o->new_label = w->actual;
	o->binary_note = w->binary;
	o->truncated_note = w->truncated;
	o->no_newline = w->no_newline;
}

/* ---- small pieces ------------------------------------------------------- */

static void esc(GString *s, const char *t)
{
	if (t)
		diff_html_escape(s, t, strlen(t));
}

/* Appends the template string group.key, expanded with v (may be NULL),
 * escaped. */
static void words(GString *s, const struct tpl *t, const char *group, const char *key, GHashTable *v)
{
	g_autoptr(GHashTable) none = v ? NULL : vars_new();
	g_autofree char *w = tpl_expand(t, group, key, v ? v : none);
	esc(s, w);
}

static const struct test_case *find_case(const struct exercise *e, const char *name)
{
	for (guint i = 0; e && e->cases && i < e->cases->len; i++) {
		const struct test_case *tc = g_ptr_array_index(e->cases, i);
		if (!g_strcmp0(tc->name, name))
			return tc;
	}
	return NULL;
}

static bool shown(const struct report_page *p, const struct queue_result *r)
{
	return p->with_private || !r->is_private;
}

/* Text in a <pre>: escaped line by line, the line breaks kept (a \r or
 * a NUL shows as its symbol, as in the diffs). */
static void pre_text(GString *s, const char *p, size_t n)
{
	const char *end = p + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		diff_html_escape(s, p, l);
		if (nl)
			g_string_append_c(s, '\n');
		p += l + (nl ? 1 : 0);
	}
}

/* ---- what happened to a case, in words ---------------------------------- */

/* "what differs" of a diff name: CASE.stdout.diff, CASE.stderr.diff,
 * CASE.file.NAME.diff ([case] stdout, stderr, file; as the reply says it) */
static char *diff_what(const struct tpl *t, const char *casename, const char *file)
{
	const char *base = g_str_has_prefix(file, "private/") ? file + 8 : file;
	size_t cl = strlen(casename);
	const char *rest = !strncmp(base, casename, cl) && base[cl] == '.' ? base + cl + 1 : base;
	if (!strcmp(rest, "stdout.diff"))
		return tpl_str(t, "case", "stdout");
	if (!strcmp(rest, "stderr.diff"))
		return tpl_str(t, "case", "stderr");
	size_t n = strlen(rest);
	if (g_str_has_prefix(rest, "file.") && g_str_has_suffix(rest, ".diff") && n > 10) {
		g_autoptr(GHashTable) v = vars_new();
		g_autofree char *name = g_strndup(rest + 5, n - 10);
		var_set(v, "name", name);
		return tpl_expand(t, "case", "file", v);
	}
	return tpl_str(t, "case", "output");
}

/* What a case's verdict means, in the reply's [case] words (plain text). */
/* One diff of a failing case: "stdout differs" (the diff follows on the page) */
static char *page_differs(const struct tpl *t, const char *case_name, const char *diff, void *data)
{
	(void)data;
	g_autoptr(GHashTable) dv = vars_new();
	g_autofree char *what = diff_what(t, case_name, diff);
	var_set(dv, "what", what);
	return tpl_expand(t, "report", "differs", dv);
}

/* The case's result in words (casewords.h: as the reply says it) */
static char *case_words(const struct tpl *t, const struct queue_result *r, const struct test_case *tc)
{
	struct case_outcome o = { .name = r->case_name, .verdict = r->verdict, .exit_code = r->exit_code,
	                          .signal = r->signal, .note = r->note, .diffs = r->diffs };
	return casewords(t, &o, tc, tc ? &tc->limits : NULL, page_differs, NULL);
}

/* ---- the top: verdict and score ----------------------------------------- */

static void page_head(GString *s, const struct report_page *p)
{
	const struct exercise *e = p->e;
	const char *verdict = verdict_name(p->o->verdict);
	g_autofree char *vw = tpl_str(p->t, "verdict", verdict);
	g_autoptr(GHashTable) v = vars_new();
	var_set(v, "exercise", e->name);
	g_autofree char *heading = tpl_expand(p->t, "report", "heading", v);
	g_string_append(s, "<!DOCTYPE html>\n<html lang=\"");
	esc(s, p->t->lang);
	g_string_append(s, "\">\n<head>\n<meta charset=\"utf-8\">\n"
	                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	esc(s, heading);
	g_string_append(s, ": ");
	esc(s, vw);
	g_string_append(s, "</title>\n<style>\n");
	g_string_append(s, diff_html_css());
	g_string_append(s,
		"*{box-sizing:border-box}\n"
		"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;line-height:1.4;"
		"max-width:1100px;margin:0 auto;padding:12px}\n"
		"h1{font-size:1.3em;margin:0 0 .2em}\n"
		"h2{font-size:1.15em;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:1px solid #ddd}\n"
		"h3{font-size:1em;margin:1.1em 0 .3em}\n"
		"header.top{padding:12px 16px;border-radius:8px;border-left:8px solid #888;background:#f3f3f3}\n"
		"header.ok{border-color:#2a8a2a;background:#ecf9ec}\n"
		"header.bad{border-color:#c62828;background:#fdeeee}\n"
		"header.err{border-color:#b26a00;background:#fff5e0}\n"
		"p.verdict{font-size:1.7em;font-weight:bold;margin:.1em 0;letter-spacing:.02em}\n"
		"p.score{font-size:1.2em;margin:.2em 0}\n"
		"p.small,span.small{color:#555;font-size:.9em}\n"
		"p.staff{background:#fff5e0;padding:6px 10px;border-radius:6px}\n"
		".wrap{overflow-x:auto;max-width:100%}\n"
		"table.cases{border-collapse:collapse;width:100%}\n"
		"table.cases th,table.cases td{text-align:left;padding:5px 8px;border-bottom:1px solid #e2e2e2;vertical-align:top}\n"
		"table.cases th{background:#f3f3f3;font-size:.9em}\n"
		"table.cases td.n{white-space:nowrap;font-variant-numeric:tabular-nums}\n"
		"table.cases td.over{color:#c62828;font-weight:bold}\n"
		"tr.pass td.res{color:#1e7a1e}\n"
		"tr.fail td.res{color:#c62828}\n"
		"span.tag{display:inline-block;font-size:.8em;color:#555;background:#eee;border-radius:4px;padding:0 5px;margin-left:4px}\n"
		"section.case{margin-top:1.5em}\n"
		"pre{background:#f6f6f6;border:1px solid #e2e2e2;border-radius:4px;padding:6px 8px;margin:0;"
		"white-space:pre-wrap;word-break:break-all;font-size:13px;tab-size:8}\n"
		"pre.in{max-height:22em;overflow:auto}\n"
		"p.cut{color:#8a5a00;font-style:italic;font-size:.9em;margin:.2em 0}\n"
		"a{color:#1a56b0}\n"
		"@media (max-width:640px){\n"
		"body{padding:8px}\n"
		"table.cases thead{display:none}\n"
		"table.cases,table.cases tbody,table.cases tr,table.cases td{display:block;width:100%}\n"
		"table.cases tr{border:1px solid #ddd;border-radius:6px;margin-bottom:8px;padding:4px 0}\n"
		"table.cases td{border:0;padding:2px 10px}\n"
		"table.cases td[data-label]::before{content:attr(data-label) \": \";color:#666}\n"
		"table.diff{font-size:11px}\n"
		"table.diff col.ln{width:2.4em}\n"
		"table.diff td.ln{padding:0 3px}\n"
		"table.diff td{padding:0 3px}\n"
		"pre{font-size:12px}\n"
		"}\n"
		"</style>\n</head>\n<body>\n");
	const char *cls = p->o->verdict == VERDICT_ACCEPTED ? "ok"
	                  : p->o->verdict == VERDICT_INTERNAL_ERROR ? "err" : "bad";
	g_string_append_printf(s, "<header class=\"top %s\">\n<h1>", cls);
	esc(s, heading);
	if (e->title && g_strcmp0(e->title, e->name)) {
		g_string_append(s, ": ");
		esc(s, e->title);
	}
	g_string_append(s, "</h1>\n<p class=\"verdict\">");
	esc(s, vw);
	g_string_append(s, "</p>\n");
}

static void page_score(GString *s, const struct report_page *p)
{
	const struct score_total *sc = p->score;
	g_autoptr(GHashTable) v = vars_new();
	g_autofree char *sv = score_format(sc->score), *mv = score_format(sc->max_score);
	g_autofree char *pv = score_format(sc->private_score), *pm = score_format(sc->private_max);
	var_set(v, "score", sv);
	var_set(v, "max", mv);
	var_set(v, "private_score", pv);
	var_set(v, "private_max", pm);
	g_string_append(s, "<p class=\"score\">");
	words(s, p->t, "report", "score", v);
	g_string_append(s, "</p>\n");
	if (sc->private_max > 0) {
		g_string_append(s, "<p class=\"small\">");
		words(s, p->t, "report", p->with_private ? "score_private" : "private_hidden", v);
		g_string_append(s, "</p>\n");
	}
	if (p->o->build) {
		g_string_append(s, "<p class=\"small\">");
		words(s, p->t, "build", p->o->build, NULL);
		g_string_append(s, "</p>\n");
	}
	g_string_append(s, "</header>\n");
	if (p->with_private) {
		g_string_append(s, "<p class=\"staff\">");
		words(s, p->t, "report", "staff", NULL);
		g_string_append(s, "</p>\n");
	}
}

/* ---- the table of cases ------------------------------------------------- */

/* One resource cell: used / limit, marked when this limit stopped it. */
static void resource_cell(GString *s, const char *label, const char *used, const char *limit, bool over)
{
	g_string_append_printf(s, "<td class=\"n%s\" data-label=\"", over ? " over" : "");
	esc(s, label);
	g_string_append(s, "\">");
	esc(s, used);
	if (limit) {
		g_string_append(s, " / ");
		esc(s, limit);
	}
	g_string_append(s, "</td>");
}

static void case_row(GString *s, const struct report_page *p, const struct queue_result *r,
                     const struct test_case *tc, double earned, guint idx, char **labels)
{
	bool pass = r->verdict == CASE_PASS;
	g_string_append_printf(s, "<tr class=\"%s\"><td data-label=\"", pass ? "pass" : "fail");
	esc(s, labels[0]);
	g_string_append(s, "\">");
	if (!pass)
		g_string_append_printf(s, "<a href=\"#case-%u\">", idx);
	esc(s, r->case_name);
	if (!pass)
		g_string_append(s, "</a>");
	if (r->is_private) {
		g_string_append(s, "<span class=\"tag\">");
		words(s, p->t, "report", "private", NULL);
		g_string_append(s, "</span>");
	}
	if (tc && tc->group) {
		g_autoptr(GHashTable) v = vars_new();
		var_set(v, "group", tc->group);
		g_string_append(s, "<span class=\"tag\">");
		words(s, p->t, "report", "group", v);
		g_string_append(s, "</span>");
	}
	g_string_append(s, "</td><td class=\"res\" data-label=\"");
	esc(s, labels[1]);
	g_string_append(s, "\">");
	g_autofree char *what = case_words(p->t, r, tc);
	g_string_append(s, pass ? "\xe2\x9c\x94 " : "\xe2\x9c\x98 ");
	esc(s, what);
	g_string_append(s, "</td>");
	g_autofree char *pts = score_format(earned), *of = score_format(tc ? tc->points : 0);
	resource_cell(s, labels[2], pts, of, false);
	const struct limits *l = tc ? &tc->limits : NULL;
	g_autofree char *cu = feedback_format_ms((uint64_t)MAX(r->cpu_ms, 0)),
	                 *wu = feedback_format_ms((uint64_t)MAX(r->wall_ms, 0)),
	                 *mu = feedback_format_size((uint64_t)MAX(r->max_rss_kib, 0) * 1024);
	g_autofree char *cl = l && l->cpu_ms ? fmt_ms(l->cpu_ms) : NULL;
	g_autofree char *wl = l && l->wall_ms ? fmt_ms(l->wall_ms) : NULL;
	g_autofree char *ml = l && l->memory ? fmt_bytes(l->memory) : NULL;
	resource_cell(s, labels[3], cu, cl, r->verdict == CASE_TIME_LIMIT);
	resource_cell(s, labels[4], wu, wl, r->verdict == CASE_WALL_LIMIT);
	resource_cell(s, labels[5], mu, ml, r->verdict == CASE_MEMORY_LIMIT);
	g_string_append(s, "</tr>\n");
}

static void page_table(GString *s, const struct report_page *p)
{
	static const char *const keys[] = {"col_case", "col_result", "col_points", "col_cpu",
	                                   "col_wall", "col_memory"};
	char *labels[G_N_ELEMENTS(keys)];
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
		labels[i] = tpl_str(p->t, "report", keys[i]);
	g_string_append(s, "<h2>");
	words(s, p->t, "report", p->with_private ? "cases_all" : "cases", NULL);
	g_string_append(s, "</h2>\n<div class=\"wrap\"><table class=\"cases\">\n<thead><tr>");
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		g_string_append(s, "<th>");
		esc(s, labels[i]);
		g_string_append(s, "</th>");
	}
	g_string_append(s, "</tr></thead>\n<tbody>\n");
	for (guint i = 0; p->o->results && i < p->o->results->len; i++) {
		const struct queue_result *r = g_ptr_array_index(p->o->results, i);
		if (shown(p, r))
			case_row(s, p, r, find_case(p->e, r->case_name), r->earned, i, labels);
	}
	g_string_append(s, "</tbody>\n</table></div>\n");
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
		g_free(labels[i]);
}

/* ---- a failing case: command line, input, diffs -------------------------- */

/* One input under its heading: the beginning, and a note where it was cut
 * (or what it is, when empty, binary or unreadable). */
static void input_block(GString *s, const struct tpl *t, const char *key, const char *name,
                        const char *path)
{
	g_autoptr(GHashTable) v = vars_new();
	var_set(v, "name", name);
	g_string_append(s, "<h3>");
	words(s, t, "report", key, v);
	g_string_append(s, "</h3>\n");
	/* feedback.h: the one rule for what of an input a student is shown
	 * (FEEDBACK_MAX_LINES lines, FEEDBACK_MAX_BYTES bytes; binary named,
	 * not shown; a symlink not followed) */
	struct feedback_excerpt x = { 0 };
	GError *err = NULL;
	bool read = feedback_excerpt_read(path, FEEDBACK_MAX_LINES, FEEDBACK_MAX_BYTES, &x, &err);
	size_t len = x.text ? strlen(x.text) : 0;
	/* the excerpt ends with a line break of its own when it was cut mid-line */
	g_autofree char *sz = fmt_bytes(x.size), *shown_b = fmt_bytes(MIN(len, FEEDBACK_MAX_BYTES));
	var_set(v, "size", sz);
	var_set(v, "shown", shown_b);
	var_set(v, "why", err ? err->message : "");
	const char *note = !read ? "unreadable" : x.size == 0 ? "empty" : x.binary ? "binary" : NULL;
	if (note) {
		g_string_append(s, "<p class=\"cut\">");
		words(s, t, "report", note, v);
		g_string_append(s, "</p>\n");
	} else {
		g_string_append(s, "<pre class=\"in\">");
		pre_text(s, x.text, len);
		g_string_append(s, "</pre>\n");
		if (x.cut) {
			g_string_append(s, "<p class=\"cut\">");
			words(s, t, "report", "cut", v);
			g_string_append(s, "</p>\n");
		}
	}
	g_clear_error(&err);
	feedback_excerpt_clear(&x);
}

static void case_inputs(GString *s, const struct report_page *p, const struct test_case *tc)
{
	g_string_append(s, "<h3>");
	words(s, p->t, "report", "command", NULL);
	g_string_append(s, "</h3>\n<pre>");
	g_autofree char *cmd = feedback_command_line(p->e->run, tc->args);
	diff_html_escape(s, cmd, strlen(cmd));
	g_string_append(s, "</pre>\n");
	if (tc->stdin_path)
		input_block(s, p->t, "stdin", "stdin", tc->stdin_path);
	if (!tc->in_dir)
		return;
	g_autoptr(GPtrArray) files = feedback_list_files(tc->in_dir);
	for (guint i = 0; i < files->len && i < REPORT_INPUT_FILES; i++) {
		const char *name = g_ptr_array_index(files, i);
		g_autofree char *path = g_build_filename(tc->in_dir, name, NULL);
		input_block(s, p->t, "in_file", name, path);
	}
	if (files->len > REPORT_INPUT_FILES) {
		g_autoptr(GHashTable) v = vars_new();
		var_setf(v, "count", "%u", files->len - REPORT_INPUT_FILES);
		g_string_append(s, "<p class=\"cut\">");
		words(s, p->t, "report", "more_files", v);
		g_string_append(s, "</p>\n");
	}
}

static void case_diffs(GString *s, const struct report_page *p, const struct queue_result *r)
{
	g_auto(GStrv) files = g_strsplit(r->diffs ? r->diffs : "", " ", -1);
	for (char **f = files; *f; f++) {
		const char *html = **f && p->diff_html ? g_hash_table_lookup(p->diff_html, *f) : NULL;
		if (!html)
			continue;
		g_autoptr(GHashTable) v = vars_new();
		g_autofree char *what = diff_what(p->t, r->case_name, *f);
		var_set(v, "what", what);
		g_string_append(s, "<h3>");
		words(s, p->t, "report", "diff", v);
		g_string_append(s, "</h3>\n<div class=\"wrap\">\n");
		g_string_append(s, html);
		g_string_append(s, "</div>\n");
	}
}

static void page_details(GString *s, const struct report_page *p)
{
	for (guint i = 0; p->o->results && i < p->o->results->len; i++) {
		const struct queue_result *r = g_ptr_array_index(p->o->results, i);
		if (!shown(p, r) || r->verdict == CASE_PASS)
			continue;
		const struct test_case *tc = find_case(p->e, r->case_name);
		g_autoptr(GHashTable) v = vars_new();
		g_autofree char *what = case_words(p->t, r, tc);
		var_set(v, "case", r->case_name);
		var_set(v, "result", what);
		g_string_append_printf(s, "<section class=\"case\" id=\"case-%u\">\n<h2>", i);
		words(s, p->t, "report", "case", v);
		g_string_append(s, "</h2>\n");
		if (tc)
			case_inputs(s, p, tc);
		case_diffs(s, p, r);
		g_string_append(s, "</section>\n");
	}
}

GString *report_render(const struct report_page *p)
{
	GString *s = g_string_new(NULL);
	page_head(s, p);
	page_score(s, p);
	page_table(s, p);
	page_details(s, p);
	g_string_append(s, "</body>\n</html>\n");
	return s;
}

bool report_write(const char *path, const struct report_page *p, GError **err)
{
	GString *page = report_render(p);
	bool ok = g_file_set_contents(path, page->str, (gssize)page->len, err);
	g_string_free(page, TRUE);
	return ok;
}
