/* tpl: the instance's language templates (conf/templates/README), shared by
 * the composer (the reply) and report.c (report.html): strings.ini of
 * conf->templates/LANGUAGE/ as a GKeyFile, and the {name} expansion.
 *
 * A missing key renders as [group.key] and an unknown {name} stays as
 * written, so a typo in a course's templates shows in the text instead of
 * failing the reply or the page. */
#ifndef SERCOM_TPL_H
#define SERCOM_TPL_H

#include "conf.h"
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct tpl {
	GKeyFile *kf;
	char *dir;    /* conf->templates/LANGUAGE */
	char *lang;   /* [general] language, "en" when unset */
};

/* Loads conf->templates/LANGUAGE/strings.ini. NULL with err (ENOENT: no
 * such file; EINVAL: a language that is not a directory name, or a file
 * that is not a key file). */
struct tpl *tpl_load(const struct sercom_conf *c, GError **err);
void tpl_free(struct tpl *t);

/* The template string group.key, or "[group.key]" (never NULL; g_free). */
char *tpl_str(const struct tpl *t, const char *group, const char *key);
bool tpl_has(const struct tpl *t, const char *group, const char *key);
/* fmt with each {name} replaced by vars[name]; unknown names stay. */
char *expand(const char *fmt, GHashTable *vars);
/* tpl_str(group, key), expanded with vars (g_free). */
char *tpl_expand(const struct tpl *t, const char *group, const char *key, GHashTable *vars);

/* The variables of an expansion: a string -> string table (g_hash_table_unref). */
GHashTable *vars_new(void);
void var_set(GHashTable *v, const char *k, const char *val);
void var_setf(GHashTable *v, const char *k, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* A limit as a teacher writes it: "2 s", "1500 ms"; "256 MiB", "100 bytes"
 * (g_free). */
char *fmt_ms(uint64_t ms);
char *fmt_bytes(uint64_t b);

#endif
