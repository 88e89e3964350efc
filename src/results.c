/* results: results.json of an attempt (results.h). A small writer rather
 * than json-glib: its generator prints 5.6 as 5.5999999999999996, and a
 * grade a person reads must not. */
#include "results.h"
#include "score.h"

#include <string.h>

/* A JSON string (RFC 8259 section 7): quotes, backslash and every control
 * character escaped; invalid UTF-8 (a case's note may quote program
 * output) replaced by U+FFFD first. */
static char *json_str(const char *s)
{
	if (!s)
		return g_strdup("null");
	g_autofree char *v = g_utf8_make_valid(s, -1);
	GString *o = g_string_new("\"");
	for (const char *p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;
		switch (c) {
		case '"': g_string_append(o, "\\\""); break;
		case '\\': g_string_append(o, "\\\\"); break;
		case '\n': g_string_append(o, "\\n"); break;
		case '\t': g_string_append(o, "\\t"); break;
		case '\r': g_string_append(o, "\\r"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				g_string_append_printf(o, "\\u%04x", c);
			else
				g_string_append_c(o, (char)c);
		}
	}
	g_string_append_c(o, '"');
	return g_string_free(o, FALSE);
}

/* the members of one object, each "\"key\": value" */
typedef GPtrArray members;

static void add_raw(members *m, const char *key, char *value /* taken */)
{
	g_ptr_array_add(m, g_strdup_printf("\"%s\": %s", key, value));
	g_free(value);
}

static void add_str(members *m, const char *key, const char *v) { add_raw(m, key, json_str(v)); }
static void add_num(members *m, const char *key, double v) { add_raw(m, key, score_format(v)); }
static void add_int(members *m, const char *key, int64_t v) { add_raw(m, key, g_strdup_printf("%lld", (long long)v)); }
static void add_bool(members *m, const char *key, bool v) { add_raw(m, key, g_strdup(v ? "true" : "false")); }

/* -1 (not measured) is null */
static void add_measure(members *m, const char *key, int64_t v)
{
	add_raw(m, key, v < 0 ? g_strdup("null") : g_strdup_printf("%lld", (long long)v));
}

static char *object(members *m, int indent)
{
	g_autofree char *pad = g_strnfill((gsize)indent + 2, ' ');
	g_autofree char *sep = g_strconcat(",\n", pad, NULL);
	g_ptr_array_add(m, NULL);
	g_autofree char *body = g_strjoinv(sep, (char **)m->pdata);
	g_ptr_array_free(m, TRUE);
	return g_strdup_printf("{\n%s%s\n%*s}", pad, body, indent, "");
}

static char *test_object(const struct results_case *c, int indent)
{
	members *m = g_ptr_array_new_with_free_func(g_free);
	add_str(m, "name", c->name);
	if (c->scored)
		add_num(m, "score", c->earned);
	else
		add_raw(m, "score", g_strdup("null"));
	add_num(m, "max_score", c->points);
	add_str(m, "status", !g_strcmp0(c->verdict, "PASS") ? "passed" : "failed");
	add_str(m, "output", c->output ? c->output : "");
	add_str(m, "visibility", c->is_private ? "hidden" : "visible");
	add_str(m, "verdict", c->verdict);
	add_str(m, "group", c->group);
	members *r = g_ptr_array_new_with_free_func(g_free);
	add_measure(r, "cpu_ms", c->cpu_ms);
	add_measure(r, "wall_ms", c->wall_ms);
	add_measure(r, "max_rss_kib", c->max_rss_kib);
	add_measure(r, "cpu_limit_ms", c->limit_cpu_ms ? (int64_t)c->limit_cpu_ms : -1);
	add_measure(r, "wall_limit_ms", c->limit_wall_ms ? (int64_t)c->limit_wall_ms : -1);
	add_measure(r, "memory_limit_kib", c->limit_memory_kib ? (int64_t)c->limit_memory_kib : -1);
	add_raw(m, "resources", object(r, indent + 2));
	return object(m, indent);
}

char *results_json(const struct results_attempt *a)
{
	members *m = g_ptr_array_new_with_free_func(g_free);
	/* Gradescope's fields */
	if (a->scored) {
		add_num(m, "score", a->score);
		add_num(m, "max_score", a->max_score);
	} else {
		add_raw(m, "score", g_strdup("null"));
		add_raw(m, "max_score", g_strdup("null"));
	}
	add_num(m, "execution_time", a->execution_time);
	add_str(m, "output", a->output ? a->output : "");
	GString *tests = g_string_new("[");
	for (size_t i = 0; i < a->n_cases; i++) {
		g_autofree char *t = test_object(&a->cases[i], 4);
		g_string_append_printf(tests, "%s\n    %s", i ? "," : "", t);
	}
	g_string_append(tests, a->n_cases ? "\n  ]" : "]");
	add_raw(m, "tests", g_string_free(tests, FALSE));
	/* sercom's */
	add_str(m, "verdict", a->verdict);
	add_int(m, "attempt", a->id);
	if (a->number > 0)
		add_int(m, "number", a->number);
	else
		add_raw(m, "number", g_strdup("null"));
	add_str(m, "exercise", a->exercise);
	add_str(m, "student", a->student);
	add_bool(m, "private_included", a->private_included);
	add_int(m, "late_days", a->late_days);
	add_num(m, "penalty", a->penalty);
	if (a->scored)
		add_num(m, "grade", a->grade);
	else
		add_raw(m, "grade", g_strdup("null"));
	char *o = object(m, 0);
	char *r = g_strconcat(o, "\n", NULL);
	g_free(o);
	return r;
}
