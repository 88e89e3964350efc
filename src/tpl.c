/* tpl: the language templates (tpl.h). */
#include "tpl.h"
#include "util.h"

#include <errno.h>
#include <string.h>

void tpl_free(struct tpl *t)
{
	if (!t)
		return;
	if (t->kf)
		g_key_file_free(t->kf);
	g_free(t->dir);
	g_free(t->lang);
	g_free(t);
}

struct tpl *tpl_load(const struct sercom_conf *c, GError **err)
{
	const char *lang = c->language && *c->language ? c->language : "en";
	/* language names a directory: "../../etc" must not */
	if (!util_safe_filename(lang)) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "%s: [general] language: not a directory name: %s",
		            c->path ? c->path : "config", lang);
		return NULL;
	}
	struct tpl *t = g_new0(struct tpl, 1);
	t->lang = g_strdup(lang);
	t->dir = g_build_filename(c->templates, lang, NULL);
	g_autofree char *ini = g_build_filename(t->dir, "strings.ini", NULL);
	t->kf = g_key_file_new();
	GError *e = NULL;
	if (!g_key_file_load_from_file(t->kf, ini, G_KEY_FILE_NONE, &e)) {
		g_set_error(err, SERCOM_ERROR, e->domain == G_FILE_ERROR && e->code == G_FILE_ERROR_NOENT ? ENOENT : EINVAL,
		            "%s: %s", ini, e->message);
		g_error_free(e);
		tpl_free(t);
		return NULL;
	}
	return t;
}

/* The template string group.key (never NULL; g_free). */
char *tpl_str(const struct tpl *t, const char *group, const char *key)
{
	char *v = g_key_file_get_string(t->kf, group, key, NULL);
	if (!v)
		v = g_strdup_printf("[%s.%s]", group, key);
	return v;
}

bool tpl_has(const struct tpl *t, const char *group, const char *key)
{
	return g_key_file_has_key(t->kf, group, key, NULL);
}

/* Replaces {name} by vars[name]; unknown names stay as written. */
char *expand(const char *fmt, GHashTable *vars)
{
	GString *o = g_string_new(NULL);
	const char *p = fmt;
	while (*p) {
		if (*p == '{') {
			const char *end = strchr(p + 1, '}');
			if (end && end - p < 64) {
				g_autofree char *name = g_strndup(p + 1, (gsize)(end - p - 1));
				const char *v = g_hash_table_lookup(vars, name);
				if (v) {
					g_string_append(o, v);
					p = end + 1;
					continue;
				}
			}
		}
		g_string_append_c(o, *p++);
	}
	return g_string_free(o, FALSE);
}

char *tpl_expand(const struct tpl *t, const char *group, const char *key, GHashTable *vars)
{
	g_autofree char *f = tpl_str(t, group, key);
	return expand(f, vars);
}

GHashTable *vars_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

void var_set(GHashTable *v, const char *k, const char *val)
{
	g_hash_table_replace(v, g_strdup(k), g_strdup(val ? val : ""));
}

void var_setf(GHashTable *v, const char *k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_hash_table_replace(v, g_strdup(k), s);
}

/* ---- numbers as the templates show them ---- */

char *fmt_ms(uint64_t ms)
{
	if (ms % 1000 == 0)
		return g_strdup_printf("%llu s", (unsigned long long)(ms / 1000));
	return g_strdup_printf("%llu ms", (unsigned long long)ms);
}

char *fmt_bytes(uint64_t b)
{
	if (b >= (1u << 30) && b % (1u << 30) == 0)
		return g_strdup_printf("%llu GiB", (unsigned long long)(b >> 30));
	if (b >= (1u << 20) && b % (1u << 20) == 0)
		return g_strdup_printf("%llu MiB", (unsigned long long)(b >> 20));
	if (b >= 1024 && b % 1024 == 0)
		return g_strdup_printf("%llu KiB", (unsigned long long)(b >> 10));
	return g_strdup_printf("%llu bytes", (unsigned long long)b);
}
