/* casewords: see casewords.h. */
#define _GNU_SOURCE /* sigabbrev_np */
#include "casewords.h"

#include <string.h>

static void limit_vars(GHashTable *v, const struct limits *l)
{
	g_autofree char *cpu = fmt_ms(l->cpu_ms), *wall = fmt_ms(l->wall_ms),
	                 *mem = fmt_bytes(l->memory), *out = fmt_bytes(l->output);
	var_set(v, "cpu", cpu);
	var_set(v, "wall", wall);
	var_set(v, "memory", mem);
	var_set(v, "output", out);
}

static char *signal_words(const struct tpl *t, GHashTable *v, int64_t sig)
{
	const char *abbrev = sig > 0 && sig < 65 ? sigabbrev_np((int)sig) : NULL;
	g_autofree char *sname = abbrev ? g_strconcat("SIG", abbrev, NULL)
	                                : g_strdup_printf("signal %lld", (long long)sig);
	g_autofree char *desc = tpl_has(t, "signal", sname) ? tpl_str(t, "signal", sname)
	                        : g_strdup(sig > 0 ? strsignal((int)sig) : "?");
	var_set(v, "signal", sname);
	var_set(v, "signal_desc", desc);
	return tpl_expand(t, "case", "SIGNAL", v);
}

static char *exit_words(const struct tpl *t, GHashTable *v, const struct case_outcome *o,
                        const struct test_case *tc)
{
	var_setf(v, "exit", "%lld", (long long)o->exit_code);
	if (tc && tc->exit_kind == EXIT_EXPECT_NONZERO)
		return tpl_expand(t, "case", "WRONG_EXIT_nonzero", v);
	if (tc && tc->exit_kind == EXIT_EXPECT_CODE) {
		var_setf(v, "expected", "%d", tc->exit_code);
		return tpl_expand(t, "case", "WRONG_EXIT", v);
	}
	if (!tc && o->exit_code != 0) {
		var_set(v, "expected", "0");
		return tpl_expand(t, "case", "WRONG_EXIT", v);
	}
	return tpl_expand(t, "case", "WRONG_EXIT_unknown", v);
}

/* "stdout differs (see X); output file out.txt differs (see Y)" */
static char *output_words(const struct tpl *t, GHashTable *v, const struct case_outcome *o,
                          casewords_differs_fn differs, void *data)
{
	g_auto(GStrv) files = g_strsplit(o->diffs ? o->diffs : "", " ", -1);
	GString *s = g_string_new(NULL);
	for (char **f = files; *f; f++) {
		if (!**f)
			continue;
		g_autofree char *one = differs(t, o->name, *f, data);
		g_string_append_printf(s, "%s%s", s->len ? "; " : "", one);
	}
	if (s->len)
		return g_string_free(s, FALSE);
	g_string_free(s, TRUE);
	return tpl_expand(t, "case", o->note && *o->note ? "WRONG_OUTPUT_note" : "WRONG_OUTPUT", v);
}

char *casewords(const struct tpl *t, const struct case_outcome *o, const struct test_case *tc,
                const struct limits *limits, casewords_differs_fn differs, void *data)
{
	g_autoptr(GHashTable) v = vars_new();
	if (limits)
		limit_vars(v, limits);
	var_set(v, "note", o->note);
	switch (o->verdict) {
	case CASE_SIGNAL:
		return signal_words(t, v, o->signal);
	case CASE_WRONG_EXIT:
		return exit_words(t, v, o, tc);
	case CASE_FORBIDDEN_SYSCALL:
		var_set(v, "syscall", o->note && *o->note ? o->note : "?");
		return tpl_expand(t, "case", "FORBIDDEN_SYSCALL", v);
	case CASE_WRONG_OUTPUT:
		return output_words(t, v, o, differs, data);
	default:
		/* PASS and the limits: one key each, named as the verdict */
		return tpl_expand(t, "case", case_verdict_name(o->verdict), v);
	}
}
